"""Incremental builds give the marts a full build gives.

The same generated exports, split into daily files (with late messages, replies arriving before their parent and
edited messages: orchestration/daily_exports.py), are built twice: once all at once (a full build), and once
delivered in three batches, each followed by an incremental build. Every mart and every intermediate model must
come out identical, row for row.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.assets.publish import MARTS
from orchestration.config import REPO_ROOT
from orchestration.daily_exports import split_into_days
from orchestration.generate import generate
from orchestration.run import build

pytestmark = pytest.mark.e2e

INTERMEDIATE = (
    "int_message_threads",
    "int_messages",
    "int_threads",
    "int_conversation_messages",
    "int_turns",
    "int_conversations",
    "int_conversation_sentiment",
)
# bookkeeping of the incremental runs, not data: when and in which batch a row was written
BOOKKEEPING = ("loaded_at", "as_of_at", "batch_at", "previous_customer_key")


def build_warehouse(landing: Path, warehouse: Path) -> tuple[bool, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIAL_CARE_LANDING_DIR", str(landing))
        mp.setenv("SOCIAL_CARE_WAREHOUSE", str(warehouse))
        assert build(instance=dg.DagsterInstance.ephemeral()).success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        full_refresh, reason = con.execute("select full_refresh, reason from raw.dbt_build_state").fetchone()
    return full_refresh, reason


def deliver(days_dir: Path, landing: Path, days: list) -> None:
    for day in days:
        for source in days_dir.glob(f"*/{day.isoformat()}.csv"):
            target = landing / source.parent.name / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def differences(full: Path, incremental: Path) -> dict[str, tuple[int, int, int]]:
    """table -> (rows, rows only in the full build, rows only in the incremental one), for tables that differ."""
    different = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{full}' as f (read_only)")
        con.execute(f"attach '{incremental}' as i (read_only)")
        tables = [("marts", m) for m in MARTS] + [("intermediate", m) for m in INTERMEDIATE]
        for schema, table in tables:
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from duckdb_columns() where database_name = 'f' and schema_name = ? "
                    "and table_name = ? order by column_index",
                    [schema, table],
                ).fetchall()
                if r[0] not in BOOKKEEPING
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f"select count(*) from f.{schema}.{table}").fetchone()[0]
            only_full = con.execute(
                f"select count(*) from (select {select} from f.{schema}.{table} "
                f"except all select {select} from i.{schema}.{table})"
            ).fetchone()[0]
            only_incremental = con.execute(
                f"select count(*) from (select {select} from i.{schema}.{table} "
                f"except all select {select} from f.{schema}.{table})"
            ).fetchone()[0]
            assert rows > 0, f"{table} is empty: the comparison would prove nothing"
            if only_full or only_incremental:
                different[table] = (rows, only_full, only_incremental)
    return different


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """The same exports built all at once and as three daily deliveries, each followed by a build."""
    tmp_path = tmp_path_factory.mktemp("incremental")
    generate(tmp_path / "export", messages=1500, days=6, accounts=3, formats=("twcs", "messages"))
    days_dir = tmp_path / "days"
    days = split_into_days(tmp_path / "export", days_dir, late_percent=5, edited_percent=3)
    assert len(days) >= 8  # 6 days of messages, plus late and edited deliveries after them

    full_landing, full_warehouse = tmp_path / "full", tmp_path / "full.duckdb"
    deliver(days_dir, full_landing, days)
    full_decision = build_warehouse(full_landing, full_warehouse)

    landing, warehouse = tmp_path / "landing", tmp_path / "incremental.duckdb"
    batches = [days[:3], days[3:5], days[5:]]
    decisions = []
    for batch in batches:
        deliver(days_dir, landing, batch)
        decisions.append(build_warehouse(landing, warehouse))
    return {
        "full": full_warehouse,
        "full_decision": full_decision,
        "incremental": warehouse,
        "landing": landing,
        "batches": batches,
        "decisions": decisions,
    }


def test_incremental_builds_equal_a_full_build(built):
    assert built["full_decision"] == (True, "first build of this warehouse")
    decisions, batches = built["decisions"], built["batches"]
    assert decisions[0] == (True, "first build of this warehouse")
    assert [full for full, _ in decisions[1:]] == [False, False]
    assert decisions[1][1] == f"incremental: {2 * len(batches[1])} new file(s) since the last build"

    assert differences(built["full"], built["incremental"]) == {}


AFFECTED = "select customer_key from intermediate.int_affected_customers"
# grain tests (tests/dbt/generic/unique_in_last_batch.sql, unique_recomputed.sql) of staging, intermediate models
# and a mart: name -> (table, key, the rows the last build wrote)
GRAIN_TESTS = {
    "unique_in_last_batch_stg_messages_message_key": (
        "staging.stg_messages",
        "message_key",
        "batch_at = (select max(batch_at) from staging.stg_messages)",
    ),
    "unique_in_last_batch_int_message_threads_message_key": (
        "intermediate.int_message_threads",
        "message_key",
        "batch_at = (select max(batch_at) from intermediate.int_message_threads)",
    ),
    "unique_recomputed_fct_turns_turn_id__ref_int_turns_": (
        "marts.fct_turns",
        "turn_id",
        "conversation_id in (select conversation_id from intermediate.int_conversations "
        f"where customer_key in ({AFFECTED}))",
    ),
    "unique_recomputed_int_conversation_messages_message_key": (
        "intermediate.int_conversation_messages",
        "message_key",
        f"customer_key in ({AFFECTED})",
    ),
}


def grain_test_failures(
    warehouse: Path, landing: Path, full_refresh: bool, tests: Iterable[str] = GRAIN_TESTS
) -> dict[str, int]:
    """Run each test (default: the grain tests of GRAIN_TESTS) alone (a failing test skips the tests downstream of
    it): failures (rows) per test."""
    target = warehouse.parent / "grain-tests-target"
    env = {**os.environ, "SOCIAL_CARE_WAREHOUSE": str(warehouse), "SOCIAL_CARE_LANDING_DIR": str(landing)}
    failures = {}
    for name in tests:
        args = [
            shutil.which("dbt") or "dbt",
            "--quiet",
            "build",
            "--target-path",
            str(target),
            "--select",
            name,
        ]
        subprocess.run(
            args + (["--full-refresh"] if full_refresh else []), cwd=REPO_ROOT, env=env, check=False
        )
        [result] = json.loads((target / "run_results.json").read_text())["results"]
        failures[name] = result["failures"]
    return failures


def assert_scoped_to_written_rows(
    built: dict, tmp_path: Path, tests: Iterable[str], corrupt: Callable[[Path, bool], None]
) -> None:
    """``tests`` pass on the incrementally built warehouse, incremental and full refresh alike. After
    ``corrupt(warehouse, written=False)`` (a row the last build kept) only the full refresh finds it; after
    ``corrupt(warehouse, written=True)`` (a row it wrote) the incremental build does too."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(built["incremental"], warehouse)
    landing = built["landing"]
    passing, failing = dict.fromkeys(tests, 0), dict.fromkeys(tests, 1)
    # full refresh first: the incremental runs after it parse partially, from what the full one parsed (a test's
    # reference to int_affected_customers must be recorded whatever the flags when it was parsed)
    for full_refresh in (True, False):
        assert grain_test_failures(warehouse, landing, full_refresh, tests) == passing
    corrupt(warehouse, False)
    assert grain_test_failures(warehouse, landing, False, tests) == passing
    assert grain_test_failures(warehouse, landing, True, tests) == failing
    corrupt(warehouse, True)
    assert grain_test_failures(warehouse, landing, False, tests) == failing


def test_the_grain_tests_of_an_incremental_build_check_the_keys_it_wrote(built, tmp_path):
    """After an incremental build the grain tests count only the keys the build wrote, against the whole table: a
    copy of a row it wrote is a failure; a copy of a row it kept is found by the full check of a full refresh."""

    def duplicate(warehouse: Path, written: bool) -> None:
        with duckdb.connect(str(warehouse)) as con:
            for table, key, written_rows in GRAIN_TESTS.values():
                row = con.execute(
                    f"select {key} from {table} where {'' if written else 'not '}({written_rows}) "
                    f"order by {key} limit 1"
                ).fetchone()
                assert row, f"no {'written' if written else 'kept'} row in {table}"
                con.execute(f"insert into {table} select * from {table} where {key} = ?", row)

    assert_scoped_to_written_rows(built, tmp_path, GRAIN_TESTS, duplicate)


# the reconciliation of turns with conversations, scoped like the grain tests
# (tests/dbt/assert_turns_reconcile_with_conversations.sql): a turn moved to no conversation fails it
INTEGRITY_TESTS = ("assert_turns_reconcile_with_conversations",)
WRITTEN_TURNS = f"turn_id in (select turn_id from intermediate.int_turns where customer_key in ({AFFECTED}))"


def test_the_turn_reconciliation_of_an_incremental_build_checks_the_conversations_it_wrote(built, tmp_path):
    """After an incremental build the reconciliation of turns with conversations checks only the conversations it
    wrote: a turn it wrote moved to no conversation fails it; a turn it kept is found by the full check of a full
    refresh."""

    def orphan(warehouse: Path, written: bool) -> None:
        with duckdb.connect(str(warehouse)) as con:
            row = con.execute(
                f"select turn_id from marts.fct_turns where {'' if written else 'not '}({WRITTEN_TURNS}) "
                "order by turn_id limit 1"
            ).fetchone()
            assert row, f"no {'written' if written else 'kept'} turn"
            con.execute("update marts.fct_turns set conversation_id = 'nowhere' where turn_id = ?", row)

    assert_scoped_to_written_rows(built, tmp_path, INTEGRITY_TESTS, orphan)


# grain tests of the tables rows are only added to between builds (tests/dbt/generic/unique_since_last_build.sql):
# name -> (table the rows are written to, key, when a row was written)
RAW_GRAIN_TESTS = {
    "source_unique_since_last_build_raw_twcs_messages__file___row___loaded_at": (
        "raw.twcs_messages",
        ("_file", "_row"),
        "_loaded_at",
    ),
    "source_unique_since_last_build_raw_message_sentiment_message_key__scored_at": (
        "raw.message_sentiment",
        ("message_key",),
        "scored_at",
    ),
    # a view over the canonical formats' raw tables
    "unique_since_last_build_stg_canonical__messages_source_file__source_row__loaded_at": (
        "raw.messages",
        ("_file", "_row"),
        "_loaded_at",
    ),
}


def test_the_grain_tests_of_raw_rows_check_the_rows_written_since_the_last_build(built, tmp_path):
    """In an incremental `dbt build`, the grain tests of the raw tables count only the keys of the rows written
    since the last build started: a copy of a row written (loaded, scored) now is a failure; a copy of a row the
    last build already saw is found by the full check of a full refresh."""

    def duplicate(warehouse: Path, written_now: bool) -> None:
        with duckdb.connect(str(warehouse)) as con:
            for table, key, written_at in RAW_GRAIN_TESTS.values():
                columns = [c[0] for c in con.execute(f"select * from {table} limit 0").description]
                written = f"?::timestamp as {written_at}" if written_now else written_at
                select = ", ".join(written if c == written_at else c for c in columns)
                # a different row each time: the first and the last by key
                order = "desc" if written_now else "asc"
                con.execute(
                    f"insert into {table} select {select} from {table} "
                    f"order by {', '.join(f'{column} {order}' for column in key)} limit 1",
                    [datetime.now(UTC).replace(tzinfo=None)] if written_now else [],
                )

    assert_scoped_to_written_rows(built, tmp_path, RAW_GRAIN_TESTS, duplicate)
