{#- The grain test of a model that an incremental build recomputes by customer (docs/definitions.md, "Incremental
    builds"): `column_name` identifies a row. A full refresh counts every key, as dbt's `unique` does. An
    incremental build counts, in the whole table, only the keys it wrote: those of the rows of the customers it
    recomputed (int_affected_customers) in `written_by`, the model the new rows come from (default: the model
    itself; a mart names its intermediate model). The rows it kept were unique after the last build, which passed
    this test (a build that fails is followed by a full refresh: orchestration/build_state.py), so any duplicate
    now has a written row in it; the test costs a probe of the new keys instead of a count of every key. -#}
{% test unique_recomputed(model, column_name, written_by=none) %}
    {%- set written_from = written_by if written_by is not none else model %}
    {%- set written_keys = recomputed_keys(written_from, column_name) %}
    {{ duplicate_keys(model, column_name, written_keys) }}
{% endtest %}
