"""Tests for the sample export generator (orchestration/generate.py)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.generate import generate, main
from orchestration.parsers.messages import COLUMNS

N = 3000
DAYS = 14
START = date(2024, 3, 1)
START_SQL = "TIMESTAMPTZ '2024-03-01 00:00:00+00'"
END_SQL = f"({START_SQL} + INTERVAL {DAYS} DAY)"
TWCS_HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id"
CANONICAL_COLUMNS = list(COLUMNS)  # the canonical format, as the parser reads it


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("landing")
    return generate(out, messages=N, days=DAYS, accounts=3, seed=42, start=START)


@pytest.fixture(scope="module")
def db(files: dict[str, Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    """Tables tw (twcs as text, + ts) and cm (both canonical files as text, + file, ts)."""
    c = duckdb.connect()
    json_columns = "{" + ", ".join(f"{col}: 'VARCHAR'" for col in CANONICAL_COLUMNS) + "}"
    c.execute(f"""
        CREATE TABLE tw AS
        SELECT *, strptime(created_at, '%a %b %d %H:%M:%S %z %Y') AS ts
        FROM read_csv('{files["twcs"]}', all_varchar = true, header = true, strict_mode = true,
                      delim = ',', quote = '"', escape = '"')
    """)
    c.execute(f"""
        CREATE TABLE cm AS
        SELECT *, 'csv' AS file, sent_at::TIMESTAMPTZ AS ts
        FROM read_csv('{files["messages_csv"]}', all_varchar = true, header = true, strict_mode = true)
        UNION ALL BY NAME
        SELECT *, 'jsonl' AS file, sent_at::TIMESTAMPTZ AS ts
        FROM read_json('{files["messages_jsonl"]}', format = 'newline_delimited', columns = {json_columns})
    """)
    yield c
    c.close()


def _one(db: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = db.execute(sql).fetchone()
    assert row is not None
    return row[0]


def _unanswered_share(db: duckdb.DuckDBPyConnection, messages_sql: str) -> float:
    """Share of customer-started threads without an agent message.

    ``messages_sql`` yields (id, parent, thread, role, ts); a thread is its thread id, else its root.
    """
    return _one(
        db,
        f"""
        WITH RECURSIVE m AS ({messages_sql}),
        r(id, root) AS (
            SELECT id, coalesce(thread, id) FROM m WHERE parent IS NULL
            UNION ALL
            SELECT m.id, r.root FROM m JOIN r ON m.parent = r.id
        ), th AS (
            SELECT r.root, arg_min(m.role, m.ts) AS first_role,
                   count(*) FILTER (WHERE m.role = 'agent') AS n_agent
            FROM r JOIN m USING (id) GROUP BY r.root
        )
        SELECT avg((n_agent = 0)::INTEGER) FROM th WHERE first_role = 'customer'
        """,
    )


def test_deterministic(tmp_path: Path, files: dict[str, Path]) -> None:
    again = generate(tmp_path / "again", messages=N, days=DAYS, accounts=3, seed=42, start=START)
    assert again.keys() == files.keys() == {"twcs", "messages_csv", "messages_jsonl"}
    for name, path in files.items():
        assert again[name].read_bytes() == path.read_bytes(), name
    other = generate(tmp_path / "other", messages=N, days=DAYS, seed=7, start=START, formats=("twcs",))
    assert other.keys() == {"twcs"}
    assert other["twcs"].read_bytes() != files["twcs"].read_bytes()


def test_row_counts(files: dict[str, Path], db: duckdb.DuckDBPyConnection) -> None:
    # exactly N per format by construction (the last thread is cut short)
    assert _one(db, "SELECT count(*) FROM tw") == N
    with files["twcs"].open(encoding="utf-8", newline="") as f:
        assert sum(1 for _ in csv.reader(f)) == N + 1  # an independent CSV reader agrees
    per_file = dict(db.execute("SELECT file, count(*) FROM cm GROUP BY file").fetchall())
    assert per_file["csv"] + per_file["jsonl"] == N
    assert per_file["csv"] > 0.4 * N and per_file["jsonl"] > 0.2 * N


def test_twcs_format(files: dict[str, Path], db: duckdb.DuckDBPyConnection) -> None:
    raw = files["twcs"].read_text(encoding="utf-8")
    assert raw.splitlines()[0] == TWCS_HEADER
    assert _one(db, "SELECT count(*) FROM tw WHERE ts IS NULL") == 0
    assert _one(db, "SELECT count(*) FROM tw WHERE NOT regexp_full_match(tweet_id, '[0-9]+')") == 0
    assert {r[0] for r in db.execute("SELECT DISTINCT inbound FROM tw").fetchall()} == {"True", "False"}
    # customers are numbers writing to @Brand; brands are handles writing to @<customer number>
    bad = _one(
        db,
        """
        SELECT count(*) FROM tw WHERE CASE inbound
            WHEN 'True' THEN NOT regexp_full_match(author_id, '[0-9]+')
                             OR NOT regexp_matches(text, '^@[A-Za-z]+ ')
            ELSE NOT regexp_full_match(author_id, '[A-Za-z]+') OR NOT regexp_matches(text, '^@[0-9]+ ') END
        """,
    )
    assert bad == 0
    signed = r"regexp_matches(text, ' (\^[A-Z]{2}|-[A-Z][a-z]+)$')"
    assert _one(db, f"SELECT count(*) FROM tw WHERE inbound = 'False' AND {signed}") > 0
    # standard CSV quoting is exercised: commas, doubled quotes, new lines inside quotes, id lists
    assert '""' in raw
    assert _one(db, "SELECT count(*) FROM tw WHERE contains(text, chr(10))") > 0
    assert _one(db, "SELECT count(*) FROM tw WHERE contains(response_tweet_id, ',')") > 0
    assert re.search(r',"\d+(,\d+)+",', raw)


def test_twcs_links(db: duckdb.DuckDBPyConnection) -> None:
    assert _one(db, "SELECT count(*) - count(DISTINCT tweet_id) FROM tw") == 0
    missing = """
        SELECT count(*) FROM tw WHERE in_response_to_tweet_id IS NOT NULL
          AND in_response_to_tweet_id NOT IN (SELECT tweet_id FROM tw)
    """
    assert _one(db, missing) == 0
    children_mismatch = """
        WITH ch AS (
            SELECT in_response_to_tweet_id AS p, string_agg(tweet_id, ',' ORDER BY tweet_id::BIGINT) AS r
            FROM tw WHERE in_response_to_tweet_id IS NOT NULL GROUP BY 1
        )
        SELECT count(*) FROM tw LEFT JOIN ch ON ch.p = tw.tweet_id
        WHERE response_tweet_id IS DISTINCT FROM ch.r
    """
    assert _one(db, children_mismatch) == 0
    reply_before_parent = "SELECT count(*) FROM tw c JOIN tw p ON c.in_response_to_tweet_id = p.tweet_id "
    assert _one(db, reply_before_parent + "WHERE c.ts <= p.ts") == 0


def test_canonical_format(files: dict[str, Path], db: duckdb.DuckDBPyConnection) -> None:
    assert files["messages_csv"].read_text(encoding="utf-8").splitlines()[0].split(",") == CANONICAL_COLUMNS
    first = json.loads(files["messages_jsonl"].read_text(encoding="utf-8").splitlines()[0])
    assert list(first) == CANONICAL_COLUMNS

    def values(column: str) -> set[str]:
        return {r[0] for r in db.execute(f"SELECT DISTINCT {column} FROM cm").fetchall()}

    assert values("author_role") == {"customer", "agent", "bot"}
    assert values("channel") == {"facebook", "instagram"}
    assert values("is_private") == {"true", "false"}
    iso = r"'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)'"
    assert _one(db, f"SELECT count(*) FROM cm WHERE NOT regexp_full_match(sent_at, {iso})") == 0
    assert _one(db, "SELECT count(DISTINCT right(sent_at, 6)) FROM cm") > 1  # Z and other offsets
    # DMs have a thread id and no parent links; public comments have no thread id
    bad = """
        SELECT count(*) FROM cm
        WHERE (is_private = 'true') <> (thread_id IS NOT NULL)
           OR (is_private = 'true' AND parent_message_id IS NOT NULL)
    """
    assert _one(db, bad) == 0
    assert _one(db, "SELECT count(*) FROM cm WHERE author_role <> 'agent' AND agent_id IS NOT NULL") == 0
    assert _one(db, "SELECT count(agent_id) FROM cm") > 0


def test_canonical_links_and_split(db: duckdb.DuckDBPyConnection) -> None:
    assert _one(db, "SELECT count(*) - count(DISTINCT (channel, message_id)) FROM cm") == 0
    missing = """
        SELECT count(*) FROM cm c WHERE parent_message_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM cm p
            WHERE p.channel = c.channel AND p.message_id = c.parent_message_id AND p.file = c.file)
    """
    assert _one(db, missing) == 0
    split_threads = """
        SELECT count(*) FROM (
            SELECT thread_id FROM cm WHERE thread_id IS NOT NULL GROUP BY 1 HAVING count(DISTINCT file) > 1)
    """
    assert _one(db, split_threads) == 0


def test_time_window(db: duckdb.DuckDBPyConnection) -> None:
    for table in ("tw", "cm"):
        assert _one(
            db, f"SELECT min(ts) >= {START_SQL} AND max(ts) < {END_SQL} + INTERVAL 4 DAY FROM {table}"
        )
    late_starts = f"SELECT count(*) FROM tw WHERE in_response_to_tweet_id IS NULL AND ts >= {END_SQL}"
    assert _one(db, late_starts) == 0
    late_dm_starts = f"""
        SELECT count(*) FROM (SELECT min(ts) AS t FROM cm WHERE thread_id IS NOT NULL GROUP BY thread_id)
        WHERE t >= {END_SQL}
    """
    assert _one(db, late_dm_starts) == 0
    # fewer messages at night and on weekends (account 0, AcmeSupport, is in UTC)
    night, day, weekend, weekday = db.execute("""
        SELECT count(*) FILTER (WHERE hour(ts AT TIME ZONE 'UTC') BETWEEN 1 AND 5),
               count(*) FILTER (WHERE hour(ts AT TIME ZONE 'UTC') BETWEEN 10 AND 14),
               count(*) FILTER (WHERE isodow(ts AT TIME ZONE 'UTC') >= 6) / 4,
               count(*) FILTER (WHERE isodow(ts AT TIME ZONE 'UTC') < 6) / 10
        FROM tw WHERE in_response_to_tweet_id IS NULL AND text LIKE '@AcmeSupport %'
    """).fetchone()
    assert night < day / 2
    assert weekend < weekday


def test_conversation_shape(db: duckdb.DuckDBPyConnection) -> None:
    tw_share = _unanswered_share(
        db,
        "SELECT tweet_id AS id, in_response_to_tweet_id AS parent, NULL AS thread, "
        "CASE inbound WHEN 'True' THEN 'customer' ELSE 'agent' END AS role, ts FROM tw",
    )
    assert 0.05 <= tw_share <= 0.30
    cm_share = _unanswered_share(
        db,
        "SELECT channel || ':' || message_id AS id, channel || ':' || parent_message_id AS parent, "
        "channel || ':' || thread_id AS thread, author_role AS role, ts FROM cm",
    )
    assert 0.05 <= cm_share <= 0.30
    long_dm_threads = """
        SELECT count(*) FROM (
            SELECT thread_id FROM cm WHERE thread_id IS NOT NULL GROUP BY 1 HAVING count(*) >= 10)
    """
    assert _one(db, long_dm_threads) > 0
    first_reply_median_min = """
        SELECT median(epoch(r.ts - p.ts)) / 60 FROM tw r JOIN tw p ON r.in_response_to_tweet_id = p.tweet_id
        WHERE r.inbound = 'False' AND p.inbound = 'True' AND p.in_response_to_tweet_id IS NULL
    """
    assert 5 <= _one(db, first_reply_median_min) <= 60


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--messages", "200", "--days", "3", "--accounts", "2", "--seed", "1", "--start", "2023-01-02"]
    assert main([*args, "--formats", "twcs", "--out", str(tmp_path)]) == 0
    assert "twcs" in capsys.readouterr().out
    assert not (tmp_path / "messages").exists()
    assert " +0000 2023," in (tmp_path / "twcs" / "sample_twcs.csv").read_text(encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["--formats", "nope", "--out", str(tmp_path)])
