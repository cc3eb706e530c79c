-- Every message (up to as_of) placed in its conversation, classified, and counted along the conversation.
-- Conversation scope: a public thread; on a private channel, everything between one customer and one account.
-- Within a scope, a message after at least conversation_gap_hours of silence on both sides starts a new
-- conversation, except a brand message while the customer is waiting (their last message is unanswered): that is a
-- late reply, and it answers the customer in the current conversation. The role of a conversation's first message
-- says who initiated it (a brand follow-up after the gap, with nobody waiting, is brand-initiated).
-- Human reply: an agent message that no automated-author rule (seeds/automated_authors) matches. Bots, auto-replies
-- and away messages never count as replies to a customer. A DM request: a public human reply that matches a
-- pattern of seeds/dm_request_patterns. The text itself stays in int_messages.
-- Incremental by customer (int_affected_customers): a conversation never spans two customer_keys.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_affected_customers() }}"
) }}
-- depends_on: {{ ref('int_affected_customers') }}
{#- regular expressions of the seeds, matched as constants (see macros/known_values.sql) -#}
{%- set automated_patterns = known_values(ref('automated_authors'), 'text_pattern') %}
{%- set signoff_patterns = known_values(ref('accounts'), 'signoff_regex') + [var('default_signoff_regex')] %}
{%- set dm_request_regexes = known_values(ref('dm_request_patterns'), 'pattern') %}
with messages as (
    select
        message_key,
        thread_key,
        channel,
        thread_account_id,
        thread_customer_id,
        customer_key,
        is_private,
        author_id,
        author_role,
        agent_id,
        sent_at,
        text
    from {{ ref('int_messages') }}
    {{ affected_customers_only() }}
),

accounts as (
    select * from {{ ref('accounts') }}
),

automated_rules as (
    select * from {{ ref('automated_authors') }}
),

dm_request_patterns as (
    select * from {{ ref('dm_request_patterns') }}
),

-- the agent messages, with their text, for the two rule matches below (read apart from the rest, so that neither
-- the text nor the customers' messages are carried through the windows below: sorting 8M rows with their text
-- cost more than all the rules)
agent_messages as (
    select
        message_key,
        thread_account_id,
        author_id,
        is_private,
        text
    from {{ ref('int_messages') }}
    where author_role = 'agent'
    {{ affected_customers_only(keyword='and') }}
),

-- the agent messages an automated-author rule matches
automated as (
    select distinct agent_messages.message_key
    from agent_messages
    inner join automated_rules
        on
            (automated_rules.account_id = '*' or agent_messages.thread_account_id = automated_rules.account_id)
            and (automated_rules.author_id is null or agent_messages.author_id = automated_rules.author_id)
            and (
                automated_rules.text_pattern is null
                or {{ regex_matches('agent_messages.text', 'automated_rules.text_pattern', automated_patterns) }}
            )
),

-- public agent messages asking the customer to move to a private channel (seeds/dm_request_patterns)
dm_request_matches as (
    select distinct agent_messages.message_key
    from agent_messages
    inner join dm_request_patterns
        on
            not agent_messages.is_private
            and {{ regex_matches('agent_messages.text', 'dm_request_patterns.pattern', dm_request_regexes) }}
),

classified as (
    select
        messages.message_key,
        messages.thread_key,
        messages.channel,
        messages.thread_account_id as account_id,
        messages.thread_customer_id as customer_id,
        messages.customer_key,
        messages.is_private,
        messages.author_id,
        messages.author_role,
        messages.sent_at,
        case
            when messages.is_private and messages.thread_customer_id is not null then messages.customer_key
            else messages.thread_key
        end as conversation_scope,
        case messages.author_role when 'customer' then 0 else 1 end as role_order,
        messages.author_role = 'bot' or automated.message_key is not null as is_automated,
        messages.author_role = 'agent' and automated.message_key is null as is_human_reply,
        messages.author_role in ('agent', 'bot') as is_brand_message,
        (
            messages.author_role = 'agent'
            and automated.message_key is null
            and dm_request_matches.message_key is not null
        ) as is_dm_request,
        case
            when messages.author_role = 'agent' and automated.message_key is null
                then coalesce(
                        messages.agent_id,
                        nullif(
                        {{ regex_extract(
                            'messages.text',
                            "coalesce(accounts.signoff_regex, '" ~ (var('default_signoff_regex') | replace("'", "''")) ~ "')",
                            1,
                            signoff_patterns
                        ) }},
                            ''
                        )
                    )
        end as agent_name
    from messages
    left join automated on messages.message_key = automated.message_key
    left join dm_request_matches on messages.message_key = dm_request_matches.message_key
    left join accounts on messages.thread_account_id = accounts.account_id
),

-- two sorts of each scope (window passes) instead of three: the running counts along the scope are taken with the
-- gaps, and a conversation's counts are the scope's minus those before its first message
gaps as (
    select
        *,
        lag(sent_at) over scope_order as previous_message_at,
        -- is a customer waiting? the last earlier message that is not automated is the customer's
        last_value(case when not is_automated then author_role end ignore nulls) over (
            scope_order rows between unbounded preceding and 1 preceding
        ) = 'customer' as customer_is_waiting,
        row_number() over scope_order as scope_position,
        sum(case when is_human_reply then 1 else 0 end) over scope_so_far as scope_human_replies,
        sum(case when is_brand_message then 1 else 0 end) over scope_so_far as scope_brand_messages
    from classified
    window
        scope_order as (partition by conversation_scope order by sent_at, role_order, message_key),
        scope_so_far as (scope_order rows between unbounded preceding and current row)
),

starts as (
    select
        *,
        case
            when previous_message_at is null then 1
            when
                {{ seconds_between('previous_message_at', 'sent_at') }} >= {{ var('conversation_gap_hours') }} * 3600
                and (author_role = 'customer' or not coalesce(customer_is_waiting, false))
                then 1
            else 0
        end as starts_conversation
    from gaps
),

numbered as (
    -- the scope's counts only grow, so the latest conversation start's values are the largest so far
    select
        *,
        sum(starts_conversation) over scope_so_far as conversation_number,
        max(case when starts_conversation = 1 then scope_position end) over scope_so_far as start_position,
        max(
            case
                when starts_conversation = 1
                    then scope_human_replies - case when is_human_reply then 1 else 0 end
            end
        ) over scope_so_far as human_replies_before_start,
        max(
            case
                when starts_conversation = 1
                    then scope_brand_messages - case when is_brand_message then 1 else 0 end
            end
        ) over scope_so_far as brand_messages_before_start
    from starts
    window scope_so_far as (
        partition by conversation_scope
        order by sent_at, role_order, message_key
        rows between unbounded preceding and current row
    )
)

select
    conversation_scope || '#' || cast(conversation_number as varchar) as conversation_id,
    conversation_scope,
    message_key,
    thread_key,
    channel,
    account_id,
    customer_id,
    customer_key,
    is_private,
    author_id,
    author_role,
    is_automated,
    is_human_reply,
    is_brand_message,
    is_dm_request,
    agent_name,
    sent_at,
    scope_position - start_position + 1 as position_in_conversation,
    -- human replies (resp. brand messages of any kind) up to and including this message: the customer messages
    -- that share a count form one customer turn, answered by the reply whose count is one higher
    scope_human_replies - human_replies_before_start as human_replies_so_far,
    scope_brand_messages - brand_messages_before_start as brand_messages_so_far
from numbered
