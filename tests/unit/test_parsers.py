"""Parsers on hand-made files: each quirk of the real exports, each kind of bad row, with exact counts and reasons."""

from __future__ import annotations

import gzip
import re
from datetime import datetime
from pathlib import Path

import pytest

from orchestration.parsers.common import FileRejected
from orchestration.parsers.messages import parse_messages
from orchestration.parsers.twcs import parse_twcs
from tests.conftest import LOADED_AT

HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows(con, table: str, columns: str = "*") -> list[tuple]:
    return con.execute(f"select {columns} from {table} order by _row").fetchall()


def test_twcs_real_quirks_parse(con, tmp_path):
    # byte-order mark, CRLF, TRUE/FALSE in any case, ids written as floats, a quoted text with a newline
    text = (
        "\ufeff" + HEADER + "\r\n"
        '1,115712,TRUE,Tue Oct 31 22:10:47 +0000 2017,"@sprintcare line one\r\nline two, with comma",2.0,\r\n'
        "2,sprintcare,false,Tue Oct 31 22:11:45 +0000 2017,@115712 hi ^JK,,1.0\r\n"
    )
    parsed = parse_twcs(con, write(tmp_path / "q.csv", text), LOADED_AT)
    assert (parsed.rows_read, parsed.rows_parsed, parsed.rows_rejected) == (2, 2, 0)
    assert rows(
        con, parsed.parsed_table, "tweet_id, author_id, inbound, created_at, in_response_to_tweet_id"
    ) == [
        ("1", "115712", True, datetime(2017, 10, 31, 22, 10, 47), None),
        ("2", "sprintcare", False, datetime(2017, 10, 31, 22, 11, 45), "1"),
    ]
    assert "line two, with comma" in rows(con, parsed.parsed_table, "text")[0][0]


def test_twcs_offsets_are_converted_to_utc(con, tmp_path):
    text = HEADER + "\n1,a,True,Tue Oct 31 23:10:47 +0100 2017,x,,\n"
    parsed = parse_twcs(con, write(tmp_path / "tz.csv", text), LOADED_AT)
    assert rows(con, parsed.parsed_table, "created_at") == [(datetime(2017, 10, 31, 22, 10, 47),)]


def test_twcs_bad_rows_are_rejected_with_reasons_and_good_rows_kept(con, tmp_path):
    text = (
        HEADER + "\n"
        "1,a,True,Tue Oct 31 22:10:47 +0000 2017,good,,\n"
        "2,b,True,Tue Oct 31 22:10:47 +0000 2017,too,many,columns,here\n"
        "3,c,True,Tue Oct 31\n"
        "4,d,maybe,Tue Oct 31 22:10:47 +0000 2017,bad inbound,,\n"
        "5,e,True,31/10/2017 22:10,bad time,,\n"
        "6,f,True,Tue Oct 31 22:10:47 +0000 2005,too early,,\n"
        "7,g,True,Tue Oct 31 22:10:47 +0000 2030,future,,\n"
        "8,h,False,Tue Oct 31 22:10:47 +0000 2017,self reply,,8\n"
        "x9,i,True,Tue Oct 31 22:10:47 +0000 2017,bad id,,\n"
        ",,,,,,\n"
        "10,j,False,Tue Oct 31 22:10:47 +0000 2017,good,,1\n"
    )
    parsed = parse_twcs(con, write(tmp_path / "bad.csv", text), LOADED_AT)
    assert (parsed.rows_read, parsed.rows_parsed, parsed.rows_rejected) == (11, 2, 9)
    assert [r[0] for r in rows(con, parsed.parsed_table, "tweet_id")] == ["1", "10"]
    reasons = sorted(r[0] for r in con.execute(f"select reason from {parsed.rejects_table}").fetchall())
    assert reasons == sorted(
        [
            "unparseable CSV record (too many columns): Expected Number of Columns: 7 Found: 8",
            "unparseable CSV record (missing columns): Expected Number of Columns: 7 Found: 4",
            "inbound is not True or False: maybe",
            "unparseable created_at: 31/10/2017 22:10",
            "created_at before 2006-03-21, the first tweet: Tue Oct 31 22:10:47 +0000 2005",
            "created_at is in the future: Tue Oct 31 22:10:47 +0000 2030",
            "tweet replies to itself",
            "tweet_id is not a number: x9",
            "blank row",
        ]
    )
    raw = con.execute(f"select raw_record from {parsed.rejects_table} where reason = 'blank row'").fetchone()
    assert raw is not None  # the rejected record is kept, not just counted


def test_twcs_bare_carriage_return_is_rejected_visibly_and_the_rest_loads(con, tmp_path):
    # The known quirk of the original twcs.csv: a bare CR inside an unquoted text field.
    text = (
        HEADER + "\n"
        "1,a,True,Tue Oct 31 22:10:47 +0000 2017,broken\rtext,,\n"
        "2,b,False,Tue Oct 31 22:11:47 +0000 2017,fine,,1\n"
        '3,c,True,Tue Oct 31 22:12:47 +0000 2017,"quoted\nnewline",,\n'
    )
    parsed = parse_twcs(con, write(tmp_path / "cr.csv", text), LOADED_AT)
    assert (parsed.rows_read, parsed.rows_parsed, parsed.rows_rejected) == (3, 2, 1)
    line, reason, raw = con.execute(f"select line, reason, raw_record from {parsed.rejects_table}").fetchone()
    assert line == 2
    assert reason.startswith("unparseable CSV record")
    assert raw == "1,a,True,Tue Oct 31 22:10:47 +0000 2017,broken\rtext,,"
    assert [r[0] for r in rows(con, parsed.parsed_table, "text")] == ["fine", "quoted\nnewline"]


def test_twcs_invalid_utf8_row_is_rejected(con, tmp_path):
    content = (HEADER + "\n1,a,True,Tue Oct 31 22:10:47 +0000 2017,ok,,\n").encode()
    content += b"2,b,True,Tue Oct 31 22:10:47 +0000 2017,caf\xe9,,\n"
    path = tmp_path / "latin1.csv"
    path.write_bytes(content)
    parsed = parse_twcs(con, path, LOADED_AT)
    assert (parsed.rows_read, parsed.rows_parsed, parsed.rows_rejected) == (2, 1, 1)
    assert "invalid encoding" in con.execute(f"select reason from {parsed.rejects_table}").fetchone()[0]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file (0 bytes)"),
        (b"\n\n  \n", "file holds only blank space"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file (NUL bytes), not text"),
        (b"id,text\n1,x\n", "header is not the twcs header"),
    ],
)
def test_twcs_unreadable_files_are_rejected_whole(con, tmp_path, content, reason):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(FileRejected, match=re.escape(reason)):
        parse_twcs(con, path, LOADED_AT)


def test_twcs_header_only_reads_nothing(con, tmp_path):
    parsed = parse_twcs(con, write(tmp_path / "h.csv", HEADER + "\n"), LOADED_AT)
    assert (parsed.rows_read, parsed.rows_parsed, parsed.rows_rejected) == (0, 0, 0)


def test_twcs_gzip(con, tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress((HEADER + "\n1,a,True,Tue Oct 31 22:10:47 +0000 2017,x,,\n").encode()))
    assert parse_twcs(con, path, LOADED_AT).rows_parsed == 1


CANONICAL = (
    "message_id,channel,account_id,author_id,author_role,is_private,sent_at,text,thread_id,parent_message_id"
)


def test_canonical_csv_in_any_column_order_with_offsets(con, tmp_path):
    text = (
        CANONICAL + "\n"
        "m1,Facebook,page1,cust1,customer,true,2024-03-01T10:15:00+01:00,hello,dm1,\n"
        "m2,facebook,page1,agent7,Agent,1,2024-03-01T09:20:00Z,hi,dm1,\n"
        'm3,facebook,page1,cust2,customer,,2024-03-01T09:30:00.5-05:00,"a, b",,\n'
    )
    parsed = parse_messages(con, write(tmp_path / "m.csv", text), LOADED_AT)
    assert (parsed.rows_read, parsed.rows_rejected) == (3, 0)
    assert rows(
        con, parsed.parsed_table, "message_id, channel, author_role, is_private, sent_at, agent_id"
    ) == [
        ("m1", "facebook", "customer", True, datetime(2024, 3, 1, 9, 15), None),
        ("m2", "facebook", "agent", True, datetime(2024, 3, 1, 9, 20), None),
        ("m3", "facebook", "customer", False, datetime(2024, 3, 1, 14, 30, 0, 500000), None),
    ]


def test_canonical_bad_rows(con, tmp_path):
    text = (
        CANONICAL + "\n"
        ",facebook,p,c,customer,false,2024-03-01T10:00:00Z,,,\n"
        "m2,facebook,p,c,moderator,false,2024-03-01T10:00:00Z,,,\n"
        "m3,facebook,p,c,customer,perhaps,2024-03-01T10:00:00Z,,,\n"
        "m4,facebook,p,c,customer,false,2024-03-01 10:00:00,,,\n"
        "m5,facebook,p,c,customer,false,2024-02-30T10:00:00Z,,,\n"
        "m6,facebook,p,c,customer,false,2024-03-01T10:00:00Z,,,m6\n"
        "m7,facebook,,c,customer,false,2024-03-01T10:00:00Z,,,\n"
        "m8,facebook,p,c,customer,false,2024-03-01T10:00:00Z,fine,,\n"
    )
    parsed = parse_messages(con, write(tmp_path / "bad.csv", text), LOADED_AT)
    assert (parsed.rows_read, parsed.rows_parsed, parsed.rows_rejected) == (8, 1, 7)
    assert con.execute(f"select reason from {parsed.rejects_table} order by _row").fetchall() == [
        ("missing message_id",),
        ("author_role is not customer, agent or bot: moderator",),
        ("is_private is not true or false: perhaps",),
        ("sent_at has no UTC offset: 2024-03-01 10:00:00",),
        ("unparseable sent_at: 2024-02-30T10:00:00Z",),
        ("message replies to itself",),
        ("missing account_id",),
    ]


def test_canonical_csv_missing_required_column_fails_the_file(con, tmp_path):
    path = write(tmp_path / "m.csv", "message_id,channel,author_id\nm1,facebook,c\n")
    with pytest.raises(FileRejected, match="header lacks required column"):
        parse_messages(con, path, LOADED_AT)


def test_canonical_jsonl_lines_and_broken_lines(con, tmp_path):
    good = (
        '{"message_id": "m1", "channel": "instagram", "account_id": "acme", "author_id": "c1", '
        '"author_role": "customer", "is_private": true, "sent_at": "2024-03-01T10:00:00Z", "text": "caf\\u00e9 \\ud83d\\ude00",'
        ' "extra": {"ignored": 1}}'
    )
    text = "\n".join(
        [
            good,
            "",
            '{"message_id": "m2", "channel": "instagram"',
            "[1, 2]",
            good.replace('"m1"', '"m3"').replace('"author_role": "customer"', '"author_role": "bot"'),
            good.replace('"m1"', "42").replace("true", '"0"'),
        ]
    )
    parsed = parse_messages(con, write(tmp_path / "m.jsonl", text), LOADED_AT)
    assert (parsed.rows_read, parsed.rows_parsed, parsed.rows_rejected) == (5, 3, 2)
    assert rows(con, parsed.parsed_table, "message_id, author_role, is_private, text") == [
        ("m1", "customer", True, "café 😀"),
        ("m3", "bot", True, "café 😀"),
        ("42", "customer", False, "café 😀"),
    ]
    assert con.execute(f"select line, reason from {parsed.rejects_table} order by line").fetchall() == [
        (3, "invalid JSON"),
        (4, "JSON line is not an object"),
    ]


def test_canonical_unsupported_extension(con, tmp_path):
    with pytest.raises(FileRejected, match="unsupported file type"):
        parse_messages(con, write(tmp_path / "m.xml", "<x/>"), LOADED_AT)
