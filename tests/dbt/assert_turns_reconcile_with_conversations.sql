{{ config(meta={"dagster": {"ref": {"name": "fct_turns"}}}) }}
-- Turns sum to their conversations: as many turns and answered turns, and the first turn's wait is the
-- conversation's first reply time.
-- A full refresh checks every conversation. An incremental build checks the conversations of the customers it
-- recomputed: the only rows of both facts it wrote (none of these columns moves with as_of); the others passed
-- this test after the last build (the argument of tests/dbt/generic/unique_recomputed.sql).
{%- set recomputed = recomputed_keys(ref('int_conversations'), 'conversation_id') %}
{%- set recomputed_only %}
    {%- if not flags.FULL_REFRESH %}
    where conversation_id in (select recomputed.conversation_id from recomputed)
    {%- endif %}
{%- endset %}
with {% if not flags.FULL_REFRESH -%}
    recomputed as (
        -- read once, by both facts' filters
        {{ recomputed }}
    ),

{% endif -%}
turn_totals as (
    select
        conversation_id,
        count(*) as customer_turns,
        count(replied_at) as answered_turns,
        max(case when is_first_reply_turn then wait_seconds end) as first_turn_wait_seconds
    from {{ ref('fct_turns') }}
    {{ recomputed_only }}
    group by conversation_id
),

conversations as (
    select
        conversation_id,
        customer_turns,
        answered_turns,
        is_customer_initiated,
        first_reply_seconds
    from {{ ref('fct_conversations') }}
    {{ recomputed_only }}
)

select conversations.conversation_id
from conversations
left join turn_totals on conversations.conversation_id = turn_totals.conversation_id
where
    conversations.customer_turns != coalesce(turn_totals.customer_turns, 0)
    or conversations.answered_turns != coalesce(turn_totals.answered_turns, 0)
    or (
        conversations.is_customer_initiated
        and conversations.first_reply_seconds is distinct from turn_totals.first_turn_wait_seconds
    )
