{{ config(materialized='ephemeral') }}
-- A harness, not a table: it exists so that unit tests can prove the business_seconds_cte macro (see
-- _business_hours.yml). Each unit test passes its waits in the business_seconds_cases var (a list of
-- {wait_id, account_id, started_at, ended_at}, UTC) and mocks the calendar; by default there are no waits, and
-- being ephemeral it is never built in the warehouse.
{%- set cases = var('business_seconds_cases', []) %}
with waits as (
    select
        cast(given_waits.wait_id as varchar) as wait_id,
        cast(given_waits.account_id as varchar) as account_id,
        cast(given_waits.started_at as timestamp) as started_at,
        cast(given_waits.ended_at as timestamp) as ended_at
    from (
        values
        {%- for wait in cases or [{}] %}
            (
                {%- for column in ['wait_id', 'account_id', 'started_at', 'ended_at'] -%}
                    {{ 'null' if wait.get(column) is none else "'" ~ wait.get(column) ~ "'" }}
                    {{- ', ' if not loop.last }}
                {%- endfor -%}
            ){{ ',' if not loop.last }}
        {%- endfor %}
    ) as given_waits (wait_id, account_id, started_at, ended_at)
    where {{ 'true' if cases else 'false' }}
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
