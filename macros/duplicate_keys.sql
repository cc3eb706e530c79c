{#- The body of the scoped grain tests (tests/dbt/generic/unique_recomputed.sql, unique_in_last_batch.sql): the keys
    of `model` that occur more than once, counted in the whole table. A full refresh counts every key, as dbt's
    `unique` does; an incremental build counts only the keys `written_keys` (a query of column_name) returns. -#}
{% macro duplicate_keys(model, column_name, written_keys) %}
    select
        {{ column_name }} as unique_field,
        count(*) as n_records
    from {{ model }}
    where {{ column_name }} is not null
    {%- if not flags.FULL_REFRESH %}
        and {{ column_name }} in ({{ written_keys }})
    {%- endif %}
    group by {{ column_name }}
    having count(*) > 1
{% endmacro %}
