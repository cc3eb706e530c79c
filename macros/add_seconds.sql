{#- A timestamp n seconds later (n may be negative or an expression). -#}
{% macro add_seconds(timestamp_expression, seconds) -%}
    {{ return(adapter.dispatch('add_seconds', 'social_care')(timestamp_expression, seconds)) }}
{%- endmacro %}

{% macro default__add_seconds(timestamp_expression, seconds) -%}
    dateadd(second, {{ seconds }}, {{ timestamp_expression }})
{%- endmacro %}

{% macro duckdb__add_seconds(timestamp_expression, seconds) -%}
    ({{ timestamp_expression }} + to_seconds(cast({{ seconds }} as bigint)))
{%- endmacro %}
