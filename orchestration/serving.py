"""Serving copy: the marts published for readers (BI tools, analysts) who must never block the writer.

After a successful run, ``publish()`` copies every table of schema ``marts`` into a new DuckDB file and renames it
over ``serving.duckdb``, and writes one Parquet file per mart into ``serving/``. Readers open ``serving.duckdb``
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

Cost (10M messages: 10.4M mart rows; 2 cores shared with another benchmark, so CPU seconds are the steadier
figure): 40 s (67 s of CPU) after a nightly run, was 45 s (78 s of CPU) before the agent map and zstd level 1.
What is left is the keyed hashes of the ids and customers (~22M HMACs in SQL, about half the CPU), writing the
DuckDB file and writing the Parquet files. A publish costs about the same after a nightly run as after a full
build (35 s on a freshly written copy of the same marts): it rewrites every row. Measured and not adopted: a pseudonym cache (value -> pseudonym, hashing only new values)
and hashing each distinct id once then joining, because looking pseudonyms up costs as much as hashing them
(fct_turns, 3.7M rows: hashing every row 11.3 s, 21 s of CPU; with every pseudonym already cached, 4 s to gather
them plus 8 s to join and write them in the mart's row order, 23 s of CPU; a hash join alone loses the order);
and an incremental publish, because the marts do not record which rows changed (dbt deletes and appends the
recomputed customers' rows), so only a full comparison with the previous build could prove the result the same.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.config import memory_limit
from orchestration.privacy import KEY_ENV, KEY_FILE, KeyedHash, resolve_key

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


def _copy_marts(
    con: duckdb.DuckDBPyConnection,
    marts: list[tuple[str, str | None]],
    columns: dict[str, list[ServingColumn]],
    alias: str,
) -> dict[str, int]:
    """Write every mart as the serving copy publishes it (``columns``), with its table and column comments, into
    the attached new DuckDB file ``alias`` (one transaction: one write to disk instead of one per statement).
    Returns the rows per mart."""
    con.begin()
    try:
        con.execute(f"create schema {alias}.{SCHEMA}")
        rows: dict[str, int] = {}
        for name, comment in marts:
            qualified = f"{alias}.{SCHEMA}.{_ident(name)}"
            published = [c for c in columns[name] if c.expression is not None]
            select = ", ".join(f"{c.expression} as {_ident(c.name)}" for c in published)
            con.execute(f"create table {qualified} as select {select} from {SCHEMA}.{_ident(name)}")
            if comment:
                con.execute(f"comment on table {qualified} is {_literal(comment)}")
            for column in published:
                if column.comment:
                    con.execute(
                        f"comment on column {qualified}.{_ident(column.name)} is {_literal(column.comment)}"
                    )
            rows[name] = con.execute(f"select count(*) from {qualified}").fetchone()[0]
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return rows


def _write_parquet(con: duckdb.DuckDBPyConnection, source: str, target: Path) -> None:
    """One table (of the new serving copy) as one Parquet file. zstd level 1 rather than DuckDB's default 3: the
    hashes (random hex) compress no better at 3, so it takes 30% less CPU for files 1% smaller (10M messages:
    fct_conversations 6.5 -> 4.6 s of CPU, 278 -> 276 MB)."""
    con.execute(
        f"copy (select * from {source}) to {_literal(str(target))} "
        "(format parquet, compression zstd, compression_level 1)"
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(
    warehouse: Path,
    serving_db: Path | None = None,
    parquet_dir: Path | None = None,
    key: KeyedHash | None = None,
) -> dict:
    """Publish the marts of ``warehouse`` (opened read-only) as ``serving_db`` (default: serving.duckdb beside
    it) and one Parquet file per mart in ``parquet_dir`` (default: serving/ beside it), with a manifest.json:
    without message text, customers and agents pseudonymised (see the module's docstring). ``key``: the
    pseudonym key (default: privacy.resolve_key(warehouse)).

    Everything is written under temporary names first, then renamed into place (os.replace): a failure before
    the renames leaves the previous serving copy untouched, and no temporary file is left behind. The Parquet
    files are written from the new serving copy itself, so both always hold the same rows. Call it with no
    read-write connection to the warehouse open in this process (DuckDB refuses a second configuration).
    Returns a summary: tables (rows per mart), rows, bytes, parquet_bytes, seconds, as_of, paths, withheld
    (unclassified columns not published), key_notice (what to tell the user when the key is not set)."""
    started = time.perf_counter()
    warehouse = Path(warehouse)
    serving_db = Path(serving_db) if serving_db else warehouse.parent / SERVING_DB
    parquet_dir = Path(parquet_dir) if parquet_dir else warehouse.parent / PARQUET_DIR
    if not warehouse.is_file():
        raise FileNotFoundError(f"warehouse not found: {warehouse}")
    key = key or resolve_key(warehouse)

    token = secrets.token_hex(6)
    tmp_db = serving_db.with_name(f"{serving_db.name}.tmp-{token}")
    staged: list[tuple[Path, Path]] = []  # (temporary, final), renamed in this order
    leftovers = [tmp_db, tmp_db.with_name(tmp_db.name + ".wal")]
    try:
        with duckdb.connect(str(warehouse), read_only=True, config={"memory_limit": memory_limit()}) as con:
            marts = mart_tables(con)
            if not marts:
                raise ValueError(f"no table in schema {SCHEMA} of {warehouse}: nothing to publish")
            as_of = warehouse_as_of(con)
            accounts = agent_accounts(con)
            key.install(con)
            agent_map = install_agent_map(con, key, [name for name, _ in marts])
            columns = {name: serving_columns(con, name, key, accounts, agent_map) for name, _ in marts}
            serving_db.parent.mkdir(parents=True, exist_ok=True)
            parquet_dir.mkdir(parents=True, exist_ok=True)
            alias = f"serving_build_{token}"
            con.execute(f"attach {_literal(str(tmp_db))} as {alias} (read_write)")
            try:
                rows = _copy_marts(con, marts, columns, alias)
                for name, _ in marts:
                    final = parquet_dir / f"{name}.parquet"
                    tmp = parquet_dir / f"{final.name}.tmp-{token}"
                    leftovers.append(tmp)
                    _write_parquet(con, f"{alias}.{SCHEMA}.{_ident(name)}", tmp)
                    staged.append((tmp, final))
            finally:
                con.execute(f"detach {alias}")
        _fsync(tmp_db)
        staged.append((tmp_db, serving_db))

        manifest = {
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "as_of": as_of.isoformat() if as_of else None,
            "warehouse": str(warehouse),
            "serving_db": str(serving_db),
            "tables": {
                name: {"rows": rows[name], "parquet": f"{name}.parquet", "comment": comment}
                for name, comment in marts
            },
            "personal_data": {
                "message_text": "none",
                "pseudonym_key": KEY_ENV if not key.from_file else f"{KEY_FILE} beside the warehouse",
                "agent_names_published_for": accounts,
                "columns": {
                    name: {c.name: c.kind for c in columns[name] if c.kind not in (None, PUBLIC, TEXT)}
                    for name, _ in marts
                },
                "dropped": {
                    name: [c.name for c in columns[name] if c.expression is None] for name, _ in marts
                },
            },
        }
        final_manifest = parquet_dir / MANIFEST
        tmp_manifest = parquet_dir / f"{MANIFEST}.tmp-{token}"
        leftovers.append(tmp_manifest)
        tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        staged.append((tmp_manifest, final_manifest))

        for tmp, final in staged:
            os.replace(tmp, final)
    finally:
        for path in leftovers:
            path.unlink(missing_ok=True)

    return {
        "serving_db": str(serving_db),
        "parquet_dir": str(parquet_dir),
        "as_of": manifest["as_of"],
        "tables": rows,
        "rows": sum(rows.values()),
        "bytes": serving_db.stat().st_size,
        "parquet_bytes": sum(final.stat().st_size for _, final in staged if final.suffix == ".parquet"),
        "seconds": round(time.perf_counter() - started, 3),
        "withheld": {name: withheld for name, _ in marts if (withheld := _withheld(columns[name]))},
        "key_notice": key.notice(),
    }
