"""Serving copy: the marts published for readers (BI tools, analysts) who must never block the writer.

After a successful run, ``publish()`` copies every table of schema ``marts`` into a new DuckDB file and renames it
over ``serving.duckdb``, and writes the marts as Parquet files into ``serving/<mart>/`` (one file per day for the
fct_* marts). Readers open ``serving.duckdb``
read-only: the nightly run never waits for them (they hold another file), and they never see a half-written
build (a rename is atomic). A connection opened before a publish keeps reading the build it opened (POSIX: the
renamed-over file lives on until its last reader closes it); the next connection sees the new build.

Two things keep a reader on the old build: a connection pool (SQLAlchemy keeps its connections open: use
``poolclass=NullPool``), and DuckDB's one-database-per-path-per-process cache (a new connection in a process
that still holds one to the same path shares the old database).

No personal data. The serving copy holds no message text and no customer's or agent's handle: every mart column
that is not a number, a boolean or a time is classified in ``COLUMN_CLASSES`` (by column name) and published as
its class says:

- ``public``: copied (account ids, channels, statuses, time zones);
- ``customer``: a customer's author id becomes its pseudonym, ``privacy.pseudonym(channel, author id)`` (HMAC-SHA-256
  under the pseudonym key: stable across runs, so repeat contacts still count);
- ``agent``: an agent's sign-off or id is copied for the accounts whose ``seeds/accounts.csv`` row sets
  ``publish_agent_names`` to true, and replaced by a keyed hash of (account, agent) for every other account (each
  agent keeps one stable pseudonym, so per-agent figures still add up); ``(unattributed)`` stays. Each distinct
  (account, agent) is hashed once per publish into a map that only the publishing connection holds (a temp
  table, like the key's pads: never in the serving copy nor in a query's text), and every row looks its agent up
  (``install_agent_map``; beyond ``AGENT_MAP_LIMIT`` agents every row is hashed, which gives the same values);
- ``identifier``: ids made of platform ids (a DM conversation id holds the customer's id, a Messenger thread id
  their name) become keyed hashes of themselves: joins between marts still work;
- ``text``: dropped.

A column of any other type that is not classified is withheld (not published) and reported: nothing new leaks by
accident (tests/unit/test_serving.py fails on an unclassified column of models/marts/_marts.yml).

Incremental (see "incremental publish" below): the fct_* marts are split by day, and each day into 32 blocks; a
publish deletes and writes again, in a copy of the last serving.duckdb, only the blocks whose fingerprint (row
count and sum of a 64-bit hash of every row, read from the warehouse) changed since the last publish, and the
Parquet files of their days; a full publish when the signature changed (columns, comments, key, agent rule,
erasures, DuckDB, LAYOUT), when there is no earlier publish, when serving.duckdb is not the file the manifest
recorded or when it grew past GROWTH_LIMIT times its size after the last full publish. The marts do not say
which rows a run changed (dbt deletes and appends the recomputed customers' rows, most of them unchanged): the
fingerprints find out by reading the marts once (about 1 s for 10M mart rows), which costs far less than hashing
and writing every row again.

Cost of a full publish (10M messages: 10.4M mart rows): about 30 s, most of it the keyed hashes of the ids and
customers (~22M HMACs in SQL), writing the DuckDB file and writing the Parquet files. Measured and not adopted: a
pseudonym cache (value -> pseudonym, hashing only new values) and hashing each distinct id once then joining,
because looking pseudonyms up costs as much as hashing them (fct_turns, 3.7M rows: hashing every row 11.3 s, 21 s
of CPU; with every pseudonym already cached, 4 s to gather them plus 8 s to join and write them in the mart's row
order, 23 s of CPU; a hash join alone loses the order).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.config import memory_limit
from orchestration.privacy import KEY_ENV, KEY_FILE, KeyedHash, erasure_count, resolve_key

SCHEMA = "marts"
SERVING_DB = "serving.duckdb"
PARQUET_DIR = "serving"
MANIFEST = "manifest.json"

PUBLIC, CUSTOMER, AGENT, IDENTIFIER, TEXT = "public", "customer", "agent", "identifier", "text"
# Every mart column that is not a number, a boolean or a time, by name (the marts name a thing the same way in
# every table). A new column of such a type must be added here before it is published.
COLUMN_CLASSES: dict[str, str] = {
    "account_id": PUBLIC,
    "channel": PUBLIC,
    "account_timezone": PUBLIC,
    "initiated_by": PUBLIC,
    "first_author_role": PUBLIC,
    "response_status": PUBLIC,
    "resolution_status": PUBLIC,
    "sentiment_change": PUBLIC,
    "customer_id": CUSTOMER,
    "first_customer_id": CUSTOMER,
    "agent": AGENT,
    "first_reply_agent": AGENT,
    "replied_by_agent": AGENT,
    "conversation_id": IDENTIFIER,
    "conversation_scope": IDENTIFIER,
    "thread_id": IDENTIFIER,
    "turn_id": IDENTIFIER,
    "first_message_key": IDENTIFIER,
    "reply_message_key": IDENTIFIER,
    "text": TEXT,
}
UNATTRIBUTED = "(unattributed)"
# Agents are few (73 in the 10M benchmark) but sit on millions of rows: each distinct (account, agent) is hashed
# once into a map, and every row looks its pseudonym up (3.4 s -> 0.35 s for fct_turns' 3.7M rows). A map lookup
# scans the map's keys, so beyond this many agents every row is hashed instead (the same values either way).
AGENT_MAP_LIMIT = 256
AGENT_MAP_TABLE = "serving_agent_pseudonyms"
# Types whose values cannot hold a name or a text: published as they are.
_SAFE_TYPE = re.compile(
    r"(U?(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT)|FLOAT|REAL|DOUBLE|DECIMAL(\(\d+, ?\d+\))?|NUMERIC|BOOLEAN"
    r"|DATE|TIME|TIMESTAMP(_S|_MS|_NS)?|TIMESTAMP WITH TIME ZONE|TIMESTAMPTZ|TIME WITH TIME ZONE|INTERVAL)"
)
_CLASS_NOTES = {
    CUSTOMER: "Serving copy: the customer's keyed pseudonym (HMAC-SHA-256 of channel and author id).",
    AGENT: "Serving copy: the agent as exported where the account's seed row sets publish_agent_names, else a "
    "keyed pseudonym of (account, agent).",
    IDENTIFIER: "Serving copy: a keyed hash of the id (joins between marts still work).",
}


def is_safe_type(data_type: str) -> bool:
    """A column of this type (DuckDB or dbt contract spelling) holds numbers, booleans or times only."""
    return bool(_SAFE_TYPE.fullmatch(data_type.strip().upper()))


def column_class(name: str, data_type: str) -> str | None:
    """How the serving copy publishes a mart column: a class, or None when it is not classified (withheld)."""
    return PUBLIC if is_safe_type(data_type) and name not in COLUMN_CLASSES else COLUMN_CLASSES.get(name)


@dataclass(frozen=True)
class ServingColumn:
    name: str
    data_type: str
    kind: str | None  # the class; None: not classified, withheld
    expression: str | None  # what the serving copy holds; None: not published
    comment: str | None


def serving_columns(
    con: duckdb.DuckDBPyConnection,
    table: str,
    key: KeyedHash,
    agent_accounts: list[str],
    agent_map: str | None = None,
) -> list[ServingColumn]:
    """Every column of a mart with its class and the expression that publishes it. ``agent_map``: a SQL expression
    for the map of agent pseudonyms (``install_agent_map``); without it, agents are hashed row by row."""
    columns = con.execute(
        """
        select column_name, data_type, comment from duckdb_columns()
        where database_name = current_database() and schema_name = ? and table_name = ?
        order by column_index
        """,
        [SCHEMA, table],
    ).fetchall()
    names = {name for name, _, _ in columns}
    allowed = "[" + ", ".join(_literal(a) for a in agent_accounts) + "]::varchar[]"
    out = []
    for name, data_type, comment in columns:
        kind = column_class(name, data_type)
        column = _ident(name)
        expression: str | None = None
        if kind == PUBLIC:
            expression = column
        elif kind == CUSTOMER and "channel" in names:
            expression = key.sql("channel", column)
        elif kind == AGENT and "account_id" in names:
            pseudonym = (
                f"{agent_map}[{_agent_message(column)}]"
                if agent_map
                else key.sql(_literal("agent"), "account_id", column)
            )
            expression = (
                f"case when {column} is null or {column} = {_literal(UNATTRIBUTED)} "
                f"or list_contains({allowed}, account_id) then {column} else {pseudonym} end"
            )
        elif kind == IDENTIFIER:
            expression = key.sql(_literal("id"), column)
        if expression is not None and kind in _CLASS_NOTES:
            comment = f"{comment} {_CLASS_NOTES[kind]}" if comment else _CLASS_NOTES[kind]
        out.append(ServingColumn(name, data_type, kind, expression, comment))
    return out


def _agent_message(column: str) -> str:
    """The agent part of an agent's HMAC message (``account_id`` U+001F agent): the key of the agent map."""
    return f"cast(account_id as varchar) || chr(31) || cast({column} as varchar)"


def install_agent_map(
    con: duckdb.DuckDBPyConnection, key: KeyedHash, tables: list[str], limit: int | None = None
) -> str | None:
    """Hash every distinct (account, agent) of the agent columns of ``tables`` (marts) once, into a map in a temp
    table of the connection (never in the serving copy, nor in a query's text), and return the SQL expression
    that reads the map: ``map[account_id || U+001F || agent]`` is ``key.hash("agent", account_id, agent)``. None
    (hash row by row) when there are more than ``limit`` of them, or none. The key must be installed
    on ``con``. ``limit``: default AGENT_MAP_LIMIT."""
    limit = AGENT_MAP_LIMIT if limit is None else limit
    pairs = []
    for table in tables:
        names = {
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where database_name = current_database() "
                "and schema_name = ? and table_name = ?",
                [SCHEMA, table],
            ).fetchall()
        }
        if "account_id" not in names:
            continue
        for name in sorted(n for n in names if COLUMN_CLASSES.get(n) == AGENT):
            column = _ident(name)
            pairs.append(
                f"select {_agent_message(column)} as message from {SCHEMA}.{_ident(table)} "
                f"where {column} is not null and account_id is not null"
            )
    if not pairs:
        return None
    con.execute(
        f"create or replace temp table {AGENT_MAP_TABLE}_messages as "
        f"select distinct message from ({' union all '.join(pairs)}) limit {int(limit) + 1}"
    )
    count = con.execute(f"select count(*) from {AGENT_MAP_TABLE}_messages").fetchone()[0]
    if not 0 < count <= limit:
        con.execute(f"drop table {AGENT_MAP_TABLE}_messages")
        return None
    con.execute(
        f"create or replace temp table {AGENT_MAP_TABLE} as "
        f"select map(list(message order by message), list(pseudonym order by message)) as pseudonyms from ("
        f"select message, {key.sql(_literal('agent'), 'message')} as pseudonym from {AGENT_MAP_TABLE}_messages)"
    )
    con.execute(f"drop table {AGENT_MAP_TABLE}_messages")
    return f"(select pseudonyms from temp.main.{AGENT_MAP_TABLE})"


def _withheld(columns: list[ServingColumn]) -> list[str]:
    """Columns left out for lack of a rule (unclassified, or no channel / account to pseudonymise them with)."""
    return [c.name for c in columns if c.expression is None and c.kind != TEXT]


def agent_accounts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Accounts whose seed row (seeds.accounts) allows publishing agents' sign-offs and ids."""
    has_flag = con.execute(
        "select count(*) from duckdb_columns() where database_name = current_database() "
        "and schema_name = 'seeds' and table_name = 'accounts' and column_name = 'publish_agent_names'"
    ).fetchone()[0]
    if not has_flag:
        return []
    rows = con.execute(
        "select account_id from seeds.accounts where coalesce(try_cast(publish_agent_names as boolean), false) "
        "order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """(name, comment) of every table and view of schema marts in the connection's main database."""
    return con.execute(
        """
        select table_name, comment from duckdb_tables()
        where database_name = current_database() and schema_name = ?
        union all
        select view_name, comment from duckdb_views()
        where database_name = current_database() and schema_name = ? and not internal
        order by 1
        """,
        [SCHEMA, SCHEMA],
    ).fetchall()


def warehouse_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The moment the marts describe: the backlog's last snapshot (= as_of, also for back-fills run with
    --as-of), else the latest message of staging.stg_messages, else None."""
    candidates = [
        ("marts", "kpi_backlog_daily", "max(snapshot_at)"),
        ("staging", "stg_messages", "max(sent_at)"),
    ]
    for schema, name, expression in candidates:
        exists = con.execute(
            """
            select count(*) from duckdb_tables() where database_name = current_database()
                and schema_name = ? and table_name = ?
            union all
            select count(*) from duckdb_views() where database_name = current_database()
                and schema_name = ? and view_name = ?
            """,
            [schema, name, schema, name],
        ).fetchall()
        if any(n for (n,) in exists):
            value = con.execute(f"select {expression} from {_ident(schema)}.{_ident(name)}").fetchone()[0]
            if value is not None:
                return value
    return None


# ------------------------------------------------------------------------------------------ incremental publish
# A nightly run changes few rows of the big marts (the new day, and the recent conversations whose status moved),
# so a publish rewrites only the partitions whose rows changed: each big mart is split by the local day of a
# column that does not change once the row exists (PARTITIONS), and a partition is rewritten when its fingerprint
# (row count and the sum of a 64-bit hash of every row, computed on the warehouse's mart) differs from the one
# recorded at the last publish. Marts not listed (the kpi_* marts, a few thousand rows) are one partition each.
PARTITIONS: dict[str, str] = {
    "fct_conversations": "started_date",
    "fct_turns": "started_date",
    "fct_first_replies": "first_customer_message_date",
    "fct_threads": "first_message_at",
}
# Within a day, the DuckDB copy is rewritten block by block: a row's block is a hash of a time it does not change
# either (BLOCK_COLUMNS), modulo BLOCKS. A nightly run changes a few rows of most past days (a late reply, a thread
# re-cut) and many rows of the last week (statuses that move with as_of): blocks rewrite the few, not their days.
# The Parquet files stay one per day (a reader's unit); a day's file is written again when any of its blocks changed.
# 10M messages, one night (bench/pipeline.py): 6.6% of the fct rows changed; rewriting whole days wrote 36% of the
# rows, blocks of 1/32 day 17% (the copy's writes 11.3 s -> 6.3 s, the file grew 19% instead of 57%).
BLOCK_COLUMNS: dict[str, str] = {
    "fct_conversations": "started_at",
    "fct_turns": "started_at",
    "fct_first_replies": "first_customer_message_at",
    "fct_threads": "first_message_at",
}
BLOCKS = 32
BLOCK_SEPARATOR = "#"  # a block's partition: "<day>#<block>", e.g. "2024-03-01#07"
WHOLE = "all"  # the partition of a mart without a partition column
NO_DAY = "none"  # the partition of rows whose partition column is null
# Rows deleted from the copy leave free space that later writes reuse only in part: beyond this many times its size
# after the last full publish, the next publish is a full one (a compact new file).
GROWTH_LIMIT = 2.0
# Bumped when the serving copy's layout or the fingerprint changes: the next publish is then a full one.
LAYOUT = 3


@dataclass(frozen=True)
class Plan:
    """What a publish writes: every partition (``full``), or per mart the partitions (days, or blocks of days:
    ``<day>#<block>``) to write again (``changed``: they hold rows now) and to delete (``removed``: they hold none
    any more)."""

    full: bool
    reason: str
    changed: dict[str, list[str]]
    removed: dict[str, list[str]]


def partition_column(mart: str, columns: list[ServingColumn]) -> str | None:
    """The column whose day partitions ``mart`` (a date or a timestamp), or None: one partition."""
    name = PARTITIONS.get(mart)
    return name if name and any(c.name == name and c.kind == PUBLIC for c in columns) else None


def block_column(mart: str, columns: list[ServingColumn]) -> str | None:
    """The column whose hash splits a day of ``mart`` into BLOCKS blocks, or None: whole days."""
    name = BLOCK_COLUMNS.get(mart)
    return name if name and any(c.name == name and c.kind == PUBLIC for c in columns) else None


def _block(column: str) -> str:
    """SQL: the block of a row (0 to BLOCKS - 1); the same in the warehouse and in the serving copy (the column is
    published as it is, and DuckDB's hash has no seed)."""
    return f"cast(hash({_ident(column)}) % {BLOCKS} as integer)"


def _partition_key(column: str | None) -> str:
    """SQL: the day partition of a row (``YYYY-MM-DD``, NO_DAY, or WHOLE): a Parquet file."""
    if column is None:
        return _literal(WHOLE)
    return f"coalesce(strftime(cast({_ident(column)} as date), '%Y-%m-%d'), {_literal(NO_DAY)})"


def block_name(day: str, block: int | None) -> str:
    """A partition's name: the day (``YYYY-MM-DD``, NO_DAY, WHOLE), or ``<day>#<block>`` (block 7: ``#07``)."""
    return day if block is None else f"{day}{BLOCK_SEPARATOR}{block:02d}"


def day_of(part: str) -> str:
    """The day partition (Parquet file) of a partition or block."""
    return part.split(BLOCK_SEPARATOR, 1)[0]


def _in_partitions(column: str | None, parts: list[str], block: str | None = None) -> str:
    """SQL: a row belongs to one of ``parts`` (of the same mart): days, or blocks of days (``<day>#<block>``,
    ``block``: the block column)."""
    if column is None:
        return "true" if parts else "false"
    whole_days: set[str] = set()
    some_blocks: dict[str, set[int]] = {}
    for part in parts:
        day, _, number = part.partition(BLOCK_SEPARATOR)
        if number and block is not None:
            some_blocks.setdefault(day, set()).add(int(number))
        else:
            whole_days.add(day)
    day_column = _ident(column)
    tests = []
    if dated := sorted(whole_days - {NO_DAY}):
        tests.append(f"cast({day_column} as date) in ({', '.join(f'date {_literal(d)}' for d in dated)})")
    if NO_DAY in whole_days:
        tests.append(f"{day_column} is null")
    for day, numbers in sorted(some_blocks.items()):
        if day in whole_days or block is None:
            continue
        in_day = (
            f"{day_column} is null" if day == NO_DAY else f"cast({day_column} as date) = date {_literal(day)}"
        )
        tests.append(f"({in_day} and {_block(block)} in ({', '.join(str(n) for n in sorted(numbers))}))")
    return "(" + " or ".join(tests) + ")" if tests else "false"


def fingerprint_term(column: ServingColumn) -> str:
    """A column as it enters a row's fingerprint. DuckDB's hash() of a string is not a uniform 64-bit hash: two
    strings that differ in two bytes 8 apart can hash alike ('facebook:1000002022_5935725' and
    'facebook:1000005022_5930725'; 75 pairs among the 16M message keys of the 20M benchmark), so a text change
    could leave a fingerprint as it was. Text is hashed as its md5 (128 bits; for a type holding text, the md5 of
    its JSON form); numbers, times and booleans by hash() itself. 10M benchmark, the four fct marts: 0.7 s -> 2.1 s
    a fingerprint pass."""
    name, data_type = _ident(column.name), column.data_type.upper()
    if data_type == "VARCHAR":
        return f"md5_number({name})"
    if "VARCHAR" in data_type:
        return f"md5_number(cast(to_json({name}) as varchar))"
    return name


def fingerprints(
    con: duckdb.DuckDBPyConnection, marts: list[str], columns: dict[str, list[ServingColumn]]
) -> dict[str, dict[str, list]]:
    """Per mart and partition (block of a day, day, or WHOLE): [rows, sum of a 64-bit hash of every row as a
    decimal string], read from the warehouse. Any change to a row (or a row added, removed or moved to another
    block) changes its partition's fingerprint, except with a ~2^-64 chance per changed partition (two different
    multisets of 64-bit hashes with the same sum). A row's hash is DuckDB's hash() of its columns, text columns
    first through md5 (``fingerprint_term``)."""
    out: dict[str, dict[str, list]] = {}
    for name in marts:
        every = ", ".join(fingerprint_term(c) for c in columns[name])
        column, block = partition_column(name, columns[name]), block_column(name, columns[name])
        day = f"cast({_ident(column)} as date)" if column else "null"
        number = _block(block) if column and block else "null"
        rows = con.execute(
            f"select {day} as day, {number} as block, count(*), cast(sum(hash({every})::hugeint) as varchar) "
            f"from {SCHEMA}.{_ident(name)} group by all order by all"
        ).fetchall()
        out[name] = {
            block_name(WHOLE if not column else d.isoformat() if d else NO_DAY, b): [count, digest]
            for d, b, count, digest in rows
            if count  # a whole mart's "group by" of constants is one group, even when the mart is empty
        }
    return out


def signature(
    marts: list[tuple[str, str | None]],
    columns: dict[str, list[ServingColumn]],
    key: KeyedHash,
    accounts: list[str],
    erasures: int,
) -> str:
    """What a publish depends on besides the marts' rows. When it changes the next publish is a full one: other
    columns, comments or classes, another key, other accounts publishing agent names, an erasure (a full publish
    writes a new file, so no erased value lingers in the free blocks of a copied one), another DuckDB or LAYOUT."""
    described = {
        "layout": LAYOUT,
        "duckdb": duckdb.__version__,
        "key_id": key.key_id,
        "agent_names_published_for": accounts,
        "erasures": erasures,
        "marts": {
            name: [
                comment,
                [[c.name, c.data_type, c.kind, c.expression is not None, c.comment] for c in columns[name]],
            ]
            for name, comment in marts
        },
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def plan(
    previous: dict | None,
    current_signature: str,
    current: dict[str, dict[str, list]],
    serving_db_stat: list[int] | None,
    files_ok: dict[str, set[str]],
    full: bool = False,
) -> Plan:
    """Full or incremental publish, and what to rewrite. A pure function of the last publish's recorded state
    (``previous``: manifest.json's "state"), the signature and fingerprints now, the size and mtime of the
    serving copy on disk, and (per mart) the days whose Parquet file is on disk as recorded (a missing file
    rewrites its day's every block)."""
    everything = {name: sorted(parts) for name, parts in current.items()}
    if full:
        return Plan(True, "full publish requested", everything, {})
    if not previous:
        return Plan(True, "no earlier publish recorded", everything, {})
    if previous.get("signature") != current_signature:
        return Plan(
            True,
            "the marts' columns, the pseudonym key, an erasure, DuckDB or the layout changed",
            everything,
            {},
        )
    if serving_db_stat is None or previous.get("serving_db_stat") != serving_db_stat:
        return Plan(True, "the serving copy on disk is not the one the last publish wrote", everything, {})
    compact_bytes = previous.get("full_publish_bytes")
    if compact_bytes and serving_db_stat[0] > GROWTH_LIMIT * compact_bytes:
        return Plan(
            True,
            f"the serving copy grew to more than {GROWTH_LIMIT:g} times its size after the last full publish",
            everything,
            {},
        )
    before = previous.get("fingerprints", {})
    changed, removed = {}, {}
    for name, parts in current.items():
        old = before.get(name, {})
        changed[name] = sorted(
            part
            for part, fingerprint in parts.items()
            if old.get(part) != fingerprint or day_of(part) not in files_ok[name]
        )
        removed[name] = sorted(set(old) - set(parts))
    return Plan(False, "incremental: only partitions whose rows changed", changed, removed)


def _rows_per_day(parts: dict[str, list]) -> dict[str, int]:
    """Rows per day partition (Parquet file) from the fingerprints of its blocks."""
    days: dict[str, int] = {}
    for part, (count, _) in sorted(parts.items()):
        days[day_of(part)] = days.get(day_of(part), 0) + count
    return days


def _previous_manifest(parquet_dir: Path) -> dict | None:
    try:
        manifest = json.loads((parquet_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _stat(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _files_on_disk(previous: dict | None, parquet_dir: Path, marts: list[str]) -> dict[str, set[str]]:
    """Per mart, the partitions whose Parquet file is on disk with the size the last publish recorded."""
    recorded = (previous or {}).get("tables", {})
    out: dict[str, set[str]] = {}
    for name in marts:
        files = recorded.get(name, {}).get("files", {}) if isinstance(recorded.get(name), dict) else {}
        out[name] = {
            part
            for part, entry in files.items()
            if (stat := _stat(parquet_dir / entry["file"])) is not None and stat[0] == entry.get("bytes")
        }
    return out


def _write_marts(
    con: duckdb.DuckDBPyConnection,
    marts: list[tuple[str, str | None]],
    columns: dict[str, list[ServingColumn]],
    alias: str,
    the_plan: Plan,
) -> None:
    """Write the marts as the serving copy publishes them (``columns``) into the attached DuckDB file ``alias``:
    every table with its comments (full), or only the rows of the changed and removed partitions of the copy of
    the last build (incremental). One transaction: one write to disk instead of one per statement. The rows of a
    partitioned mart are stored in day order, so a day's rows share storage blocks: deleting a day frees whole
    blocks for the next publish to reuse (10M messages: the file grows 14% instead of 49% when a quarter of
    fct_conversations is written again, and stays there night after night), and a day's scan skips the others."""
    con.begin()
    try:
        if the_plan.full:
            con.execute(f"create schema {alias}.{SCHEMA}")
        for name, comment in marts:
            qualified = f"{alias}.{SCHEMA}.{_ident(name)}"
            published = [c for c in columns[name] if c.expression is not None]
            select = ", ".join(f"{c.expression} as {_ident(c.name)}" for c in published)
            column = partition_column(name, columns[name])
            block = block_column(name, columns[name])
            in_day_order = (
                f" order by {_ident(column)}" + (f", {_block(block)}" if block else "") if column else ""
            )
            if the_plan.full:
                con.execute(
                    f"create table {qualified} as select {select} from {SCHEMA}.{_ident(name)}{in_day_order}"
                )
                if comment:
                    con.execute(f"comment on table {qualified} is {_literal(comment)}")
                for column in published:
                    if column.comment:
                        con.execute(
                            f"comment on column {qualified}.{_ident(column.name)} is {_literal(column.comment)}"
                        )
                continue
            changed, removed = the_plan.changed[name], the_plan.removed[name]
            if not changed and not removed:
                continue
            con.execute(f"delete from {qualified} where {_in_partitions(column, changed + removed, block)}")
            if changed:
                con.execute(
                    f"insert into {qualified} select {select} from {SCHEMA}.{_ident(name)} "
                    f"where {_in_partitions(column, changed, block)}{in_day_order}"
                )
        con.commit()
    except BaseException:
        con.rollback()
        raise


PARTITION_FIELD = "__serving_partition"


def _write_parquet(con: duckdb.DuckDBPyConnection, query: str, folder: Path) -> None:
    """The rows of ``query`` (on the new serving copy, with the partition in column PARTITION_FIELD) as one
    Parquet file per partition, in ``folder``/PARTITION_FIELD=<partition>/ (one pass over the rows; the field
    itself is not written). zstd level 1 rather than DuckDB's default 3: the hashes (random hex) compress no
    better at 3, so it takes 30% less CPU for files 1% smaller (10M messages: fct_conversations 6.5 -> 4.6 s of
    CPU, 278 -> 276 MB)."""
    con.execute(
        f"copy ({query}) to {_literal(str(folder))} "
        f"(format parquet, compression zstd, compression_level 1, partition_by ({PARTITION_FIELD}))"
    )


def _written_file(folder: Path, part: str) -> Path:
    """The one file _write_parquet wrote for ``part``."""
    written = sorted((folder / f"{PARTITION_FIELD}={part}").glob("*.parquet"))
    if len(written) != 1:
        raise RuntimeError(
            f"expected one Parquet file for partition {part} in {folder}, found {len(written)}"
        )
    return written[0]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _parquet_name(mart: str, part: str) -> str:
    return f"{mart}/{part}.parquet"


def publish(
    warehouse: Path,
    serving_db: Path | None = None,
    parquet_dir: Path | None = None,
    key: KeyedHash | None = None,
    full: bool = False,
) -> dict:
    """Publish the marts of ``warehouse`` (opened read-only) as ``serving_db`` (default: serving.duckdb beside
    it) and Parquet files in ``parquet_dir`` (default: serving/ beside it; one folder per mart, one file per
    partition: ``<mart>/<YYYY-MM-DD>.parquet``, or ``<mart>/all.parquet``), with a manifest.json: without message
    text, customers and agents pseudonymised (see the module's docstring). ``key``: the pseudonym key (default:
    privacy.resolve_key(warehouse)). ``full``: rewrite everything even when few partitions changed.

    Incremental unless ``plan`` says otherwise: the last serving copy is copied, and only the partitions whose
    fingerprint changed are deleted and written again, in it and as Parquet files. Everything is written under
    temporary names first, then renamed into place (os.replace): a failure before the renames leaves the previous
    serving copy untouched, and no temporary file is left behind. The Parquet files are written from the new
    serving copy itself, so both always hold the same rows. Call it with no read-write connection to the
    warehouse open in this process (DuckDB refuses a second configuration).
    Returns a summary: tables (rows per mart), rows, bytes, parquet_bytes, seconds, as_of, paths, withheld
    (unclassified columns not published), key_notice (what to tell the user when the key is not set), mode
    (full or incremental), reason, partitions_written, partitions_kept (Parquet files: days), blocks_written,
    blocks (what the DuckDB copy rewrote, of how many)."""
    started = time.perf_counter()
    warehouse = Path(warehouse)
    serving_db = Path(serving_db) if serving_db else warehouse.parent / SERVING_DB
    parquet_dir = Path(parquet_dir) if parquet_dir else warehouse.parent / PARQUET_DIR
    if not warehouse.is_file():
        raise FileNotFoundError(f"warehouse not found: {warehouse}")
    key = key or resolve_key(warehouse)
    previous = _previous_manifest(parquet_dir)

    token = secrets.token_hex(6)
    tmp_db = serving_db.with_name(f"{serving_db.name}.tmp-{token}")
    staged: list[tuple[Path, Path]] = []  # (temporary, final), renamed in this order
    leftovers = [tmp_db, tmp_db.with_name(tmp_db.name + ".wal")]
    try:
        with duckdb.connect(str(warehouse), read_only=True, config={"memory_limit": memory_limit()}) as con:
            marts = mart_tables(con)
            if not marts:
                raise ValueError(f"no table in schema {SCHEMA} of {warehouse}: nothing to publish")
            names = [name for name, _ in marts]
            as_of = warehouse_as_of(con)
            accounts = agent_accounts(con)
            con.execute("set enable_progress_bar = false")
            key.install(con)
            agent_map = install_agent_map(con, key, names)
            columns = {name: serving_columns(con, name, key, accounts, agent_map) for name in names}
            current = fingerprints(con, names, columns)
            current_signature = signature(marts, columns, key, accounts, erasure_count(con))
            the_plan = plan(
                (previous or {}).get("state"),
                current_signature,
                current,
                _stat(serving_db),
                _files_on_disk(previous, parquet_dir, names),
                full,
            )
            days_now = {name: _rows_per_day(parts) for name, parts in current.items()}
            # a day's Parquet file is written again when a block of it changed, or was removed while the day
            # still holds rows (a day that holds none loses its file)
            days_written = {
                name: sorted(
                    {day_of(p) for p in the_plan.changed[name]}
                    | ({day_of(p) for p in the_plan.removed.get(name, [])} & set(days_now[name]))
                )
                for name in names
            }
            serving_db.parent.mkdir(parents=True, exist_ok=True)
            if not the_plan.full:
                shutil.copyfile(serving_db, tmp_db)
            alias = f"serving_build_{token}"
            con.execute(f"attach {_literal(str(tmp_db))} as {alias} (read_write)")
            try:
                _write_marts(con, marts, columns, alias, the_plan)
                for name in names:
                    (parquet_dir / name).mkdir(parents=True, exist_ok=True)
                    parts = days_written[name]
                    if not parts:
                        continue
                    column = partition_column(name, columns[name])
                    tmp_folder = parquet_dir / name / f".tmp-{token}"
                    leftovers.append(tmp_folder)
                    _write_parquet(
                        con,
                        f"select *, {_partition_key(column)} as {PARTITION_FIELD} "
                        f"from {alias}.{SCHEMA}.{_ident(name)} where {_in_partitions(column, parts)}",
                        tmp_folder,
                    )
                    for part in parts:
                        staged.append(
                            (_written_file(tmp_folder, part), parquet_dir / _parquet_name(name, part))
                        )
            finally:
                con.execute(f"detach {alias}")
        _fsync(tmp_db)

        files = {name: {day: _parquet_name(name, day) for day in days_now[name]} for name in names}
        manifest = {
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "as_of": as_of.isoformat() if as_of else None,
            "warehouse": str(warehouse),
            "serving_db": str(serving_db),
            "publish": {
                "mode": "full" if the_plan.full else "incremental",
                "reason": the_plan.reason,
                # partitions: the Parquet files (days); blocks: what the DuckDB copy rewrote (blocks of days)
                "partitions_written": sum(len(days) for days in days_written.values()),
                "partitions_kept": sum(len(days_now[name]) - len(days_written[name]) for name in names),
                "partitions_removed": sum(
                    len({day_of(p) for p in the_plan.removed.get(name, [])} - set(days_now[name]))
                    for name in names
                ),
                "blocks_written": sum(len(parts) for parts in the_plan.changed.values()),
                "blocks": sum(len(parts) for parts in current.values()),
            },
            "tables": {
                name: {
                    "rows": sum(count for count, _ in current[name].values()),
                    "parquet": f"{name}/*.parquet",
                    "partitioned_by": partition_column(name, columns[name]),
                    "comment": comment,
                    "files": {},  # filled in below, once the files are in place
                }
                for name, comment in marts
            },
            "personal_data": {
                "message_text": "none",
                "pseudonym_key": KEY_ENV if not key.from_file else f"{KEY_FILE} beside the warehouse",
                "agent_names_published_for": accounts,
                "columns": {
                    name: {c.name: c.kind for c in columns[name] if c.kind not in (None, PUBLIC, TEXT)}
                    for name in names
                },
                "dropped": {name: [c.name for c in columns[name] if c.expression is None] for name in names},
            },
        }

        for tmp, final in staged:
            os.replace(tmp, final)
        os.replace(tmp_db, serving_db)
        stale = _stale_files(previous, parquet_dir, files)
        for path in stale:
            path.unlink(missing_ok=True)
        for name in names:
            for day, file in files[name].items():
                manifest["tables"][name]["files"][day] = {
                    "file": file,
                    "rows": days_now[name][day],
                    "bytes": (parquet_dir / file).stat().st_size,
                }
        serving_db_stat = _stat(serving_db)
        manifest["state"] = {
            "signature": current_signature,
            "serving_db_stat": serving_db_stat,
            # the size a compact copy has: a full publish writes one (plan's GROWTH_LIMIT)
            "full_publish_bytes": serving_db_stat[0]
            if the_plan.full and serving_db_stat
            else (previous or {}).get("state", {}).get("full_publish_bytes"),
            "fingerprints": current,
        }
        tmp_manifest = parquet_dir / f"{MANIFEST}.tmp-{token}"
        leftovers.append(tmp_manifest)
        tmp_manifest.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp_manifest, parquet_dir / MANIFEST)
    finally:
        for path in leftovers:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    tables = {name: manifest["tables"][name]["rows"] for name in names}
    return {
        "serving_db": str(serving_db),
        "parquet_dir": str(parquet_dir),
        "as_of": manifest["as_of"],
        "tables": tables,
        "rows": sum(tables.values()),
        "bytes": serving_db.stat().st_size,
        "parquet_bytes": sum(f["bytes"] for t in manifest["tables"].values() for f in t["files"].values()),
        "seconds": round(time.perf_counter() - started, 3),
        "withheld": {name: withheld for name in names if (withheld := _withheld(columns[name]))},
        "key_notice": key.notice(),
        **{
            k: manifest["publish"][k]
            for k in ("mode", "reason", "partitions_written", "partitions_kept", "blocks_written", "blocks")
        },
    }


def _stale_files(previous: dict | None, parquet_dir: Path, files: dict[str, dict[str, str]]) -> list[Path]:
    """Parquet files a publish leaves behind: those of partitions or marts that hold no rows any more, files of
    the layout before LAYOUT 2 (``<mart>.parquet``), and any other ``*.parquet`` in a mart's folder."""
    keep = {parquet_dir / file for parts in files.values() for file in parts.values()}
    candidates = set()
    for entry in ((previous or {}).get("tables") or {}).values():
        if isinstance(entry, dict):
            if isinstance(entry.get("parquet"), str) and entry["parquet"].endswith(".parquet"):
                candidates.add(parquet_dir / entry["parquet"])
            for part in (entry.get("files") or {}).values():
                candidates.add(parquet_dir / part["file"])
    for name in files:
        candidates.update((parquet_dir / name).glob("*.parquet"))
    return sorted(path for path in candidates if path not in keep)
