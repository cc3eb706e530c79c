"""Incremental sentiment scoring equals scoring from scratch: real landing files loaded one after another with the
loader (new files, edits, a canonical message beating its twcs tweet, a replaced file, a removed file, a load in the
same second as the last one, an erasure), and after each step ``raw.message_sentiment`` holds exactly the expected
scores (the reference package's, of the expected text) and exactly what a fresh warehouse with the same raw rows
scores from nothing. Each step also checks which way the run went (``mode``), so that the fast path is the one
proven where it should be taken."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.forget import erase
from orchestration.loader import FORMATS, ensure_raw_schema, load_file
from orchestration.privacy import KeyedHash
from orchestration.sentiment import CANONICAL_TABLES, SCORER, STATE_TABLE, TWCS_TABLE, reference_scores
from orchestration.sentiment import score_new_messages as score

KEY = KeyedHash(b"unit-test-key-0123456789", "test")
TWCS_HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id"
MESSAGES_HEADER = "message_id,thread_id,parent_message_id,channel,account_id,author_id,author_role,is_private,sent_at,text,agent_id"


def at(day: int, second: int = 0) -> datetime:
    return datetime(2025, 1, day, 2, 0, second)


def tweet(tweet_id: str, author: str, inbound: bool, text: str) -> str:
    return f'{tweet_id},{author},{inbound},Mon Mar 04 15:00:00 +0000 2024,"{text}",,'


def message(message_id: str, channel: str, author: str, role: str, text: str) -> str:
    return f'{message_id},t-{message_id},,{channel},acme,{author},{role},false,2024-03-04T15:00:00Z,"{text}",'


class Landing:
    """Landing files written and loaded (or removed) as a nightly run would."""

    def __init__(self, root: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.root, self.con = root, con

    def load(self, fmt: str, name: str, rows: list[str], loaded_at: datetime) -> None:
        path = self.root / fmt / name
        path.parent.mkdir(parents=True, exist_ok=True)
        header = TWCS_HEADER if fmt == "twcs" else MESSAGES_HEADER
        path.write_text("\n".join([header, *rows]) + "\n")
        result = load_file(self.con, path, FORMATS[fmt], f"{fmt}/{name}", loaded_at, KEY)
        assert (result.status, result.rows_loaded, result.rows_rejected) == ("loaded", len(rows), 0)

    def remove(self, fmt: str, name: str) -> None:
        """A file taken out of the warehouse: its rows and its manifest row deleted."""
        table = FORMATS[fmt].table
        deleted = self.con.execute(f"delete from raw.{table} where _file = ?", [f"{fmt}/{name}"]).fetchone()[
            0
        ]
        assert deleted > 0
        self.con.execute("delete from raw.load_manifest where file_path = ?", [f"{fmt}/{name}"])


def stored(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select message_key, text_hash, compound, pos, neu, neg, scorer from raw.message_sentiment "
        "order by message_key"
    ).fetchall()


def from_scratch(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The scores of a fresh warehouse holding the same raw rows, scored once from nothing."""
    con.execute("attach ':memory:' as fresh; use fresh")
    try:
        ensure_raw_schema(con)
        for table in (*CANONICAL_TABLES, TWCS_TABLE):
            con.execute(f"insert into fresh.raw.{table} select * from memory.raw.{table}")
        assert score(con, workers=1)["mode"] == "full"
        return stored(con)
    finally:
        con.execute("use memory; detach fresh")


def expected(texts: dict[str, str]) -> list[tuple]:
    return sorted(
        (key, hashlib.md5(text.encode()).hexdigest(), *reference_scores(text), SCORER)
        for key, text in texts.items()
    )


@pytest.fixture
def landing(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> Landing:
    ensure_raw_schema(con)
    return Landing(tmp_path / "landing", con)


def check(landing: Landing, mode: str, texts: dict[str, str], scored: int, deleted: int) -> None:
    """Score; then the run went ``mode``'s way and the table holds exactly the expected scores, which are exactly
    the scores from scratch."""
    counts = score(landing.con, workers=1)
    assert (counts["mode"], counts["scored"], counts["deleted"]) == (mode, scored, deleted), counts["reason"]
    assert counts["total_customer_messages"] == len(texts)
    assert stored(landing.con) == expected(texts)
    assert stored(landing.con) == from_scratch(landing.con)
    # a run right after changes nothing
    again = score(landing.con, workers=1)
    assert (again["mode"], again["scored"], again["deleted"]) == ("unchanged", 0, 0)
    assert stored(landing.con) == expected(texts)


def test_a_sequence_of_loads_scores_exactly_as_from_scratch(landing: Landing):
    # 1. the first night: no state, every message is compared
    landing.load(
        "twcs",
        "d1.csv",
        [
            tweet("1", "c1", True, "@Acme I love this, thank you!!"),
            tweet("2", "Acme", False, "@c1 Glad to help!"),
            tweet("3", "c3", True, "this is bad"),
        ],
        at(1),
    )
    landing.load(
        "messages",
        "d1.csv",
        [
            message("m1", "facebook", "u1", "customer", "where is my refund?? 😡"),
            message("m2", "facebook", "acme", "agent", "Sorry about that!"),
            message("m1", "instagram", "u2", "customer", "not bad at all"),
        ],
        at(1),
    )
    texts = {
        "twitter:1": "@Acme I love this, thank you!!",
        "twitter:3": "this is bad",
        "facebook:m1": "where is my refund?? 😡",
        "instagram:m1": "not bad at all",
    }
    check(landing, "full", texts, scored=4, deleted=0)

    # 2. new files: only their messages are looked at
    landing.load("twcs", "d2.csv", [tweet("4", "c4", True, "worst app ever")], at(2))
    landing.load("messages", "d2.csv", [message("m3", "facebook", "u3", "customer", "ok thanks")], at(2))
    texts |= {"twitter:4": "worst app ever", "facebook:m3": "ok thanks"}
    check(landing, "new rows", texts, scored=2, deleted=0)

    # 3. edits: a later file with the same ids and new texts; a customer message now the agent's loses its score
    landing.load("twcs", "d3.csv", [tweet("3", "c3", True, "this is GREAT")], at(3))
    landing.load(
        "messages",
        "d3.csv",
        [
            message("m1", "facebook", "u1", "customer", "refund arrived, thank you"),
            message("m1", "instagram", "acme", "agent", "not bad at all"),
        ],
        at(3),
    )
    texts |= {"twitter:3": "this is GREAT", "facebook:m1": "refund arrived, thank you"}
    del texts["instagram:m1"]
    check(landing, "new rows", texts, scored=2, deleted=1)

    # 4. tweets also delivered canonically: the canonical row counts, whatever the twcs row says
    landing.load(
        "messages",
        "d4.csv",
        [
            message(
                "1", "twitter", "acme", "agent", "@Acme I love this, thank you!!"
            ),  # no customer's any more
            message("4", "twitter", "c4", "customer", "worst app ever, canonically"),
            message("5", "twitter", "c5", "customer", "hello, the canonical text"),
        ],
        at(4),
    )
    landing.load("twcs", "d4.csv", [tweet("5", "c5", True, "hello, the twcs text")], at(4))
    del texts["twitter:1"]
    texts |= {"twitter:4": "worst app ever, canonically", "twitter:5": "hello, the canonical text"}
    check(landing, "new rows", texts, scored=2, deleted=1)

    # 5. a later twcs version of a tweet delivered canonically before: the canonical text still counts
    landing.load(
        "twcs", "d5.csv", [tweet("4", "c4", True, "edited in twcs"), tweet("6", "c6", True, "meh")], at(5)
    )
    texts |= {"twitter:6": "meh"}
    check(landing, "new rows", texts, scored=1, deleted=0)

    # 6. a replaced file: the rows of its old version are gone, so an older version of m1 counts again, and m3 is
    # gone (the whole history is compared: full)
    landing.load("messages", "d3.csv", [message("m4", "facebook", "u4", "customer", "great service")], at(6))
    landing.load("messages", "d2.csv", [message("m5", "facebook", "u5", "customer", "so slow")], at(6))
    del texts["facebook:m3"]
    texts |= {
        "facebook:m1": "where is my refund?? 😡",
        "instagram:m1": "not bad at all",
        "facebook:m4": "great service",
        "facebook:m5": "so slow",
    }
    check(landing, "full", texts, scored=4, deleted=1)

    # 7. a removed file: the canonical twitter:1 (the agent's) goes, so twcs tweet 1 counts again; twitter:4's
    # canonical row goes too, so its latest twcs version counts
    landing.remove("messages", "d4.csv")
    texts |= {
        "twitter:1": "@Acme I love this, thank you!!",
        "twitter:4": "edited in twcs",
        "twitter:5": "hello, the twcs text",
    }
    check(landing, "full", texts, scored=3, deleted=0)

    # 8. a file whose load time is not after the files scored before (the first night's time, and a name that
    # sorts before d1.csv): its m1 does not beat d1's, so the new rows' messages are looked up in the whole of raw
    # (new keys) and m1 keeps d1's text
    landing.load(
        "messages",
        "a0.csv",
        [
            message("m1", "facebook", "u1", "customer", "an older copy"),
            message("m6", "facebook", "u6", "customer", "thank you so much"),
        ],
        at(1),
    )
    texts |= {"facebook:m6": "thank you so much"}
    check(landing, "new keys", texts, scored=1, deleted=0)

    # 9. an erasure (make forget) removes the customer's messages and scores: the next run compares everything
    erasure = erase(landing.con, KEY, "facebook", "u1", at(7))
    assert erasure.rows_removed["raw.message_sentiment"] == 1
    del texts["facebook:m1"]
    check(landing, "full", texts, scored=0, deleted=0)

    # 10. and new files after it are incremental again
    landing.load("twcs", "d8.csv", [tweet("7", "c7", True, "love it")], at(8))
    texts |= {"twitter:7": "love it"}
    check(landing, "new rows", texts, scored=1, deleted=0)


def test_a_state_that_cannot_be_trusted_falls_back_to_comparing_everything(landing: Landing):
    landing.load("twcs", "d1.csv", [tweet("1", "c1", True, "good"), tweet("2", "c2", True, "bad")], at(1))
    assert score(landing.con, workers=1)["mode"] == "full"

    # a score deleted behind the scoring's back
    landing.con.execute("delete from raw.message_sentiment where message_key = 'twitter:2'")
    counts = score(landing.con, workers=1)
    assert (counts["mode"], counts["scored"]) == ("full", 1)
    assert stored(landing.con) == expected({"twitter:1": "good", "twitter:2": "bad"})

    # a row changed in raw outside the loader, its file's row count with it
    landing.con.execute("delete from raw.twcs_messages where tweet_id = '1'")
    counts = score(landing.con, workers=1)
    assert (counts["mode"], counts["deleted"]) == ("full", 1)
    assert stored(landing.con) == expected({"twitter:2": "bad"})

    # the state lost
    landing.con.execute(f"delete from {STATE_TABLE}")
    landing.load("twcs", "d2.csv", [tweet("3", "c3", True, "great")], at(2))
    counts = score(landing.con, workers=1)
    assert (counts["mode"], counts["scored"]) == ("full", 1)
    assert (
        stored(landing.con)
        == expected({"twitter:2": "bad", "twitter:3": "great"})
        == from_scratch(landing.con)
    )


def test_the_state_is_one_row_describing_every_file_scored(landing: Landing):
    landing.load("twcs", "d1.csv", [tweet("1", "c1", True, "good"), tweet("2", "Acme", False, "hi")], at(1))
    landing.load("messages", "d1.csv", [message("m1", "facebook", "u1", "customer", "fine")], at(2))
    score(landing.con, workers=1)
    rows = landing.con.execute(
        f"select scorer, scores, unnest(files, recursive := true) from {STATE_TABLE} order by all"
    ).fetchall()
    digest = {
        name: hashlib.sha256((landing.root / name).read_bytes()).hexdigest()
        for name in ("twcs/d1.csv", "messages/d1.csv")
    }
    assert rows == [
        (SCORER, 2, "messages", "messages/d1.csv", digest["messages/d1.csv"], 1, at(2), at(2)),
        (SCORER, 2, "twcs_messages", "twcs/d1.csv", digest["twcs/d1.csv"], 2, at(1), at(1)),
    ]


def test_files_loaded_after_a_scoring_of_an_empty_warehouse_are_all_new(landing: Landing):
    counts = score(landing.con, workers=1)
    assert (counts["mode"], counts["total_customer_messages"]) == ("full", 0)
    landing.load("twcs", "d1.csv", [tweet("1", "c1", True, "good"), tweet("2", "Acme", False, "hi")], at(1))
    landing.load(
        "messages", "d1.csv", [message("1", "twitter", "c1", "customer", "good, canonically")], at(1)
    )
    check(landing, "new rows", {"twitter:1": "good, canonically"}, scored=1, deleted=0)
