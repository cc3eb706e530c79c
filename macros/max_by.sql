{#- Aggregate: the value of `expression` on the row where `ordering` is largest, null or not (see min_by). -#}
{% macro max_by(expression, ordering) -%}
    {{ return(adapter.dispatch('max_by', 'social_care')(expression, ordering)) }}
{%- endmacro %}

{% macro default__max_by(expression, ordering) -%}
    max_by({{ expression }}, {{ ordering }})
{%- endmacro %}

{% macro duckdb__max_by(expression, ordering) -%}
    arg_max_null({{ expression }}, {{ ordering }})
{%- endmacro %}
