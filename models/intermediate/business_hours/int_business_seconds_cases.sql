{{ config(materialized='ephemeral') }}
-- A harness, not a table: it exists so that unit tests can prove the business_seconds_cte macro (see
-- _business_hours.yml). Each unit test passes its waits in the business_seconds_cases var (a list of
-- {wait_id, account_id, started_at, ended_at}) and mocks the calendar; by default there are no waits, and being
-- ephemeral it is never built in the warehouse.
with waits as (
    {%- for wait in var('business_seconds_cases', []) %}
        select
            cast({{ "'" ~ wait.wait_id ~ "'" }} as varchar) as wait_id,
            cast({{ "'" ~ wait.account_id ~ "'" if wait.account_id is not none else 'null' }} as varchar)
                as account_id,
            cast({{ "'" ~ wait.started_at ~ "'" if wait.started_at is not none else 'null' }} as timestamp)
                as started_at,
            cast({{ "'" ~ wait.ended_at ~ "'" if wait.ended_at is not none else 'null' }} as timestamp) as ended_at
        {{ 'union all' if not loop.last }}
    {%- else %}
        select
            cast(null as varchar) as wait_id,
            cast(null as varchar) as account_id,
            cast(null as timestamp) as started_at,
            cast(null as timestamp) as ended_at
        where false
    {%- endfor %}
),

business_seconds as (
    {{ business_seconds_cte('waits', 'wait_id', 'account_id', 'started_at', 'ended_at') }}
)

select
    waits.wait_id,
    waits.account_id,
    waits.started_at,
    waits.ended_at,
    {{ seconds_between('waits.started_at', 'waits.ended_at') }} as calendar_seconds,
    business_seconds.business_seconds
from waits
inner join business_seconds
    on waits.wait_id = business_seconds.wait_id
