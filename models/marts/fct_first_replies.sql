-- One row per customer-started thread: how long the customer waited for the brand's first human answer.
-- Clock starts: the thread's first customer message. Clock stops: the first agent message at or after it
-- (same second counts: 0 s). Bot messages never stop it. Unanswered: first_agent_reply_at is null.
with threads as (
    select * from {{ ref('int_threads') }}
    where first_author_role = 'customer'
),

messages as (
    select * from {{ ref('int_messages') }}
),

accounts as (
    select * from {{ ref('accounts') }}
),

first_agent_replies as (
    select
        threads.thread_id,
        min(messages.sent_at) as first_agent_reply_at
    from threads
    inner join messages
        on
            threads.thread_id = messages.thread_key
            and messages.author_role = 'agent'
            and threads.first_customer_message_at <= messages.sent_at
    group by threads.thread_id
),

with_timezone as (
    select
        threads.*,
        first_agent_replies.first_agent_reply_at,
        coalesce(accounts.timezone, '{{ var("default_timezone") }}') as account_timezone
    from threads
    left join first_agent_replies on threads.thread_id = first_agent_replies.thread_id
    left join accounts on threads.account_id = accounts.account_id
)

select
    thread_id,
    account_id,
    channel,
    is_private,
    first_customer_message_at,
    first_agent_reply_at,
    {{ seconds_between('first_customer_message_at', 'first_agent_reply_at') }} as first_reply_seconds,
    first_agent_reply_at is not null as is_answered,
    account_timezone,
    cast({{ utc_to_local('first_customer_message_at', 'account_timezone') }} as date) as first_customer_message_date
from with_timezone
