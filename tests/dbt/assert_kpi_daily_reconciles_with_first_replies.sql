{{ config(meta={"dagster": {"ref": {"name": "kpi_daily"}}}) }}
-- The daily mart adds up to its fact: as many threads and answered threads, in total and per account x channel.
with daily as (
    select
        account_id,
        channel,
        sum(threads) as threads,
        sum(answered_threads) as answered_threads
    from {{ ref('kpi_daily') }}
    group by account_id, channel
),

facts as (
    select
        account_id,
        channel,
        count(*) as threads,
        count(first_agent_reply_at) as answered_threads
    from {{ ref('fct_first_replies') }}
    group by account_id, channel
)

select
    coalesce(daily.account_id, facts.account_id) as account_id,
    coalesce(daily.channel, facts.channel) as channel,
    daily.threads as daily_threads,
    facts.threads as fact_threads,
    daily.answered_threads as daily_answered,
    facts.answered_threads as fact_answered
from daily
full outer join facts
    on daily.account_id = facts.account_id and daily.channel = facts.channel
where
    daily.threads is distinct from facts.threads
    or daily.answered_threads is distinct from facts.answered_threads
