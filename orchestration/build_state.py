"""When the dbt build may be incremental, and when it must start over (a full refresh).

The incremental models (stg_messages, int_messages and the models keyed by customer downstream, see
docs/definitions.md "Incremental builds") handle the two ways the data grows: new rows loaded and as_of moving
forward. Anything else changes history, and then only a full refresh gives the marts a full build would give:

- a landing file loaded before was replaced by a new version or removed (its old rows are gone from raw);
- the models, macros, seeds or dbt_project.yml changed (other rules, other opening hours, other columns), or
  the version of dbt, dbt-duckdb or DuckDB;
- a dbt var other than as_of changed, or as_of moved back;
- the brand handles of the twcs exports changed (an inbound tweet's account is the handle it @mentions);
- the last build did not finish (some models may hold a batch the others never saw);
- there was no build yet, or the incremental tables are missing.

``raw.dbt_build_state`` keeps one row: the fingerprint of the last build (files, project, vars), whether it
finished, and the as_of it described. The decision is a pure function of the previous and the current
fingerprint, unit-tested in tests/unit/test_build_state.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

import duckdb

TABLE = "raw.dbt_build_state"
PROJECT_PATHS = ("dbt_project.yml", "models", "macros", "seeds")
TOOLS = ("dbt-core", "dbt-duckdb", "duckdb")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


@dataclass(frozen=True)
class Fingerprint:
    files: frozenset[tuple[str, str]]  # (file_path, sha256) of every loaded landing file
    project: str  # sha256 of the dbt project's files
    variables: dict[str, str] = field(default_factory=dict)  # dbt vars of the run, as_of included
    brands: str = ""  # the brand handles of the twcs exports (sha256): they attribute every inbound tweet


@dataclass(frozen=True)
class PreviousBuild:
    fingerprint: Fingerprint
    finished: bool
    as_of: datetime | None


@dataclass(frozen=True)
class Decision:
    full_refresh: bool
    reason: str


def project_hash(root: Path) -> str:
    """SHA-256 over the path and content of every file of the dbt project that shapes the models, and the
    versions of dbt, its adapter and DuckDB (another version may compute differently; an incremental build also
    leaves the unit tests out, so a new version must come with a full refresh, which runs them)."""
    digest = hashlib.sha256()
    for package in TOOLS:
        digest.update(f"{package}=={_version(package)}\n".encode())
    for name in PROJECT_PATHS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest.update(str(file.relative_to(root)).encode())
                digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def decide(
    previous: PreviousBuild | None, current: Fingerprint, requested_as_of: datetime | None
) -> Decision:
    """Full refresh or incremental, and why."""
    if previous is None:
        return Decision(True, "first build of this warehouse")
    if not previous.finished:
        return Decision(True, "the previous build did not finish")
    if previous.fingerprint.project != current.project:
        return Decision(True, "the dbt project (models, macros, seeds or dbt_project.yml) changed")
    other_vars = {k: v for k, v in current.variables.items() if k != "as_of"}
    previous_other_vars = {k: v for k, v in previous.fingerprint.variables.items() if k != "as_of"}
    if other_vars != previous_other_vars:
        return Decision(True, f"dbt vars changed: {previous_other_vars} -> {other_vars}")
    if previous.fingerprint.brands != current.brands:
        return Decision(
            True,
            "the brand handles of the twcs exports changed: every inbound tweet's account is read from its @mention "
            "of a known handle, so tweets loaded before can belong to another account now",
        )
    gone = sorted(path for path, _ in previous.fingerprint.files - current.files)
    if gone:
        more = f" and {len(gone) - 3} more" if len(gone) > 3 else ""
        return Decision(True, f"loaded file(s) replaced or removed: {', '.join(gone[:3])}{more}")
    if requested_as_of is not None and previous.as_of is not None and requested_as_of < previous.as_of:
        return Decision(True, f"as_of moved back from {previous.as_of} to {requested_as_of}")
    new_files = len(current.files - previous.fingerprint.files)
    return Decision(False, f"incremental: {new_files} new file(s) since the last build")


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute(
        f"""
        create table if not exists {TABLE} (
            fingerprint varchar, finished boolean, as_of timestamp, full_refresh boolean, reason varchar,
            started_at timestamp, finished_at timestamp
        )
        """
    )


def current_fingerprint(con: duckdb.DuckDBPyConnection, root: Path, variables: dict[str, str]) -> Fingerprint:
    files = con.execute(
        "select file_path, file_hash from raw.load_manifest where status = 'loaded'"
    ).fetchall()
    return Fingerprint(
        frozenset((str(p), str(h)) for p, h in files), project_hash(root), dict(variables), twcs_brands(con)
    )


def twcs_brands(con: duckdb.DuckDBPyConnection) -> str:
    """SHA-256 of the brand handles of the twcs exports, as stg_twcs__tweets derives them (the first spelling of
    each non-inbound author, case-insensitive). An inbound tweet belongs to the brand it @mentions among them, so
    a new handle, or a new first spelling, changes the account of tweets loaded in earlier runs: history changed."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'raw' and table_name = 'twcs_messages'"
    ).fetchone()[0]
    if not exists:
        return ""
    handles = con.execute(
        "select min(author_id) from raw.twcs_messages where not inbound group by lower(author_id) order by 1"
    ).fetchall()
    return hashlib.sha256("\n".join(h for (h,) in handles).encode()).hexdigest()


def _encode(fingerprint: Fingerprint) -> str:
    return json.dumps(
        {
            "files": sorted(fingerprint.files),
            "project": fingerprint.project,
            "vars": fingerprint.variables,
            "brands": fingerprint.brands,
        },
        sort_keys=True,
    )


def _decode(text: str) -> Fingerprint:
    data = json.loads(text)
    return Fingerprint(
        frozenset((p, h) for p, h in data["files"]), data["project"], data["vars"], data.get("brands", "")
    )


def previous_build(con: duckdb.DuckDBPyConnection) -> PreviousBuild | None:
    """The last build recorded, or None when there is none or the incremental tables are gone."""
    ensure_table(con)
    row = con.execute(f"select fingerprint, finished, as_of from {TABLE}").fetchone()
    tables = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'intermediate' and table_name = 'int_messages'"
    ).fetchone()[0]
    if row is None or not tables:
        return None
    return PreviousBuild(_decode(row[0]), bool(row[1]), row[2])


def record_start(
    con: duckdb.DuckDBPyConnection, fingerprint: Fingerprint, decision: Decision, started_at: datetime
) -> None:
    """Before dbt runs: the build is unfinished until record_finish says otherwise."""
    ensure_table(con)
    con.execute("begin transaction")
    con.execute(f"delete from {TABLE}")
    con.execute(
        f"insert into {TABLE} values (?, false, null, ?, ?, ?, null)",
        [_encode(fingerprint), decision.full_refresh, decision.reason, started_at],
    )
    con.execute("commit")


def record_finish(con: duckdb.DuckDBPyConnection, finished_at: datetime) -> datetime | None:
    """After a successful dbt build: mark it finished with the as_of it described (returned)."""
    as_of = con.execute("select max(as_of_at) from intermediate.int_messages").fetchone()[0]
    con.execute(f"update {TABLE} set finished = true, as_of = ?, finished_at = ?", [as_of, finished_at])
    return as_of


def invalidate(con: duckdb.DuckDBPyConnection, reason: str) -> None:
    """Make the next build a full refresh (used after rows were deleted from raw, e.g. an erasure)."""
    ensure_table(con)
    con.execute(f"update {TABLE} set finished = false, reason = ?", [reason])
