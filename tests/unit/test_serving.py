"""publish(): the serving copy has the marts' rows and comments, is swapped in atomically, never disturbs a reader
that is already connected, and a failed publish leaves the previous copy as it was."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from orchestration import serving
from orchestration.serving import publish

SUM_SQL = "select sum(conversations) from marts.kpi_daily"


def make_warehouse(path: Path, conversations: tuple[int, int] = (3, 4)) -> Path:
    """Two marts with comments, a staging view for as_of, and a schema that must not be published."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema staging; create schema intermediate")
        con.execute(
            "create table marts.kpi_daily (account_id varchar, activity_date date, conversations bigint, "
            "response_rate double)"
        )
        con.execute(
            "insert into marts.kpi_daily values ('acme', '2024-03-01', ?, 0.5), ('acme', '2024-03-02', ?, 1.0)",
            list(conversations),
        )
        con.execute("create table marts.kpi_agent_daily (account_id varchar, agent varchar, replies bigint)")
        con.execute("insert into marts.kpi_agent_daily values ('acme', 'Anna', 2), ('acme', 'O''Brien', 1)")
        con.execute("comment on table marts.kpi_daily is 'One row per account x day. It''s daily.'")
        con.execute("comment on column marts.kpi_daily.conversations is 'Customer-initiated conversations.'")
        con.execute("comment on column marts.kpi_daily.response_rate is 'answered / (answered + unanswered)'")
        con.execute("comment on table marts.kpi_agent_daily is 'One row per agent x day.'")
        con.execute("comment on column marts.kpi_agent_daily.replies is 'Turns ended by this agent.'")
        con.execute("create table intermediate.int_secret as select 1 as x")
        con.execute("create view staging.stg_messages as select timestamp '2024-03-02 18:30:00' as sent_at")
    return path


def set_conversations(warehouse: Path, value: int) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.kpi_daily set conversations = ? where activity_date = '2024-03-01'", [value]
        )


def comments(db: Path) -> tuple[list[tuple], list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name, comment from duckdb_tables() order by all"
        ).fetchall()
        columns = con.execute(
            "select table_name, column_name, data_type, comment from duckdb_columns() "
            "where schema_name = 'marts' order by table_name, column_index"
        ).fetchall()
    return tables, columns


def rows(db: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"select * from marts.{table} order by all").fetchall()


def leftovers(*folders: Path) -> list[str]:
    return sorted(
        p.name for folder in folders for p in folder.iterdir() if ".tmp-" in p.name or p.suffix == ".wal"
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "warehouse" / "social_care.duckdb")


def sqlalchemy_engine(db: Path):
    """A read-only SQLAlchemy engine on a DuckDB file (duckdb-engine). NullPool: each connect() opens the file
    anew (a pool would keep its connections, and so the build they opened, forever)."""
    sa = pytest.importorskip("sqlalchemy")
    pytest.importorskip("duckdb_engine", reason="duckdb-engine is not installed")
    from sqlalchemy.pool import NullPool

    return sa.create_engine(f"duckdb:///{db}", connect_args={"read_only": True}, poolclass=NullPool)


def total_in_new_process(db: Path) -> int:
    """The sum a reader in another process (a BI tool, an analyst's notebook) sees when it connects now."""
    code = "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute(sys.argv[2]).fetchone()[0])"
    out = subprocess.run(
        [sys.executable, "-c", code, str(db), SUM_SQL], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


def test_copy_has_the_same_rows_and_comments(warehouse):
    summary = publish(warehouse)

    target = warehouse.parent / "serving.duckdb"
    assert summary["serving_db"] == str(target)
    assert summary["tables"] == {"kpi_agent_daily": 2, "kpi_daily": 2}
    assert summary["rows"] == 4
    assert summary["bytes"] == target.stat().st_size > 0
    assert summary["seconds"] >= 0
    for table in ("kpi_daily", "kpi_agent_daily"):
        assert rows(target, table) == rows(warehouse, table)

    tables, columns = comments(target)
    assert tables == [
        ("marts", "kpi_agent_daily", "One row per agent x day."),
        ("marts", "kpi_daily", "One row per account x day. It's daily."),
    ]  # nothing but the marts
    assert columns == comments(warehouse)[1]
    assert ("kpi_daily", "response_rate", "DOUBLE", "answered / (answered + unanswered)") in columns


def test_parquet_files_and_manifest(warehouse):
    summary = publish(warehouse)

    folder = warehouse.parent / "serving"
    assert sorted(p.name for p in folder.iterdir()) == [
        "kpi_agent_daily.parquet",
        "kpi_daily.parquet",
        "manifest.json",
    ]
    with duckdb.connect() as con:
        got = con.execute(f"select * from '{folder / 'kpi_daily.parquet'}' order by all").fetchall()
    assert got == rows(warehouse, "kpi_daily")
    assert summary["parquet_bytes"] == sum(p.stat().st_size for p in folder.glob("*.parquet"))

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["as_of"] == "2024-03-02T18:30:00" == summary["as_of"]
    assert datetime.fromisoformat(manifest["published_at"]).tzinfo is not None
    assert manifest["tables"]["kpi_daily"]["rows"] == 2
    assert manifest["tables"]["kpi_daily"]["parquet"] == "kpi_daily.parquet"
    assert manifest["tables"]["kpi_agent_daily"]["comment"] == "One row per agent x day."


def test_explicit_destinations(warehouse, tmp_path):
    publish(warehouse, serving_db=tmp_path / "bi" / "kpis.duckdb", parquet_dir=tmp_path / "lake")
    assert rows(tmp_path / "bi" / "kpis.duckdb", "kpi_daily") == rows(warehouse, "kpi_daily")
    assert (tmp_path / "lake" / "kpi_daily.parquet").is_file()
    assert not (warehouse.parent / "serving.duckdb").exists()


def test_no_temporary_file_is_left_behind(warehouse):
    publish(warehouse)
    publish(warehouse)
    assert leftovers(warehouse.parent, warehouse.parent / "serving") == []
    assert sorted(p.name for p in warehouse.parent.iterdir()) == [
        "serving",
        "serving.duckdb",
        "social_care.duckdb",
    ]


def test_a_connected_reader_keeps_its_build_and_a_new_connection_sees_the_new_one(warehouse, monkeypatch):
    target = warehouse.parent / "serving.duckdb"
    publish(warehouse)
    engine = sqlalchemy_engine(target)
    sa = pytest.importorskip("sqlalchemy")
    set_conversations(warehouse, 10)
    seen_while_writing = []
    write_parquet = serving._write_parquet

    with engine.connect() as reader:
        assert reader.execute(sa.text(SUM_SQL)).scalar() == 7
        with pytest.raises(sa.exc.DBAPIError, match="read-only"):
            reader.execute(sa.text("create table marts.x (a int)"))
        reader.rollback()

        def watching(con, name, path):  # runs while publish() writes the new build
            seen_while_writing.append(reader.execute(sa.text(SUM_SQL)).scalar())
            write_parquet(con, name, path)

        monkeypatch.setattr(serving, "_write_parquet", watching)
        publish(warehouse)

        assert seen_while_writing == [7, 7]
        assert reader.execute(sa.text(SUM_SQL)).scalar() == 7  # still the build it opened (the old inode)
        assert total_in_new_process(target) == 14  # another process connecting now gets the new build
    engine.dispose()

    with sqlalchemy_engine(target).connect() as reader:
        assert reader.execute(sa.text(SUM_SQL)).scalar() == 14


@pytest.mark.parametrize("failing_step", ["_write_parquet", "_fsync"])
def test_a_failure_in_the_middle_leaves_the_old_serving_copy(warehouse, monkeypatch, failing_step):
    publish(warehouse)
    target = warehouse.parent / "serving.duckdb"
    folder = warehouse.parent / "serving"
    before = {p.name: p.read_bytes() for p in [target, *folder.iterdir()]}
    set_conversations(warehouse, 100)

    def boom(*args, **kwargs):
        assert list(warehouse.parent.glob("serving.duckdb.tmp-*")), "the new build is being written"
        raise OSError("disk full")

    monkeypatch.setattr(serving, failing_step, boom)
    with pytest.raises(OSError, match="disk full"):
        publish(warehouse)

    assert {p.name: p.read_bytes() for p in [target, *folder.iterdir()]} == before
    assert rows(target, "kpi_daily")[0][2] == 3
    assert leftovers(warehouse.parent, folder) == []


def test_a_warehouse_without_marts_publishes_nothing(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ValueError, match="nothing to publish"):
        publish(empty)
    assert [p.name for p in tmp_path.iterdir()] == ["empty.duckdb"]
