{#- Grade of service for one threshold T (minutes), as three aggregate columns over first replies:
    answered within T; offered = answered within T, or observed for at least T (a conversation younger than T at
    as_of and still unanswered is pending: neither met nor missed); and their ratio. Unanswered count as missed. -#}
{% macro service_level_counts(threshold_minutes, answered_name, offered_name, share_name) -%}
    {%- set met = 'first_reply_seconds <= ' ~ (threshold_minutes * 60) -%}
    {%- set offered = met ~ ' or observed_seconds >= ' ~ (threshold_minutes * 60) -%}
    count(case when {{ met }} then 1 end) as {{ answered_name }},
    count(case when {{ offered }} then 1 end) as {{ offered_name }},
    {{ safe_divide('count(case when ' ~ met ~ ' then 1 end)', 'count(case when ' ~ offered ~ ' then 1 end)') }}
        as {{ share_name }}
{%- endmacro %}
