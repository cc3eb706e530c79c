{{ config(meta={"dagster": {"ref": {"name": "fct_turns"}}}) }}
-- Turns sum to their conversations: as many turns and answered turns, and the first turn's wait is the
-- conversation's first reply time.
with turn_totals as (
    select
        conversation_id,
        count(*) as customer_turns,
        count(replied_at) as answered_turns,
        max(case when is_first_reply_turn then wait_seconds end) as first_turn_wait_seconds
    from {{ ref('fct_turns') }}
    group by conversation_id
)

select conversations.conversation_id
from {{ ref('fct_conversations') }} as conversations
left join turn_totals on conversations.conversation_id = turn_totals.conversation_id
where
    conversations.customer_turns != coalesce(turn_totals.customer_turns, 0)
    or conversations.answered_turns != coalesce(turn_totals.answered_turns, 0)
    or (
        conversations.is_customer_initiated
        and conversations.first_reply_seconds is distinct from turn_totals.first_turn_wait_seconds
    )
