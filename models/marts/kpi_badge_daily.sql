-- Facebook's "very responsive" badge, recomputed per account x channel x local day over the trailing
-- badge_window_days (7) days of new customer-initiated conversations on private channels:
--   current rule (2018 on): response rate >= 90% (answered by a human within response_window_hours, 24 h) and
--   the mean of the fastest 90% of first reply times <= 15 minutes;
--   older rule: the same rate and the median first reply time <= 15 minutes.
-- Conversations still pending (younger than the window, unanswered) are left out of the rate.
{%- set window_days = var('badge_window_days') %}
with first_replies as (
    select * from {{ ref('fct_first_replies') }}
    where is_private
),

as_of as (
    select {{ as_of_timestamp() }} as as_of_at
),

account_channels as (
    select
        first_replies.account_id,
        first_replies.channel,
        min(first_replies.first_customer_message_date) as first_date,
        cast({{ utc_to_local('max(as_of.as_of_at)', 'first_replies.account_timezone') }} as date) as last_date
    from first_replies
    cross join as_of
    group by first_replies.account_id, first_replies.channel, first_replies.account_timezone
),

days as (
    select
        account_channels.account_id,
        account_channels.channel,
        spine.spine_date as activity_date
    from account_channels
    inner join {{ date_spine(
        '(select min(first_date) from account_channels)', '(select max(last_date) from account_channels)'
    ) }} as spine
        on spine.spine_date between account_channels.first_date and account_channels.last_date
),

window_rows as (
    select
        days.account_id,
        days.channel,
        days.activity_date,
        first_replies.conversation_id,
        first_replies.response_status,
        case when first_replies.response_status = 'answered' then first_replies.first_reply_seconds end
            as answered_seconds
    from days
    left join first_replies
        on
            days.account_id = first_replies.account_id
            and days.channel = first_replies.channel
            and first_replies.first_customer_message_date
            between {{ add_days('days.activity_date', 1 - window_days) }} and days.activity_date
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_id, channel, activity_date order by answered_seconds, conversation_id
        ) as speed_rank,
        count(answered_seconds) over (partition by account_id, channel, activity_date) as answered_in_window
    from window_rows
),

windows as (
    select
        account_id,
        channel,
        activity_date,
        count(conversation_id) as conversations,
        count(case when response_status = 'answered' then 1 end) as answered_conversations,
        count(case when response_status = 'unanswered' then 1 end) as unanswered_conversations,
        count(case when response_status = 'pending' then 1 end) as pending_conversations,
        avg(case when speed_rank <= ceil(0.9 * answered_in_window) then answered_seconds end)
            as fastest_90pct_mean_reply_seconds,
        {{ percentile('answered_seconds', 0.5) }} as median_reply_seconds
    from ranked
    group by account_id, channel, activity_date
)

select
    account_id,
    channel,
    activity_date,
    {{ add_days('activity_date', 1 - window_days) }} as window_start_date,
    conversations,
    answered_conversations,
    unanswered_conversations,
    pending_conversations,
    {{ safe_divide('answered_conversations', 'answered_conversations + unanswered_conversations') }}
        as response_rate,
    fastest_90pct_mean_reply_seconds,
    median_reply_seconds,
    case
        when answered_conversations + unanswered_conversations > 0
            then
                {{ safe_divide('answered_conversations', 'answered_conversations + unanswered_conversations') }}
                >= {{ var('badge_min_response_rate') }}
                and coalesce(fastest_90pct_mean_reply_seconds <= {{ var('badge_max_response_minutes') }} * 60, false)
    end as is_very_responsive,
    case
        when answered_conversations + unanswered_conversations > 0
            then
                {{ safe_divide('answered_conversations', 'answered_conversations + unanswered_conversations') }}
                >= {{ var('badge_min_response_rate') }}
                and coalesce(median_reply_seconds <= {{ var('badge_max_response_minutes') }} * 60, false)
    end as is_very_responsive_median_rule
from windows
