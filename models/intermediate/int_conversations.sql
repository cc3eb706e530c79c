-- One row per conversation: who started it, its first reply, turns, resolution, first-contact resolution and
-- escalation from public to private. Every rule and threshold is in docs/definitions.md.
-- Incremental by customer (int_affected_customers): the next contact and the escalation look only at the same
-- customer's conversations with the same account.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_affected_customers() }}",
    post_hook="{{ refresh_conversation_status() }}"
) }}
-- depends_on: {{ ref('int_affected_customers') }}
{%- set statuses = conversation_status_columns('conversations.', 'conversations.as_of_at') %}
{%- set escalation_seconds = var('escalation_window_hours') * 3600 %}
with messages as (
    select
        conversation_id,
        conversation_scope,
        account_id,
        channel,
        customer_id,
        customer_key,
        is_private,
        author_role,
        is_human_reply,
        is_automated,
        is_dm_request,
        sent_at,
        position_in_conversation
    from {{ ref('int_conversation_messages') }}
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
        bool_or(is_dm_request) as has_dm_request,
        -- the role of the first message, and whether the last one is a human reply
        {{ min_by('author_role', 'position_in_conversation') }} as initiated_by,
        {{ max_by('is_human_reply', 'position_in_conversation') }} as ends_with_human_reply
    from messages
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

-- the conversations a human reply ends with no return of the customer within the quiet period: resolved, or
-- pending until the quiet period ends. Their business seconds are computed now, whatever as_of says.
resolvable as (
    select * from conversations
    where ({{ statuses['resolution_status'] }}) in ('resolved', 'pending')
),

business_first_replies as (
    {{ business_seconds_cte(
        'conversations', 'conversation_id', 'account_id', 'first_customer_message_at', 'first_human_reply_at'
    ) }}
),

business_resolutions as (
    {{ business_seconds_cte(
        'resolvable', 'conversation_id', 'account_id', 'first_customer_message_at', 'last_human_reply_at'
    ) }}
),

business_handling as (
    {{ business_seconds_cte(
        'resolvable', 'conversation_id', 'account_id', 'first_human_reply_at', 'last_human_reply_at'
    ) }}
),

measured as (
    select
        conversations.*,
        business_first_replies.business_seconds as first_reply_business_seconds,
        business_resolutions.business_seconds as resolution_business_seconds_if_resolved,
        business_handling.business_seconds as elapsed_handle_business_seconds_if_resolved,
        escalations.conversation_id is not null as is_escalated_to_private
    from conversations
    inner join business_first_replies on conversations.conversation_id = business_first_replies.conversation_id
    left join business_resolutions on conversations.conversation_id = business_resolutions.conversation_id
    left join business_handling on conversations.conversation_id = business_handling.conversation_id
    left join escalations on conversations.conversation_id = escalations.conversation_id
)

select
    measured.conversation_id,
    measured.conversation_scope,
    measured.account_id,
    measured.channel,
    measured.is_private,
    measured.customer_id,
    measured.customer_key,
    measured.initiated_by,
    measured.initiated_by = 'customer' as is_customer_initiated,
    measured.started_at,
    measured.last_message_at,
    measured.first_customer_message_at,
    measured.message_count,
    measured.customer_message_count,
    measured.human_reply_count,
    measured.automated_message_count,
    measured.customer_turns,
    measured.answered_turns,
    measured.first_human_reply_at,
    measured.first_reply_agent,
    {{ seconds_between('measured.first_customer_message_at', 'measured.first_human_reply_at') }}
        as first_reply_seconds,
    measured.first_reply_business_seconds,
    measured.first_any_reply_at,
    {{ seconds_between('measured.first_customer_message_at', 'measured.first_any_reply_at') }}
        as first_any_reply_seconds,
    {%- for name, expression in conversation_status_columns('measured.', 'measured.as_of_at').items() %}
        {{ expression }} as {{ name }},
    {%- endfor %}
    measured.has_dm_request,
    measured.is_escalated_to_private,
    measured.next_customer_contact_at,
    -- the inputs of the status columns that are not above (refresh_conversation_status re-reads them)
    measured.last_human_reply_at,
    measured.ends_with_human_reply,
    measured.resolution_business_seconds_if_resolved,
    measured.elapsed_handle_business_seconds_if_resolved
from measured
