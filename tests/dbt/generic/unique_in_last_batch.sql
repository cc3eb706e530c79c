{#- The grain test of a model that an incremental build rewrites by batch (int_message_threads): `column_name`
    identifies a row, `batch_column` says which run wrote it. A full refresh counts every key, as dbt's `unique`
    does. An incremental build counts, in the whole table, only the keys of the last batch: the rows it kept were
    unique after the last build, which passed this test (a build that fails is followed by a full refresh:
    orchestration/build_state.py), so any duplicate now has a row of the last batch in it. The same argument as
    unique_recomputed, for a model keyed by run instead of by customer. -#}
{% test unique_in_last_batch(model, column_name, batch_column='batch_at') %}
    {%- set written_keys %}
        select written.{{ column_name }}
        from {{ model }} as written
        where written.{{ batch_column }} = (select max(latest.{{ batch_column }}) from {{ model }} as latest)
    {%- endset %}
    {{ duplicate_keys(model, column_name, written_keys) }}
{% endtest %}
