-- One row per thread (reply tree or exported conversation): the published form of int_threads.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_recomputed('thread_id', 'int_threads') }}"
) }}
-- depends_on: {{ ref('int_affected_customers') }}
select
    thread_id,
    channel,
    account_id,
    first_message_key,
    first_author_role,
    is_private,
    first_message_at,
    last_message_at,
    first_customer_message_at,
    first_customer_id,
    message_count,
    customer_message_count,
    agent_message_count,
    bot_message_count,
    max_reply_depth,
    has_reply_cycle
from {{ ref('int_threads') }}
{{ affected_customers_only() }}
