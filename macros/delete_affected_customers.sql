{#- Pre-hook of the incremental models keyed by customer: drop the rows of the customers this run recomputes
    (int_affected_customers), whose fresh rows the model then appends. -#}
{% macro delete_affected_customers() %}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where customer_key in (select affected.customer_key from {{ ref('int_affected_customers') }} as affected)
    {%- endif -%}
{% endmacro %}
