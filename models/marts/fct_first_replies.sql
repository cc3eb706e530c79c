-- One row per customer-initiated conversation: how long the customer waited for the brand's first human answer.
-- Clock starts: the conversation's first customer message. Clock stops: the first human reply at or after it
-- (same second counts: 0 s). Bots and automated replies never stop it. Unanswered: first_agent_reply_at is null.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_recomputed('conversation_id', 'int_conversations') }}",
    post_hook="{{ copy_conversation_status(['response_status']) }}"
) }}
-- depends_on: {{ ref('int_affected_customers') }}, {{ ref('int_conversations') }}
with recomputed as (
    -- every conversation in a full build; the affected customers' ones in an incremental run
    select conversation_id from {{ ref('int_conversations') }}
    {{ affected_customers_only() }}
)

select
    conversation_id,
    account_id,
    channel,
    is_private,
    first_customer_message_at,
    first_human_reply_at as first_agent_reply_at,
    first_reply_seconds,
    first_reply_business_seconds,
    first_human_reply_at is not null as is_answered,
    response_status,
    first_reply_agent,
    first_any_reply_at,
    first_any_reply_seconds,
    account_timezone,
    started_date as first_customer_message_date
from {{ ref('fct_conversations') }}
where
    is_customer_initiated
    and conversation_id in (select recomputed.conversation_id from recomputed)
