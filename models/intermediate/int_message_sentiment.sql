-- VADER scores of customer messages (scored by the Dagster asset raw/message_sentiment), for the messages that are
-- in the warehouse up to as_of. A view: a table copied 4.8M scores on every run at 10M messages, for one reader
-- (int_conversation_sentiment) that needs only the recomputed customers' messages.
{{ config(materialized='view') }}
select
    sentiment.message_key,
    sentiment.compound,
    sentiment.pos,
    sentiment.neu,
    sentiment.neg
from {{ source('raw', 'message_sentiment') }} as sentiment
inner join {{ ref('int_messages') }} as messages
    on sentiment.message_key = messages.message_key
