{{ config(meta={"dagster": {"ref": {"name": "kpi_agent_daily"}}}) }}
-- Every answered turn of a customer-initiated conversation is credited to exactly one agent row.
select
    (select sum(replies) from {{ ref('kpi_agent_daily') }}) as credited,
    (
        select count(*) from {{ ref('fct_turns') }}
        where is_in_customer_initiated_conversation and is_answered
    ) as answered_turns
where
    (select coalesce(sum(replies), 0) from {{ ref('kpi_agent_daily') }})
    != (
        select count(*) from {{ ref('fct_turns') }}
        where is_in_customer_initiated_conversation and is_answered
    )
