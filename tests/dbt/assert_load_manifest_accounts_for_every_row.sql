-- Every loaded file: rows read = rows loaded + rows rejected + rows erased (rows of erased customers, dropped:
-- orchestration/privacy.py), and the raw tables hold exactly the rows loaded and rejected.
{%- set raw_tables = [
    'twcs_messages', 'messages', 'twitter_v2_messages', 'facebook_graph_messages', 'messenger_dyi_messages'
] %}
with stored as (
    {% for table in raw_tables %}
        select
            _file as file_path,
            count(*) as rows_stored
        from {{ source('raw', table) }}
        group by _file
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

rejected as (
    select
        file_path,
        count(*) as rows_rejected
    from {{ source('raw', 'rejected_rows') }}
    group by file_path
)

select
    manifest.file_path,
    manifest.rows_read,
    manifest.rows_loaded,
    manifest.rows_rejected,
    manifest.rows_erased,
    stored.rows_stored,
    rejected.rows_rejected as rejects_stored
from {{ source('raw', 'load_manifest') }} as manifest
left join stored on manifest.file_path = stored.file_path
left join rejected on manifest.file_path = rejected.file_path
where
    manifest.status = 'loaded'
    and (
        manifest.rows_read != manifest.rows_loaded + manifest.rows_rejected + coalesce(manifest.rows_erased, 0)
        or manifest.rows_loaded != coalesce(stored.rows_stored, 0)
        or manifest.rows_rejected != coalesce(rejected.rows_rejected, 0)
    )
