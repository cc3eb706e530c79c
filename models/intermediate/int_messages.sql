-- Messages up to as_of, each with its thread (int_message_threads: the reply trees, walked in a model of their
-- own) and the thread's account and customer. The ranking and the thread's people use only the key columns; the
-- wide columns (text) are joined once, at the end: sorting and materialising 8M rows with their text cost 3x the
-- whole walk.
-- A thread's account is the one whose brand message comes first (a twcs customer may mention several handles),
-- failing that the account of its first message; its customer is the author of its first customer message.
-- customer_key (channel:account:customer, or the thread for a thread without a customer) is the unit that the
-- incremental models downstream recompute: every conversation rule looks no further than one customer's messages
-- with one account.
-- Incremental: the messages int_message_threads wrote in this run (the changed messages and every message of the
-- threads they touch) are ranked again and replace their rows. previous_customer_key keeps the customer a
-- re-threaded message had before.
{{ config(materialized='incremental', unique_key='message_key', incremental_strategy='delete+insert') }}
with threads as (
    select
        message_key,
        thread_key,
        reply_depth,
        is_in_reply_cycle,
        as_of_at
    from {{ ref('int_message_threads') }}
    {%- if is_incremental() %}
        where batch_at = {{ batch_at() }}
    {%- endif %}
),

threaded as (
    select
        threads.message_key,
        threads.thread_key,
        threads.reply_depth,
        threads.is_in_reply_cycle,
        threads.as_of_at,
        stg_messages.author_role,
        stg_messages.account_id,
        stg_messages.author_id,
        row_number() over (
            partition by threads.thread_key
            order by
                stg_messages.sent_at,
                case stg_messages.author_role when 'customer' then 0 else 1 end,
                stg_messages.message_key
        ) as position_in_thread
    from threads
    inner join {{ ref('stg_messages') }} as stg_messages on threads.message_key = stg_messages.message_key
),

-- a thread's account: its first brand message's, failing that its first message's; its customer: the author of its
-- first customer message
thread_people as (
    select
        thread_key,
        coalesce(
            {{ min_by('account_id', 'position_in_thread', "author_role in ('agent', 'bot')") }},
            {{ min_by('account_id', 'position_in_thread') }},
            'unknown'
        ) as thread_account_id,
        {{ min_by('author_id', 'position_in_thread', "author_role = 'customer'") }} as thread_customer_id
    from threaded
    group by thread_key
),

resolved as (
    select
        threaded.message_key,
        threaded.thread_key,
        threaded.reply_depth,
        threaded.is_in_reply_cycle,
        threaded.position_in_thread,
        threaded.as_of_at,
        thread_people.thread_account_id,
        thread_people.thread_customer_id
    from threaded
    inner join thread_people on threaded.thread_key = thread_people.thread_key
)

select
    stg_messages.message_key,
    stg_messages.message_id,
    stg_messages.channel,
    stg_messages.parent_message_key,
    stg_messages.source_thread_key,
    stg_messages.account_id,
    stg_messages.author_id,
    stg_messages.author_role,
    stg_messages.is_private,
    stg_messages.sent_at,
    stg_messages.text,
    stg_messages.agent_id,
    stg_messages.source_format,
    stg_messages.source_file,
    stg_messages.loaded_at,
    resolved.thread_key,
    resolved.reply_depth,
    resolved.is_in_reply_cycle,
    resolved.position_in_thread,
    resolved.thread_account_id,
    resolved.thread_customer_id,
    case
        when resolved.thread_customer_id is not null
            then stg_messages.channel || ':' || resolved.thread_account_id || ':' || resolved.thread_customer_id
        else resolved.thread_key
    end as customer_key,
    {% if is_incremental() -%}
        previous.customer_key as previous_customer_key,
    {%- else -%}
        cast(null as varchar) as previous_customer_key,
    {%- endif %}
    resolved.as_of_at,
    {{ batch_at() }} as batch_at
from {{ ref('stg_messages') }} as stg_messages
inner join resolved on stg_messages.message_key = resolved.message_key
{%- if is_incremental() %}
    left join {{ this }} as previous on resolved.message_key = previous.message_key
{%- endif %}
