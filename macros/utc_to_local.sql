{#- A UTC timestamp (without time zone) as wall-clock time in an IANA time zone, daylight saving included. -#}
{% macro utc_to_local(utc_timestamp, time_zone) -%}
    {{ return(adapter.dispatch('utc_to_local', 'social_care')(utc_timestamp, time_zone)) }}
{%- endmacro %}

{% macro default__utc_to_local(utc_timestamp, time_zone) -%}
    convert_timezone('UTC', {{ time_zone }}, {{ utc_timestamp }})
{%- endmacro %}

{% macro duckdb__utc_to_local(utc_timestamp, time_zone) -%}
    timezone({{ time_zone }}, timezone('UTC', {{ utc_timestamp }}))
{%- endmacro %}
