-- The customers (customer_key: channel:account:customer, or a thread without a customer) whose threads and
-- conversations an incremental run recomputes: those whose messages the last int_messages batch wrote (under
-- their customer now and the one they had before), and those with a message in the lookback before the previous
-- run's as_of, whose as_of-dependent facts (pending, resolved, first-contact resolution...) may have moved since.
-- The lookback is the longest window of the definitions, so a conversation older than it reads the same at any
-- later as_of. After a full build every customer is in the batch.
{%- set lookback_hours = [
    var('resolution_quiet_hours'),
    var('response_window_hours'),
    var('escalation_window_hours'),
    var('conversation_gap_hours'),
    var('fcr_window_days') * 24,
] | max %}
with messages as (
    select * from {{ ref('int_messages') }}
),

last_batch as (
    select max(batch_at) as batch_at from messages
),

previous_run as (
    select max(messages.as_of_at) as previous_as_of
    from messages
    cross join last_batch
    where messages.batch_at < last_batch.batch_at
),

batch as (
    select
        messages.customer_key,
        messages.previous_customer_key
    from messages
    inner join last_batch on messages.batch_at = last_batch.batch_at
)

select customer_key from batch
union
select previous_customer_key from batch
where previous_customer_key is not null
union
select messages.customer_key
from messages
cross join previous_run
where {{ seconds_between('messages.sent_at', 'previous_run.previous_as_of') }} < {{ lookback_hours }} * 3600
