{#- When the last dbt build that wrote stg_messages started (the latest batch_at it stored), read when a test
    compiles; none when every row must be checked: a full refresh, a command other than `dbt build` (`dbt test`
    checks whole tables), or no stg_messages yet. The tests of the raw rows run before stg_messages in a build
    (they are upstream of it), so they read the previous build's value: every raw row written before it was checked
    by that build, which passed (a build that fails is followed by a full refresh: orchestration/build_state.py;
    a failing raw test skips stg_messages, so the value stays). -#}
{% macro last_build_started_at() %}
    {%- if not execute or flags.FULL_REFRESH or invocation_args_dict.get('which') != 'build' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', 'stg_messages') | first -%}
    {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- if relation is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(run_query('select max(batch_at) from ' ~ relation).columns[0].values()[0]) }}
{% endmacro %}
