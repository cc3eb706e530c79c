-- One row per customer turn (the reply grain): every wait of every conversation, credited to the agent who ended
-- it. First reply time is turn 1 of a customer-initiated conversation; next reply times are the later turns.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_recomputed('conversation_id', 'int_conversations') }}"
) }}
-- depends_on: {{ ref('int_affected_customers') }}, {{ ref('int_conversations') }}
with turns as (
    select * from {{ ref('int_turns') }}
    {{ affected_customers_only() }}
),

accounts as (
    select * from {{ ref('accounts') }}
),

localized as (
    select
        turns.*,
        {{ account_timezone('accounts.timezone') }} as account_timezone
    from turns
    left join accounts on turns.account_id = accounts.account_id
)

select
    turn_id,
    conversation_id,
    account_id,
    channel,
    is_private,
    initiated_by = 'customer' as is_in_customer_initiated_conversation,
    turn_number,
    turn_number = 1 and initiated_by = 'customer' as is_first_reply_turn,
    customer_message_count,
    started_at,
    last_customer_message_at,
    replied_at,
    reply_message_key,
    replied_by_agent,
    replied_at is not null as is_answered,
    wait_seconds,
    wait_business_seconds,
    wait_from_last_message_seconds,
    any_reply_at,
    any_reply_wait_seconds,
    account_timezone,
    cast({{ utc_to_local('started_at', 'account_timezone') }} as date) as started_date,
    cast({{ utc_to_local('replied_at', 'account_timezone') }} as date) as replied_date
from localized
