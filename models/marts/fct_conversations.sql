-- One row per conversation (docs/definitions.md, "Conversation"): the published form of int_conversations, with
-- the account's local day, weekday and hour of its start.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_recomputed('conversation_id', 'int_conversations') }}",
    post_hook="{{ copy_conversation_status(conversation_status_columns('', 'as_of').keys() | list) }}"
) }}
-- depends_on: {{ ref('int_affected_customers') }}
with conversations as (
    select * from {{ ref('int_conversations') }}
    {{ affected_customers_only() }}
),

accounts as (
    select * from {{ ref('accounts') }}
),

sentiment as (
    select * from {{ ref('int_conversation_sentiment') }}
),

localized as (
    select
        conversations.*,
        {{ account_timezone('accounts.timezone') }} as account_timezone
    from conversations
    left join accounts on conversations.account_id = accounts.account_id
)

select
    localized.conversation_id,
    localized.conversation_scope,
    localized.account_id,
    localized.channel,
    localized.is_private,
    localized.customer_id,
    localized.initiated_by,
    localized.is_customer_initiated,
    localized.started_at,
    localized.last_message_at,
    localized.account_timezone,
    cast({{ utc_to_local('localized.started_at', 'localized.account_timezone') }} as date) as started_date,
    localized.first_customer_message_at,
    localized.message_count,
    localized.customer_message_count,
    localized.human_reply_count,
    localized.automated_message_count,
    localized.customer_turns,
    localized.answered_turns,
    localized.first_human_reply_at,
    localized.first_reply_agent,
    localized.first_reply_seconds,
    localized.first_reply_business_seconds,
    localized.first_any_reply_at,
    localized.first_any_reply_seconds,
    localized.response_status,
    localized.resolution_status,
    localized.resolved_at,
    localized.resolution_seconds,
    localized.resolution_business_seconds,
    localized.elapsed_handle_seconds,
    localized.elapsed_handle_business_seconds,
    localized.is_first_contact_resolution,
    localized.is_one_touch_resolution,
    localized.has_dm_request,
    localized.is_escalated_to_private,
    -- only within the longest window a KPI looks ahead (FCR, resolution quiet period): a contact later than that
    -- changes no KPI, and leaving it out lets a conversation's row stop changing once its windows are over
    case
        when
            {{ seconds_between('localized.last_message_at', 'localized.next_customer_contact_at') }}
            <= {{ [var('fcr_window_days') * 86400, var('resolution_quiet_hours') * 3600] | max }}
            then localized.next_customer_contact_at
    end as next_customer_contact_at,
    sentiment.customer_sentiment_start,
    sentiment.customer_sentiment_end,
    sentiment.sentiment_lift,
    sentiment.sentiment_change
from localized
left join sentiment on localized.conversation_id = sentiment.conversation_id
