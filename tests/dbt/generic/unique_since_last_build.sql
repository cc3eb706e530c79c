{#- The grain test of a table that rows are only added to between builds (the raw tables the loader and the
    sentiment scoring write, and the views over them): the listed columns together identify a row; `written_at`
    says when a row was written. A full refresh, or `dbt test`, counts every key. An incremental `dbt build` counts,
    in the whole table, only the keys of the rows written since the last build started (last_build_started_at): the
    older rows were unique when that build checked them, so any duplicate now has a newer row in it. The bound is
    taken to the second below, because scored_at is stored to the second: a row written in the second the last
    build started is checked again. -#}
{% test unique_since_last_build(model, combination_of_columns, written_at) %}
    {%- set since = last_build_started_at() %}
    {%- if since is none %}
        {{ test_unique_combination(model, combination_of_columns) }}
    {%- else %}
        with written_keys as (
            select distinct {{ combination_of_columns | join(', ') }}
            from {{ model }}
            where {{ written_at }} >= date_trunc('second', cast('{{ since }}' as timestamp))
        )

        select
            {%- for column in combination_of_columns %}
            every_row.{{ column }},
            {%- endfor %}
            count(*) as rows_with_this_key
        from {{ model }} as every_row
        inner join written_keys
            on
            {%- for column in combination_of_columns %}
                every_row.{{ column }} = written_keys.{{ column }}{{ " and" if not loop.last }}
            {%- endfor %}
        group by
        {%- for column in combination_of_columns %}
            every_row.{{ column }}{{ "," if not loop.last }}
        {%- endfor %}
        having count(*) > 1
    {%- endif %}
{% endtest %}
