"""A parser that fails in a way nobody planned for (a bug, not a bad file) fails its file, not the run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from orchestration.loader import FORMATS, load_folder
from orchestration.parsers.twcs import parse_twcs

HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
GOOD = "1,c1,True,Tue Oct 31 22:10:47 +0000 2017,@Acme help,,\n2,Acme,False,Tue Oct 31 22:20:47 +0000 2017,hi,,1\n"


def buggy_parser(exc: Exception, after_parsing: bool = False):
    """twcs's parser, except on files whose name starts with "bug": there it raises ``exc`` (before parsing, or
    after it has filled its temp tables)."""

    def parse(con, path: Path, loaded_at):
        if path.name.startswith("bug"):
            if after_parsing:
                parse_twcs(con, path, loaded_at)
            raise exc
        return parse_twcs(con, path, loaded_at)

    return dataclasses.replace(FORMATS["twcs"], parse=parse)


@pytest.mark.parametrize(
    ("exc", "after_parsing", "error"),
    [
        (RuntimeError("boom"), False, "unexpected error while parsing: RuntimeError: boom"),
        (KeyError("tweet_id"), True, "unexpected error while parsing: KeyError: 'tweet_id'"),
        (
            UnicodeDecodeError("utf-8", b"\xe9", 0, 1, "invalid continuation byte"),
            False,
            "UnicodeDecodeError",
        ),
        (RecursionError("maximum recursion depth exceeded"), True, "RecursionError"),
    ],
)
def test_an_unexpected_parser_exception_fails_the_file_and_the_others_load(
    con, tmp_path, exc, after_parsing, error
):
    (tmp_path / "twcs").mkdir()
    (tmp_path / "twcs" / "a_good.csv").write_text(HEADER + GOOD)
    (tmp_path / "twcs" / "bug.csv").write_text(
        HEADER + GOOD.replace("1,c1", "3,c1").replace("2,Acme", "4,Acme")
    )
    (tmp_path / "twcs" / "c_good.csv").write_text(
        HEADER + GOOD.replace("1,c1", "5,c1").replace(",,1\n", ",,5\n")
    )
    fmt = buggy_parser(exc, after_parsing)
    results = load_folder(con, tmp_path, fmt)
    assert [(r.file, r.status) for r in results] == [
        ("twcs/a_good.csv", "loaded"),
        ("twcs/bug.csv", "failed"),
        ("twcs/c_good.csv", "loaded"),
    ]
    status, rows, stored_error, file_hash = con.execute(
        "select status, rows_read, error, file_hash from raw.load_manifest where file_path = 'twcs/bug.csv'"
    ).fetchone()
    assert (status, rows) == ("failed", 0)
    assert error in stored_error
    assert file_hash is not None
    # nothing of the failed file is stored, everything of the others is
    assert con.execute("select distinct _file from raw.twcs_messages order by 1").fetchall() == [
        ("twcs/a_good.csv",),
        ("twcs/c_good.csv",),
    ]
    assert con.execute("select count(*) from raw.rejected_rows").fetchone() == (0,)
    # the failed file is tried again on the next run, and keeps one manifest row
    again = load_folder(con, tmp_path, FORMATS["twcs"])
    assert [(r.file, r.status) for r in again] == [
        ("twcs/a_good.csv", "skipped"),
        ("twcs/bug.csv", "loaded"),
        ("twcs/c_good.csv", "skipped"),
    ]
    assert con.execute("select count(*), count(distinct file_path) from raw.load_manifest").fetchone() == (
        3,
        3,
    )
