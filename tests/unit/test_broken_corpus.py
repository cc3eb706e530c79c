"""The broken-file corpus (tests/fixtures/broken/, described in its README): every file loaded through
``load_folder`` next to good ones, with the exact manifest row, the exact reasons of its rejects and the rows that
loaded. A file added to the corpus without an expectation here fails the test."""

from __future__ import annotations

import gzip
import shutil

import duckdb
import pytest

from orchestration.loader import FORMATS, load_folder
from tests.conftest import FIXTURES, LOADED_AT

CORPUS = FIXTURES / "broken"
LATIN1_CSV = "unparseable CSV record (invalid encoding): Invalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded."
CYCLE_2 = "reply cycle (each replies to the next): 1101 -> 1102 -> 1101"
CYCLE_3 = "reply cycle (each replies to the next): 1103 -> 1105 -> 1104 -> 1103"
CYCLE_M = "reply cycle (each replies to the next): c1 -> c3 -> c2 -> c1"
GZIP_CUT = "corrupt or truncated gzip file: Compressed file ended before the end-of-stream marker was reached"
TWCS_HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id"

# file: (status, rows read, loaded, rejected, error, [(line, reason) of each reject, by _row], [ids loaded, by _row])
EXPECTED: dict[str, tuple[str, int, int, int, str | None, list[tuple[int | None, str]], list[str]]] = {
    # --- twcs/ ---
    "twcs/good.csv": ("loaded", 4, 4, 0, None, [], ["101", "102", "103", "104"]),
    "twcs/crlf_bom.csv": ("loaded", 2, 2, 0, None, [], ["201", "202"]),
    "twcs/a_directory.csv": ("failed", 0, 0, 0, "not a regular file (a directory?)", [], []),
    "twcs/wrong_column_count.csv": (
        "loaded",
        4,
        2,
        2,
        None,
        [
            # one field too many, but empty: DuckDB drops it, the shifted text is caught in response_tweet_id
            (
                None,
                "response_tweet_id is not a list of tweet ids (did a comma in an unquoted text shift the columns?):  comma",
            ),
            (4, "unparseable CSV record (missing columns): Expected Number of Columns: 7 Found: 5"),
        ],
        ["301", "304"],
    ),
    "twcs/unbalanced_quote.csv": (
        "loaded",
        3,
        2,
        1,
        None,
        [
            (
                3,
                "unparseable CSV record (unquoted value): Value with unterminated quote found. (the record runs "
                "over 3 lines: a quote that is not closed takes in the lines after it)",
            )
        ],
        ["401", "405"],
    ),
    "twcs/cut_mid_line_at_end.csv": (
        "loaded",
        2,
        1,
        1,
        None,
        [(3, "unparseable CSV record (unquoted value): Value with unterminated quote found.")],
        ["501"],
    ),
    "twcs/latin1_encoded.csv": ("loaded", 3, 1, 2, None, [(3, LATIN1_CSV), (4, LATIN1_CSV)], ["601"]),
    "twcs/bare_carriage_return_in_text.csv": (
        "loaded",
        3,
        2,
        1,
        None,
        [(3, "unparseable CSV record: a line break (carriage return) inside an unquoted field")],
        ["1301", "1303"],
    ),
    "twcs/empty_0_bytes.csv": ("failed", 0, 0, 0, "empty file (0 bytes)", [], []),
    "twcs/header_only.csv": ("loaded", 0, 0, 0, None, [], []),
    "twcs/only_blank_lines.csv": ("failed", 0, 0, 0, "file holds only blank space", [], []),
    "twcs/timestamps_future_and_before_2006.csv": (
        "loaded",
        4,
        1,
        3,
        None,
        [
            (None, "created_at is in the future: Wed Jan 01 00:00:00 +0000 2031"),
            (None, "created_at before 2006-03-21, the first tweet: Sun Mar 19 12:00:00 +0000 2006"),
            (None, "created_at before 2006-03-21, the first tweet: Thu Jan 01 00:00:00 +0000 1970"),
        ],
        ["701"],
    ),
    "twcs/timestamps_unparseable.csv": (
        "loaded",
        5,
        1,
        4,
        None,
        [
            (None, "unparseable created_at: 31/10/2017 22:10"),
            (None, "unparseable created_at: Tue Oct 31 25:10:47 +0000 2017"),
            (None, "unparseable created_at: Tue Oct 31 22:10:47 2017"),
            (None, "unparseable created_at: 2017-10-31T22:10:47Z"),
        ],
        ["801"],
    ),
    "twcs/duplicate_ids.csv": (
        "loaded",
        7,
        3,
        4,
        None,
        [
            (None, "duplicate tweet_id 901: a later row of the file replaces it"),
            (None, "duplicate tweet_id 902: a later row of the file replaces it"),
            (None, "duplicate tweet_id 901: a later row of the file replaces it"),
            (None, "duplicate tweet_id 903: a later row of the file replaces it"),
        ],
        ["902", "903", "901"],
    ),
    "twcs/reply_to_itself.csv": (
        "loaded",
        3,
        1,
        2,
        None,
        [(None, "tweet replies to itself"), (None, "tweet replies to itself")],
        ["1001"],
    ),
    "twcs/reply_cycle.csv": (
        "loaded",
        8,
        3,
        5,
        None,
        [(None, CYCLE_2), (None, CYCLE_2), (None, CYCLE_3), (None, CYCLE_3), (None, CYCLE_3)],
        ["1106", "1107", "1108"],
    ),
    "twcs/png_named.csv": ("failed", 0, 0, 0, "binary file (NUL bytes), not text", [], []),
    "twcs/zip_named.csv": ("failed", 0, 0, 0, "binary file (NUL bytes), not text", [], []),
    "twcs/truncated.csv.gz": ("failed", 0, 0, 0, GZIP_CUT, [], []),
    "twcs/wrong_header.csv": (
        "failed",
        0,
        0,
        0,
        f"header is not the twcs header {TWCS_HEADER}; found id,user,text",
        [],
        [],
    ),
    # --- messages/ ---
    "messages/good.jsonl": ("loaded", 3, 3, 0, None, [], ["g1", "g2", "g3"]),
    "messages/good.csv": ("loaded", 2, 2, 0, None, [], ["gc1", "gc2"]),
    "messages/crlf_bom.jsonl": ("loaded", 2, 2, 0, None, [], ["b1", "b2"]),
    "messages/crlf_bom.csv": ("loaded", 2, 2, 0, None, [], ["bc1", "bc2"]),
    "messages/truncated_line_in_middle.jsonl": ("loaded", 3, 2, 1, None, [(2, "invalid JSON")], ["t1", "t3"]),
    "messages/cut_mid_line_at_end.jsonl": ("loaded", 2, 1, 1, None, [(2, "invalid JSON")], ["e1"]),
    "messages/latin1_encoded.jsonl": (
        "loaded",
        3,
        2,
        1,
        None,
        [
            (
                2,
                "invalid UTF-8 text: 'utf-8' codec can't decode byte 0xe9 in position 182: invalid continuation "
                "byte",
            )
        ],
        ["l1", "l3"],
    ),
    "messages/empty_0_bytes.jsonl": ("failed", 0, 0, 0, "empty file (0 bytes)", [], []),
    "messages/header_only.csv": ("loaded", 0, 0, 0, None, [], []),
    "messages/only_blank_lines.jsonl": ("failed", 0, 0, 0, "file holds only blank space", [], []),
    "messages/timestamps_out_of_range.jsonl": (
        "loaded",
        6,
        1,
        5,
        None,
        [
            (None, "sent_at is in the future: 2031-01-01T00:00:00Z"),
            (None, "sent_at before 2006-03-21: 2005-12-31T23:59:59Z"),
            (None, "sent_at has no UTC offset: 2024-03-01 10:00:00"),
            (None, "unparseable sent_at: 2024-02-30T10:00:00Z"),
            (None, "unparseable sent_at: next tuesday Z"),
        ],
        ["ts1"],
    ),
    "messages/duplicate_ids.csv": (
        "loaded",
        5,
        3,
        2,
        None,
        [
            (None, "duplicate message_id d1 (channel facebook): a later row of the file replaces it"),
            (None, "duplicate message_id d2 (channel facebook): a later row of the file replaces it"),
        ],
        ["d1", "d1", "d2"],  # d1 on twitter is another message than d1 on facebook
    ),
    "messages/reply_to_itself.jsonl": (
        "loaded",
        2,
        1,
        1,
        None,
        [(None, "message replies to itself")],
        ["s1"],
    ),
    "messages/reply_cycle.jsonl": (
        "loaded",
        5,
        2,
        3,
        None,
        [(None, CYCLE_M), (None, CYCLE_M), (None, CYCLE_M)],
        ["c4", "c5"],  # c4 replies into the cycle, c5 to a c3 of another channel: both load (parents missing)
    ),
    "messages/missing_required_column.csv": (
        "failed",
        0,
        0,
        0,
        "header lacks required column(s): account_id, author_role",
        [],
        [],
    ),
    "messages/zip_named.csv": ("failed", 0, 0, 0, "binary file (NUL bytes), not text", [], []),
    "messages/truncated.jsonl.gz": ("failed", 0, 0, 0, GZIP_CUT, [], []),
    "messages/corrupt_checksum.jsonl.gz": (
        "failed",
        0,
        0,
        0,
        "corrupt or truncated gzip file: CRC check failed 0xd492e3ee != 0xd4921cee",
        [],
        [],
    ),
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    landing = tmp_path_factory.mktemp("corpus") / "landing"
    shutil.copytree(CORPUS, landing)  # never write into the repository
    (landing / "twcs" / "a_directory.csv").mkdir()  # git cannot hold an empty directory
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    results = {fmt: load_folder(con, landing, FORMATS[fmt], LOADED_AT) for fmt in FORMATS}
    yield con, results
    con.close()


def test_the_corpus_files_are_still_broken_the_way_they_should_be():
    # A checkout that normalises line endings or re-encodes text would quietly turn these cases into good files.
    assert (CORPUS / "twcs/crlf_bom.csv").read_bytes().startswith(b"\xef\xbb\xbftweet_id,")
    assert b"\r\n" in (CORPUS / "twcs/crlf_bom.csv").read_bytes()
    assert b"\r\n" in (CORPUS / "messages/crlf_bom.jsonl").read_bytes()
    assert b"caf\xe9" in (CORPUS / "twcs/latin1_encoded.csv").read_bytes()
    assert b"broken\rtext" in (CORPUS / "twcs/bare_carriage_return_in_text.csv").read_bytes()
    assert (CORPUS / "twcs/empty_0_bytes.csv").stat().st_size == 0
    assert not (CORPUS / "twcs/cut_mid_line_at_end.csv").read_bytes().endswith(b"\n")


def test_every_corpus_file_has_an_expectation(loaded):
    _, results = loaded
    files = {r.file for rs in results.values() for r in rs}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("file", sorted(EXPECTED))
def test_each_broken_file_is_accounted_for_exactly(loaded, file):
    con, _ = loaded
    status, read, loaded_rows, rejected, error, reasons, ids = EXPECTED[file]
    assert con.execute(
        "select status, rows_read, rows_loaded, rows_rejected, error from raw.load_manifest where file_path = ?",
        [file],
    ).fetchall() == [(status, read, loaded_rows, rejected, error)]
    assert (
        con.execute(
            "select line, reason from raw.rejected_rows where file_path = ? order by _row", [file]
        ).fetchall()
        == reasons
    )
    table = "raw.twcs_messages" if file.startswith("twcs/") else "raw.messages"
    id_column = "tweet_id" if file.startswith("twcs/") else "message_id"
    assert [
        r[0]
        for r in con.execute(
            f"select {id_column} from {table} where _file = ? order by _row", [file]
        ).fetchall()
    ] == ids
    # every rejected row keeps its record
    assert con.execute(
        "select count(*) from raw.rejected_rows where file_path = ? and (raw_record is null or raw_record = '')",
        [file],
    ).fetchone() == (0,)


def test_the_corpus_adds_up(loaded):
    con, results = loaded
    assert con.execute(
        "select count(*) from raw.load_manifest where rows_read <> rows_loaded + rows_rejected"
    ).fetchone() == (0,)
    loaded_rows = sum(r.rows_loaded for rs in results.values() for r in rs)
    rejected_rows = sum(r.rows_rejected for rs in results.values() for r in rs)
    assert con.execute(
        "select (select count(*) from raw.twcs_messages) + (select count(*) from raw.messages)"
    ).fetchone() == (loaded_rows,)
    assert con.execute("select count(*) from raw.rejected_rows").fetchone() == (rejected_rows,)
    statuses = [r.status for rs in results.values() for r in rs]
    assert (statuses.count("loaded"), statuses.count("failed")) == (25, 13)


def test_a_cut_gzip_fails_whole_though_its_start_decompresses():
    # The truncated file's first bytes decompress fine: only reading it to the end finds the cut, so the whole
    # file fails instead of loading the rows before the cut.
    with gzip.open(CORPUS / "twcs/truncated.csv.gz", "rb") as f:
        assert f.read(100).startswith(TWCS_HEADER.encode())
