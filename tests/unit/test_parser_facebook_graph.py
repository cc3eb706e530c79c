"""Facebook Graph API parser: conversations and comments fixtures, broken inputs, a fuzz property."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.parsers.common import FileRejected
from orchestration.parsers.facebook_graph import parse_facebook_graph
from tests.conftest import FIXTURES, LOADED_AT

BASE = FIXTURES / "formats" / "facebook_graph"


def rows(con, table):
    return con.execute(f"select * exclude (_row) from {table} order by _row").fetchall()


def test_conversations(con):
    parsed = parse_facebook_graph(
        con, BASE / "conversations.json", LOADED_AT, brand_ids=frozenset({"acme support"})
    )
    assert rows(con, parsed.parsed_table) == [
        ("m_mid.2", "t_10155", None, "facebook", "acme support", "555", "agent", True,
         datetime(2017, 10, 31, 22, 12), "We are on it.", None),
        ("m_mid.1", "t_10155", None, "facebook", "acme support", "2001", "customer", True,
         datetime(2017, 10, 31, 22, 10, 47), "My parcel is late", None),
    ]  # fmt: skip


def test_comments(con):
    parsed = parse_facebook_graph(con, BASE / "comments.json", LOADED_AT, brand_ids=frozenset({"555"}))
    assert rows(con, parsed.parsed_table) == [
        ("555_7001", None, None, "facebook", "555", "2001", "customer", False, datetime(2017, 11, 1, 9),
         "Is the shop open Sunday?", None),
        ("555_7002", None, "555_7001", "facebook", "555", "555", "agent", False, datetime(2017, 11, 1, 9, 30),
         "Yes, 10 to 4!", None),
    ]  # fmt: skip


def test_broken(con, tmp_path):
    ok = {"id": "1_1", "from": {"id": "555", "name": "Acme"}, "created_time": "2017-11-01T09:00:00+0000"}
    page = {"data": [ok, {**ok, "id": "1_2", "created_time": "yesterday"}, {"id": "1_3", "message": "x",
            "created_time": "2017-11-01T09:00:00+0000"}, {**ok, "id": "1_4", "created_time": None}]}  # fmt: skip
    path = tmp_path / "c.jsonl"
    path.write_text(
        json.dumps(page) + "\n" + json.dumps(page)[:40] + "\n" + json.dumps({"error": {"message": "x"}})
    )
    parsed = parse_facebook_graph(con, path, LOADED_AT, brand_ids=frozenset({"555"}))
    got = [r[0] for r in con.execute(f"select reason from {parsed.rejects_table} order by _row").fetchall()]
    assert (parsed.rows_read, parsed.rows_parsed) == (6, 1)
    assert got == [
        "created_time has no UTC offset: yesterday",
        "missing from (the Graph API hides the author of a comment without page permission)",
        "missing created_time",
        "invalid JSON (a line cut short?)",
        "Graph API error: x",
    ]
    (tmp_path / "t.json").write_text(json.dumps(page, indent=2)[:-10])
    with pytest.raises(FileRejected):
        parse_facebook_graph(con, tmp_path / "t.json", LOADED_AT, brand_ids=frozenset({"555"}))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.integers() | st.text(max_size=10),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(
                        ["data", "id", "from", "messages", "participants", "created_time", "parent", "to",
                         "message", "error", "comments"]), c, max_size=5), max_leaves=15))  # fmt: skip
def test_any_input(con, tmp_path, value):
    path = tmp_path / "f.json"
    path.write_text(json.dumps(value))
    try:
        parsed = parse_facebook_graph(con, path, LOADED_AT, prefix="fz", brand_ids=frozenset({"1"}))
    except FileRejected:
        return
    assert parsed.rows_read == parsed.rows_parsed + parsed.rows_rejected
