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
    select
        conversation_id,
        customer_key,
        message_key,
        author_role,
        position_in_conversation
    from {{ ref('int_conversation_messages') }}
    {{ affected_customers_only() }}
),

-- one pass: the first and the last scored customer message of each conversation
start_and_end as (
    select
        messages.conversation_id,
        any_value(messages.customer_key) as customer_key,
        count(*) as scored_customer_messages,
        {{ min_by('sentiment.compound', 'messages.position_in_conversation') }} as customer_sentiment_start,
        {{ max_by('sentiment.compound', 'messages.position_in_conversation') }} as last_compound
    from messages
    inner join {{ ref('int_message_sentiment') }} as sentiment
        on messages.message_key = sentiment.message_key
    where messages.author_role = 'customer'
    group by messages.conversation_id
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
