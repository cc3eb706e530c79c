{#- In an incremental run, the filter that keeps the rows of the customers the run recomputes. `keyword`: 'where'
    to start the where clause, 'and' to add to one. -#}
{% macro affected_customers_only(customer_key_column='customer_key', keyword='where') %}
    {%- if is_incremental() -%}
        {{ keyword }} {{ customer_key_column }} in (
            select affected.customer_key from {{ ref('int_affected_customers') }} as affected
        )
    {%- endif -%}
{% endmacro %}
