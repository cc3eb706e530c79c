-- Grade of service, one row per account x channel x local day x threshold of the service_level_minutes var.
-- service_level counts unanswered conversations as missed; service_level_of_answered is the variant that ignores
-- them (the share of answered conversations answered within the threshold).
with as_of as (
    select {{ as_of_timestamp() }} as as_of_at
),

first_replies as (
    -- with as_of_at, for the time observed (first customer message to as_of)
    select
        fct_first_replies.*,
        as_of.as_of_at
    from {{ ref('fct_first_replies') }} as fct_first_replies
    cross join as_of
)

{% for threshold in var('service_level_minutes') %}
    select
        account_id,
        channel,
        first_customer_message_date as activity_date,
        {{ threshold }} as threshold_minutes,
        count(*) as conversations,
        count(first_reply_seconds) as answered_conversations,
        {{ service_level_counts(threshold, 'answered_within', 'offered', 'service_level', 'as_of_at') }},
        {{ safe_divide(
            'count(case when first_reply_seconds <= ' ~ (threshold * 60) ~ ' then 1 end)',
            'count(first_reply_seconds)'
        ) }} as service_level_of_answered
    from first_replies
    group by account_id, channel, first_customer_message_date
    {% if not loop.last %}union all{% endif %}
{% endfor %}
