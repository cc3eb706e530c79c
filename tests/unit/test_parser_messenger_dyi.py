"""Messenger "Download your information" parser: mojibake repair, ids, broken inputs, a fuzz property."""

from __future__ import annotations

import gzip
import json
import os
import time
from dataclasses import replace
from datetime import datetime

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.loader import FORMATS, load_folder
from orchestration.parsers.common import FileRejected
from orchestration.parsers.messenger_dyi import parse_messenger_dyi, parse_messenger_dyi_batch
from tests.conftest import FIXTURES, LOADED_AT

FIXTURE = FIXTURES / "formats" / "messenger_dyi" / "messages" / "inbox" / "janedoe_abc123" / "message_1.json"


def test_fixture(con):
    parsed = parse_messenger_dyi(con, FIXTURE, LOADED_AT, brand_ids=frozenset({"Acme Café"}))
    got = con.execute(
        f"select * exclude (_row, message_id) from {parsed.parsed_table} order by _row"
    ).fetchall()
    t = "inbox/janedoe_abc123"
    assert got == [
        (t, None, "facebook", "Acme Café", "Acme Café", "agent", True, datetime(2017, 10, 31, 22, 12, 47),
         "Merci ! \U0001f600", None),
        (t, None, "facebook", "Acme Café", "Jane Doe", "customer", True, datetime(2017, 10, 31, 22, 10, 47),
         "Où est ma commande ?", None),
        (t, None, "facebook", "Acme Café", "Jane Doe", "customer", True, datetime(2017, 10, 31, 22, 10, 47),
         None, None),
    ]  # fmt: skip
    ids = [r[0] for r in con.execute(f"select message_id from {parsed.parsed_table}").fetchall()]
    assert len(set(ids)) == 3
    again = parse_messenger_dyi(con, FIXTURE, LOADED_AT, prefix="b", brand_ids=frozenset({"acme café"}))
    assert [r[0] for r in con.execute(f"select message_id from {again.parsed_table}").fetchall()] == ids


def test_broken(con, tmp_path):
    doc = {"participants": [{"name": "Acme"}], "thread_path": "inbox/x", "messages": [
        {"sender_name": "Jane", "timestamp_ms": "soon"}, {"timestamp_ms": 1509487847000},
        {"sender_name": "Jane"}, {"sender_name": "Jane", "timestamp_ms": 1000},
        {"sender_name": "Jane", "timestamp_ms": 1509487847000, "content": "café"}]}  # fmt: skip
    path = tmp_path / "message_1.json"
    path.write_text(json.dumps(doc))
    parsed = parse_messenger_dyi(con, path, LOADED_AT, brand_ids=frozenset({"acme"}))
    got = [r[0] for r in con.execute(f"select reason from {parsed.rejects_table} order by _row").fetchall()]
    assert got == ["timestamp_ms is not a number: soon", "missing sender_name", "missing timestamp_ms",
                   "timestamp_ms before 2006-03-21: 1000"]  # fmt: skip
    assert con.execute(f"select text from {parsed.parsed_table}").fetchall() == [("café",)]
    path.write_text(json.dumps(doc)[:-5])
    with pytest.raises(FileRejected):
        parse_messenger_dyi(con, path, LOADED_AT, brand_ids=frozenset({"acme"}))
    path.write_text(json.dumps(doc))
    parsed = parse_messenger_dyi(con, path, LOADED_AT, prefix="n", brand_ids=frozenset())
    assert parsed.rows_parsed == 0


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.integers() | st.text(max_size=10),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(
                        ["messages", "participants", "sender_name", "timestamp_ms", "content", "name",
                         "thread_path"]), c, max_size=5), max_leaves=15))  # fmt: skip
def test_any_input(con, tmp_path, value):
    path = tmp_path / "message_1.json"
    path.write_text(json.dumps(value))
    try:
        parsed = parse_messenger_dyi(con, path, LOADED_AT, prefix="fz", brand_ids=frozenset({"a"}))
    except FileRejected:
        return
    assert parsed.rows_read == parsed.rows_parsed + parsed.rows_rejected


# --- many inbox files at once (the loader's path for an export of thousands of thread folders) ---------------------


def one_by_one(con, files, brands):
    """{position: (rows, rejects)} of parse_messenger_dyi on each file; None when it rejects the file."""
    got = {}
    for i, path in enumerate(files):
        try:
            parsed = parse_messenger_dyi(con, path, LOADED_AT, prefix="one", brand_ids=brands)
        except FileRejected:
            got[i] = None
            continue
        got[i] = (
            con.execute(f"select * from {parsed.parsed_table} order by _row").fetchall(),
            con.execute(f"select * from {parsed.rejects_table} order by _row").fetchall(),
        )
    return got


def batched(con, files, brands):
    """{position: (rows, rejects)} of parse_messenger_dyi_batch; the declined positions."""
    batch = parse_messenger_dyi_batch(con, [(p, p.read_bytes()) for p in files], LOADED_AT, brand_ids=brands)
    got = {
        i: (
            con.execute(
                f"select * exclude (_file_index) from {batch.parsed_table} where _file_index = ? order by _row",
                [i],
            ).fetchall(),
            con.execute(
                f"select * exclude (_file_index) from {batch.rejects_table} where _file_index = ? order by _row",
                [i],
            ).fetchall(),
        )
        for i in range(len(files))
        if i not in batch.declined
    }
    return got, set(batch.declined)


def inbox(tmp_path, name, content: bytes | str):
    path = tmp_path / name / "message_1.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_a_batch_gives_each_file_what_it_gets_alone(con, tmp_path):
    doc = json.loads(FIXTURE.read_text())
    broken = {"participants": [{"name": "Acme"}], "messages": [
        {"sender_name": "Jane", "timestamp_ms": "soon"}, {"timestamp_ms": 1509487847000},
        {"sender_name": "Acme", "timestamp_ms": 1509487847000, "content": "caf\u00c3\u00a9"},
        {"sender_name": "Jane", "timestamp_ms": 1509487847000}, {"sender_name": "Jane", "timestamp_ms": 1509487847000},
        {"sender_name": "Jane", "timestamp_ms": 99999999999999}]}  # fmt: skip
    no_brand = {
        "participants": [{"name": "Jane"}],
        "messages": [{"sender_name": "Jane", "timestamp_ms": 1509487847000}],
    }
    files = [
        FIXTURE,
        inbox(tmp_path, "janedoe_abc123", json.dumps(doc)),  # the same thread in another export: same ids
        inbox(tmp_path, "your_instagram_activity/x", json.dumps({**doc, "thread_path": None})),
        inbox(tmp_path, "broken", json.dumps(broken, indent=2)),
        inbox(tmp_path, "nobrand", json.dumps(no_brand)),
        inbox(tmp_path, "bom", b"\xef\xbb\xbf" + json.dumps(doc).encode()),
        inbox(tmp_path, "latin1", json.dumps({**doc, "title": "café"}, ensure_ascii=False).encode("latin-1")),
        inbox(
            tmp_path, "list", json.dumps([doc])
        ),  # a list holding the document: the one-file parser takes it
        inbox(tmp_path, "lines", json.dumps(doc) + "\n" + json.dumps(doc)),
        inbox(tmp_path, "cut", json.dumps(doc)[:-3]),
        inbox(tmp_path, "empty", ""),
        inbox(tmp_path, "blank", " \n"),
        inbox(tmp_path, "nul", json.dumps(doc).replace("Jane", "Ja\x00ne")),
        inbox(tmp_path, "nomessages", json.dumps({"participants": []})),
        inbox(
            tmp_path, "empty_messages", json.dumps({"participants": [{"name": "Acme Café"}], "messages": []})
        ),
    ]
    gz = tmp_path / "gz" / "message_1.json.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(json.dumps(doc).encode()))
    files.append(gz)
    brands = frozenset({"Acme Café", "acme"})
    alone = one_by_one(con, files, brands)
    together, declined = batched(con, files, brands)
    assert declined == {6, 7, 8, 9, 10, 11, 12, 13, 15}
    assert sorted(i for i in declined if alone[i] is not None) == [
        7,
        15,
    ]  # alone, a list and a gzip file load
    assert together == {i: alone[i] for i in together}
    assert len(together[0][0]) == 3 and together[0][0] == together[1][0] != together[2][0]
    assert together[2][0][0][2] == "inbox/x" and together[2][0][0][4] == "instagram"
    assert [r[2] for r in together[3][1]] == ["timestamp_ms is not a number: soon", "missing sender_name",
                                              "timestamp_ms is in the future: 99999999999999"]  # fmt: skip
    assert len(together[3][0]) == len({r[1] for r in together[3][0]}) == 3  # same time and sender: ranked ids
    assert together[3][0][0][-2] == "café"
    assert [r[2] for r in together[4][1]] == ["no brand account in this conversation"]
    assert together[14] == ([], [])


def test_loading_a_folder_in_batches_equals_loading_it_file_by_file(tmp_path):
    landing = tmp_path / "landing"
    root = landing / "messenger_dyi" / "messages" / "inbox"
    doc = json.loads(FIXTURE.read_text())
    for n in range(7):
        thread = {**doc, "thread_path": f"inbox/t{n}"}
        thread["messages"] = [{**m, "timestamp_ms": m["timestamp_ms"] + n * 1000} for m in doc["messages"]]
        inbox(root, f"t{n}", json.dumps(thread))
    inbox(root, "cut", json.dumps(doc)[:-3])
    inbox(root, "gz", b"")
    (root / "gz" / "message_1.json").rename(root / "gz" / "message_1.json.gz")
    (root / "t1" / "photo.jpg").write_bytes(b"\xff\xd8")
    tables = ("raw.messenger_dyi_messages", "raw.rejected_rows", "raw.load_manifest")
    contents = {}
    for how, fmt in (
        ("batch", FORMATS["messenger_dyi"]),
        ("alone", replace(FORMATS["messenger_dyi"], parse_batch=None)),
    ):
        con = duckdb.connect()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("orchestration.loader.BATCH_FILES", 3)  # batches of 3, 3 and 3 files
            results = load_folder(con, landing, fmt, LOADED_AT)
            again = load_folder(con, landing, fmt, LOADED_AT)
        contents[how] = (
            [(r.file, r.status, r.rows_read, r.rows_loaded, r.rows_rejected, r.error) for r in results],
            [r.status for r in again],
            [con.execute(f"select * from {t} order by all").fetchall() for t in tables],
        )
        con.close()
    assert contents["batch"] == contents["alone"]
    results, again, _ = contents["batch"]
    assert [r[1] for r in results] == ["failed", "failed"] + ["loaded"] * 7
    assert again == ["failed", "failed"] + ["skipped"] * 7


def test_a_batch_records_each_files_time_and_the_next_load_reads_none_of_them(tmp_path, monkeypatch):
    """The batch path records each file's size and modification time like load_file: the next load skips the
    unchanged inboxes without reading them (loader.unchanged_files)."""
    landing = tmp_path / "landing"
    root = landing / "messenger_dyi" / "messages" / "inbox"
    an_hour_ago = time.time_ns() - 3600 * 1_000_000_000
    for n in range(3):
        path = inbox(root, f"t{n}", FIXTURE.read_bytes())
        os.utime(path, ns=(an_hour_ago, an_hour_ago))
    con = duckdb.connect()
    monkeypatch.setattr("orchestration.loader.BATCH_FILES", 2)  # a batch of 2 and one of 1 file
    assert [r.status for r in load_folder(con, landing, FORMATS["messenger_dyi"])] == ["loaded"] * 3
    size = FIXTURE.stat().st_size
    assert (
        con.execute("select bytes, file_mtime_ns from raw.load_manifest").fetchall()
        == [(size, an_hour_ago)] * 3
    )
    monkeypatch.setattr("pathlib.Path.read_bytes", lambda *_: pytest.fail("an unchanged inbox was read"))
    assert [r.status for r in load_folder(con, landing, FORMATS["messenger_dyi"])] == ["skipped"] * 3
    con.close()


INBOX_VALUES = st.recursive(
    st.none() | st.integers() | st.text(max_size=6) | st.sampled_from(["a", "A", "Jane", "1509487847000"]),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["messages", "participants", "sender_name", "timestamp_ms", "content", "name", "thread_path"]
            ),
            c,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(INBOX_VALUES, min_size=1, max_size=4))
def test_any_batch_gives_each_file_what_it_gets_alone(con, tmp_path_factory, values):
    folder = tmp_path_factory.mktemp("batch")
    files = [inbox(folder, f"t{i}", json.dumps(v)) for i, v in enumerate(values)]
    alone = one_by_one(con, files, frozenset({"a"}))
    together, declined = batched(con, files, frozenset({"a"}))
    assert together == {i: alone[i] for i in together}
    assert all(alone[i] is None or not isinstance(values[i], dict) for i in declined)
