"""The rules that need the whole file: duplicate ids (the last row wins) and reply cycles; how fast they are on a
deep thread; and the hardening of the readers (gzip checked to its end, line-by-line UTF-8, unclosed quotes)."""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.parsers.common import FileRejected
from orchestration.parsers.messages import parse_messages
from orchestration.parsers.twcs import parse_twcs
from tests.conftest import LOADED_AT

HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
AT = "Tue Oct 31 22:10:47 +0000 2017"
CANONICAL = "message_id,channel,account_id,author_id,author_role,sent_at,parent_message_id,text\n"


def tweet(tweet_id: object, parent: object = "", text: str = "x") -> str:
    return f"{tweet_id},a,True,{AT},{text},,{parent}\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def rejects(con, parsed) -> list[tuple[int, str]]:
    return con.execute(f"select _row, reason from {parsed.rejects_table} order by _row").fetchall()


def parsed_ids(con, parsed, column: str = "tweet_id") -> list[str]:
    return [r[0] for r in con.execute(f"select {column} from {parsed.parsed_table} order by _row").fetchall()]


def test_the_last_row_of_a_duplicated_id_wins(con, tmp_path):
    text = HEADER + tweet(1, text="v1") + tweet(2) + tweet("1.0", text="v2") + tweet(2) + tweet(1, text="v3")
    parsed = parse_twcs(con, write(tmp_path / "d.csv", text), LOADED_AT)
    assert (parsed.rows_read, parsed.rows_parsed, parsed.rows_rejected) == (5, 2, 3)
    assert con.execute(f"select tweet_id, text from {parsed.parsed_table} order by _row").fetchall() == [
        ("2", "x"),
        ("1", "v3"),
    ]
    assert rejects(con, parsed) == [
        (1, "duplicate tweet_id 1: a later row of the file replaces it"),
        (2, "duplicate tweet_id 2: a later row of the file replaces it"),
        (3, "duplicate tweet_id 1: a later row of the file replaces it"),
    ]


def test_the_last_version_wins_in_a_file_read_in_parallel(tmp_path):
    # Row positions must follow the file even when DuckDB reads it with several threads.
    n = 150_000
    text = HEADER + tweet(7, text="first") + "".join(tweet(i) for i in range(10, n)) + tweet(7, text="last")
    con = duckdb.connect(config={"threads": 4})
    parsed = parse_twcs(con, write(tmp_path / "big.csv", text), LOADED_AT)
    assert con.execute(f"select _row, text from {parsed.parsed_table} where tweet_id = '7'").fetchall() == [
        (n - 8, "last")
    ]
    assert rejects(con, parsed) == [(1, "duplicate tweet_id 7: a later row of the file replaces it")]
    con.close()


def test_a_duplicate_keeps_its_own_reason_and_a_broken_last_version_still_replaces(con, tmp_path):
    text = (
        HEADER
        + "5,a,True,not a time,first,,\n"
        + tweet(5, text="second")
        + "5,a,True,also not a time,third,,\n"
    )
    parsed = parse_twcs(con, write(tmp_path / "d.csv", text), LOADED_AT)
    assert parsed.rows_parsed == 0
    assert rejects(con, parsed) == [
        (1, "unparseable created_at: not a time"),
        (2, "duplicate tweet_id 5: a later row of the file replaces it"),
        (3, "unparseable created_at: also not a time"),
    ]


def test_canonical_duplicates_are_per_channel(con, tmp_path):
    text = (
        CANONICAL
        + "m1,facebook,p,u,customer,2024-03-01T10:00:00Z,,one\n"
        + "m1,instagram,p,u,customer,2024-03-01T10:00:00Z,,other channel\n"
        + "m1,FACEBOOK,p,u,customer,2024-03-01T10:00:00Z,,two\n"
    )
    parsed = parse_messages(con, write(tmp_path / "d.csv", text), LOADED_AT)
    assert con.execute(f"select channel, text from {parsed.parsed_table} order by _row").fetchall() == [
        ("instagram", "other channel"),
        ("facebook", "two"),
    ]
    assert rejects(con, parsed) == [
        (1, "duplicate message_id m1 (channel facebook): a later row of the file replaces it")
    ]


def test_reply_cycles_are_rejected_and_rows_around_them_load(con, tmp_path):
    text = (
        HEADER
        + tweet(1, 2)
        + tweet(2, 1)  # 1 <-> 2
        + tweet(3, 4)
        + tweet(4, 5)
        + tweet(5, 3)  # 3 -> 4 -> 5 -> 3
        + tweet(6, 3)  # replies into a cycle: loads, its parent is missing
        + tweet(7)
        + tweet(8, 7)
        + tweet(9, 99)  # parent outside the file
    )
    parsed = parse_twcs(con, write(tmp_path / "c.csv", text), LOADED_AT)
    assert parsed_ids(con, parsed) == ["6", "7", "8", "9"]
    two = "reply cycle (each replies to the next): 1 -> 2 -> 1"
    three = "reply cycle (each replies to the next): 3 -> 4 -> 5 -> 3"
    assert rejects(con, parsed) == [(1, two), (2, two), (3, three), (4, three), (5, three)]


def test_a_cycle_through_a_rejected_row_is_no_cycle(con, tmp_path):
    # 2's only version is broken, so 1 -> 2 -> 1 is not in what loads: 1 loads as a reply to a missing parent.
    text = HEADER + tweet(1, 2) + "2,a,True,not a time,x,,1\n"
    parsed = parse_twcs(con, write(tmp_path / "c.csv", text), LOADED_AT)
    assert parsed_ids(con, parsed) == ["1"]
    assert rejects(con, parsed) == [(2, "unparseable created_at: not a time")]


def test_a_cycle_is_judged_on_the_last_versions(con, tmp_path):
    # 1 -> 2 -> 1 in the first versions; the later version of 2 starts a thread: no cycle is left.
    text = HEADER + tweet(1, 2) + tweet(2, 1) + tweet(2)
    parsed = parse_twcs(con, write(tmp_path / "c.csv", text), LOADED_AT)
    assert parsed_ids(con, parsed) == ["1", "2"]
    assert rejects(con, parsed) == [(2, "duplicate tweet_id 2: a later row of the file replaces it")]


def test_canonical_cycles_stay_within_a_channel(con, tmp_path):
    lines = [
        "a,facebook,p,u,customer,2024-03-01T10:00:00Z,b,",
        "b,facebook,p,u,customer,2024-03-01T10:00:00Z,a,",
        "c,facebook,p,u,customer,2024-03-01T10:00:00Z,d,",
        "d,twitter,p,u,customer,2024-03-01T10:00:00Z,c,",  # twitter's d replies to twitter's c: not in the file
    ]
    parsed = parse_messages(con, write(tmp_path / "c.csv", CANONICAL + "\n".join(lines) + "\n"), LOADED_AT)
    assert parsed_ids(con, parsed, "message_id") == ["c", "d"]
    assert [r for _, r in rejects(con, parsed)] == ["reply cycle (each replies to the next): a -> b -> a"] * 2


def test_canonical_jsonl_cycle(con, tmp_path):
    def line(mid: str, parent: str) -> str:
        return (
            f'{{"message_id": "{mid}", "parent_message_id": "{parent}", "channel": "x", "account_id": "p", '
            '"author_id": "u", "author_role": "customer", "sent_at": "2024-03-01T10:00:00Z"}'
        )

    parsed = parse_messages(
        con,
        write(tmp_path / "c.jsonl", "\n".join([line("a", "b"), line("b", "c"), line("c", "a")])),
        LOADED_AT,
    )
    assert parsed.rows_parsed == 0
    assert {r for _, r in rejects(con, parsed)} == {
        "reply cycle (each replies to the next): a -> b -> c -> a"
    }


def test_a_100k_deep_valid_chain_is_fast(con, tmp_path):
    n = 100_000
    text = HEADER + "".join(tweet(i, i - 1 if i > 1 else "") for i in range(1, n + 1))
    path = write(tmp_path / "chain.csv", text)
    start = time.perf_counter()
    parsed = parse_twcs(con, path, LOADED_AT)
    elapsed = time.perf_counter() - start
    assert (parsed.rows_read, parsed.rows_parsed, parsed.rows_rejected) == (n, n, 0)
    assert elapsed < 5, f"a {n}-deep chain took {elapsed:.1f} s"


def test_a_100k_long_cycle_is_found_fast_and_its_reason_stays_short(con, tmp_path):
    n = 100_000
    text = HEADER + "".join(tweet(i, i - 1 if i > 1 else n) for i in range(1, n + 1))
    path = write(tmp_path / "cycle.csv", text)
    start = time.perf_counter()
    parsed = parse_twcs(con, path, LOADED_AT)
    elapsed = time.perf_counter() - start
    assert (parsed.rows_read, parsed.rows_parsed, parsed.rows_rejected) == (n, 0, n)
    assert elapsed < 5, f"a {n}-long cycle took {elapsed:.1f} s"
    reasons = con.execute(f"select distinct reason from {parsed.rejects_table}").fetchall()
    expected = (
        f"reply cycle of {n} messages (each replies to the next): 1 -> "
        + " -> ".join(str(i) for i in range(n, n - 19, -1))
        + " -> ..."
    )
    assert reasons == [(expected,)]


def test_a_chain_leading_into_a_long_cycle(con, tmp_path):
    # a 1,000-long tail into a 25-long cycle: only the cycle is rejected, its reason shows the first 20 links
    cycle = [tweet(i, i + 1 if i < 25 else 1) for i in range(1, 26)]
    tail = [tweet(1000 + i, 1000 + i - 1 if i > 0 else 1) for i in range(1000)]
    parsed = parse_twcs(con, write(tmp_path / "rho.csv", HEADER + "".join(cycle + tail)), LOADED_AT)
    assert (parsed.rows_parsed, parsed.rows_rejected) == (1000, 25)
    reason = con.execute(f"select distinct reason from {parsed.rejects_table}").fetchall()
    assert reason == [
        (
            "reply cycle of 25 messages (each replies to the next): "
            + " -> ".join(str(i) for i in range(1, 21))
            + " -> ...",
        )
    ]


def test_a_shifted_row_is_caught_by_its_response_tweet_id(con, tmp_path):
    # one unquoted comma and empty last fields: DuckDB drops the empty extra field and would load the row shifted
    text = HEADER + f"1,a,True,{AT},hello, world,,\n" + f'2,a,True,{AT},"fine, quoted",3,\n'
    text += f'4,a,True,{AT},spreadsheet,"###",\n5,a,True,{AT},mangled,"10,031,007",\n'
    parsed = parse_twcs(con, write(tmp_path / "s.csv", text), LOADED_AT)
    assert parsed_ids(con, parsed) == ["2", "4", "5"]
    assert rejects(con, parsed) == [
        (
            1,
            "response_tweet_id is not a list of tweet ids (did a comma in an unquoted text shift the columns?): "
            " world",
        )
    ]


@pytest.mark.parametrize(
    ("cut", "error"),
    [
        (lambda data: data[: len(data) // 2], "corrupt or truncated gzip file: Compressed file ended before"),
        (
            lambda data: data[:-8] + b"\x00\x00\x00\x00" + data[-4:],
            "corrupt or truncated gzip file: CRC check failed",
        ),
        (lambda data: b"PK\x03\x04" + data[4:], "corrupt or truncated gzip file: Not a gzipped file"),
        (lambda data: gzip.compress(b""), "empty file (0 bytes once decompressed)"),
    ],
)
def test_a_broken_gzip_fails_whole(con, tmp_path, cut, error):
    data = gzip.compress((HEADER + "".join(tweet(i) for i in range(1, 3000))).encode())
    path = tmp_path / "t.csv.gz"
    path.write_bytes(cut(data))
    with pytest.raises(FileRejected, match=re.escape(error)):
        parse_twcs(con, path, LOADED_AT)


def test_the_python_fallback_rejects_only_what_is_broken(con, tmp_path):
    # A bare CR makes DuckDB refuse the file; the Python reader then meets Latin-1 bytes and a quote never closed.
    content = (
        HEADER.encode()
        + f"1,a,True,{AT},bare\rcr,,\n".encode()
        + f"2,a,True,{AT},caf".encode()
        + b"\xe9,,\n"
        + f'3,a,True,{AT},"never closed,,\n'.encode()
        + tweet(4).encode()
        + f'5,a,True,{AT},"two\nlines",,\n'.encode()
    )
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    parsed = parse_twcs(con, path, LOADED_AT)
    assert parsed_ids(con, parsed) == ["4", "5"]
    assert con.execute(
        f"select line, reason, raw_record from {parsed.rejects_table} order by _row"
    ).fetchall() == [
        (
            2,
            "unparseable CSV record: a line break (carriage return) inside an unquoted field",
            f"1,a,True,{AT},bare\rcr,,",
        ),
        (
            3,
            "invalid UTF-8 text: 'utf-8' codec can't decode byte 0xe9 in position 43: invalid continuation byte",
            f"2,a,True,{AT},caf\\xe9,,",
        ),
        (4, "unparseable CSV record: a quote in this line is never closed", f'3,a,True,{AT},"never closed,,'),
    ]


def test_canonical_header_problems_fail_the_file(con, tmp_path):
    base = "message_id,channel,account_id,author_id,author_role,sent_at"
    for header, error in [
        (base + ",", "header has no name for column(s) 7"),
        (base + ",MESSAGE_ID", "header repeats column(s): MESSAGE_ID, message_id"),
        (base + ",_row", "header uses the reserved column name _row"),
    ]:
        path = write(tmp_path / "h.csv", header + "\nm,f,p,u,customer,2024-03-01T10:00:00Z,x\n")
        with pytest.raises(FileRejected, match=re.escape(error)):
            parse_messages(con, path, LOADED_AT)


def test_canonical_file_without_extension_is_unsupported(con, tmp_path):
    with pytest.raises(FileRejected, match="unsupported file type"):
        parse_messages(con, write(tmp_path / "messages", "x\n"), LOADED_AT)
