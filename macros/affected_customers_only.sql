{#- In an incremental run, the filter that keeps the rows of the customers the run recomputes. -#}
{% macro affected_customers_only(customer_key_column='customer_key') %}
    {%- if is_incremental() -%}
        where {{ customer_key_column }} in (
            select affected.customer_key from {{ ref('int_affected_customers') }} as affected
        )
    {%- endif -%}
{% endmacro %}
