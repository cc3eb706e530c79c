-- Messages up to as_of, each with the thread it belongs to.
-- A thread is the reply tree of a message that has no parent in the data (its root): the root is the earliest
-- ancestor present, and a message whose parent is missing starts a thread of its own. Where the export names the
-- conversation (a DM thread id), that id is the thread. The tree is walked from the roots down, one level per
-- step, so the work is linear in the messages and the steps are the depth of the deepest chain. A message whose
-- ancestors form a cycle is never reached from a root: it becomes a thread of its own, flagged.
with recursive messages as (
    select *
    from {{ ref('stg_messages') }}
    where sent_at <= {{ as_of_timestamp() }}
),

linked as (
    select
        messages.message_key,
        parents.message_key as present_parent_key
    from messages
    left join messages as parents
        on messages.parent_message_key = parents.message_key
    where messages.source_thread_key is null
),

walk (message_key, root_message_key, reply_depth) as (
    select
        message_key,
        message_key as root_message_key,
        0 as reply_depth
    from linked
    where present_parent_key is null
    union all
    select
        child.message_key,
        walk.root_message_key,
        walk.reply_depth + 1 as reply_depth
    from walk
    inner join linked as child
        on walk.message_key = child.present_parent_key
)

select
    messages.*,
    coalesce(messages.source_thread_key, walk.root_message_key, messages.message_key) as thread_key,
    coalesce(walk.reply_depth, 0) as reply_depth,
    messages.source_thread_key is null and walk.message_key is null as is_in_reply_cycle
from messages
left join walk
    on messages.message_key = walk.message_key
