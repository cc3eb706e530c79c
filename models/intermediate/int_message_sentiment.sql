-- VADER scores of customer messages (scored by the Dagster asset raw/message_sentiment), one row per scored
-- message. Which messages count (those in the warehouse up to as_of) is decided by the reader that joins them to
-- conversation messages (int_conversation_sentiment): joining int_messages here too tripled that reader's cost
-- (10M messages: 3.8 s -> 1.2 s without it, same rows). A view: a table copied 4.8M scores on every run.
{{ config(materialized='view') }}
select
    sentiment.message_key,
    sentiment.compound,
    sentiment.pos,
    sentiment.neu,
    sentiment.neg
from {{ source('raw', 'message_sentiment') }} as sentiment
