{#- The distinct non-null values of a column of a relation (a seed), read when the model runs, or [] when the
    relation does not exist yet (dbt parse, a unit test's fixture). Models inline them as constants: a regular
    expression given as a constant is compiled once per query, one read from a column once per row. -#}
{% macro known_values(relation, column) %}
    {%- if not execute or model.resource_type == "unit_test" or load_relation(relation) is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select distinct {{ column }} from {{ relation }} where {{ column }} is not null order by 1
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{% endmacro %}
