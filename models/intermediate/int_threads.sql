-- One row per thread: who it is with (int_messages), how it started, how many messages of each kind, first and
-- last activity. Incremental by customer (int_affected_customers).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_affected_customers() }}"
) }}
-- depends_on: {{ ref('int_affected_customers') }}
with messages as (
    select * from {{ ref('int_messages') }}
    {{ affected_customers_only() }}
)

select
    thread_key as thread_id,
    any_value(channel) as channel,
    any_value(thread_account_id) as account_id,
    max(case when position_in_thread = 1 then message_key end) as first_message_key,
    max(case when position_in_thread = 1 then author_role end) as first_author_role,
    bool_or(is_private) as is_private,
    min(sent_at) as first_message_at,
    max(sent_at) as last_message_at,
    min(case when author_role = 'customer' then sent_at end) as first_customer_message_at,
    any_value(thread_customer_id) as first_customer_id,
    count(*) as message_count,
    count(case when author_role = 'customer' then 1 end) as customer_message_count,
    count(case when author_role = 'agent' then 1 end) as agent_message_count,
    count(case when author_role = 'bot' then 1 end) as bot_message_count,
    max(reply_depth) as max_reply_depth,
    bool_or(is_in_reply_cycle) as has_reply_cycle,
    any_value(customer_key) as customer_key
from messages
group by thread_key
