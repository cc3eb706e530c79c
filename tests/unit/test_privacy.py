"""Pseudonyms (stable, keyed, channel-scoped; the SQL equals Python's hmac), the key's resolution, and which rows
an erasure removes (privacy.select_erased through forget.erase)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import stat
from datetime import datetime

import duckdb
import pytest

from orchestration import privacy
from orchestration.forget import erase
from orchestration.loader import ensure_raw_schema
from orchestration.privacy import KEY_ENV, KeyedHash, resolve_key

KEY = KeyedHash(b"unit-test-key-0123456789", "test")
ERASED_AT = datetime(2026, 1, 2, 3, 4, 5)


def test_a_pseudonym_is_the_hmac_of_channel_and_author_id():
    expected = hmac.new(b"unit-test-key-0123456789", b"twitter\x1f115712", hashlib.sha256).hexdigest()
    assert KEY.pseudonym("twitter", "115712") == expected
    assert len(expected) == 64


def test_pseudonyms_are_stable_and_depend_on_key_and_channel():
    same_key = KeyedHash(b"unit-test-key-0123456789", "elsewhere")
    other_key = KeyedHash(b"another-key-0123456789ab", "test")
    assert KEY.pseudonym("twitter", "c1") == same_key.pseudonym("twitter", "c1")
    assert KEY.pseudonym("twitter", "c1") != other_key.pseudonym("twitter", "c1")
    assert KEY.pseudonym("twitter", "c1") != KEY.pseudonym("facebook", "c1")
    assert KEY.pseudonym("twitter", "c1") != KEY.pseudonym("twitter", "c2")
    # the separator keeps (channel, author) pairs apart
    assert KEY.pseudonym("twitter", "x") != KEY.pseudonym("twitte", "rx")


@pytest.mark.parametrize(
    "secret", [b"0123456789abcdef", b"k" * 64, b"a-long-key-" * 12, "clé ☕ 0123456789".encode()]
)
def test_the_sql_hash_equals_python(con, secret):
    key = KeyedHash(secret, "test")
    values = [("twitter", "115712"), ("facebook", "Jane Doe"), ("instagram", "Café ☕ 😀"), ("twitter", "")]
    con.execute("create table t (channel varchar, author varchar)")
    con.executemany("insert into t values (?, ?)", values)
    key.install(con)
    got = con.execute(
        f"select channel, author, {key.sql('channel', 'author')} from t order by all"
    ).fetchall()
    assert got == sorted((c, a, key.pseudonym(c, a)) for c, a in values)
    null_part = key.sql("null", "'x'")
    assert con.execute(f"select {null_part}").fetchone()[0] is None


def test_no_query_text_holds_key_material(con):
    key = KeyedHash(b"0123456789abcdef", "test")
    key.install(con)
    other = KeyedHash(b"fedcba9876543210", "test")
    other.install(con)  # two keys on one connection do not mix
    block = key.secret.ljust(64, b"\0")
    pads = {bytes(b ^ pad for b in block).hex() for pad in (0x36, 0x5C)}
    text = key.sql("'twitter'", "'c1'")
    assert not [p for p in pads if p in text] and key.secret.decode() not in text
    assert con.execute(f"select {text}").fetchone()[0] == key.pseudonym("twitter", "c1")
    other_text = other.sql("'twitter'", "'c1'")
    assert con.execute(f"select {other_text}").fetchone()[0] == other.pseudonym("twitter", "c1")


def test_a_short_key_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ValueError, match="at least 16"):
        resolve_key(tmp_path / "w.duckdb")


def test_the_key_comes_from_the_environment_else_a_file_created_once(monkeypatch, tmp_path):
    warehouse = tmp_path / "warehouse" / "w.duckdb"
    monkeypatch.delenv(KEY_ENV, raising=False)

    first = resolve_key(warehouse)
    path = warehouse.parent / "pseudonym.key"
    assert first.created and first.source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "not set" in first.notice() and "created" in first.notice()
    assert len(path.read_text().strip()) == 64

    second = resolve_key(warehouse)
    assert not second.created and "stored" in second.notice()
    assert second.pseudonym("twitter", "c1") == first.pseudonym("twitter", "c1")
    assert second.key_id == first.key_id

    # the file's content as the variable: the same pseudonyms, and nothing to say
    monkeypatch.setenv(KEY_ENV, path.read_text().strip())
    from_env = resolve_key(warehouse)
    assert from_env.source == KEY_ENV and from_env.notice() is None
    assert from_env.pseudonym("twitter", "c1") == first.pseudonym("twitter", "c1")
    assert "unit-test" not in repr(KEY) and "secret" not in repr(KEY)


# --------------------------------------------------------------------------------------------------- erasure

TWEETS = [
    # tweet_id, author_id, inbound, text, in_response_to
    ("1", "c1", True, "@Acme my order is late", None),
    ("2", "Acme", False, "@c1 sorry, which order? ^AB", "1"),
    ("3", "c1", True, "@Acme 1234", "2"),
    ("4", "Acme", False, "@c1 thanks, on its way ^AB", "3"),
    ("5", "Acme", False, "@C1 @c2 we are on it", "6"),  # mentions the erased customer: removed
    ("6", "c2", True, "@Acme me too", None),
    ("7", "c2", True, "@Acme @c1 same here", "2"),  # another customer in the thread: stays
    ("8", "Acme", False, "@c2 we will look", "7"),
    ("9", "c10", True, "@Acme hi", None),  # c10 is not c1
    ("10", "Acme", False, "@c10 hello", "9"),
]
MESSAGES = [
    # message_id, thread_id, parent, channel, author_id, author_role, is_private, text
    ("m1", "t1", None, "facebook", "c1", "customer", True, "where is my refund"),
    ("m2", "t1", None, "facebook", "acme_fb", "bot", True, "We will answer soon"),
    ("m3", "t1", None, "facebook", "acme_fb", "agent", True, "Hi, sorry for the wait -Ana"),
    ("m4", "t2", None, "facebook", "c2", "customer", True, "hello"),
    ("m5", "t2", None, "facebook", "acme_fb", "agent", True, "Hi -Ana"),
    ("m6", None, None, "instagram", "c1", "customer", False, "nice"),  # another channel: stays
    ("m7", None, "m6", "instagram", "acme_ig", "agent", False, "thanks!"),
]
REJECTS = [
    ("twcs/a.csv", 11, '{"tweet_id":"11","author_id":"c1","inbound":"True","created_at":"yesterday"}'),
    ("twcs/a.csv", 12, "12,c10,True,not a time,hi,,"),
    ("messages/a.csv", 13, "m9,t1,,facebook,acme_fb,c1,customer,true,2024-03-05 20:05:00,late,"),
    ("twcs/a.csv", 14, "14,Acme,False,not a time,@c1 hello again,,1"),
    ("twcs/a.csv", 15, "15,Acme,False,not a time,@c2 hello,,6"),
]


def warehouse_with_rows(con: duckdb.DuckDBPyConnection) -> None:
    ensure_raw_schema(con)
    for tweet_id, author, inbound, text, parent in TWEETS:
        con.execute(
            "insert into raw.twcs_messages values (?, ?, ?, timestamp '2024-03-04 10:00:00' + to_minutes(?), ?, "
            "null, ?, 'twcs/a.csv', 'h', ?, timestamp '2026-01-01')",
            [tweet_id, author, inbound, int(tweet_id), text, parent, int(tweet_id)],
        )
    for i, (message_id, thread, parent, channel, author, role, private, text) in enumerate(MESSAGES):
        con.execute(
            "insert into raw.messages values (?, ?, ?, ?, 'acme', ?, ?, ?, timestamp '2024-03-04 10:00:00', ?, "
            "null, 'messages/a.csv', 'h', ?, timestamp '2026-01-01')",
            [message_id, thread, parent, channel, author, role, private, text, i + 1],
        )
    for file_path, row, record in REJECTS:
        con.execute(
            "insert into raw.rejected_rows values (?, 'h', ?, ?, ?, 'bad', ?, timestamp '2026-01-01')",
            [file_path, file_path.split("/")[0], row, row, record],
        )
    con.execute(
        "insert into raw.message_sentiment select 'twitter:' || tweet_id, 'x', 0, 0, 1, 0, 's', null "
        "from raw.twcs_messages where inbound"
    )
    con.execute(
        "insert into raw.load_manifest (file_path, file_hash, format, status, rows_read, rows_loaded, "
        "rows_rejected, rows_erased) values ('twcs/a.csv', 'h', 'twcs', 'loaded', 14, 10, 4, 0), "
        "('messages/a.csv', 'h', 'messages', 'loaded', 8, 7, 1, 0)"
    )


def test_erasure_removes_the_customer_and_the_brand_replies_to_them(con):
    warehouse_with_rows(con)
    erasure = erase(con, KEY, "twitter", "c1", ERASED_AT)

    tweets = [r[0] for r in con.execute("select tweet_id from raw.twcs_messages order by _row").fetchall()]
    assert tweets == ["6", "7", "8", "9", "10"]  # 1-4: the conversation with c1; 5 mentions @C1
    # the twitter erasure leaves c1's facebook and instagram messages alone
    assert con.execute("select count(*) from raw.messages").fetchone()[0] == 7
    assert erasure.pseudonym == KEY.pseudonym("twitter", "c1")
    assert erasure.rows_removed["raw.twcs_messages"] == 5
    assert erasure.rows_removed["raw.message_sentiment"] == 2
    # rejected rows holding "c1" as a field, a JSON value or a mention go (for every channel: the id is the id)
    assert [r[0] for r in con.execute("select _row from raw.rejected_rows order by 1").fetchall()] == [12, 15]
    assert erasure.rows_removed["raw.rejected_rows"] == 3
    assert con.execute(
        "select file_path, rows_read, rows_loaded, rows_rejected, rows_erased from raw.load_manifest order by 1"
    ).fetchall() == [("messages/a.csv", 8, 7, 0, 1), ("twcs/a.csv", 14, 5, 2, 7)]


def test_a_private_thread_goes_with_the_customer(con):
    warehouse_with_rows(con)
    erasure = erase(con, KEY, "facebook", "c1", ERASED_AT)
    left = con.execute("select message_id from raw.messages order by all").fetchall()
    assert [r[0] for r in left] == ["m4", "m5", "m6", "m7"]  # t1 (customer, bot, agent) is gone
    assert erasure.rows_removed["raw.messages"] == 3
    assert con.execute("select count(*) from raw.twcs_messages").fetchone()[0] == len(TWEETS)
    kinds = con.execute("select kind, count(*) from raw.erased_keys group by all order by all").fetchall()
    assert kinds == [("message", 3), ("thread", 1)]


def test_the_audit_row_holds_no_handle(con):
    warehouse_with_rows(con)
    erase(con, KEY, "twitter", "c1", ERASED_AT)
    rows = con.execute("select * from raw.erased_authors").fetchall()
    assert len(rows) == 1
    pseudonym, channel, mention_hash, key_id, erased_at, removed = rows[0]
    assert (pseudonym, channel, mention_hash, key_id, erased_at) == (
        KEY.pseudonym("twitter", "c1"),
        "twitter",
        KEY.hash("mention", "twitter", "c1"),
        KEY.key_id,
        ERASED_AT,
    )
    assert json.loads(removed)["raw.twcs_messages"] == 5
    stored = [str(v) for row in con.execute("select * from raw.erased_keys").fetchall() for v in row]
    # hashes are hex: "c1" may occur inside one, never as a value or a word of its own
    assert not [v for v in [*map(str, rows[0]), *stored] if re.search(r"(?<![0-9a-f])c1(?![0-9a-f])", v)]


def test_erasing_someone_twice_or_unknown_changes_nothing_more(con):
    warehouse_with_rows(con)
    erase(con, KEY, "twitter", "c1", ERASED_AT)
    again = erase(con, KEY, "twitter", "c1", ERASED_AT)
    nobody = erase(con, KEY, "twitter", "nobody", ERASED_AT)
    assert sum(again.rows_removed.values()) == sum(nobody.rows_removed.values()) == 0
    assert con.execute("select count(*) from raw.erased_authors").fetchone()[0] == 3


def test_another_key_is_refused_once_someone_was_erased(con):
    warehouse_with_rows(con)
    erase(con, KEY, "twitter", "c1", ERASED_AT)
    with pytest.raises(ValueError, match="not the one the erasures"):
        erase(con, KeyedHash(b"another-key-0123456789ab", "test"), "twitter", "c2", ERASED_AT)
    assert con.execute("select count(*) from raw.erased_authors").fetchone()[0] == 1


def test_an_unknown_raw_shape_cannot_be_erased():
    with pytest.raises(ValueError, match="erasure does not know"):
        privacy.row_shape("id varchar, who varchar")


def test_the_command_line_erases_without_printing_the_handle(tmp_path, monkeypatch, capsys):
    from orchestration.forget import main

    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        warehouse_with_rows(con)
    monkeypatch.setenv("SOCIAL_CARE_WAREHOUSE", str(warehouse))
    monkeypatch.setenv(KEY_ENV, "unit-test-key-0123456789")
    assert main(["--author", "c1", "--channel", "Twitter", "--no-rebuild"]) == 0
    out = capsys.readouterr().out
    assert KEY.pseudonym("twitter", "c1") in out and "raw.twcs_messages 5" in out
    assert not re.search(r"(?<![0-9a-f])c1(?![0-9a-f])", out)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.twcs_messages where author_id = 'c1'").fetchone()[0] == 0
    with pytest.raises(SystemExit):
        main(["--author", " ", "--channel", "twitter"])
