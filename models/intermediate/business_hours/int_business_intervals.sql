-- One row per account x local date x opening interval: when an account with business hours is open, as UTC
-- timestamps. Wall-clock opening hours are read in the account's time zone date by date, so every interval has
-- the UTC offset of its own day (DST-correct); holidays remove their local date's intervals. Accounts without
-- business hours have no rows: they are open 24/7 (business_seconds_cte counts their calendar time).
-- The calendar covers the messages: from the day before the first one to business_calendar_horizon_days after the
-- last one (or after as_of, if later), so that open waits can be measured up to as_of and beyond.
with business_hours as (
    select * from {{ ref('business_hours') }}
),

holidays as (
    select * from {{ ref('holidays') }}
),

account_time_zones as (
    select distinct
        business_hours.account_id,
        {{ account_timezone('account_settings.timezone') }} as time_zone_name
    from business_hours
    left join {{ ref('accounts') }} as account_settings
        on business_hours.account_id = account_settings.account_id
),

calendar_bounds as (
    select
        {{ add_days('cast(min(sent_at) as date)', -1) }} as first_date,
        {{ add_days(
            'cast(greatest(max(sent_at), ' ~ as_of_timestamp() ~ ') as date)',
            var('business_calendar_horizon_days', 400)
        ) }} as last_date
    from {{ ref('stg_messages') }}
),

local_days as (
    select
        account_time_zones.account_id,
        account_time_zones.time_zone_name,
        spine.spine_date as local_date
    from
        {{ date_spine('(select first_date from calendar_bounds)', '(select last_date from calendar_bounds)') }} as spine
    cross join account_time_zones
),

local_intervals as (
    select
        local_days.account_id,
        local_days.time_zone_name,
        local_days.local_date,
        local_days.local_date + business_hours.open_time as local_open_at,
        local_days.local_date + business_hours.close_time as local_close_at
    from local_days
    inner join business_hours
        on
            local_days.account_id = business_hours.account_id
            and extract(isodow from local_days.local_date) = business_hours.day_of_week
    where not exists (
            select 1
            from holidays
            where
                holidays.account_id = local_days.account_id
                and holidays.holiday_date = local_days.local_date
        )
),

utc_intervals as (
    select
        account_id,
        local_date,
        {{ local_to_utc('local_open_at', 'time_zone_name') }} as open_at,
        {{ local_to_utc('local_close_at', 'time_zone_name') }} as close_at
    from local_intervals
),

-- A time in the hour skipped by a DST switch is read one hour later (macro local_to_utc): an interval this leaves
-- empty or reversed (02:00-03:00, 02:30-03:00 on a spring-forward night) is dropped, and intervals that overlap
-- (overlapping rows in the seed, or 01:00-02:30 then 03:00-05:00 that night) are merged, so that each instant is
-- counted once. Adjacent intervals (a shift ending at 24:00, the next one starting at 00:00) stay apart.
ordered_intervals as (
    select
        *,
        max(close_at) over (
            partition by account_id order by open_at, close_at rows between unbounded preceding and 1 preceding
        ) as previous_close_at
    from utc_intervals
    where close_at > open_at
),

numbered_intervals as (
    select
        *,
        sum(case when previous_close_at > open_at then 0 else 1 end) over (
            partition by account_id order by open_at, close_at rows unbounded preceding
        ) as interval_number
    from ordered_intervals
)

select
    account_id,
    min(local_date) as local_date,
    min(open_at) as open_at,
    max(close_at) as close_at
from numbered_intervals
group by account_id, interval_number
