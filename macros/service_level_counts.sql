{#- Grade of service for one threshold T (minutes), as three aggregate columns over first replies:
    answered within T; offered = answered within T, or observed for at least T (a conversation younger than T at
    as_of and still unanswered is pending: neither met nor missed); and their ratio. Unanswered count as missed.
    The time observed runs from first_customer_message_at to as_of_at (a column holding as_of_timestamp()). It is
    computed here, at query time, and not stored in the marts: a stored copy would change on every row every run. -#}
{% macro service_level_counts(threshold_minutes, answered_name, offered_name, share_name, as_of_at) -%}
    {%- set met = 'first_reply_seconds <= ' ~ (threshold_minutes * 60) -%}
    {%- set observed = seconds_between('first_customer_message_at', as_of_at) -%}
    {%- set offered = met ~ ' or ' ~ observed ~ ' >= ' ~ (threshold_minutes * 60) -%}
    count(case when {{ met }} then 1 end) as {{ answered_name }},
    count(case when {{ offered }} then 1 end) as {{ offered_name }},
    {{ safe_divide('count(case when ' ~ met ~ ' then 1 end)', 'count(case when ' ~ offered ~ ' then 1 end)') }}
        as {{ share_name }}
{%- endmacro %}
