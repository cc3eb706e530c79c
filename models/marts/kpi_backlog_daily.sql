-- Backlog: at the end of each local day (or at as_of, for the day that holds it), the conversations waiting for a
-- human reply: a customer turn had started and no human had answered it yet (a conversation has at most one such
-- turn: later customer messages join it). One row per account x channel x day
-- from the account's first customer turn to as_of.
-- Counted as a running sum of events (a turn joins the backlog when it starts and leaves it when a human answers;
-- it is over the response window from window seconds after its start until then), so the cost follows the turns,
-- not turns x days: the events are summed per day, then the days are summed up (a window over the events
-- themselves sorted 13M rows in 16 partitions on the 10M benchmark, 34 s of the build). The oldest waiting turn
-- is the first never-answered one, or an answered one still waiting at the snapshot (a range join over answered
-- turns only).
{%- set window_seconds = var('response_window_hours') * 3600 %}
with turns as (
    select * from {{ ref('fct_turns') }}
),

as_of as (
    select {{ as_of_timestamp() }} as as_of_at
),

account_channels as (
    select
        turns.account_id,
        turns.channel,
        turns.account_timezone,
        min(turns.started_date) as first_date,
        cast({{ utc_to_local('max(as_of.as_of_at)', 'turns.account_timezone') }} as date) as last_date
    from turns
    cross join as_of
    group by turns.account_id, turns.channel, turns.account_timezone
),

days as (
    select
        account_channels.account_id,
        account_channels.channel,
        spine.spine_date as activity_date,
        least(
            {{ local_to_utc(
                'cast(' ~ add_days('spine.spine_date', 1) ~ ' as timestamp)', 'account_channels.account_timezone'
            ) }},
            as_of.as_of_at
        ) as snapshot_at
    from account_channels
    cross join as_of
    inner join {{ date_spine(
        '(select min(first_date) from account_channels)', '(select max(last_date) from account_channels)'
    ) }} as spine
        on spine.spine_date between account_channels.first_date and account_channels.last_date
),

events as (
    select
        account_id,
        channel,
        started_at as event_at,
        1 as waiting_change,
        0 as over_window_change
    from turns
    union all
    select
        account_id,
        channel,
        replied_at as event_at,
        -1 as waiting_change,
        0 as over_window_change
    from turns
    where replied_at is not null
    union all
    select
        account_id,
        channel,
        {{ add_seconds("date_trunc('second', started_at)", window_seconds) }} as event_at,
        0 as waiting_change,
        1 as over_window_change
    from turns
    union all
    select
        account_id,
        channel,
        greatest({{ add_seconds("date_trunc('second', started_at)", window_seconds) }}, replied_at) as event_at,
        0 as waiting_change,
        -1 as over_window_change
    from turns
    where replied_at is not null
),

hour_numbers as (
    {%- for hour in range(24) %}
        select {{ hour }} as hour_number{{ " union all" if not loop.last }}
    {%- endfor %}
),

hours as (
    select {{ add_seconds('cast(spine.spine_date as timestamp)', 'hour_numbers.hour_number * 3600') }} as hour_at
    from {{ date_spine(
        add_days('(select min(first_date) from account_channels)', -1),
        add_days('(select max(last_date) from account_channels)', 1)
    ) }} as spine
    cross join hour_numbers
),

-- Every UTC hour the events can fall in, per account x channel, with the account's offset from UTC (seconds) at
-- its first and at its last second. An event's local time is its UTC time plus the offset, converted alone only
-- in an hour whose offset changes (a clock change): converting each of 13M events cost 3.3 s of CPU on the 10M
-- benchmark, a few thousand hours cost nothing.
zone_hours as (
    select
        account_channels.account_id,
        account_channels.channel,
        account_channels.account_timezone,
        account_channels.first_date,
        hours.hour_at,
        {{ seconds_between('hours.hour_at', utc_to_local('hours.hour_at', 'account_channels.account_timezone')) }}
            as offset_at_start,
        {{ seconds_between(
            add_seconds('hours.hour_at', 3599),
            utc_to_local(add_seconds('hours.hour_at', 3599), 'account_channels.account_timezone')
        ) }} as offset_at_end
    from account_channels
    cross join hours
),

local_events as (
    select
        events.account_id,
        events.channel,
        events.waiting_change,
        events.over_window_change,
        zone_hours.first_date,
        case
            when zone_hours.offset_at_start = zone_hours.offset_at_end
                then {{ add_seconds('events.event_at', 'zone_hours.offset_at_start') }}
            else cast({{ utc_to_local('events.event_at', 'zone_hours.account_timezone') }} as timestamp)
        end as local_at
    from events
    inner join zone_hours
        on
            events.account_id = zone_hours.account_id
            and events.channel = zone_hours.channel
            and date_trunc('hour', events.event_at) = zone_hours.hour_at
    cross join as_of
    where events.event_at <= as_of.as_of_at
),

-- the first snapshot that counts an event is the end of its local day (at equal times the event counts: one at
-- local midnight exactly belongs to the day before), or as_of; events after as_of count nowhere
bucketed as (
    select
        account_id,
        channel,
        waiting_change,
        over_window_change,
        first_date,
        case
            when local_at = cast(cast(local_at as date) as timestamp)
                then {{ add_days('cast(local_at as date)', -1) }}
            else cast(local_at as date)
        end as snapshot_date
    from local_events
),

daily_changes as (
    -- an event before the first day counts from the first day on
    select
        account_id,
        channel,
        greatest(snapshot_date, first_date) as activity_date,
        sum(waiting_change) as waiting_change,
        sum(over_window_change) as over_window_change
    from bucketed
    group by account_id, channel, greatest(snapshot_date, first_date)
),

running as (
    select
        days.account_id,
        days.channel,
        days.activity_date,
        sum(coalesce(daily_changes.waiting_change, 0)) over running_window as conversations_waiting,
        sum(coalesce(daily_changes.over_window_change, 0)) over running_window as conversations_waiting_over_window
    from days
    left join daily_changes
        on
            days.account_id = daily_changes.account_id
            and days.channel = daily_changes.channel
            and days.activity_date = daily_changes.activity_date
    window running_window as (
        partition by days.account_id, days.channel
        order by days.activity_date
        rows between unbounded preceding and current row
    )
),

first_unanswered as (
    select
        account_id,
        channel,
        min(started_at) as started_at
    from turns
    where replied_at is null
    group by account_id, channel
),

oldest_answered as (
    select
        days.account_id,
        days.channel,
        days.activity_date,
        min(turns.started_at) as started_at
    from days
    inner join turns
        on
            days.account_id = turns.account_id
            and days.channel = turns.channel
            and days.snapshot_at >= turns.started_at
            and days.snapshot_at < turns.replied_at
    group by days.account_id, days.channel, days.activity_date
)

select
    days.account_id,
    days.channel,
    days.activity_date,
    days.snapshot_at,
    cast(running.conversations_waiting as bigint) as conversations_waiting,
    cast(running.conversations_waiting_over_window as bigint) as conversations_waiting_over_window,
    {{ seconds_between(
        '''case
            when
                first_unanswered.started_at <= days.snapshot_at
                and (oldest_answered.started_at is null or first_unanswered.started_at < oldest_answered.started_at)
                then first_unanswered.started_at
            else oldest_answered.started_at
        end''',
        'days.snapshot_at'
    ) }} as oldest_waiting_seconds
from days
inner join running
    on
        days.account_id = running.account_id
        and days.channel = running.channel
        and days.activity_date = running.activity_date
left join first_unanswered
    on days.account_id = first_unanswered.account_id and days.channel = first_unanswered.channel
left join oldest_answered
    on
        days.account_id = oldest_answered.account_id
        and days.channel = oldest_answered.channel
        and days.activity_date = oldest_answered.activity_date
