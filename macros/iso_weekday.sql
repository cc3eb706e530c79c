{#- ISO day of the week of a timestamp: 1 = Monday ... 7 = Sunday. -#}
{% macro iso_weekday(timestamp_expression) -%}
    {{ return(adapter.dispatch('iso_weekday', 'social_care')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__iso_weekday(timestamp_expression) -%}
    extract(isodow from {{ timestamp_expression }})
{%- endmacro %}

{% macro duckdb__iso_weekday(timestamp_expression) -%}
    isodow({{ timestamp_expression }})
{%- endmacro %}
