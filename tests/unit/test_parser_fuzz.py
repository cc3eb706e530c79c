"""Property-based tests of the parsers: whatever bytes land, a parser either rejects the file as a whole
(``FileRejected`` with a message) or accounts for every row it read, and what it lets through is a valid message.

Inputs are arbitrary bytes, and files that start valid (a real header, plausible rows) with fields drawn from the
nasty end (quotes, commas, line breaks, CR, NUL, bytes that are not UTF-8, huge and negative numbers, timestamps
from any year and offset), then mutated (bytes inserted, file cut anywhere). Every example gets a fresh in-memory
DuckDB.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.parsers.common import FileRejected, ParsedFile
from orchestration.parsers.messages import AUTHOR_ROLES, parse_messages
from orchestration.parsers.messages import COLUMNS as CANONICAL_COLUMNS
from orchestration.parsers.twcs import COLUMNS as TWCS_COLUMNS
from orchestration.parsers.twcs import parse_twcs

LOADED_AT = datetime(2026, 1, 1)
EARLIEST = datetime(2006, 3, 21)
# Each example costs a DuckDB connection and a parse (~50 ms): the defaults keep the file around 15 s. For a longer
# hunt: FUZZ_SCALE=20 pytest tests/unit/test_parser_fuzz.py
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- checking one file ---------------------------------------------------------------------------------------


def has_cycle(parent: dict[object, object]) -> bool:
    for start in parent:
        seen = set()
        node = start
        while node in parent and node not in seen:
            seen.add(node)
            node = parent[node]
        if node in seen:
            return True
    return False


def check_twcs_rows(con: duckdb.DuckDBPyConnection, parsed: ParsedFile) -> None:
    rows = con.execute(
        f"select tweet_id, author_id, inbound, created_at, in_response_to_tweet_id from {parsed.parsed_table}"
    ).fetchall()
    for tweet_id, author_id, inbound, created_at, parent in rows:
        assert tweet_id is not None and re.fullmatch(r"\d+", tweet_id), tweet_id
        assert author_id is not None
        assert inbound in (True, False)
        assert created_at is not None and EARLIEST <= created_at <= LOADED_AT, created_at
        assert parent is None or (re.fullmatch(r"\d+", parent) and parent != tweet_id), parent
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "a tweet_id loaded twice"
    assert not has_cycle({r[0]: r[4] for r in rows if r[4] is not None}), "a reply cycle loaded"


def check_canonical_rows(con: duckdb.DuckDBPyConnection, parsed: ParsedFile) -> None:
    rows = con.execute(
        f"""
        select message_id, channel, account_id, author_id, author_role, is_private, sent_at, parent_message_id
        from {parsed.parsed_table}
        """
    ).fetchall()
    for message_id, channel, account_id, author_id, role, private, sent_at, parent in rows:
        assert None not in (message_id, channel, account_id, author_id)
        assert channel == channel.lower()
        assert role in AUTHOR_ROLES
        assert private in (True, False)
        assert sent_at is not None and EARLIEST <= sent_at <= LOADED_AT, sent_at
        assert parent != message_id
    keys = [(r[1], r[0]) for r in rows]
    assert len(keys) == len(set(keys)), "a (channel, message_id) loaded twice"
    assert not has_cycle({(r[1], r[0]): (r[1], r[7]) for r in rows if r[7] is not None}), (
        "a reply cycle loaded"
    )


def check(
    path: Path,
    content: bytes,
    parse: Callable[..., ParsedFile],
    check_rows: Callable[..., None],
    then: Callable[[duckdb.DuckDBPyConnection, ParsedFile], None] | None = None,
) -> ParsedFile | None:
    """Parse ``content`` written at ``path``: FileRejected with a message, or every row accounted for and every
    good row valid. Any other exception fails the test."""
    path.write_bytes(content)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    try:
        try:
            parsed = parse(con, path, LOADED_AT)
        except FileRejected as exc:
            assert str(exc).strip(), "FileRejected without a message"
            return None
        parsed_rows = con.execute(f"select count(*) from {parsed.parsed_table}").fetchone()[0]
        rejected_rows = con.execute(f"select count(*) from {parsed.rejects_table}").fetchone()[0]
        assert (parsed.rows_parsed, parsed.rows_rejected) == (parsed_rows, rejected_rows)
        assert parsed.rows_read == parsed.rows_parsed + parsed.rows_rejected
        assert con.execute(
            f"select count(*) from {parsed.rejects_table} where reason is null or trim(reason) = ''"
        ).fetchone() == (0,), "a reject without a reason"
        positions = con.execute(
            f"select count(*), count(distinct _row) from "
            f"(select _row from {parsed.parsed_table} union all select _row from {parsed.rejects_table})"
        ).fetchone()
        assert positions == (parsed.rows_read, parsed.rows_read), "row positions are not unique"
        check_rows(con, parsed)
        if then is not None:
            then(con, parsed)
        return parsed
    finally:
        con.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# --- strategies ----------------------------------------------------------------------------------------------

NASTY = st.sampled_from(
    ['"', ",", "\n", "\r", "\r\n", "\x00", "\ufeff", "é", "😀", " ", "\t", "\\", "'", '""']
)
TEXT = st.lists(st.one_of(NASTY, st.text(max_size=6)), max_size=6).map("".join)
NUMBER = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=0, max_value=10**6).map(str),
    st.integers(min_value=0, max_value=10**6).map(lambda i: f"{i}.0"),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
OFFSET = st.integers(min_value=-18 * 60, max_value=18 * 60).map(lambda m: timezone(timedelta(minutes=m)))
MOMENT = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=OFFSET)
RECENT = st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2027, 12, 31), timezones=OFFSET)


def twitter_time(moment: datetime) -> str:
    return moment.strftime("%a %b %d %H:%M:%S %z ") + str(moment.year)


def iso_time(moment: datetime, style: int) -> str:
    text = moment.isoformat()
    if style == 1:
        try:
            return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
        except OverflowError:  # 0001-01-01T00:00+00:01 is before year 1 in UTC: keep its own offset
            return text
    if style == 2:
        return moment.replace(tzinfo=None).isoformat()  # no offset
    if style == 3:
        return text.replace("T", " ")
    return text


def mutate(data: st.DataObject, content: bytes) -> bytes:
    """Insert bytes that are not UTF-8 (or NUL, CR, quotes), and/or cut the file anywhere."""
    for _ in range(data.draw(st.integers(min_value=0, max_value=2), label="insertions")):
        at = data.draw(st.integers(min_value=0, max_value=len(content)), label="at")
        junk = data.draw(
            st.sampled_from(
                [b"\xff", b"\xe9", b"\xc3", b"\x80", b"\x00", b"\r", b'"', b"\n", b"\xef\xbb\xbf"]
            ),
            label="junk",
        )
        content = content[:at] + junk + content[at:]
    if data.draw(st.booleans(), label="cut"):
        content = content[: data.draw(st.integers(min_value=0, max_value=len(content)), label="cut at")]
    return content


def maybe_gzip(data: st.DataObject, content: bytes) -> bytes:
    """Compress, then maybe cut the compressed stream or flip one of its bytes."""
    packed = gzip.compress(content)
    damage = data.draw(st.sampled_from(["none", "none", "cut", "flip"]), label="gzip damage")
    at = data.draw(st.integers(min_value=0, max_value=len(packed) - 1), label="gzip at")
    if damage == "cut":
        return packed[:at]
    if damage == "flip":
        return packed[:at] + bytes([packed[at] ^ 0xFF]) + packed[at + 1 :]
    return packed


def csv_bytes(data: st.DataObject, header: list[str], rows: list[list[str]]) -> bytes:
    """Rows written properly quoted, or joined raw with commas (unquoted commas, quotes and line breaks)."""
    newline = data.draw(st.sampled_from(["\n", "\r\n"]), label="newline")
    if data.draw(st.booleans(), label="quoted"):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)
        text = out.getvalue()
    else:
        text = newline.join(",".join(r) for r in [header, *rows]) + newline
    bom = "\ufeff" if data.draw(st.booleans(), label="bom") else ""
    return (bom + text).encode("utf-8", "surrogatepass")


def twcs_row(data: st.DataObject, ids: list[str]) -> list[str]:
    tweet_id = data.draw(st.one_of(st.sampled_from(ids), NUMBER, TEXT), label="tweet_id")
    return [
        tweet_id,
        data.draw(st.one_of(st.sampled_from(["115712", "AcmeCare", ""]), TEXT), label="author_id"),
        data.draw(st.one_of(st.sampled_from(["True", "False", "TRUE", "false", ""]), TEXT), label="inbound"),
        data.draw(
            st.one_of(RECENT.map(twitter_time), MOMENT.map(twitter_time), TEXT, NUMBER), label="created_at"
        ),
        data.draw(TEXT, label="text"),
        data.draw(
            st.one_of(st.just(""), st.lists(st.sampled_from(ids)).map(",".join), TEXT), label="responses"
        ),
        data.draw(st.one_of(st.just(""), st.sampled_from(ids), NUMBER, TEXT), label="parent"),
    ]


def canonical_value(data: st.DataObject, column: str, ids: list[str]) -> str:
    options = {
        "message_id": st.one_of(st.sampled_from(ids), NUMBER, TEXT),
        "parent_message_id": st.one_of(st.just(""), st.sampled_from(ids), TEXT),
        "thread_id": st.one_of(st.just(""), TEXT),
        "channel": st.one_of(st.sampled_from(["facebook", "Facebook", "twitter", ""]), TEXT),
        "author_role": st.one_of(st.sampled_from(["customer", "Agent", "bot", "moderator", ""]), TEXT),
        "is_private": st.one_of(st.sampled_from(["true", "false", "1", "0", "TRUE", "", "yes"]), TEXT),
        "sent_at": st.one_of(
            st.builds(iso_time, RECENT, st.integers(0, 3)),
            st.builds(iso_time, MOMENT, st.integers(0, 3)),
            TEXT,
        ),
    }
    return data.draw(options.get(column, st.one_of(st.sampled_from(["acme", "u1", ""]), TEXT)), label=column)


JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


def jsonl_line(data: st.DataObject, ids: list[str]) -> str:
    record: dict[str, object] = {}
    for column in CANONICAL_COLUMNS:
        if data.draw(st.integers(0, 9), label=f"has {column}") < 8:
            if data.draw(st.booleans(), label=f"{column} as text"):
                record[column] = canonical_value(data, column, ids)
            else:
                record[column] = data.draw(JSON_VALUE, label=column)
    record.update(data.draw(st.dictionaries(TEXT, JSON_VALUE, max_size=2), label="extra keys"))
    kind = data.draw(st.integers(0, 9), label="line kind")
    if kind == 0:
        return json.dumps(data.draw(JSON_VALUE, label="not an object"))
    line = json.dumps(record, ensure_ascii=data.draw(st.booleans(), label="ascii"))
    if kind == 1:
        return line[: data.draw(st.integers(0, len(line)), label="line cut")]
    return line


IDS = st.lists(st.integers(min_value=1, max_value=30).map(str), min_size=1, max_size=6)

# --- properties ------------------------------------------------------------------------------------------------


@fuzz(25)
@given(content=st.binary(max_size=600), name=st.sampled_from(["f.csv", "f.csv.gz", "f.jsonl", "f.jsonl.gz"]))
def test_any_bytes(workdir, content, name):
    for candidate in (content, gzip.compress(content)) if name.endswith(".gz") else (content,):
        if name.endswith(".csv") or name.endswith(".csv.gz"):
            check(workdir / f"twcs_{name}", candidate, parse_twcs, check_twcs_rows)
        check(workdir / name, candidate, parse_messages, check_canonical_rows)


@fuzz(25)
@given(
    content=st.binary(max_size=400),
    header=st.sampled_from([",".join(TWCS_COLUMNS), ",".join(CANONICAL_COLUMNS)]),
)
def test_a_valid_header_over_any_bytes(workdir, content, header):
    data = header.encode() + b"\n" + content
    check(workdir / "h.csv", data, parse_twcs, check_twcs_rows)
    check(workdir / "h.csv", data, parse_messages, check_canonical_rows)


@fuzz(50)
@given(data=st.data(), ids=IDS, gz=st.booleans())
def test_twcs_mutated(workdir, data, ids, gz):
    rows = [twcs_row(data, ids) for _ in range(data.draw(st.integers(0, 8), label="rows"))]
    content = mutate(data, csv_bytes(data, list(TWCS_COLUMNS), rows))
    if gz:
        content = maybe_gzip(data, content)
    check(workdir / ("t.csv.gz" if gz else "t.csv"), content, parse_twcs, check_twcs_rows)


@fuzz(50)
@given(data=st.data(), ids=IDS)
def test_canonical_csv_mutated(workdir, data, ids):
    header = data.draw(
        st.lists(st.sampled_from([*CANONICAL_COLUMNS, "extra", "Text", "", "_row", 'q"uote']), max_size=14)
        | st.permutations(CANONICAL_COLUMNS).map(list)
        | st.permutations(CANONICAL_COLUMNS).flatmap(
            lambda cols: st.sampled_from(["Text", "", "_row", 'q"uote', "MESSAGE_ID", " text "]).map(
                lambda odd: [*cols, odd]
            )
        ),
        label="header",
    )
    rows = [
        [canonical_value(data, c, ids) for c in header]
        + data.draw(st.lists(TEXT, max_size=1), label="extra fields")
        for _ in range(data.draw(st.integers(0, 8), label="rows"))
    ]
    content = mutate(data, csv_bytes(data, header, rows))
    check(workdir / "m.csv", content, parse_messages, check_canonical_rows)


@fuzz(40)
@given(data=st.data(), ids=IDS, gz=st.booleans())
def test_canonical_jsonl_mutated(workdir, data, ids, gz):
    lines = [jsonl_line(data, ids) for _ in range(data.draw(st.integers(0, 8), label="lines"))]
    newline = data.draw(st.sampled_from(["\n", "\r\n"]), label="newline")
    content = mutate(data, newline.join(lines).encode("utf-8", "surrogatepass"))
    if gz:
        content = maybe_gzip(data, content)
    check(workdir / ("m.jsonl.gz" if gz else "m.jsonl"), content, parse_messages, check_canonical_rows)


@fuzz(30)
@given(data=st.data())
def test_twcs_reply_graphs(workdir, data):
    """Valid rows with random parent links (chains, cycles, duplicates): no duplicate and no cycle loads, and
    every row that is neither a duplicate nor on a cycle loads."""
    n = data.draw(st.integers(1, 25), label="n")
    ids = [str(data.draw(st.integers(1, 20), label="id")) for _ in range(n)]
    parents = [
        data.draw(st.one_of(st.just(""), st.integers(1, 22).map(str)), label="parent") for _ in range(n)
    ]
    text = ",".join(TWCS_COLUMNS) + "\n"
    text += "".join(
        f"{i},a,True,Tue Oct 31 22:10:47 +0000 2017,x,,{p}\n" for i, p in zip(ids, parents, strict=True)
    )
    # the model: last version of each id, minus self-replies, minus rows on a cycle among what is left
    last = dict(zip(ids, parents, strict=True))
    kept = {i: p for i, p in last.items() if p != i}
    on_cycle = set()
    for start in kept:
        path, node = [], start
        while node in kept and node not in path:
            path.append(node)
            node = kept[node]
        if node in path:
            on_cycle.update(path[path.index(node) :])
    expected = sorted(set(kept) - on_cycle, key=int)

    def loads_the_model(con, parsed):
        loaded = [r[0] for r in con.execute(f"select tweet_id from {parsed.parsed_table}").fetchall()]
        assert sorted(loaded, key=int) == expected

    assert check(workdir / "g.csv", text.encode(), parse_twcs, check_twcs_rows, loads_the_model) is not None
