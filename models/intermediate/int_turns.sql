-- One row per customer turn: a maximal run of customer messages with no human reply between them (bot messages do
-- not end a run). The wait starts at the turn's first message and stops at the next human reply in the
-- conversation; the reply is credited to the agent who sent it. "Any reply" (bots included) is kept beside it.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_affected_customers() }}"
) }}
-- depends_on: {{ ref('int_affected_customers') }}
-- Each CTE reads int_conversation_messages itself, with its own filter and columns: one shared CTE of every
-- message was materialised and then scanned four times (10M messages: 13.7 s -> 8.3 s, the same rows).
-- Who started the conversation and the first brand message after a turn's first message are read in the same
-- pass as the messages (window functions ordered by position, in which sent_at never decreases), not joined from
-- two more copies of the messages: with three hash joins of millions of text keys held at once, the 20M
-- benchmark needed 6 GB (it ran out of 3 and 4 GB); this fits 3 GB (20M: 34 s alone; 10M: 14.4 s instead of
-- 17.0 s; the same rows).
with customer_messages as (
    select
        conversation_id,
        account_id,
        channel,
        is_private,
        customer_key,
        author_role,
        sent_at,
        human_replies_so_far,
        first_value(author_role) over (
            partition by conversation_id order by position_in_conversation
            rows between unbounded preceding and current row
        ) as initiated_by,
        min(case when is_brand_message then sent_at end) over (
            partition by conversation_id order by position_in_conversation
            rows between current row and unbounded following
        ) as next_brand_message_at
    from {{ ref('int_conversation_messages') }}
    {{ affected_customers_only(keyword='where') }}
),

customer_turns as (
    select
        conversation_id,
        account_id,
        channel,
        is_private,
        customer_key,
        human_replies_so_far as human_replies_before,
        min(initiated_by) as initiated_by,
        min(sent_at) as started_at,
        max(sent_at) as last_customer_message_at,
        count(*) as customer_message_count,
        -- the first brand message after the turn's first message
        min(next_brand_message_at) as any_reply_at
    from customer_messages
    where author_role = 'customer'
    group by conversation_id, account_id, channel, is_private, customer_key, human_replies_so_far
),

human_replies as (
    select
        conversation_id,
        human_replies_so_far as reply_number,
        message_key,
        sent_at,
        agent_name
    from {{ ref('int_conversation_messages') }}
    where is_human_reply {{ affected_customers_only(keyword='and') }}
),

turns as (
    select
        customer_turns.conversation_id || '/' || cast(customer_turns.human_replies_before as varchar) as turn_id,
        customer_turns.conversation_id,
        customer_turns.account_id,
        customer_turns.channel,
        customer_turns.is_private,
        customer_turns.customer_key,
        customer_turns.initiated_by,
        row_number() over (
            partition by customer_turns.conversation_id order by customer_turns.started_at
        ) as turn_number,
        customer_turns.customer_message_count,
        customer_turns.started_at,
        customer_turns.last_customer_message_at,
        human_replies.sent_at as replied_at,
        human_replies.message_key as reply_message_key,
        human_replies.agent_name as replied_by_agent,
        customer_turns.any_reply_at
    from customer_turns
    left join human_replies
        on
            customer_turns.conversation_id = human_replies.conversation_id
            and customer_turns.human_replies_before + 1 = human_replies.reply_number
),

business_waits as (
    {{ business_seconds_cte('turns', 'turn_id', 'account_id', 'started_at', 'replied_at') }}
)

select
    turns.*,
    {{ seconds_between('turns.started_at', 'turns.replied_at') }} as wait_seconds,
    business_waits.business_seconds as wait_business_seconds,
    {{ seconds_between('turns.last_customer_message_at', 'turns.replied_at') }} as wait_from_last_message_seconds,
    {{ seconds_between('turns.started_at', 'turns.any_reply_at') }} as any_reply_wait_seconds
from turns
inner join business_waits on turns.turn_id = business_waits.turn_id
