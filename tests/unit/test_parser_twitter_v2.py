"""Twitter API v2 parser: the hand-made fixture, broken inputs, the real twarc2 captures, and a fuzz property."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.parsers.common import FileRejected, brand_ids_from_seed
from orchestration.parsers.twitter_v2 import parse_twitter_v2
from tests.conftest import FIXTURES, LOADED_AT

FIXTURE = FIXTURES / "formats" / "twitter_v2" / "search_and_dm.jsonl"
BRANDS = frozenset({"acmesupport"})


def rows(con, table):
    return con.execute(f"select * exclude (_row) from {table} order by _row").fetchall()


def reasons(con, parsed):
    return [r[0] for r in con.execute(f"select reason from {parsed.rejects_table} order by _row").fetchall()]


def test_fixture_canonical_rows(con):
    parsed = parse_twitter_v2(con, FIXTURE, LOADED_AT, brand_ids=BRANDS)
    assert (parsed.rows_read, parsed.rows_parsed, parsed.rows_rejected) == (7, 5, 2)
    t = datetime(2022, 11, 2, 12, 0)
    assert rows(con, parsed.parsed_table) == [
        ("1587800000000000001", None, None, "twitter", "AcmeSupport", "900", "customer", False, t,
         "@AcmeSupport my order never arrived", None),
        ("1587800000000000002", None, "1587800000000000001", "twitter", "AcmeSupport", "100", "agent", False,
         t.replace(minute=5), "@jane_doe Sorry! Please DM us. ^AB", None),
        ("1587800000000000004", None, "1587800000000000002", "twitter", "AcmeSupport", "900", "customer", False,
         t.replace(minute=7), "@AcmeSupport done, thanks", None),
        ("1587900000000000001", "100-900", None, "twitter", "AcmeSupport", "900", "customer", True,
         t.replace(minute=10), "Hi, order #123?", None),
        ("1587900000000000002", "100-900", None, "twitter", "AcmeSupport", "100", "agent", True,
         t.replace(minute=12), "Found it, ships today", None),
    ]  # fmt: skip
    assert reasons(con, parsed) == [
        "earlier version of edited tweet 1587800000000000003: version 1587800000000000004 in this file replaces it",
        "DM event is not a message: ParticipantsJoin",
    ]


def test_brand_by_numeric_id_and_gzip(con, tmp_path):
    gz = tmp_path / "p.jsonl.gz"
    gz.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    parsed = parse_twitter_v2(con, gz, LOADED_AT, brand_ids=frozenset({"100"}))
    assert parsed.rows_parsed == 5
    assert {r[0] for r in con.execute(f"select account_id from {parsed.parsed_table}").fetchall()} == {
        "AcmeSupport"
    }


def test_no_brand_is_rejected(con):
    parsed = parse_twitter_v2(con, FIXTURE, LOADED_AT, brand_ids=frozenset())
    assert parsed.rows_parsed == 0
    assert reasons(con, parsed).count("no brand account in this conversation") == 5


def tweet(**kw):
    base = {"id": "1", "author_id": "100", "created_at": "2022-11-02T12:00:00.000Z", "text": "x"}
    return {**base, **kw}


def test_broken_inputs(con, tmp_path):
    lines = [
        json.dumps({"data": [tweet(id="1")]}),
        json.dumps({"data": [tweet(id="2")]})[:30],
        json.dumps({"data": [tweet(id="3", created_at="2022-13-45T12:00:00Z")]}),
        json.dumps({"data": [tweet(id="4", created_at="2022-11-02T12:00:00")]}),
        json.dumps({"data": [tweet(id="5", created_at="2030-01-01T00:00:00.000Z")]}),
        json.dumps({"data": [{k: v for k, v in tweet(id="6").items() if k != "author_id"}]}),
        json.dumps({"data": [{k: v for k, v in tweet(id="7").items() if k != "created_at"}]}),
        json.dumps({"errors": [{"title": "operational-disconnect", "detail": "stream closed"}]}),
        json.dumps({"data": [tweet(id="8", referenced_tweets=[{"type": "replied_to", "id": "8"}])]}),
        json.dumps([1]),
    ]
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(lines) + "\n")
    parsed = parse_twitter_v2(con, path, LOADED_AT, brand_ids=frozenset({"100"}))
    assert (parsed.rows_read, parsed.rows_parsed) == (10, 1)
    assert reasons(con, parsed) == [
        "invalid JSON (a line cut short?)",
        "unparseable created_at: 2022-13-45T12:00:00Z",
        "created_at has no UTC offset: 2022-11-02T12:00:00",
        "created_at is in the future: 2030-01-01T00:00:00.000Z",
        "missing author_id",
        "missing created_at",
        "API error: operational-disconnect: stream closed",
        "tweet replies to itself",
        "JSON document is not an object",
    ]


def test_truncated_single_page_and_empty_file(con, tmp_path):
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"data": [tweet()]}, indent=2)[:-20])
    with pytest.raises(FileRejected, match="not JSON"):
        parse_twitter_v2(con, path, LOADED_AT, brand_ids=BRANDS)
    (tmp_path / "e.json").write_text("")
    with pytest.raises(FileRejected, match="empty file"):
        parse_twitter_v2(con, tmp_path / "e.json", LOADED_AT, brand_ids=BRANDS)


def test_seed_brands():
    assert "AcmeSupport" in brand_ids_from_seed()
    assert brand_ids_from_seed(Path("/nonexistent.csv")) == frozenset()


def test_real_entities_test(con, shared_data):
    path = shared_data / "twitter_api_v2" / "entities_test.jsonl"
    if not path.exists():
        pytest.skip("entities_test.jsonl absent")
    users = json.loads(path.read_text())["includes"]["users"]
    parsed = parse_twitter_v2(con, path, LOADED_AT, brand_ids=frozenset(u["id"] for u in users))
    assert parsed.rows_read == 650
    edges = con.execute(f"select count(parent_message_id) from {parsed.parsed_table}").fetchone()[0]
    assert parsed.rows_parsed + parsed.rows_rejected == 650
    assert edges <= 126


def test_real_stream_with_error_and_edits(con, shared_data):
    base = shared_data / "twitter_api_v2"
    if not (base / "streaming_output_with_error.jsonl").exists():
        pytest.skip("twitter_api_v2 samples absent")
    parsed = parse_twitter_v2(con, base / "streaming_output_with_error.jsonl", LOADED_AT, brand_ids=BRANDS)
    assert "invalid JSON (a line cut short?)" in reasons(con, parsed)
    for name in ("edited.jsonl", "edited_before.jsonl", "edited_after.jsonl"):
        parsed = parse_twitter_v2(con, base / name, LOADED_AT, brand_ids=frozenset({"337119125"}))
        ids = [r[0] for r in con.execute(f"select message_id from {parsed.parsed_table}").fetchall()]
        assert ids == ["1576994789110992896"], name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda c: st.lists(c, max_size=4) | st.dictionaries(
                                  st.sampled_from(["data", "id", "text", "author_id", "created_at", "includes",
                                                   "referenced_tweets", "event_type", "errors", "meta"]), c,
                                  max_size=5), max_leaves=15).map(lambda v: json.dumps(v).encode())))  # fmt: skip
def test_any_input_is_rejected_or_accounted(con, tmp_path, data):
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    try:
        parsed = parse_twitter_v2(con, path, LOADED_AT, prefix="fz", brand_ids=frozenset({"1"}))
    except FileRejected:
        return
    assert parsed.rows_read == parsed.rows_parsed + parsed.rows_rejected
