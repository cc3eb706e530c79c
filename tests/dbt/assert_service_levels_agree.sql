{{ config(meta={"dagster": {"ref": {"name": "kpi_service_level_daily"}}}) }}
-- The 15- and 60-minute service levels of kpi_daily and kpi_service_level_daily are one definition.
select
    daily.account_id,
    daily.channel,
    daily.activity_date,
    levels.threshold_minutes
from {{ ref('kpi_daily') }} as daily
inner join {{ ref('kpi_service_level_daily') }} as levels
    on
        daily.account_id = levels.account_id
        and daily.channel = levels.channel
        and daily.activity_date = levels.activity_date
        and levels.threshold_minutes in (15, 60)
where
    (levels.threshold_minutes = 15 and (
        levels.answered_within != daily.answered_within_15m or levels.offered != daily.offered_15m
    ))
    or (levels.threshold_minutes = 60 and (
        levels.answered_within != daily.answered_within_60m or levels.offered != daily.offered_60m
    ))
