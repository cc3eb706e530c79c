"""Marts are a function of the data and as_of: two builds of the same files (loaded at different moments, into
different warehouses) give byte-identical marts, and pinning as_of to its default changes nothing."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.assets.publish import MARTS
from orchestration.run import build
from tests.conftest import FIXTURES

pytestmark = pytest.mark.e2e


def mart_digests(warehouse: Path, export_dir: Path) -> dict[str, str]:
    """SHA-256 of each mart written as CSV, rows in a total order."""
    export_dir.mkdir(parents=True, exist_ok=True)
    digests = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for mart in MARTS:
            target = export_dir / f"{mart}.csv"
            con.execute(f"copy (select * from marts.{mart} order by all) to '{target}' (header)")
            digests[mart] = hashlib.sha256(target.read_bytes()).hexdigest()
    return digests


def build_into(root: Path, name: str, as_of: str | None = None) -> Path:
    landing = root / "landing"
    if not landing.exists():
        shutil.copytree(FIXTURES / "handmade", landing, ignore=shutil.ignore_patterns("*.md"))
    warehouse = root / name / "w.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIAL_CARE_LANDING_DIR", str(landing))
        mp.setenv("SOCIAL_CARE_WAREHOUSE", str(warehouse))
        assert build(as_of=as_of, instance=dg.DagsterInstance.ephemeral()).success
    return warehouse


def test_rebuilds_are_byte_identical(tmp_path):
    first = mart_digests(build_into(tmp_path, "first"), tmp_path / "export_first")
    second = mart_digests(build_into(tmp_path, "second"), tmp_path / "export_second")
    assert first == second
    # the default as_of is the latest message (dm3-2, 2024-03-05 20:00:02): pinning it gives the same marts
    pinned = mart_digests(
        build_into(tmp_path, "pinned", as_of="2024-03-05 20:00:02"), tmp_path / "export_pinned"
    )
    assert pinned == first
    # and an earlier as_of describes the past: fewer conversations, different marts
    earlier = mart_digests(
        build_into(tmp_path, "earlier", as_of="2024-03-05 00:00:00"), tmp_path / "export_early"
    )
    assert earlier["fct_conversations"] != first["fct_conversations"]
