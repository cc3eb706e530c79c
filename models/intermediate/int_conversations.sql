-- One row per conversation: who started it, its first reply, turns, resolution, first-contact resolution and
-- escalation from public to private. Every rule and threshold is in docs/definitions.md.
-- Incremental by customer (int_affected_customers): the next contact and the escalation look only at the same
-- customer's conversations with the same account.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_affected_customers() }}"
) }}
-- depends_on: {{ ref('int_affected_customers') }}
{%- set quiet_seconds = var('resolution_quiet_hours') * 3600 %}
{%- set window_seconds = var('response_window_hours') * 3600 %}
{%- set fcr_seconds = var('fcr_window_days') * 86400 %}
{%- set escalation_seconds = var('escalation_window_hours') * 3600 %}
with messages as (
    select * from {{ ref('int_conversation_messages') }}
    {{ affected_customers_only() }}
),

turns as (
    select * from {{ ref('int_turns') }}
    {{ affected_customers_only() }}
),

as_of as (
    select {{ as_of_timestamp() }} as as_of_at
),

message_summary as (
    select
        conversation_id,
        any_value(conversation_scope) as conversation_scope,
        any_value(account_id) as account_id,
        any_value(channel) as channel,
        any_value(customer_id) as customer_id,
        any_value(customer_key) as customer_key,
        bool_or(is_private) as is_private,
        min(sent_at) as started_at,
        max(sent_at) as last_message_at,
        min(case when author_role = 'customer' then sent_at end) as first_customer_message_at,
        max(case when author_role = 'customer' then sent_at end) as last_customer_message_at,
        max(case when is_human_reply then sent_at end) as last_human_reply_at,
        count(*) as message_count,
        count(case when author_role = 'customer' then 1 end) as customer_message_count,
        count(case when is_human_reply then 1 end) as human_reply_count,
        count(case when is_automated then 1 end) as automated_message_count,
        bool_or(is_dm_request) as has_dm_request
    from messages
    group by conversation_id
),

first_and_last as (
    select
        conversation_id,
        max(case when position_in_conversation = 1 then author_role end) as initiated_by,
        max(case when is_last then is_human_reply end) as ends_with_human_reply
    from (
        select
            *,
            position_in_conversation
            = max(position_in_conversation) over (partition by conversation_id) as is_last
        from messages
    ) as positioned
    group by conversation_id
),

turn_summary as (
    select
        conversation_id,
        count(*) as customer_turns,
        count(replied_at) as answered_turns,
        max(case when turn_number = 1 then replied_at end) as first_human_reply_at,
        max(case when turn_number = 1 then replied_by_agent end) as first_reply_agent,
        max(case when turn_number = 1 then any_reply_at end) as first_any_reply_at
    from turns
    group by conversation_id
),

conversations as (
    select
        message_summary.*,
        first_and_last.initiated_by,
        first_and_last.ends_with_human_reply,
        coalesce(turn_summary.customer_turns, 0) as customer_turns,
        coalesce(turn_summary.answered_turns, 0) as answered_turns,
        turn_summary.first_human_reply_at,
        turn_summary.first_reply_agent,
        turn_summary.first_any_reply_at,
        -- the same customer's next conversation with the account on the same channel (any thread or DM)
        case when message_summary.customer_id is not null
                then min(message_summary.first_customer_message_at) over (
                        partition by message_summary.account_id, message_summary.channel, message_summary.customer_id
                        order by message_summary.started_at, message_summary.conversation_id
                        rows between 1 following and unbounded following
                    )
        end as next_customer_contact_at,
        as_of.as_of_at
    from message_summary
    inner join first_and_last on message_summary.conversation_id = first_and_last.conversation_id
    left join turn_summary on message_summary.conversation_id = turn_summary.conversation_id
    cross join as_of
),

escalations as (
    select distinct public_conversations.conversation_id
    from conversations as public_conversations
    inner join conversations as private_conversations
        on
            public_conversations.account_id = private_conversations.account_id
            and public_conversations.channel = private_conversations.channel
            and public_conversations.customer_id = private_conversations.customer_id
            and private_conversations.is_private
            and public_conversations.started_at <= private_conversations.started_at
            and {{ seconds_between('public_conversations.last_message_at', 'private_conversations.started_at') }}
            <= {{ escalation_seconds }}
    where not public_conversations.is_private
),

resolved as (
    select
        conversations.*,
        case
            when not conversations.ends_with_human_reply then 'open'
            when
                conversations.next_customer_contact_at is not null
                and {{ seconds_between('conversations.last_human_reply_at', 'conversations.next_customer_contact_at') }}
                < {{ quiet_seconds }}
                then 'customer_returned'
            when
                {{ seconds_between('conversations.last_human_reply_at', 'conversations.as_of_at') }}
                >= {{ quiet_seconds }}
                then 'resolved'
            else 'pending'
        end as resolution_status
    from conversations
),

resolved_only as (
    select * from resolved
    where resolution_status = 'resolved'
),

business_first_replies as (
    {{ business_seconds_cte(
        'resolved', 'conversation_id', 'account_id', 'first_customer_message_at', 'first_human_reply_at'
    ) }}
),

business_resolutions as (
    {{ business_seconds_cte(
        'resolved_only', 'conversation_id', 'account_id', 'first_customer_message_at', 'last_human_reply_at'
    ) }}
),

business_handling as (
    {{ business_seconds_cte(
        'resolved_only', 'conversation_id', 'account_id', 'first_human_reply_at', 'last_human_reply_at'
    ) }}
)

select
    resolved.conversation_id,
    resolved.conversation_scope,
    resolved.account_id,
    resolved.channel,
    resolved.is_private,
    resolved.customer_id,
    resolved.customer_key,
    resolved.initiated_by,
    resolved.initiated_by = 'customer' as is_customer_initiated,
    resolved.started_at,
    resolved.last_message_at,
    resolved.first_customer_message_at,
    resolved.message_count,
    resolved.customer_message_count,
    resolved.human_reply_count,
    resolved.automated_message_count,
    resolved.customer_turns,
    resolved.answered_turns,
    resolved.first_human_reply_at,
    resolved.first_reply_agent,
    {{ seconds_between('resolved.first_customer_message_at', 'resolved.first_human_reply_at') }}
        as first_reply_seconds,
    business_first_replies.business_seconds as first_reply_business_seconds,
    resolved.first_any_reply_at,
    {{ seconds_between('resolved.first_customer_message_at', 'resolved.first_any_reply_at') }}
        as first_any_reply_seconds,
    case
        when resolved.initiated_by != 'customer' then 'not_applicable'
        when
            resolved.first_human_reply_at is not null
            and {{ seconds_between('resolved.first_customer_message_at', 'resolved.first_human_reply_at') }}
            <= {{ window_seconds }}
            then 'answered'
        when
            {{ seconds_between('resolved.first_customer_message_at', 'resolved.as_of_at') }} < {{ window_seconds }}
            then 'pending'
        else 'unanswered'
    end as response_status,
    resolved.resolution_status,
    case when resolved.resolution_status = 'resolved' then resolved.last_human_reply_at end as resolved_at,
    case
        when resolved.resolution_status = 'resolved'
            then {{ seconds_between('resolved.first_customer_message_at', 'resolved.last_human_reply_at') }}
    end as resolution_seconds,
    business_resolutions.business_seconds as resolution_business_seconds,
    case
        when resolved.resolution_status = 'resolved'
            then {{ seconds_between('resolved.first_human_reply_at', 'resolved.last_human_reply_at') }}
    end as elapsed_handle_seconds,
    business_handling.business_seconds as elapsed_handle_business_seconds,
    case
        when resolved.resolution_status != 'resolved' or resolved.initiated_by != 'customer' then null
        when {{ seconds_between('resolved.last_human_reply_at', 'resolved.as_of_at') }} < {{ fcr_seconds }} then null
        else
            resolved.customer_turns = 1
            and (
                resolved.next_customer_contact_at is null
                or {{ seconds_between('resolved.last_human_reply_at', 'resolved.next_customer_contact_at') }}
                > {{ fcr_seconds }}
            )
    end as is_first_contact_resolution,
    case
        when resolved.resolution_status = 'resolved' then resolved.human_reply_count = 1
    end as is_one_touch_resolution,
    resolved.has_dm_request,
    escalations.conversation_id is not null as is_escalated_to_private,
    resolved.next_customer_contact_at
from resolved
inner join business_first_replies on resolved.conversation_id = business_first_replies.conversation_id
left join business_resolutions on resolved.conversation_id = business_resolutions.conversation_id
left join business_handling on resolved.conversation_id = business_handling.conversation_id
left join escalations on resolved.conversation_id = escalations.conversation_id
