{#- Schemas are named exactly as configured (staging, intermediate, marts, seeds), not <target>_<schema>:
    analysts and BI tools query marts.kpi_daily whatever the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
