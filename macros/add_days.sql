{#- A date n days later (n may be negative or an expression). -#}
{% macro add_days(date_expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'social_care')(date_expression, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expression, days) -%}
    dateadd(day, {{ days }}, {{ date_expression }})
{%- endmacro %}

{% macro duckdb__add_days(date_expression, days) -%}
    cast({{ date_expression }} + to_days(cast({{ days }} as integer)) as date)
{%- endmacro %}
