"""The loader: one transaction per file, manifest accounting, idempotency, failures that stop nothing else, and
erased customers kept out of every file loaded after their erasure."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.forget import erase
from orchestration.loader import FORMATS, ensure_raw_schema, load_file, load_folder, summarize
from orchestration.privacy import KeyedHash

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


# ------------------------------------------------------------------------------------- erased customers (forget)

KEY = KeyedHash(b"unit-test-key-0123456789", "test")
ERASED_THREAD = (
    "10,c9,True,Tue Oct 31 22:10:47 +0000 2017,@Acme where is my parcel,,\n"
    "11,Acme,False,Tue Oct 31 22:20:47 +0000 2017,@c9 checking ^AB,,10\n"
    "12,c9,True,Tue Oct 31 22:30:47 +0000 2017,@Acme ok,,11\n"
    "13,c9,True,not a time,@Acme hello??,,\n"
)
MESSAGES_HEADER = (
    "message_id,thread_id,parent_message_id,channel,account_id,author_id,author_role,is_private,sent_at,text,"
    "agent_id\n"
)


def erased_manifest(con) -> list[tuple]:
    return con.execute(
        "select file_path, rows_read, rows_loaded, rows_rejected, rows_erased from raw.load_manifest "
        "where status = 'loaded' order by file_path"
    ).fetchall()


def test_an_erased_customer_is_dropped_when_a_file_is_loaded_again(con, landing):
    (landing / "twcs" / "a.csv").write_text(HEADER + GOOD + ERASED_THREAD)
    load_folder(con, landing, FORMATS["twcs"], key=KEY)
    assert erased_manifest(con) == [("twcs/a.csv", 6, 5, 1, 0)]

    erasure = erase(con, KEY, "twitter", "c9")
    assert erasure.rows_removed["raw.twcs_messages"] == 3 and erasure.rows_removed["raw.rejected_rows"] == 1
    assert erased_manifest(con) == [("twcs/a.csv", 6, 2, 0, 4)]

    # the same file under another name, and the file changed (so loaded again): c9 and the reply to c9 stay out
    (landing / "twcs" / "copy.csv").write_text(HEADER + GOOD + ERASED_THREAD)
    (landing / "twcs" / "a.csv").write_text(HEADER + GOOD.replace("hi", "hello") + ERASED_THREAD)
    results = load_folder(con, landing, FORMATS["twcs"], key=KEY)
    assert [(r.file, r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_erased) for r in results] == [
        ("twcs/a.csv", 6, 2, 0, 4),
        ("twcs/copy.csv", 6, 2, 0, 4),
    ]
    assert erased_manifest(con) == [("twcs/a.csv", 6, 2, 0, 4), ("twcs/copy.csv", 6, 2, 0, 4)]
    assert con.execute("select distinct author_id from raw.twcs_messages order by 1").fetchall() == [
        ("Acme",),
        ("c1",),
    ]
    # erased rows are not kept as rejects either
    assert count(con, "raw.rejected_rows") == 0
    assert summarize(results)["rows_erased"] == 8


def test_a_later_reply_to_an_erased_message_is_dropped(con, landing):
    (landing / "twcs" / "a.csv").write_text(HEADER + ERASED_THREAD)
    load_folder(con, landing, FORMATS["twcs"], key=KEY)
    erase(con, KEY, "twitter", "c9")
    # the brand's late answer to tweet 12 arrives in a new file: it names no one, but answers an erased message
    (landing / "twcs" / "b.csv").write_text(
        HEADER + "14,Acme,False,Wed Nov 01 09:00:00 +0000 2017,sorry for the wait,,12\n"
        "15,Acme,False,Wed Nov 01 09:01:00 +0000 2017,anything else?,,14\n"
        "16,c1,True,Wed Nov 01 10:00:00 +0000 2017,@Acme hi,,\n"
    )
    (result,) = [r for r in load_folder(con, landing, FORMATS["twcs"], key=KEY) if r.status == "loaded"]
    assert (result.rows_loaded, result.rows_erased) == (1, 2)


def test_a_dm_thread_of_an_erased_customer_is_dropped_with_the_brand_messages(con, landing):
    rows = (
        "m1,t1,,facebook,acme,u1,customer,true,2024-03-04T10:00:00Z,hello,\n"
        "m2,t1,,facebook,acme,acme,agent,true,2024-03-04T10:05:00Z,Hi -Ana,ana\n"
        "m3,t2,,facebook,acme,u2,customer,true,2024-03-04T10:00:00Z,hello,\n"
    )
    (landing / "messages" / "a.csv").write_text(MESSAGES_HEADER + rows)
    load_folder(con, landing, FORMATS["messages"], key=KEY)
    erase(con, KEY, "facebook", "u1")
    # the brand's next DM in the thread, in a file without the customer's messages
    (landing / "messages" / "b.csv").write_text(
        MESSAGES_HEADER + "m4,t1,,facebook,acme,acme,agent,true,2024-03-05T10:00:00Z,Any news? -Ana,ana\n"
    )
    (landing / "messages" / "c.csv").write_text(MESSAGES_HEADER + rows)
    results = {r.file: r for r in load_folder(con, landing, FORMATS["messages"], key=KEY)}
    assert (results["messages/b.csv"].rows_loaded, results["messages/b.csv"].rows_erased) == (0, 1)
    assert (results["messages/c.csv"].rows_loaded, results["messages/c.csv"].rows_erased) == (1, 2)
    assert con.execute("select distinct message_id from raw.messages").fetchall() == [("m3",)]


def test_loading_with_another_key_than_the_erasures_is_refused(con, landing):
    (landing / "twcs" / "a.csv").write_text(HEADER + GOOD)
    ensure_raw_schema(con)
    erase(con, KEY, "twitter", "c9")
    with pytest.raises(ValueError, match="not the one the erasures"):
        load_folder(con, landing, FORMATS["twcs"], key=KeyedHash(b"another-key-0123456789ab", "test"))
    assert count(con, "raw.twcs_messages") == 0


def test_without_erasures_nothing_is_filtered_and_no_key_is_needed(con, landing, monkeypatch):
    monkeypatch.delenv("SOCIAL_CARE_PSEUDONYM_KEY", raising=False)
    (landing / "twcs" / "a.csv").write_text(HEADER + GOOD + ERASED_THREAD)
    (result,) = load_folder(con, landing, FORMATS["twcs"])  # an in-memory warehouse: no key file either
    assert (result.rows_loaded, result.rows_rejected, result.rows_erased) == (5, 1, 0)


def written_an_hour_ago(path: Path, content: str) -> None:
    path.write_text(content)
    an_hour_ago = time.time_ns() - 3600 * 1_000_000_000
    os.utime(path, ns=(an_hour_ago, an_hour_ago))


def test_an_unchanged_file_is_skipped_without_being_read(con, landing, monkeypatch):
    path = landing / "twcs" / "a.csv"
    written_an_hour_ago(path, HEADER + GOOD)
    assert [r.status for r in load_folder(con, landing, FORMATS["twcs"])] == ["loaded"]
    stat = path.stat()
    assert con.execute("select bytes, file_mtime_ns from raw.load_manifest").fetchall() == [
        (stat.st_size, stat.st_mtime_ns)
    ]

    def unread(*_):
        raise AssertionError("an unchanged file was read")

    monkeypatch.setattr("orchestration.loader.file_sha256", unread)
    assert [r.status for r in load_folder(con, landing, FORMATS["twcs"])] == ["skipped"]
    # the quick check can be turned off: the file is read (and its hash decides)
    with pytest.raises(AssertionError, match="unchanged file was read"):
        load_folder(con, landing, FORMATS["twcs"], quick_check=False)


def test_a_file_rewritten_with_the_same_size_is_read_again(con, landing):
    path = landing / "twcs" / "a.csv"
    written_an_hour_ago(path, HEADER + GOOD)
    load_folder(con, landing, FORMATS["twcs"])
    path.write_text(HEADER + GOOD.replace("hi", "ho"))  # same size, a new modification time
    assert [r.status for r in load_folder(con, landing, FORMATS["twcs"])] == ["loaded"]
    assert con.execute("select text from raw.twcs_messages order by tweet_id").fetchall() == [
        ("@Acme help",),
        ("ho",),
    ]


def test_a_file_modified_just_before_its_load_is_hashed_again_by_the_next_load(con, landing):
    """A modification time within RACY_SECONDS of the load is not recorded: a rewrite in the same tick of the
    file system's clock (same size, same time) is still found by its hash."""
    path = landing / "twcs" / "a.csv"
    path.write_text(HEADER + GOOD)
    load_folder(con, landing, FORMATS["twcs"])
    assert con.execute("select file_mtime_ns from raw.load_manifest").fetchall() == [(None,)]
    stat = path.stat()
    path.write_text(HEADER + GOOD.replace("hi", "ho"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the same time as the version loaded
    assert [r.status for r in load_folder(con, landing, FORMATS["twcs"])] == ["loaded"]
    assert con.execute("select text from raw.twcs_messages where tweet_id = '2'").fetchall() == [("ho",)]


def test_a_touched_file_is_hashed_once_then_skipped_without_being_read(con, landing, monkeypatch):
    path = landing / "twcs" / "a.csv"
    written_an_hour_ago(path, HEADER + GOOD)
    load_folder(con, landing, FORMATS["twcs"])
    a_minute_ago = time.time_ns() - 60 * 1_000_000_000
    os.utime(path, ns=(a_minute_ago, a_minute_ago))  # same content, a new time (a copy that did not keep it)
    assert [r.status for r in load_folder(con, landing, FORMATS["twcs"])] == ["skipped"]
    assert con.execute("select file_mtime_ns from raw.load_manifest").fetchall() == [(a_minute_ago,)]
    monkeypatch.setattr("orchestration.loader.file_sha256", lambda *_: pytest.fail("read again"))
    assert [r.status for r in load_folder(con, landing, FORMATS["twcs"])] == ["skipped"]
