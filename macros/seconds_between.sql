{#- Whole seconds from one timestamp to a later one (negative if it is earlier). -#}
{% macro seconds_between(start_timestamp, end_timestamp) -%}
    {{ return(adapter.dispatch('seconds_between', 'social_care')(start_timestamp, end_timestamp)) }}
{%- endmacro %}

{% macro default__seconds_between(start_timestamp, end_timestamp) -%}
    datediff(second, {{ start_timestamp }}, {{ end_timestamp }})
{%- endmacro %}

{% macro duckdb__seconds_between(start_timestamp, end_timestamp) -%}
    date_diff('second', {{ start_timestamp }}, {{ end_timestamp }})
{%- endmacro %}
