-- One row per thread: who it is with, how it started, how many messages of each kind, first and last activity.
-- The account is the one whose agent answered first (a twcs customer may mention several handles); failing an
-- answer, the account of the thread's first message.
with messages as (
    select * from {{ ref('int_messages') }}
),

ordered as (
    select
        *,
        row_number() over (
            partition by thread_key
            order by sent_at, case author_role when 'customer' then 0 else 1 end, message_key
        ) as position_in_thread
    from messages
),

first_brand_message as (
    select
        thread_key,
        account_id
    from ordered
    where author_role in ('agent', 'bot')
    qualify row_number() over (partition by thread_key order by position_in_thread) = 1
),

first_customer as (
    select
        thread_key,
        author_id as first_customer_id
    from ordered
    where author_role = 'customer'
    qualify row_number() over (partition by thread_key order by position_in_thread) = 1
),

threads as (
    select
        thread_key,
        any_value(channel) as channel,
        max(case when position_in_thread = 1 then message_key end) as first_message_key,
        max(case when position_in_thread = 1 then author_role end) as first_author_role,
        max(case when position_in_thread = 1 then account_id end) as first_message_account_id,
        bool_or(is_private) as is_private,
        min(sent_at) as first_message_at,
        max(sent_at) as last_message_at,
        min(case when author_role = 'customer' then sent_at end) as first_customer_message_at,
        count(*) as message_count,
        count(case when author_role = 'customer' then 1 end) as customer_message_count,
        count(case when author_role = 'agent' then 1 end) as agent_message_count,
        count(case when author_role = 'bot' then 1 end) as bot_message_count,
        max(reply_depth) as max_reply_depth,
        bool_or(is_in_reply_cycle) as has_reply_cycle
    from ordered
    group by thread_key
)

select
    threads.thread_key as thread_id,
    threads.channel,
    coalesce(first_brand_message.account_id, threads.first_message_account_id, 'unknown') as account_id,
    threads.first_message_key,
    threads.first_author_role,
    threads.is_private,
    threads.first_message_at,
    threads.last_message_at,
    threads.first_customer_message_at,
    first_customer.first_customer_id,
    threads.message_count,
    threads.customer_message_count,
    threads.agent_message_count,
    threads.bot_message_count,
    threads.max_reply_depth,
    threads.has_reply_cycle
from threads
left join first_brand_message
    on threads.thread_key = first_brand_message.thread_key
left join first_customer
    on threads.thread_key = first_customer.thread_key
