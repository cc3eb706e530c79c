-- Backlog: at the end of each local day (or at as_of, for the day that holds it), the conversations waiting for a
-- human reply: a customer turn had started and no human had answered it yet (a conversation has at most one such
-- turn: later customer messages join it). One row per account x channel x day
-- from the account's first customer turn to as_of.
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

waiting as (
    select
        days.account_id,
        days.channel,
        days.activity_date,
        turns.conversation_id,
        {{ seconds_between('turns.started_at', 'days.snapshot_at') }} as waiting_seconds
    from days
    inner join turns
        on
            days.account_id = turns.account_id
            and days.channel = turns.channel
            and days.snapshot_at >= turns.started_at
            and (turns.replied_at is null or days.snapshot_at < turns.replied_at)
)

select
    days.account_id,
    days.channel,
    days.activity_date,
    days.snapshot_at,
    count(distinct waiting.conversation_id) as conversations_waiting,
    count(
        distinct case
            when waiting.waiting_seconds >= {{ var('response_window_hours') }} * 3600 then waiting.conversation_id
        end
    )
        as conversations_waiting_over_window,
    max(waiting.waiting_seconds) as oldest_waiting_seconds
from days
left join waiting
    on
        days.account_id = waiting.account_id
        and days.channel = waiting.channel
        and days.activity_date = waiting.activity_date
group by days.account_id, days.channel, days.activity_date, days.snapshot_at
