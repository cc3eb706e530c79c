"""Tests for the sample export generator (orchestration/generate.py)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.generate import _PLATFORM_BOT, _TEMPLATES, _accounts, generate, main
from orchestration.loader import FORMATS, FileResult, load_folder, summarize
from orchestration.parsers.common import brand_ids_from_seed
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
    platforms = tmp_path / "platforms"
    assert main([*args, "--formats", "twitter_v2,facebook_graph,messenger_dyi", "--out", str(platforms)]) == 0
    assert sorted(p.name for p in platforms.iterdir()) == ["facebook_graph", "messenger_dyi", "twitter_v2"]
    assert (
        '"created_at":"2023-01-0' in (platforms / "twitter_v2" / "search_AcmeSupport_0001.jsonl").read_text()
    )
    con = duckdb.connect()
    totals = {name: summarize(load_folder(con, platforms, FORMATS[name])) for name in PLATFORMS}
    assert {name: (t["rows_loaded"], t["rows_rejected"]) for name, t in totals.items()} == dict.fromkeys(
        PLATFORMS, (200, 0)
    )


# --- the platform formats: the canonical stream's conversations in each platform's shape ---------------------------

PLATFORMS = ("twitter_v2", "facebook_graph", "messenger_dyi")
PLATFORM_TABLES = {name: FORMATS[name].table for name in PLATFORMS}


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def platform_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("platforms")
    written = generate(
        out, messages=N, days=DAYS, accounts=3, seed=42, start=START, formats=("messages", *PLATFORMS)
    )
    assert set(written) == {"messages_csv", "messages_jsonl", *PLATFORMS}
    assert all(written[name] == out / name for name in PLATFORMS)
    return out


@pytest.fixture(scope="module")
def loaded(platform_landing: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, list[FileResult]]]]:
    """The canonical files and every platform format, loaded by the loader into one warehouse."""
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    results = {name: load_folder(c, platform_landing, FORMATS[name]) for name in ("messages", *PLATFORMS)}
    yield c, results
    c.close()


def test_platform_files_have_the_platforms_layout(platform_landing: Path) -> None:
    twitter = sorted(p.name for p in (platform_landing / "twitter_v2").iterdir())
    assert twitter == [f"{kind}_{handle}_0001.jsonl" for kind in ("dm_events", "search")
                       for handle in ("AcmeSupport", "NimbusHelp", "OrbitCare")]  # fmt: skip
    graph = sorted(p.name for p in (platform_landing / "facebook_graph").iterdir())
    assert graph == [f"{kind}_{handle}_0001.jsonl" for kind in ("comments", "conversations")
                     for handle in ("AcmeSupport", "NimbusHelp", "OrbitCare")]  # fmt: skip
    inbox = sorted((platform_landing / "messenger_dyi").rglob("message_1.json"))
    roots = {p.relative_to(platform_landing / "messenger_dyi").parts[:4] for p in inbox}
    assert roots == {
        (f"{site}-{handle.lower()}", f"your_{site}_activity", "messages", "inbox")
        for site in ("facebook", "instagram")
        for handle in ("AcmeSupport", "NimbusHelp", "OrbitCare")
    }
    assert len(inbox) == len({p.parent for p in inbox}) > 300  # one file per thread folder
    assert not [
        p
        for p in (platform_landing / "messenger_dyi").rglob("*")
        if p.is_file() and p.name != "message_1.json"
    ]


def test_twitter_v2_pages(platform_landing: Path) -> None:
    lines = (
        (platform_landing / "twitter_v2" / "search_AcmeSupport_0001.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    pages = [json.loads(line) for line in lines]
    assert [len(p["data"]) for p in pages[:-1]] == [100] * (len(pages) - 1) and 0 < len(
        pages[-1]["data"]
    ) <= 100
    assert ["next_token" in p["meta"] for p in pages] == [True] * (len(pages) - 1) + [False]
    first = pages[0]
    assert list(first) == ["data", "includes", "meta"]
    assert first["meta"]["result_count"] == 100
    assert (
        first["meta"]["newest_id"] == first["data"][0]["id"]
        and first["meta"]["oldest_id"] == first["data"][-1]["id"]
    )
    times = [t["created_at"] for p in pages for t in p["data"]]
    assert times == sorted(times, reverse=True)  # newest first, as the search API pages
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", t) for t in times)
    users = {u["id"]: u for u in first["includes"]["users"]}
    assert users["14000000"] == {"id": "14000000", "name": "AcmeSupport", "username": "AcmeSupport"}
    tweets = [t for p in pages for t in p["data"]]
    for tweet in tweets:
        named = {
            tweet["author_id"],
            tweet["entities"]["mentions"][0]["id"],
            tweet.get("in_reply_to_user_id"),
        } - {None}
        assert named <= {u["id"] for p in pages if tweet in p["data"] for u in p["includes"]["users"]}
        brand = tweet["author_id"] == "14000000"
        assert tweet["text"].startswith("@" + tweet["entities"]["mentions"][0]["username"] + " ")
        assert (tweet["entities"]["mentions"][0]["username"] == "AcmeSupport") != brand
        assert tweet["edit_history_tweet_ids"] == [tweet["id"]]
    replies = [t for t in tweets if "referenced_tweets" in t]
    assert 0.5 * len(tweets) < len(replies) < len(tweets)
    assert all(r["referenced_tweets"][0]["type"] == "replied_to" for r in replies)
    assert all(r["conversation_id"] != r["id"] for r in replies)
    assert all(t["conversation_id"] == t["id"] for t in tweets if "referenced_tweets" not in t)
    dm = json.loads(
        (platform_landing / "twitter_v2" / "dm_events_AcmeSupport_0001.jsonl").read_text().splitlines()[0]
    )
    event = dm["data"][0]
    assert list(event) == ["id", "event_type", "text", "sender_id", "dm_conversation_id", "created_at"]
    assert event["event_type"] == "MessageCreate"
    assert re.fullmatch(r"14000000-11\d{8}", event["dm_conversation_id"])
    assert "14000000" in {u["id"] for u in dm["includes"]["users"]}


def test_facebook_graph_pages(platform_landing: Path) -> None:
    folder = platform_landing / "facebook_graph"
    pages = [
        json.loads(line)
        for line in (folder / "conversations_AcmeSupport_0001.jsonl").read_text().splitlines()
    ]
    assert [len(p["data"]) for p in pages[:-1]] == [25] * (len(pages) - 1)
    assert ["next" in p["paging"] for p in pages] == [True] * (len(pages) - 1) + [False]
    assert pages[0]["paging"]["next"].startswith(
        "https://graph.facebook.com/v19.0/104000000000000/conversations?"
    )
    page = {"name": "AcmeSupport", "email": "104000000000000@facebook.com", "id": "104000000000000"}
    for conversation in (c for p in pages for c in p["data"]):
        assert conversation["id"].startswith("t_")
        customer, brand = conversation["participants"]["data"]
        assert brand == page and customer["id"].startswith("6000000000")
        messages = conversation["messages"]["data"]
        assert [m["created_time"] for m in messages] == sorted(
            (m["created_time"] for m in messages), reverse=True
        )
        for m in messages:
            assert {m["from"]["id"], m["to"]["data"][0]["id"]} == {customer["id"], page["id"]}
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", m["created_time"])
            assert m["id"].startswith("m_mid.")
    comments = [c for line in (folder / "comments_AcmeSupport_0001.jsonl").read_text().splitlines()
                for c in json.loads(line)["data"]]  # fmt: skip
    roots = {c["id"] for c in comments if "parent" not in c}
    assert roots and all(
        c["parent"]["id"] in roots for c in comments if "parent" in c
    )  # two levels, as Facebook
    assert {c["id"].split("_")[0] for c in comments} <= {str(121001000000000 + n) for n in range(40)}


def test_messenger_dyi_files(platform_landing: Path, loaded: tuple[duckdb.DuckDBPyConnection, Any]) -> None:
    files = sorted((platform_landing / "messenger_dyi").rglob("message_1.json"))
    raw = [f.read_text(encoding="ascii") for f in files]  # \u-escaped: ASCII only, as the export
    docs = [json.loads(text) for text in raw]
    first = docs[0]
    assert list(first) == [
        "participants",
        "messages",
        "title",
        "is_still_participant",
        "thread_path",
        "magic_words",
    ]
    assert raw[0].startswith('{\n  "participants": [\n    {\n      "name": ')
    assert first["thread_path"] == "inbox/" + files[0].parent.name
    assert (
        first["participants"][1]["name"].lower() == files[0].parts[-6].split("-", 1)[1]
    )  # the brand's inbox
    for doc in docs:
        stamps = [m["timestamp_ms"] for m in doc["messages"]]
        assert stamps == sorted(stamps, reverse=True)  # newest first
        assert doc["title"] == doc["participants"][0]["name"]
        assert {m["sender_name"] for m in doc["messages"]} <= {p["name"] for p in doc["participants"]}
    # Latin-1 mojibake: UTF-8 bytes written as code points, which the parser repairs
    assert any("\\u00c3\\u00a9" in text for text in raw)  # é
    assert any("\\u00f0\\u009f" in text for text in raw)  # an emoji's first bytes
    con, _ = loaded
    names = {
        r[0] for r in con.execute("SELECT DISTINCT author_id FROM raw.messenger_dyi_messages").fetchall()
    }
    graph_names = {
        json.loads(line)["data"][0]["from"]["name"]
        for path in (platform_landing / "facebook_graph").glob("comments_*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    }
    assert graph_names - {"AcmeSupport", "NimbusHelp", "OrbitCare"} <= names  # the same customers, repaired
    assert any("é" in n for n in names) and any(not n.isascii() for n in names)


def test_platform_formats_load_whole(
    loaded: tuple[duckdb.DuckDBPyConnection, dict[str, list[FileResult]]],
) -> None:
    con, results = loaded
    for name in ("messages", *PLATFORMS):
        totals = summarize(results[name])
        assert totals["files_failed"] == totals["files_skipped"] == 0, name
        assert (totals["rows_read"], totals["rows_loaded"], totals["rows_rejected"]) == (N, N, 0), name
    assert _one(con, "SELECT count(*) FROM raw.rejected_rows") == 0
    brands = brand_ids_from_seed()
    for name, table in PLATFORM_TABLES.items():
        accounts = {r[0] for r in con.execute(f"SELECT DISTINCT account_id FROM raw.{table}").fetchall()}
        assert accounts == {"AcmeSupport", "NimbusHelp", "OrbitCare"} and accounts <= brands, name
        agents = {
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT author_id FROM raw.{table} WHERE author_role = 'agent'"
            ).fetchall()
        }
        assert agents == {"twitter_v2": {"14000000", "14000001", "14000002"},
                          "facebook_graph": {"104000000000000", "104000000000001", "104000000000002"},
                          "messenger_dyi": {"AcmeSupport", "NimbusHelp", "OrbitCare"}}[name]  # fmt: skip


def test_every_generated_brand_is_a_seed_account() -> None:
    handles = {a.handle for a in _accounts(12, 42)[0]}
    assert handles <= brand_ids_from_seed()
    assert "ZenithCares" in handles and "MosaicCares" in handles


# The platform form of a canonical message: brand (agent or bot) vs customer, time, text (auto-replies take the
# platform's wording; a public tweet starts with the @handle it answers).
def _canonical_view(con: duckdb.DuckDBPyConnection) -> str:
    pairs = ", ".join(
        f"({_sql(c)}, {_sql(p)})" for c, p in zip(_TEMPLATES["bot"], _PLATFORM_BOT, strict=True)
    )
    return f"""
        SELECT m.*, author_role <> 'customer' AS is_brand, coalesce(b.platform, m.text) AS ptext
        FROM raw.messages m LEFT JOIN (VALUES {pairs}) b(canonical, platform) ON m.text = b.canonical
    """


def _sql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _platform_view(table: str) -> str:
    strip = r"regexp_replace(text, '^@\S+ ', '')" if table == "twitter_v2_messages" else "text"
    return f"SELECT *, author_role <> 'customer' AS is_brand, CASE WHEN is_private THEN text ELSE {strip} END AS ptext FROM raw.{table}"


@pytest.mark.parametrize("name", PLATFORMS)
def test_platform_messages_equal_the_canonical_ones(
    name: str, loaded: tuple[duckdb.DuckDBPyConnection, Any]
) -> None:
    con, _ = loaded
    canonical, platform = _canonical_view(con), _platform_view(PLATFORM_TABLES[name])
    # the same messages: account, time, brand or customer, text, and privacy (the inbox has only private messages)
    private = "true" if name == "messenger_dyi" else "is_private"
    channel = {"twitter_v2": "'twitter'", "facebook_graph": "'facebook'", "messenger_dyi": "channel"}[name]
    key = f"account_id, sent_at, is_brand, ptext, {private} AS private, {channel} AS channel"
    assert (
        _one(
            con,
            f"SELECT count(*) FROM (SELECT {key} FROM ({canonical}) EXCEPT ALL SELECT {key} FROM ({platform}))",
        )
        == 0
    )
    assert (
        _one(
            con,
            f"SELECT count(*) FROM (SELECT {key} FROM ({platform}) EXCEPT ALL SELECT {key} FROM ({canonical}))",
        )
        == 0
    )
    brand_share = _one(con, f"SELECT avg(is_brand::INTEGER) FROM ({platform})")
    assert (
        brand_share == _one(con, f"SELECT avg(is_brand::INTEGER) FROM ({canonical})")
        and 0.3 < brand_share < 0.7
    )
    # the same customers, each with as many messages
    per_customer = """
        SELECT list(n ORDER BY n) FROM (
            SELECT count(*) AS n FROM ({view}) WHERE NOT is_brand GROUP BY {who})
    """
    assert (
        con.execute(per_customer.format(view=platform, who="author_id")).fetchone()
        == con.execute(per_customer.format(view=canonical, who="channel, author_id")).fetchone()
    )
    # private threads: one per customer and brand (and site, for the inbox): the canonical customers, and the
    # customers of the canonical threads where only the brand writes (their customer has no canonical author id)
    where = "" if name == "messenger_dyi" else "AND is_private"
    threads = _one(con, f"SELECT count(DISTINCT thread_id) FROM raw.{PLATFORM_TABLES[name]}")
    customers = _one(
        con,
        "SELECT count(*) FROM (SELECT DISTINCT channel, account_id, author_id FROM raw.messages "
        f"WHERE author_role = 'customer' {where})",
    )
    brand_only = _one(
        con,
        "SELECT count(*) FROM (SELECT thread_id FROM raw.messages WHERE thread_id IS NOT NULL GROUP BY ALL "
        "HAVING bool_and(author_role <> 'customer'))",
    )
    assert customers <= threads <= customers + brand_only
    assert customers > 300 and brand_only < 0.05 * customers


def test_public_reply_links_equal_the_canonical_ones(loaded: tuple[duckdb.DuckDBPyConnection, Any]) -> None:
    con, _ = loaded
    links = """
        SELECT c.sent_at, c.author_role <> 'customer', p.sent_at, p.author_role <> 'customer'
        FROM raw.{t} c JOIN raw.{t} p ON p.message_id = c.parent_message_id {same}
        WHERE NOT c.is_private
    """
    canonical = links.format(t="messages", same="AND p.channel = c.channel")
    twitter = links.format(t="twitter_v2_messages", same="")
    assert (
        _one(con, f"SELECT count(*) FROM ({canonical})")
        == _one(con, f"SELECT count(*) FROM ({twitter})")
        > 500
    )
    assert _one(con, f"SELECT count(*) FROM ({canonical} EXCEPT ALL {twitter})") == 0
    # Facebook comments have two levels: every reply's parent is its thread's first comment
    roots = """
        WITH RECURSIVE r(message_id, channel, root) AS (
            SELECT message_id, channel, sent_at FROM raw.{t} WHERE parent_message_id IS NULL AND NOT is_private
            UNION ALL
            SELECT m.message_id, m.channel, r.root FROM raw.{t} m JOIN r ON m.parent_message_id = r.message_id
                AND m.channel = r.channel
        )
        SELECT m.sent_at, r.root FROM r JOIN raw.{t} m USING (message_id, channel) WHERE m.parent_message_id IS NOT NULL
    """
    graph, canonical_roots = roots.format(t="facebook_graph_messages"), roots.format(t="messages")
    assert (
        _one(con, f"SELECT count(*) FROM ({canonical_roots})")
        == _one(con, f"SELECT count(*) FROM ({graph})")
        > 500
    )
    assert _one(con, f"SELECT count(*) FROM (FROM ({canonical_roots}) EXCEPT ALL FROM ({graph}))") == 0
    assert (
        _one(
            con,
            "SELECT count(*) FROM raw.facebook_graph_messages c JOIN raw.facebook_graph_messages p "
            "ON p.message_id = c.parent_message_id WHERE p.parent_message_id IS NOT NULL",
        )
        == 0
    )


def test_platform_generation_is_deterministic(tmp_path: Path, platform_landing: Path) -> None:
    again = tmp_path / "again"
    generate(again, messages=N, days=DAYS, accounts=3, seed=42, start=START, formats=PLATFORMS)
    for name in PLATFORMS:
        first, second = _tree(platform_landing / name), _tree(again / name)
        assert first.keys() == second.keys() and len(first) >= 6, name
        assert [k for k in first if first[k] != second[k]] == [], name
    other = tmp_path / "other"
    generate(other, messages=N, days=DAYS, accounts=3, seed=7, start=START, formats=("twitter_v2",))
    assert _tree(other / "twitter_v2") != _tree(platform_landing / "twitter_v2")


def test_platform_files_load_the_same_one_at_a_time_or_in_parallel(
    platform_landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = datetime(2030, 1, 1)
    contents = []
    for workers in (1, 3):
        monkeypatch.setattr("orchestration.loader.LOAD_WORKERS", workers)
        con = duckdb.connect()
        results = {
            name: load_folder(con, platform_landing, FORMATS[name], at) for name in ("messages", *PLATFORMS)
        }
        tables = [f"raw.{FORMATS[name].table}" for name in results] + [
            "raw.load_manifest",
            "raw.rejected_rows",
        ]
        contents.append(
            (results, [con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables])
        )
        con.close()
    assert contents[0] == contents[1]
    assert sum(len(rows) for rows in contents[0][1][:4]) == 4 * N
