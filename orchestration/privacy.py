"""Personal data: keyed pseudonyms, and which rows belong to an erased customer.

Pseudonyms. A customer is ``pseudonym(channel, author_id)``: the hex HMAC-SHA-256 (64 characters, never
truncated) of ``channel``, a unit separator (U+001F) and the author id, under a secret key. The same key gives the
same pseudonym in every run, so analysts can still count a customer's repeat contacts; without the key nobody can
tell who it is, nor test a guessed handle. Other values are hashed the same way with a first part naming what they
are (``agent``, ``id``, ``message``, ``thread``, ``mention``), so that two kinds of value never share a pseudonym.

The key is ``SOCIAL_CARE_PSEUDONYM_KEY`` (at least 16 characters; its UTF-8 bytes are the key). Without it, the
key is read from ``pseudonym.key`` beside the warehouse, created on first use (64 random hex characters, mode
0600; ``warehouse/`` is ignored by git, so it is never committed). Both hold the same kind of text: moving the
file's content into the variable keeps every pseudonym.

Every hash is computed inside DuckDB (``KeyedHash.sql``: HMAC written with DuckDB's ``sha256``, equal to Python's
``hmac`` byte for byte; the key's pads sit in a temp table of the connection, never in a query's text, so no error
message or log can quote them): 1M rows in 1.6 s, 200k distinct ids in 0.46 s, no Python per row (a Python UDF needs
numpy, which the project does not install; hashing 200k distinct ids in Python took 0.9 s before even joining them
back). Once someone is erased, loading a file costs about a quarter more (300k twcs rows: 1.2 s -> 1.5 s; 300k
canonical rows: 3.2 s -> 4.2 s); an erasure itself takes ~0.5 s on 300k rows, before the rebuild.

Erasure (``make forget``, orchestration/forget.py) removes a customer's conversations with the brand. The rows it
removes, from the warehouse at erasure time and from every file loaded later, are (docs/definitions.md, "Personal
data and erasure"):

1. every message the customer wrote on the channel (author id and channel, customer messages only);
2. every brand message (agent or bot) that replies to a removed message, at any depth;
3. every brand message of a private thread (a DM thread id) the customer wrote in;
4. every brand message that @mentions the customer's author id on the channel (twcs replies always do).

Rows of other customers stay, even in a shared public thread. What was removed is remembered without the handle:
``raw.erased_authors`` (the audit: pseudonym, channel, time, rows removed per table) and ``raw.erased_keys`` (the
keyed hashes of the removed message keys and private thread keys), so that a file loaded again, or a later file
replying to a removed message, loses exactly the same rows. A rejected row (kept whole, as text) is removed when
one of its tokens (a field between separators, a quoted string or a word; a leading @ dropped) is the author id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

KEY_ENV = "SOCIAL_CARE_PSEUDONYM_KEY"
KEY_FILE = "pseudonym.key"
MIN_KEY_LENGTH = 16
SEPARATOR = "\x1f"
_KEY_ID_MESSAGE = b"social-care-warehouse pseudonym key id"

AUDIT_TABLE = "raw.erased_authors"
AUDIT_COLUMNS = (
    "pseudonym varchar, channel varchar, mention_hash varchar, key_id varchar, erased_at timestamp, "
    "rows_removed json"
)
KEYS_TABLE = "raw.erased_keys"
KEYS_COLUMNS = "kind varchar, key_hash varchar, erased_at timestamp"

# @mentions as Twitter writes them (a handle is letters, digits and underscores).
MENTION_PATTERN = "@([A-Za-z0-9_]+)"
# Tokens of a rejected row's raw text: fields between separators, quoted strings, words (a leading @ dropped).
_FIELD_PATTERN = '[^,;|\\t\\r\\n"]+'
_QUOTED_PATTERN = '"([^"]*)"'
_WORD_PATTERN = "[^\\s,;|\"'{}\\[\\]()<>=:!?]+"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class KeyedHash:
    """The HMAC-SHA-256 key and where it came from (``source``: the environment variable or the key file)."""

    secret: bytes = field(repr=False)
    source: str
    created: bool = False

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_LENGTH:
            raise ValueError(
                f"the pseudonym key ({self.source}) must be at least {MIN_KEY_LENGTH} characters"
            )

    @property
    def key_id(self) -> str:
        """A fingerprint of the key (not the key): tells whether stored pseudonyms were made with this key."""
        return hmac.new(self.secret, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:16]

    @property
    def from_file(self) -> bool:
        return self.source != KEY_ENV

    def hash(self, *parts: str) -> str:
        """Hex HMAC-SHA-256 of the parts joined by U+001F."""
        message = SEPARATOR.join(parts).encode("utf-8")
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def pseudonym(self, channel: str, author_id: str) -> str:
        """A customer: HMAC-SHA-256 of channel and author id."""
        return self.hash(channel, author_id)

    @property
    def _table(self) -> str:
        return f"temp.main.pseudonym_key_{self.key_id}"

    def install(self, con: duckdb.DuckDBPyConnection) -> None:
        """Give the connection the key's HMAC pads, in a temp table that ``sql`` reads: no query text, and so no
        error message or log quoting one, ever holds key material. Works on read-only connections too."""
        secret = self.secret if len(self.secret) <= 64 else hashlib.sha256(self.secret).digest()
        block = secret.ljust(64, b"\0")
        con.execute(
            f"create or replace temp table pseudonym_key_{self.key_id} as "
            "select ?::blob as inner_pad, ?::blob as outer_pad",
            [bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)],
        )

    def sql(self, *parts: str) -> str:
        """A DuckDB expression equal to ``hash`` of the SQL expressions ``parts`` (null if any part is null), for
        a connection the key is installed on (``install``)."""
        message = " || chr(31) || ".join(f"cast({part} as varchar)" for part in parts)
        outer, inner = f"(select outer_pad from {self._table})", f"(select inner_pad from {self._table})"
        return f"sha256({outer} || unhex(sha256({inner} || encode({message}))))"

    def notice(self) -> str | None:
        """What a run says (once) when the key is not set in the environment."""
        if not self.from_file:
            return None
        what = "a new key, created in" if self.created else "the key stored in"
        return (
            f"{KEY_ENV} is not set: pseudonyms use {what} {self.source} (keep it, never commit it; to set it "
            f"yourself: {KEY_ENV}=$(cat {self.source}))"
        )


def key_file(warehouse: Path) -> Path:
    return Path(warehouse).parent / KEY_FILE


def resolve_key(warehouse: Path | None = None) -> KeyedHash:
    """The key from SOCIAL_CARE_PSEUDONYM_KEY, else from pseudonym.key beside ``warehouse`` (created if missing)."""
    value = os.environ.get(KEY_ENV)
    if value:
        return KeyedHash(value.encode("utf-8"), KEY_ENV)
    if warehouse is None:
        raise ValueError(f"{KEY_ENV} is not set and there is no warehouse file to keep a key beside")
    path = key_file(warehouse)
    created = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(secrets.token_hex(32) + "\n")
            created = True
    return KeyedHash(path.read_text(encoding="utf-8").strip().encode("utf-8"), str(path), created)


def connection_warehouse(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file of the connection's main database (None in memory)."""
    row = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return Path(row[0]) if row and row[0] else None


# --------------------------------------------------------------------------------------------- erasure records


def ensure_erasure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute(f"create table if not exists {AUDIT_TABLE} ({AUDIT_COLUMNS})")
    con.execute(f"create table if not exists {KEYS_TABLE} ({KEYS_COLUMNS})")


def erasure_count(con: duckdb.DuckDBPyConnection) -> int:
    """How many erasures the warehouse has recorded (0 without the audit table)."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'raw' and table_name = 'erased_authors'"
    ).fetchone()[0]
    return con.execute(f"select count(*) from {AUDIT_TABLE}").fetchone()[0] if exists else 0


def has_erasures(con: duckdb.DuckDBPyConnection) -> bool:
    return erasure_count(con) > 0


def check_key(con: duckdb.DuckDBPyConnection, key: KeyedHash) -> None:
    """Refuse a key other than the one the erasures were recorded with: with another key the erased customers
    could not be recognised, and their messages would come back with the next load."""
    ids = [r[0] for r in con.execute(f"select distinct key_id from {AUDIT_TABLE} order by 1").fetchall()]
    if any(i != key.key_id for i in ids):
        raise ValueError(
            f"the pseudonym key ({key.source}) is not the one the erasures in {AUDIT_TABLE} were recorded with "
            f"(key ids {', '.join(ids)}; this key {key.key_id}): erased customers would not be recognised. "
            f"Restore the earlier key ({KEY_ENV} or {KEY_FILE} beside the warehouse)."
        )


def record_erasure(
    con: duckdb.DuckDBPyConnection, key: KeyedHash, channel: str, author_id: str, erased_at: datetime
) -> str:
    """Add the audit row of an erasure (rows_removed filled in later); returns the pseudonym."""
    pseudonym = key.pseudonym(channel, author_id)
    con.execute(
        f"insert into {AUDIT_TABLE} values (?, ?, ?, ?, ?, '{{}}')",
        [pseudonym, channel, key.hash("mention", channel, author_id.lower()), key.key_id, erased_at],
    )
    return pseudonym


# ------------------------------------------------------------------------------------- rows of erased customers

# Every raw table shape, as the columns erasure needs: message_key, parent_key, thread_key (private threads
# only), channel, author_id, is_customer, is_brand, text. ``key`` is the message key of one row of the shape.
_TWCS = """
select
    'twitter:' || tweet_id as message_key,
    case when in_response_to_tweet_id is not null then 'twitter:' || in_response_to_tweet_id end as parent_key,
    cast(null as varchar) as thread_key,
    'twitter' as channel,
    author_id,
    inbound as is_customer,
    not inbound as is_brand,
    text
from {relation}
"""
_CANONICAL = """
select
    channel || ':' || message_id as message_key,
    case when parent_message_id is not null then channel || ':' || parent_message_id end as parent_key,
    case when is_private and thread_id is not null then channel || ':' || account_id || ':' || thread_id end
        as thread_key,
    channel,
    author_id,
    author_role = 'customer' as is_customer,
    author_role in ('agent', 'bot') as is_brand,
    text
from {relation}
"""


@dataclass(frozen=True)
class RowShape:
    rows_sql: str  # {relation} -> the erasure columns
    key: str  # the message key of a row, as an expression over the table's columns


def row_shape(columns: str) -> RowShape:
    """How erasure reads a raw table with these columns (loader.LandingFormat.columns)."""
    from orchestration.parsers import messages, twcs

    if columns == twcs.RAW_COLUMNS:
        return RowShape(_TWCS, "'twitter:' || tweet_id")
    if columns == messages.RAW_COLUMNS:
        return RowShape(_CANONICAL, "channel || ':' || message_id")
    # A new raw shape must say how its customer and replies are found before anything of it can be erased.
    raise ValueError(f"erasure does not know raw columns {columns!r}: add them to privacy.row_shape")


def select_erased(
    con: duckdb.DuckDBPyConnection, key: KeyedHash, rows_sql: str, prefix: str
) -> tuple[str, str]:
    """Apply the erasure rule to the rows of ``rows_sql`` (erasure columns, see RowShape): creates the temp tables
    ``{prefix}_removed`` (message_key of every row to remove) and ``{prefix}_threads`` (private thread keys the
    erased customers wrote in), and returns their names. Reads raw.erased_authors and raw.erased_keys."""
    src, removed, threads = f"{prefix}_src", f"{prefix}_removed", f"{prefix}_threads"
    authors = f"(select pseudonym from {AUDIT_TABLE})"
    mentions = f"(select mention_hash from {AUDIT_TABLE})"
    key.install(con)
    stored_messages = f"(select key_hash from {KEYS_TABLE} where kind = 'message')"
    stored_threads = f"(select key_hash from {KEYS_TABLE} where kind = 'thread')"
    con.execute(f"create or replace temp table {src} as {rows_sql}")
    con.execute(
        f"""
        create or replace temp table {threads} as
        with customers as (
            select channel, author_id from {src} where is_customer group by all
        ),
        erased_customers as (
            select channel, author_id from customers where {key.sql("channel", "author_id")} in {authors}
        ),
        written as (
            select distinct src.thread_key
            from {src} as src inner join erased_customers using (channel, author_id)
            where src.is_customer and src.thread_key is not null
        ),
        stored as (
            select thread_key
            from (select distinct thread_key from {src} where is_brand and thread_key is not null)
            where {key.sql("'thread'", "thread_key")} in {stored_threads}
        )
        select thread_key, true as is_new from written
        union all
        select thread_key, false from stored where thread_key not in (select thread_key from written)
        """
    )
    con.execute(
        f"""
        create or replace temp table {removed} as
        with recursive customers as (
            select channel, author_id from {src} where is_customer group by all
        ),
        erased_customers as (
            select channel, author_id from customers where {key.sql("channel", "author_id")} in {authors}
        ),
        mentioned as (
            select distinct channel, mention
            from (
                select channel, unnest(regexp_extract_all(text, {_literal(MENTION_PATTERN)}, 1)) as mention
                from {src} where is_brand and text like '%@%'
            )
        ),
        erased_mentions as (
            select channel, mention from mentioned
            where {key.sql("'mention'", "channel", "lower(mention)")} in {mentions}
        ),
        stored_parents as (
            select parent_key
            from (select distinct parent_key from {src} where is_brand and parent_key is not null)
            where {key.sql("'message'", "parent_key")} in {stored_messages}
        ),
        seeds as (
            select src.message_key
            from {src} as src inner join erased_customers using (channel, author_id)
            where src.is_customer
            union
            select message_key from {src}
            where {key.sql("'message'", "message_key")} in {stored_messages}
            union
            select message_key from {src}
            where is_brand and thread_key in (select thread_key from {threads})
            union
            select src.message_key
            from (
                select message_key, channel, unnest(regexp_extract_all(text, {_literal(MENTION_PATTERN)}, 1)) as mention
                from {src} where is_brand and text like '%@%'
            ) as src
            inner join erased_mentions using (channel, mention)
            union
            select message_key from {src} where is_brand and parent_key in (select parent_key from stored_parents)
        ),
        walk (message_key) as (
            select message_key from seeds
            union
            select child.message_key
            from walk inner join {src} as child on child.parent_key = walk.message_key
            where child.is_brand
        )
        select distinct message_key from walk
        """
    )
    con.execute(f"drop table {src}")
    return removed, threads


def remember_removed(
    con: duckdb.DuckDBPyConnection, key: KeyedHash, removed: str, threads: str, erased_at: datetime
) -> None:
    """Store the keyed hashes of the removed message keys and of the new erased threads (raw.erased_keys)."""
    key.install(con)
    con.execute(
        f"""
        insert into {KEYS_TABLE}
        select distinct kind, key_hash, ?::timestamp from (
            select 'message' as kind, {key.sql("'message'", "message_key")} as key_hash from {removed}
            union all
            select 'thread', {key.sql("'thread'", "thread_key")} from {threads} where is_new
        ) as new
        where not exists (
            select 1 from {KEYS_TABLE} as old where old.kind = new.kind and old.key_hash = new.key_hash
        )
        """,
        [erased_at.replace(tzinfo=None)],
    )


def rejects_to_erase_sql(key: KeyedHash, relation: str, id_column: str) -> str:
    """The ``id_column`` of every rejected row of ``relation`` (with a ``raw_record``) that holds an erased author
    id as a token: a field between separators, a quoted string or a word (a leading @ dropped). For a connection
    the key is installed on."""
    return f"""
        with tokens as (
            select distinct {id_column} as id, token
            from (
                select {id_column}, unnest(list_distinct(
                    list_transform(regexp_extract_all(raw_record, {_literal(_FIELD_PATTERN)}), lambda t: trim(t))
                    || regexp_extract_all(raw_record, {_literal(_QUOTED_PATTERN)}, 1)
                    || list_transform(regexp_extract_all(raw_record, {_literal(_WORD_PATTERN)}), lambda t: ltrim(t, '@'))
                )) as token
                from {relation}
                where raw_record is not null
            )
            where token <> ''
        ),
        candidates as (
            select distinct token, erased.channel
            from (select distinct token from tokens) as t
            cross join (select distinct channel from {AUDIT_TABLE}) as erased
        ),
        erased_tokens as (
            select distinct token from candidates
            where {key.sql("channel", "token")} in (select pseudonym from {AUDIT_TABLE})
                or {key.sql("'mention'", "channel", "lower(token)")} in (select mention_hash from {AUDIT_TABLE})
        )
        select distinct id from tokens where token in (select token from erased_tokens)
    """


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
