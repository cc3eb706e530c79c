-- How the customer felt at the start and at the end of each conversation: the VADER compound score of their first
-- and of their last message. Lift (end minus start) needs at least two customer messages; a change smaller than
-- sentiment_change_threshold either way is "stayed". Incremental by customer (int_affected_customers).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_affected_customers() }}"
) }}
-- depends_on: {{ ref('int_affected_customers') }}
with messages as (
    select * from {{ ref('int_conversation_messages') }}
    {{ affected_customers_only() }}
),

scored as (
    select
        messages.conversation_id,
        messages.customer_key,
        messages.position_in_conversation,
        sentiment.compound
    from messages
    inner join {{ ref('int_message_sentiment') }} as sentiment
        on messages.message_key = sentiment.message_key
    where messages.author_role = 'customer'
),

ends as (
    select
        conversation_id,
        any_value(customer_key) as customer_key,
        count(*) as scored_customer_messages,
        min(position_in_conversation) as first_position,
        max(position_in_conversation) as last_position
    from scored
    group by conversation_id
),

start_and_end as (
    select
        ends.conversation_id,
        ends.customer_key,
        ends.scored_customer_messages,
        max(case when scored.position_in_conversation = ends.first_position then scored.compound end)
            as customer_sentiment_start,
        max(case when scored.position_in_conversation = ends.last_position then scored.compound end)
            as last_compound
    from ends
    inner join scored on ends.conversation_id = scored.conversation_id
    group by ends.conversation_id, ends.customer_key, ends.scored_customer_messages
)

select
    conversation_id,
    customer_key,
    customer_sentiment_start,
    case when scored_customer_messages >= 2 then last_compound end as customer_sentiment_end,
    case when scored_customer_messages >= 2 then last_compound - customer_sentiment_start end as sentiment_lift,
    case
        when scored_customer_messages < 2 then null
        when last_compound - customer_sentiment_start >= {{ var('sentiment_change_threshold') }} then 'improved'
        when last_compound - customer_sentiment_start <= -{{ var('sentiment_change_threshold') }} then 'worsened'
        else 'stayed'
    end as sentiment_change
from start_and_end
