"""Messenger "Download your information" parser: mojibake repair, ids, broken inputs, a fuzz property."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.parsers.common import FileRejected
from orchestration.parsers.messenger_dyi import parse_messenger_dyi
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
