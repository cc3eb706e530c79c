"""A reader of the serving copy during a whole pipeline run: it is never blocked and never sees an error or a
half-written build; it sees the previous build's numbers until the publish, then the new ones.

The reader is what a BI tool is: another process (SQLAlchemy + duckdb-engine, a new read-only connection per
query), watched from a background thread. In the test's own process it would share DuckDB's one-database-per-file
cache with the run, which is not what a BI tool does (and DuckDB refuses a second in-process connection to a file
with a different configuration: duckdb-engine sets its own user agent)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.generate import generate
from orchestration.run import build
from orchestration.serving import publish
from tests.conftest import FIXTURES

pytestmark = pytest.mark.e2e

SUM_SQL = "select sum(conversations) from marts.kpi_daily"

READER = """
import json, sys, time
from pathlib import Path
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

db, stop, query = sys.argv[1], Path(sys.argv[2]), sa.text(sys.argv[3])
engine = sa.create_engine(f"duckdb:///{db}", connect_args={"read_only": True}, poolclass=NullPool)
while not stop.exists():
    try:
        with engine.connect() as con:
            row = {"value": con.execute(query).scalar()}
    except Exception as error:
        row = {"error": repr(error)}
    row["at"] = time.time()
    print(json.dumps(row), flush=True)
    time.sleep(0.02)
"""


class Reader:
    """The reader process, and a thread collecting what it saw: [{"value" or "error", "at"}, ...]."""

    def __init__(self, db: Path, stop: Path):
        self.stop = stop
        self.stderr = stop.with_suffix(".stderr")
        self.seen: list[dict] = []
        with self.stderr.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-c", READER, str(db), str(stop), SUM_SQL],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.thread = threading.Thread(target=self._collect, daemon=True)
        self.thread.start()

    def _collect(self) -> None:
        for line in self.process.stdout:
            self.seen.append(json.loads(line))

    def wait_for(self, predicate, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while not any(predicate(row) for row in self.seen):
            assert self.process.poll() is None, self.stderr.read_text()
            assert time.time() < deadline, f"reader never saw it: {self.seen[-5:]}"
            time.sleep(0.05)

    def close(self) -> None:
        self.stop.touch()
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self.thread.join(timeout=10)


def total(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(SUM_SQL).fetchone()[0]


def signature(path: Path) -> tuple[int, int] | None:
    """Which file is at path now (a publish renames a new file over it)."""
    return (path.stat().st_ino, path.stat().st_mtime_ns) if path.exists() else None


def build_and_publish(warehouse: Path) -> float | None:
    """Run the pipeline; publish unless the run did. Returns when publish() was called (None: the run did)."""
    target = warehouse.parent / "serving.duckdb"
    before = signature(target)
    assert build(instance=dg.DagsterInstance.ephemeral()).success
    if signature(target) != before:
        return None  # the run publishes (an asset of the job)
    started = time.time()
    publish(warehouse)
    return started


def test_a_reader_sees_the_previous_build_until_the_publish_then_the_new_one(tmp_path):
    pytest.importorskip("duckdb_engine", reason="duckdb-engine is not installed")
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "handmade", landing, ignore=shutil.ignore_patterns("*.md"))
    warehouse = tmp_path / "warehouse" / "social_care.duckdb"
    target = warehouse.parent / "serving.duckdb"

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIAL_CARE_LANDING_DIR", str(landing))
        mp.setenv("SOCIAL_CARE_WAREHOUSE", str(warehouse))
        build_and_publish(warehouse)
        first = total(warehouse)

        reader = Reader(target, tmp_path / "stop-reader")
        try:
            reader.wait_for(lambda row: row.get("value") == first)
            generate(landing, messages=600, days=7, accounts=2)  # files beside the hand-made ones
            run_started = time.time()
            published_at = build_and_publish(warehouse)
            second = total(warehouse)
            reader.wait_for(lambda row: row.get("value") == second)
        finally:
            reader.close()

    assert first != second
    seen = reader.seen
    assert [row for row in seen if "error" in row] == []
    values = [row["value"] for row in seen]
    switch = values.index(second)
    assert set(values[:switch]) == {first} and set(values[switch:]) == {second}, "one switch, old to new"
    during_run = [row for row in seen if row["at"] >= run_started]
    assert len([row for row in during_run if row["value"] == first]) >= 10, "the reader read during the run"
    if published_at is not None:
        assert {row["value"] for row in seen if row["at"] < published_at} == {first}
    assert not [p for p in os.listdir(warehouse.parent) if ".tmp-" in p]
