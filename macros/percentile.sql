{#- Continuous (interpolated) percentile of an aggregate group, p in [0, 1]. -#}
{% macro percentile(expression, p) -%}
    {{ return(adapter.dispatch('percentile', 'social_care')(expression, p)) }}
{%- endmacro %}

{% macro default__percentile(expression, p) -%}
    percentile_cont({{ p }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile(expression, p) -%}
    quantile_cont({{ expression }}, {{ p }})
{%- endmacro %}
