"""The loader: one transaction per file, manifest accounting, idempotency, failures that stop nothing else."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.loader import FORMATS, ensure_raw_schema, load_file, load_folder

HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
GOOD = "1,c1,True,Tue Oct 31 22:10:47 +0000 2017,@Acme help,,\n2,Acme,False,Tue Oct 31 22:20:47 +0000 2017,hi,,1\n"
BROKEN_ROW = "3,c2,True,not a time,oops,,\n"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    (tmp_path / "twcs").mkdir()
    (tmp_path / "messages").mkdir()
    return tmp_path


def manifest(con) -> list[tuple]:
    return con.execute(
        "select file_path, status, rows_read, rows_loaded, rows_rejected, error from raw.load_manifest order by file_path"
    ).fetchall()


def count(con, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def test_good_and_bad_rows_are_accounted_for(con, landing):
    (landing / "twcs" / "a.csv").write_text(HEADER + GOOD + BROKEN_ROW)
    load_folder(con, landing, FORMATS["twcs"])
    assert manifest(con) == [("twcs/a.csv", "loaded", 3, 2, 1, None)]
    assert count(con, "raw.twcs_messages") == 2
    assert con.execute("select file_path, _row, reason from raw.rejected_rows").fetchall() == [
        ("twcs/a.csv", 3, "unparseable created_at: not a time")
    ]


def test_same_file_twice_adds_nothing(con, landing):
    (landing / "twcs" / "a.csv").write_text(HEADER + GOOD)
    first = load_folder(con, landing, FORMATS["twcs"])
    second = load_folder(con, landing, FORMATS["twcs"])
    assert [r.status for r in first] == ["loaded"]
    assert [r.status for r in second] == ["skipped"]
    assert count(con, "raw.twcs_messages") == 2
    assert count(con, "raw.load_manifest") == 1


def test_changed_file_is_reloaded_and_replaces_its_old_version(con, landing):
    path = landing / "twcs" / "a.csv"
    path.write_text(HEADER + GOOD + BROKEN_ROW)
    load_folder(con, landing, FORMATS["twcs"])
    path.write_text(HEADER + GOOD.replace("hi", "hello"))
    (result,) = load_folder(con, landing, FORMATS["twcs"])
    assert result.status == "loaded"
    assert manifest(con) == [("twcs/a.csv", "loaded", 2, 2, 0, None)]
    assert con.execute("select text from raw.twcs_messages order by tweet_id").fetchall() == [
        ("@Acme help",),
        ("hello",),
    ]
    assert count(con, "raw.rejected_rows") == 0


def test_a_broken_file_does_not_stop_the_others(con, landing):
    (landing / "twcs" / "a_zero.csv").write_bytes(b"")
    (landing / "twcs" / "b_dir.csv").mkdir()
    (landing / "twcs" / "c_binary.csv").write_bytes(b"\x00\x01\x02garbage")
    (landing / "twcs" / "d_notes.txt").write_text("hello")
    (landing / "twcs" / "e_good.csv").write_text(HEADER + GOOD)
    results = load_folder(con, landing, FORMATS["twcs"])
    assert [(r.file, r.status) for r in results] == [
        ("twcs/a_zero.csv", "failed"),
        ("twcs/b_dir.csv", "failed"),
        ("twcs/c_binary.csv", "failed"),
        ("twcs/d_notes.txt", "failed"),
        ("twcs/e_good.csv", "loaded"),
    ]
    errors = {file: error for file, status, *_, error in manifest(con)}
    assert errors == {
        "twcs/a_zero.csv": "empty file (0 bytes)",
        "twcs/b_dir.csv": "not a regular file (a directory?)",
        "twcs/c_binary.csv": "binary file (NUL bytes), not text",
        "twcs/d_notes.txt": "unsupported file name d_notes.txt: expected one of *.csv, *.csv.gz",
        "twcs/e_good.csv": None,
    }
    assert count(con, "raw.twcs_messages") == 2
    # a failed file is tried again next time, and keeps one manifest row
    load_folder(con, landing, FORMATS["twcs"])
    assert count(con, "raw.load_manifest") == 5


def test_a_failure_while_storing_rolls_the_whole_file_back(con, landing, monkeypatch):
    (landing / "twcs" / "a.csv").write_text(HEADER + GOOD + BROKEN_ROW)
    ensure_raw_schema(con)
    (landing / "twcs" / "b.csv").write_text(HEADER + GOOD)
    load_folder(con, landing, FORMATS["twcs"])
    # Make the insert of the rows fail, after the old version of the file has been deleted in the transaction.
    con.execute("alter table raw.twcs_messages add column must_not_be_null varchar")
    (landing / "twcs" / "a.csv").write_text(HEADER + GOOD.replace("hi", "changed"))
    result = load_file(con, landing / "twcs" / "a.csv", FORMATS["twcs"], "twcs/a.csv", datetime(2026, 1, 1))
    assert result.status == "failed"
    assert "cannot store" in result.error
    # the earlier version of a.csv and its reject are still there, untouched
    assert con.execute("select count(*), count(distinct _file) from raw.twcs_messages").fetchone() == (4, 2)
    assert con.execute("select file_path from raw.rejected_rows").fetchall() == [("twcs/a.csv",)]
    assert con.execute(
        "select status from raw.load_manifest where file_path = 'twcs/a.csv' order by status"
    ).fetchall() == [("failed",), ("loaded",)]


def test_the_warehouse_file_survives_reconnection(tmp_path, landing):
    (landing / "twcs" / "a.csv").write_text(HEADER + GOOD)
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        load_folder(con, landing, FORMATS["twcs"])
    with duckdb.connect(str(db)) as con:
        assert [r.status for r in load_folder(con, landing, FORMATS["twcs"])] == ["skipped"]
        assert count(con, "raw.twcs_messages") == 2
