"""Sentiment scores: identical to the reference VADER package, value for value; incremental scoring of raw."""

from __future__ import annotations

import random
from datetime import datetime

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SPECIAL_CASES

from bench.sentiment import customer_texts
from orchestration import sentiment
from orchestration.loader import FORMATS, ensure_raw_schema, load_file
from orchestration.sentiment import SCORER, reference_scores, score_new_messages, score_texts

# Texts that take the reference's rarer paths: negations, "no", "least", "kind of", "but" with repeated values,
# idioms, ALL CAPS against lower case, punctuation emphasis, emoji (alone, glued to words, skin tones, ZWJ),
# whitespace other than spaces, non-Latin scripts, a lone surrogate, the empty text and very long texts.
EDGE_CASES = [
    "",
    " ",
    "\n\t ",
    "!!!",
    "???",
    "good",
    "GOOD",
    "GOOD bad",
    "not good",
    "Not BAD at all",
    "no problem",
    "no no no good",
    "no bad or good",
    "it isn't a horrible app",
    "never so good",
    "never this bad!!",
    "without doubt excellent",
    "without a doubt, an excellent idea.",
    "at least it works",
    "very least helpful",
    "the least helpful",
    "kind of good",
    "kinda sux",
    "sort of great but kind of bad",
    "good good good but bad bad bad",
    "great but great but bad",
    "love love hate but love hate love",
    "the shit",
    "this is the bomb",
    "bad ass service",
    "yeah right, great job",
    "kiss of death for the app",
    "to die for",
    "no wifi no food no apology",
    "VERY GOOD service, VERY bad app",
    "Worst customer service ever 😡 three calls and still no refund",
    "😡😡😡",
    "ok👍thanks",
    "Why!🤷🏻\u200d♀️ #iOS11 @AppleSupport https://t.co/BXrVfeIXxq",
    "I ❤️ it 💔",
    ":) :( :D :-) <3 </3",
    "Très bien, merci beaucoup! ça marche",
    "Спасибо, отлично",
    "ΣΊΣΥΦΟΣ GOOD",
    "bad\u00a0good\u2003great",
    "lone \ud800 surrogate is fine",
    "help!!!!!!!!! ???? please???",
    "what?? why??? how????",
    "won't help, doesn't care, can't fix",
    "good " * 500,
    " ".join(["terrible", "but", "amazing", "no", "least", "never", "so", "kind", "of"] * 120),
]

_VOCABULARY = sorted(
    {w for k in [*SPECIAL_CASES, *BOOSTER_DICT] for w in k.split()}
    | set(NEGATE)
    | {"no", "not", "but", "least", "at", "very", "kind", "of", "or", "nor", "never", "this", "without"}
    | {"doubt", "good", "bad", "love", "hate", "help", "refund", "great", "terrible", "ok", "happy", "sad"}
    | {"lol", "sux"}
    | {":)", ":(", ":D", "😡", "🙏", "😊", "💔", "!", "!!", "??", "...", "#fail", "@Acme"}
)


def real_shaped_texts() -> list[str]:
    rng = random.Random(11)
    generated = customer_texts(3000, seed=11)
    mixed = [
        " ".join(
            w.upper() if rng.random() < 0.2 else w for w in rng.choices(_VOCABULARY, k=rng.randint(1, 25))
        )
        for _ in range(1000)
    ]
    return EDGE_CASES + generated + mixed


def assert_identical(got: list[tuple[float, ...]], texts: list[str]) -> None:
    expected = [reference_scores(t) for t in texts]
    mismatches = [(t, g, e) for t, g, e in zip(texts, got, expected, strict=True) if g != e]
    assert mismatches == []
    # == does not see the sign of a zero; repr does.
    assert [repr(g) for g in got] == [repr(e) for e in expected]


def test_reference_scores_of_the_empty_text_are_all_zero():
    assert reference_scores("") == (0.0, 0.0, 0.0, 0.0)
    assert reference_scores("good") == (0.4404, 1.0, 0.0, 0.0)


def test_scores_equal_the_reference_serially():
    texts = real_shaped_texts()
    assert len(set(texts)) > 3500
    assert_identical(score_texts(texts, workers=1), texts)


def test_scores_equal_the_reference_on_two_workers(monkeypatch):
    monkeypatch.setattr(sentiment, "PARALLEL_THRESHOLD", 100)
    monkeypatch.setattr(sentiment, "CHUNK_SIZE", 97)
    texts = real_shaped_texts()
    assert_identical(score_texts(texts, workers=2), texts)


def test_duplicate_texts_are_scored_once_and_returned_in_order(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(sentiment, "polarity", lambda t: seen.append(t) or (float(len(t)), 0.0, 0.0, 0.0))
    assert score_texts(["bb", "a", "bb", "", "a"], workers=1) == [
        (2.0, 0.0, 0.0, 0.0),
        (1.0, 0.0, 0.0, 0.0),
        (2.0, 0.0, 0.0, 0.0),
        (0.0, 0.0, 0.0, 0.0),
        (1.0, 0.0, 0.0, 0.0),
    ]
    assert seen == ["bb", "a", ""]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(_VOCABULARY),
            st.sampled_from(_VOCABULARY).map(str.upper),
            st.text(alphabet="!?.,:;'\"()-#@ \n😡🙏a", max_size=4),
        ),
        max_size=30,
    ),
    st.sampled_from([" ", "  ", "\n", "", " !"]),
)
def test_scores_equal_the_reference_on_any_mix_of_rule_words(words, separator):
    text = separator.join(words)
    assert repr(sentiment.polarity(text)) == repr(reference_scores(text))


# --- score_new_messages ------------------------------------------------------------------------------------------

T0 = datetime(2026, 1, 1)
T1 = datetime(2026, 1, 2)


def add_tweet(con, tweet_id, inbound, text, loaded_at=T0, file="twcs/a.csv", row=1):
    con.execute(
        "insert into raw.twcs_messages values (?, 'someone', ?, timestamp '2025-06-01', ?, null, null, ?, 'h', ?, ?)",
        [tweet_id, inbound, text, file, row, loaded_at],
    )


def add_message(con, channel, message_id, role, text, loaded_at=T0, file="messages/a.csv", row=1):
    con.execute(
        """
        insert into raw.messages values (
            ?, null, null, ?, 'acme', 'someone', ?, false, timestamp '2025-06-01', ?, null, ?, 'h', ?, ?
        )
        """,
        [message_id, channel, role, text, file, row, loaded_at],
    )


def scores(con) -> dict[str, tuple[float, float, float, float]]:
    rows = con.execute("select message_key, compound, pos, neu, neg from raw.message_sentiment").fetchall()
    return {key: tuple(values) for key, *values in rows}


def text_hash(con, key: str) -> str:
    (value,) = con.execute(
        "select text_hash from raw.message_sentiment where message_key = ?", [key]
    ).fetchone()
    return value


@pytest.fixture
def raw(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    ensure_raw_schema(con)
    add_tweet(con, "1", True, "@Acme I love this, thank you!!")
    add_tweet(con, "2", False, "@123 Glad to help!")  # the brand: not scored
    add_tweet(con, "3", True, None)  # no text: scored as the empty text
    add_tweet(con, "4", True, "this is bad")
    add_tweet(con, "4", True, "this is GREAT", loaded_at=T1, file="twcs/b.csv")  # the latest version counts
    add_tweet(con, "5", True, "terrible, as a tweet")  # also delivered canonically, by the brand: not scored
    add_message(con, "twitter", "5", "agent", "terrible, as a canonical message")
    add_message(con, "facebook", "m1", "customer", "where is my refund?? 😡")
    # the same id on another channel: another message
    add_message(con, "instagram", "m1", "customer", "not bad at all")
    add_message(con, "facebook", "m2", "agent", "Sorry about that!")
    add_message(con, "facebook", "m3", "bot", "Thanks for your message!")
    add_message(con, "facebook", "m4", "customer", "meh", row=1)
    add_message(con, "facebook", "m4", "customer", "ok thanks", row=2)  # same file and time: the later row
    return con


EXPECTED_TEXTS = {
    "twitter:1": "@Acme I love this, thank you!!",
    "twitter:3": "",
    "twitter:4": "this is GREAT",
    "facebook:m1": "where is my refund?? 😡",
    "instagram:m1": "not bad at all",
    "facebook:m4": "ok thanks",
}


def test_every_customer_message_is_scored_once_by_its_key(raw):
    counts = score_new_messages(raw, workers=1)
    assert counts == {
        "scored": 6,
        "skipped_already_scored": 0,
        "total_customer_messages": 6,
        "distinct_texts_scored": 6,
        "deleted": 0,
        "mode": "full",
        "reason": "no state of a previous scoring",
    }
    assert scores(raw) == {key: reference_scores(text) for key, text in EXPECTED_TEXTS.items()}
    assert scores(raw)["twitter:3"] == (0.0, 0.0, 0.0, 0.0)
    rows = raw.execute(
        "select count(*), count(distinct message_key), min(scorer), max(scorer), count(scored_at) "
        "from raw.message_sentiment"
    ).fetchone()
    assert rows == (6, 6, SCORER, SCORER, 6)


def test_a_second_run_scores_nothing(raw):
    score_new_messages(raw, workers=1)
    before = raw.execute("select * from raw.message_sentiment order by message_key").fetchall()
    counts = score_new_messages(raw, workers=1)
    assert (counts["scored"], counts["skipped_already_scored"], counts["deleted"]) == (0, 6, 0)
    assert raw.execute("select * from raw.message_sentiment order by message_key").fetchall() == before


def test_an_edited_message_is_scored_again(raw):
    score_new_messages(raw, workers=1)
    old_hash = text_hash(raw, "twitter:1")
    add_tweet(raw, "1", True, "@Acme I hate this", loaded_at=T1, file="twcs/c.csv")
    counts = score_new_messages(raw, workers=1)
    assert (counts["scored"], counts["skipped_already_scored"]) == (1, 5)
    assert scores(raw)["twitter:1"] == reference_scores("@Acme I hate this")
    assert text_hash(raw, "twitter:1") != old_hash
    assert raw.execute("select count(*) from raw.message_sentiment").fetchone()[0] == 6


def test_a_deleted_message_loses_its_score(raw):
    score_new_messages(raw, workers=1)
    raw.execute("delete from raw.messages where channel = 'instagram'")
    # a customer message whose latest version is the brand's is no customer message any more
    add_message(raw, "facebook", "m1", "agent", "where is my refund?? 😡", T1, "messages/b.csv")
    counts = score_new_messages(raw, workers=1)
    assert (counts["scored"], counts["deleted"], counts["total_customer_messages"]) == (0, 2, 4)
    assert set(scores(raw)) == set(EXPECTED_TEXTS) - {"instagram:m1", "facebook:m1"}


def test_a_changed_scorer_scores_everything_again(raw, monkeypatch):
    score_new_messages(raw, workers=1)
    monkeypatch.setattr(sentiment, "SCORER", "vaderSentiment 9.9")
    assert sentiment.score_new_messages(raw, workers=1)["scored"] == 6
    scorers = raw.execute("select distinct scorer from raw.message_sentiment").fetchall()
    assert scorers == [("vaderSentiment 9.9",)]


def test_scoring_on_an_empty_warehouse_creates_the_table(con):
    counts = score_new_messages(con, workers=2)
    assert counts["total_customer_messages"] == 0
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'message_sentiment' order by ordinal_position"
    ).fetchall()
    assert columns == [
        ("message_key", "VARCHAR"),
        ("text_hash", "VARCHAR"),
        ("compound", "DOUBLE"),
        ("pos", "DOUBLE"),
        ("neu", "DOUBLE"),
        ("neg", "DOUBLE"),
        ("scorer", "VARCHAR"),
        ("scored_at", "TIMESTAMP"),
    ]


def test_a_failure_leaves_the_scores_as_they_were(raw, monkeypatch):
    score_new_messages(raw, workers=1)
    before = raw.execute("select * from raw.message_sentiment order by message_key").fetchall()
    raw.execute("delete from raw.messages where channel = 'instagram'")
    add_tweet(raw, "1", True, "edited", loaded_at=T1, file="twcs/c.csv")

    def fail(texts, workers):
        raise RuntimeError("scoring failed")

    monkeypatch.setattr(sentiment, "score_texts", fail)
    with pytest.raises(RuntimeError):
        sentiment.score_new_messages(raw, workers=1)
    assert raw.execute("select * from raw.message_sentiment order by message_key").fetchall() == before


# --- the real export ---------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_real_customer_tweets_score_as_the_reference(con, shared_data, monkeypatch):
    path = shared_data / "twcs" / "random_5k.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    ensure_raw_schema(con)
    assert load_file(con, path, FORMATS["twcs"], "twcs/random_5k.csv").status == "loaded"
    monkeypatch.setattr(sentiment, "PARALLEL_THRESHOLD", 500)
    counts = score_new_messages(con, workers=2)
    rows = con.execute(
        """
        select s.compound, s.pos, s.neu, s.neg, t.text
        from raw.message_sentiment as s
        join raw.twcs_messages as t on s.message_key = 'twitter:' || t.tweet_id
        """
    ).fetchall()
    customer_tweets = con.execute("select count(*) from raw.twcs_messages where inbound").fetchone()[0]
    assert counts["scored"] == len(rows) == customer_tweets
    assert len(rows) > 2000
    texts = [r[4] or "" for r in rows]
    assert_identical([tuple(r[:4]) for r in rows], texts)
