{#- Pre-hook of the incremental marts: keep only the rows whose key (e.g. conversation_id) belongs, in the freshly
    built intermediate model `fresh_model`, to a customer this run does not recompute; the model then appends the
    recomputed customers' rows. Rows whose key no longer exists go too. -#}
{% macro delete_recomputed(key_column, fresh_model) %}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ key_column }} not in (
            select fresh.{{ key_column }}
            from {{ ref(fresh_model) }} as fresh
            where fresh.customer_key not in (
                select affected.customer_key from {{ ref('int_affected_customers') }} as affected
            )
        )
    {%- endif -%}
{% endmacro %}
