{{ config(meta={"dagster": {"ref": {"name": "kpi_daily"}}}) }}
-- The daily mart adds up to its facts, per account x channel: conversations, answers, turns, resolutions, FCR.
with daily as (
    select
        account_id,
        channel,
        sum(conversations) as conversations,
        sum(agent_initiated_conversations) as agent_initiated,
        sum(answered_conversations) as answered,
        sum(pending_conversations) as pending,
        sum(customer_turns) as customer_turns,
        sum(answered_turns) as answered_turns,
        sum(resolved_conversations) as resolved,
        sum(fcr_conversations) as fcr,
        sum(fcr_eligible_conversations) as fcr_eligible
    from {{ ref('kpi_daily') }}
    group by account_id, channel
),

facts as (
    select
        account_id,
        channel,
        count(case when is_customer_initiated then 1 end) as conversations,
        count(case when not is_customer_initiated then 1 end) as agent_initiated,
        count(case when response_status = 'answered' then 1 end) as answered,
        count(case when response_status = 'pending' then 1 end) as pending,
        sum(case when is_customer_initiated then customer_turns else 0 end) as customer_turns,
        sum(case when is_customer_initiated then answered_turns else 0 end) as answered_turns,
        count(case when is_customer_initiated and resolution_status = 'resolved' then 1 end) as resolved,
        count(case when is_customer_initiated and is_first_contact_resolution then 1 end) as fcr,
        count(case when is_customer_initiated and is_first_contact_resolution is not null then 1 end) as fcr_eligible
    from {{ ref('fct_conversations') }}
    group by account_id, channel
)

select
    coalesce(daily.account_id, facts.account_id) as account_id,
    coalesce(daily.channel, facts.channel) as channel
from daily
full outer join facts
    on daily.account_id = facts.account_id and daily.channel = facts.channel
where
    daily.conversations is distinct from facts.conversations
    or daily.agent_initiated is distinct from facts.agent_initiated
    or daily.answered is distinct from facts.answered
    or daily.pending is distinct from facts.pending
    or daily.customer_turns is distinct from facts.customer_turns
    or daily.answered_turns is distinct from facts.answered_turns
    or daily.resolved is distinct from facts.resolved
    or daily.fcr is distinct from facts.fcr
    or daily.fcr_eligible is distinct from facts.fcr_eligible
