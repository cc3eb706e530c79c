-- The customers (customer_key: channel:account:customer, or a thread without a customer) whose threads and
-- conversations an incremental run recomputes: those whose messages the last int_messages batch wrote, under
-- their customer now and the one they had before. Every rule that looks past one conversation (the next contact
-- of first-contact resolution, escalation, the conversation gap) looks at the same customer's messages only, so
-- nobody else's rows can change with these messages. What changes for everyone when as_of moves (pending,
-- resolved, first-contact resolution decided) is updated in place by post-hooks (refresh_conversation_status,
-- copy_conversation_status), not recomputed.
-- After a full build every customer is in the batch.
with messages as (
    select * from {{ ref('int_messages') }}
),

last_batch as (
    select max(batch_at) as batch_at from messages
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
