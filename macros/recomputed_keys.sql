{#- The keys (`key_column`) of the rows of `relation` that belong to a customer the run recomputes
    (int_affected_customers), as a select: the rows an incremental build wrote, for the tests scoped to them
    (tests/dbt/generic/unique_recomputed.sql, tests/dbt/assert_turns_reconcile_with_conversations.sql). Call it
    outside any condition on flags: dbt records the reference to int_affected_customers when it parses. -#}
{% macro recomputed_keys(relation, key_column) %}
    select written.{{ key_column }}
    from {{ relation }} as written
    where written.customer_key in (select affected.customer_key from {{ ref('int_affected_customers') }} as affected)
{% endmacro %}
