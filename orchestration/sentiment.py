"""Brand sentiment: every customer message scored with VADER (the ``vaderSentiment`` package) into
``raw.message_sentiment``, keyed like everything downstream (``channel || ':' || message_id``).

Scores are exactly ``SentimentIntensityAnalyzer().polarity_scores(text)``: ``polarity`` is the reference algorithm,
step for step and operation for operation (the same float arithmetic in the same order, the same quirks), on the
package's own lexicons, without the reference's repeated work (it lowercases the whole message again for every
rule it checks and rebuilds the text one character at a time). tests/unit/test_sentiment.py checks it against the
reference, ``==`` on every value. ``score_texts`` scores each distinct text once, on a pool of processes when the
batch is large; ``score_new_messages`` scores only the messages whose text (``text_hash``) or scorer (package
version) has no score yet and drops the scores of messages gone from raw (or no longer a customer's), in one
transaction.

A nightly run costs what the new files cost, not the history. ``raw.message_sentiment_state`` (one row, written in
the scoring's transaction) records what the scores were computed from: the scorer, the number of scores, and every
(raw table, file, file hash) with its rows and first and last load time. The next run takes the same census of raw
(one pass over the narrow lineage columns) and decides (``_plan``):

- raw holds exactly the files scored before, row for row, plus new ones, all of whose rows were loaded after every
  row scored before (the loader's normal nightly): only the new rows are read. A new row beats every older version
  of its message (versions are ranked by load time first), so each message they name takes its latest version from
  them; a tweet also needs to know whether raw holds the message canonically (then the canonical row counts, and a
  tweet of a message already delivered canonically changes nothing);
- the same, but some new rows are not newer than everything scored before (a file loaded with an older load time,
  or in the same second): every version in raw of the messages the new rows name is read;
- anything else, i.e. the state cannot be trusted: no state (first run, or a warehouse scored before the state
  existed), another scorer, scores changed outside scoring (``make forget`` deletes some), a file scored before
  replaced or removed, or rows deleted or added outside the loader (a file's row count moved): every message of raw
  is compared with its score, as from scratch.

Either way the table ends up exactly as a scoring from scratch leaves it (``scored_at`` aside):
tests/unit/test_sentiment_incremental.py checks it after new files, edits, a tweet delivered canonically too, a
replaced file, a removed file, a file loaded in the same second, and an erasure. Raw rows are assumed to change only
through the loader (whole files) and erasure (deletions): an in-place UPDATE of a raw row that keeps every file's
row count is not seen (delete the state row, or run a full scoring, after such a repair).
"""

from __future__ import annotations

import math
import multiprocessing
import string
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version

import duckdb
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

from orchestration.loader import SENTIMENT_COLUMNS, SENTIMENT_TABLE, ensure_raw_schema

Scores = tuple[float, float, float, float]  # compound, pos, neu, neg
SCORER = f"vaderSentiment {version('vaderSentiment')}"
TABLE = SENTIMENT_TABLE
COLUMNS = SENTIMENT_COLUMNS
# Below this many distinct texts (~40 ms of work) a pool saves too little to pay for starting two workers.
PARALLEL_THRESHOLD = 2_000
CHUNK_SIZE = 2_000
_PUNCTUATION = string.punctuation
_NEGATE = frozenset(NEGATE)


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    """The reference analyzer (one per process): its lexicons are the ones ``polarity`` uses."""
    return SentimentIntensityAnalyzer()


@cache
def _lexicons() -> tuple[dict[str, float], dict[str, str]]:
    """The word lexicon and the emoji lexicon as the reference uses them: only one-character emoji keys can match,
    since it looks the text up one character at a time."""
    analyzer = _analyzer()
    return analyzer.lexicon, {k: v for k, v in analyzer.emojis.items() if len(k) == 1}


def reference_scores(text: str) -> Scores:
    """The reference package's scores, (compound, pos, neu, neg)."""
    s = _analyzer().polarity_scores(text)
    return (s["compound"], s["pos"], s["neu"], s["neg"])


def _replace_emojis(text: str, emojis: dict[str, str]) -> str:
    """Each emoji character replaced by its description, a space before it unless one is there already."""
    out: list[str] = []
    prev_space = True
    for ch in text:
        if ch in emojis:
            if not prev_space:
                out.append(" ")
            out.append(emojis[ch])
            prev_space = False
        else:
            out.append(ch)
            prev_space = ch == " "
    return "".join(out)


def _strip_punctuation(token: str) -> str:
    stripped = token.strip(_PUNCTUATION)
    return token if len(stripped) <= 2 else stripped


def _booster(word: str, lower: str, valence: float, is_cap_diff: bool) -> float:
    """The reference's ``scalar_inc_dec``."""
    scalar = 0.0
    if lower in BOOSTER_DICT:
        scalar = BOOSTER_DICT[lower]
        if valence < 0:
            scalar *= -1
        if word.isupper() and is_cap_diff:
            if valence > 0:
                scalar += C_INCR
            else:
                scalar -= C_INCR
    return scalar


def _negation(valence: float, lowers: list[str], start_i: int, i: int) -> float:
    """The reference's ``_negation_check`` (``negated`` of one lowercase word: a NEGATE word or one with n't)."""
    if start_i == 0:
        w = lowers[i - 1]
        if w in _NEGATE or "n't" in w:
            valence = valence * N_SCALAR
    elif start_i == 1:
        w = lowers[i - 2]
        if w == "never" and (lowers[i - 1] == "so" or lowers[i - 1] == "this"):
            valence = valence * 1.25
        elif w == "without" and lowers[i - 1] == "doubt":
            pass
        elif w in _NEGATE or "n't" in w:
            valence = valence * N_SCALAR
    else:
        w = lowers[i - 3]
        if (w == "never" and (lowers[i - 2] == "so" or lowers[i - 2] == "this")) or (
            lowers[i - 1] == "so" or lowers[i - 1] == "this"
        ):
            valence = valence * 1.25
        elif w == "without" and (lowers[i - 2] == "doubt" or lowers[i - 1] == "doubt"):
            pass
        elif w in _NEGATE or "n't" in w:
            valence = valence * N_SCALAR
    return valence


def _special_idioms(valence: float, lowers: list[str], i: int) -> float:
    """The reference's ``_special_idioms_check`` (only called with i > 2)."""
    onezero = f"{lowers[i - 1]} {lowers[i]}"
    twoonezero = f"{lowers[i - 2]} {lowers[i - 1]} {lowers[i]}"
    twoone = f"{lowers[i - 2]} {lowers[i - 1]}"
    threetwoone = f"{lowers[i - 3]} {lowers[i - 2]} {lowers[i - 1]}"
    threetwo = f"{lowers[i - 3]} {lowers[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    if len(lowers) - 1 > i:
        zeroone = f"{lowers[i]} {lowers[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(lowers) - 1 > i + 1:
        zeroonetwo = f"{lowers[i]} {lowers[i + 1]} {lowers[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence


def _but(lowers: list[str], sentiments: list[float]) -> list[float]:
    """The reference's ``_but_check``, quirks included (it finds each value by ``index``, so equal values earlier
    in the list are the ones rescaled)."""
    if "but" in lowers:
        bi = lowers.index("but")
        for sentiment in sentiments:
            si = sentiments.index(sentiment)
            if si < bi:
                sentiments.pop(si)
                sentiments.insert(si, sentiment * 0.5)
            elif si > bi:
                sentiments.pop(si)
                sentiments.insert(si, sentiment * 1.5)
    return sentiments


def _score_valence(sentiments: list[float], text: str) -> Scores:
    """The reference's ``score_valence``, rounded as it rounds."""
    if sentiments:
        sum_s = float(sum(sentiments))
        ep_count = min(text.count("!"), 4)
        qm_count = text.count("?")
        qm_amplifier = 0
        if qm_count > 1:
            qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
        punct_emph_amplifier = ep_count * 0.292 + qm_amplifier
        if sum_s > 0:
            sum_s += punct_emph_amplifier
        elif sum_s < 0:
            sum_s -= punct_emph_amplifier
        compound = sum_s / math.sqrt((sum_s * sum_s) + 15)
        if compound < -1.0:
            compound = -1.0
        elif compound > 1.0:
            compound = 1.0
        pos_sum = 0.0
        neg_sum = 0.0
        neu_count = 0
        for sentiment_score in sentiments:
            if sentiment_score > 0:
                pos_sum += float(sentiment_score) + 1
            if sentiment_score < 0:
                neg_sum += float(sentiment_score) - 1
            if sentiment_score == 0:
                neu_count += 1
        if pos_sum > math.fabs(neg_sum):
            pos_sum += punct_emph_amplifier
        elif pos_sum < math.fabs(neg_sum):
            neg_sum -= punct_emph_amplifier
        total = pos_sum + math.fabs(neg_sum) + neu_count
        pos = math.fabs(pos_sum / total)
        neg = math.fabs(neg_sum / total)
        neu = math.fabs(neu_count / total)
    else:
        compound = pos = neg = neu = 0.0
    return (round(compound, 4), round(pos, 3), round(neu, 3), round(neg, 3))


def polarity(text: str) -> Scores:
    """(compound, pos, neu, neg) for one text, equal to the reference's ``polarity_scores``."""
    lexicon, emojis = _lexicons()
    # No emoji is ASCII: most messages skip the character-by-character pass.
    if not text.isascii() and not emojis.keys().isdisjoint(text):
        text = _replace_emojis(text, emojis)
    text = text.strip()
    words = [_strip_punctuation(w) for w in text.split()]
    lowers = [w.lower() for w in words]
    n = len(words)
    caps = sum(1 for w in words if w.isupper())
    is_cap_diff = 0 < n - caps < n
    sentiments: list[float] = []
    for i, lower in enumerate(lowers):
        # Boosters, "kind of" and words outside the lexicon are neutral (the int 0, as in the reference).
        if (
            lower in BOOSTER_DICT
            or (i < n - 1 and lower == "kind" and lowers[i + 1] == "of")
            or lower not in lexicon
        ):
            sentiments.append(0)
            continue
        valence = lexicon[lower]
        if lower == "no" and i != n - 1 and lowers[i + 1] in lexicon:
            valence = 0.0
        if (
            (i > 0 and lowers[i - 1] == "no")
            or (i > 1 and lowers[i - 2] == "no")
            or (i > 2 and lowers[i - 3] == "no" and lowers[i - 1] in ("or", "nor"))
        ):
            valence = lexicon[lower] * N_SCALAR
        if is_cap_diff and words[i].isupper():
            if valence > 0:
                valence += C_INCR
            else:
                valence -= C_INCR
        for start_i in range(3):
            j = i - (start_i + 1)
            if i > start_i and lowers[j] not in lexicon:
                s = _booster(words[j], lowers[j], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation(valence, lowers, start_i, i)
                if start_i == 2:
                    valence = _special_idioms(valence, lowers, i)
        # The reference's ``_least_check``.
        if i > 1 and lowers[i - 1] not in lexicon and lowers[i - 1] == "least":
            if lowers[i - 2] != "at" and lowers[i - 2] != "very":
                valence = valence * N_SCALAR
        elif i > 0 and lowers[i - 1] not in lexicon and lowers[i - 1] == "least":
            valence = valence * N_SCALAR
        sentiments.append(valence)
    return _score_valence(_but(lowers, sentiments), text)


def _score_chunk(texts: list[str]) -> list[Scores]:
    return [polarity(t) for t in texts]


def _warm_up() -> None:
    _lexicons()


def score_texts(texts: Sequence[str], workers: int = 2) -> list[Scores]:
    """(compound, pos, neu, neg) for each text, in order, exactly as the reference's ``polarity_scores``.

    Each distinct text is scored once. A large batch is split into chunks scored on ``workers`` processes (each
    builds its lexicons once; results come back in chunk order); a small one, or ``workers <= 1``, is scored here.
    """
    index: dict[str, int] = {}
    positions = [index.setdefault(t, len(index)) for t in texts]
    distinct = list(index)
    if workers <= 1 or len(distinct) < PARALLEL_THRESHOLD:
        scores = _score_chunk(distinct)
    else:
        # At least four chunks per worker, so that a worker finishing early takes the next one.
        size = min(CHUNK_SIZE, -(-len(distinct) // (4 * workers)))
        chunks = [distinct[i : i + size] for i in range(0, len(distinct), size)]
        # forkserver (Linux): workers are forked from a clean single-threaded server process, so a caller that runs
        # threads (Dagster, a test runner) cannot hand a held lock to a child and deadlock it, as plain fork can;
        # the server preloads this module once. Elsewhere: spawn.
        server = "forkserver" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if server else "spawn")
        if server:
            context.set_forkserver_preload([__name__])
        with context.Pool(min(workers, len(chunks)), initializer=_warm_up) as pool:
            scores = [s for chunk in pool.imap(_score_chunk, chunks) for s in chunk]
    return [scores[p] for p in positions]


# The raw tables that hold messages: the canonical-column formats (one row per channel and message id) and twcs.
CANONICAL_TABLES = ("messages", "twitter_v2_messages", "facebook_graph_messages", "messenger_dyi_messages")
TWCS_TABLE = "twcs_messages"
# What the scores were computed from: one row, written in the scoring's transaction.
STATE_TABLE = "raw.message_sentiment_state"
FILE_STATE = (
    "struct(table_name varchar, file_path varchar, file_hash varchar, rows bigint, first_loaded_at timestamp, "
    "last_loaded_at timestamp)"
)
STATE_COLUMNS = f"scorer varchar, scores bigint, scored_at timestamp, files {FILE_STATE}[]"

# Every (table, file, file hash) in raw with its rows and load times. first_loaded_at counts a row without a load
# time as the earliest possible, so that such a file never passes for newer than the files scored before.
_FILES_IN_RAW = " union all ".join(
    f"""
    select '{table}' as table_name, _file as file_path, _file_hash as file_hash, count(*) as rows,
        min(coalesce(_loaded_at, '-infinity'::timestamp)) as first_loaded_at, max(_loaded_at) as last_loaded_at
    from raw.{table} group by all
    """
    for table in (*CANONICAL_TABLES, TWCS_TABLE)
)

# Each message's latest version (models/staging): the row loaded last (then the later file, then the later row);
# a tweet that is also delivered in a canonical-column format (messages/, twitter_v2/, facebook_graph/,
# messenger_dyi/) is that one. One row per message: its key, whether a customer wrote it, the text (null text
# scores as the empty text) and its md5. {canonical_rows} and {twcs_where} restrict the rows read (each table is
# aliased r); {twitter_ids} is where a canonical twitter message is looked for; {latest_where} keeps the customers'.
_LATEST_MESSAGES = """
with canonical as (
    select channel, message_id, author_role, text
    from ({canonical_rows})
    qualify row_number() over (
            partition by channel, message_id order by _loaded_at desc, _file desc, _row desc
        ) = 1
),
tweets as (
    select tweet_id, inbound, text
    from raw.twcs_messages as r
    where {twcs_where}
    qualify row_number() over (partition by tweet_id order by _loaded_at desc, _file desc, _row desc) = 1
),
latest as (
    select channel || ':' || message_id as message_key, coalesce(author_role = 'customer', false) as customer, text
    from canonical
    union all
    select 'twitter:' || tweet_id as message_key, coalesce(inbound, false) as customer, text
    from tweets
    where not exists (select 1 from ({twitter_ids}) as c where c.message_id = tweets.tweet_id)
)
select message_key, customer, coalesce(text, '') as text, md5(coalesce(text, '')) as text_hash
from latest
where {latest_where}
"""


def _latest_messages_sql(
    canonical_where: str, twcs_where: str, twitter_ids: str, customers_only: bool
) -> str:
    canonical_rows = " union all ".join(
        f"select channel, message_id, author_role, text, _loaded_at, _file, _row from raw.{table} as r "
        f"where {canonical_where}"
        for table in CANONICAL_TABLES
    )
    return _LATEST_MESSAGES.format(
        canonical_rows=canonical_rows,
        twcs_where=twcs_where,
        twitter_ids=twitter_ids,
        latest_where="customer" if customers_only else "true",
    )


# Every canonical twitter message id of raw, whatever its version or author.
_ALL_TWITTER_IDS = " union all ".join(
    f"select message_id from raw.{table} where channel = 'twitter'" for table in CANONICAL_TABLES
)
# The rows of the files not scored yet.
_NEW_FILE_ROWS = """exists (
    select 1 from _sentiment_new_files as n
    where n.table_name = '{table}' and n.file_path is not distinct from r._file
        and n.file_hash is not distinct from r._file_hash
)"""


def ensure_sentiment_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema, its tables, ``raw.message_sentiment`` and its state if they are not there yet."""
    ensure_raw_schema(con)
    con.execute(f"create table if not exists {STATE_TABLE} ({STATE_COLUMNS})")


def _plan(con: duckdb.DuckDBPyConnection) -> tuple[str, str, datetime | None]:
    """(mode, reason, watermark): how this run finds the messages to look at, from the state of the last run and
    ``_sentiment_files`` (the files in raw now; ``_sentiment_new_files`` is made here, the files not scored yet).

    - ``full``: every message of raw is compared with its score; whenever the state cannot be trusted.
    - ``unchanged``: raw holds exactly the rows scored last time; nothing to do.
    - ``new rows``: raw holds the rows scored last time plus the rows of new files, all loaded after every row scored
      before: a new row beats every older version of its message, so the latest version of each message a new row
      touches is among the new rows (a tweet also checks raw for a canonical twitter message).
    - ``new keys``: new files, but some of their rows are not newer than everything scored before: the messages
      the new rows touch are looked up in the whole of raw.
    """
    state = con.execute(f"select scorer, scores from {STATE_TABLE}").fetchall()
    if len(state) != 1:
        return "full", "no state of a previous scoring", None
    scorer, scores = state[0]
    if scorer != SCORER:
        return "full", f"the scorer changed ({scorer} -> {SCORER})", None
    if scores != con.execute(f"select count(*) from {TABLE}").fetchone()[0]:
        return "full", f"{TABLE} was changed outside scoring (an erasure?)", None
    previous = f"select unnest(files, recursive := true) from {STATE_TABLE}"
    changed = con.execute(
        f"select table_name, file_path from ({previous} except select * from _sentiment_files) limit 3"
    ).fetchall()
    if changed:
        names = ", ".join(f"{table}: {path}" for table, path in changed)
        return "full", f"rows scored before were replaced or removed ({names}...)", None
    con.execute(
        f"create or replace temp table _sentiment_new_files as select * from _sentiment_files except {previous}"
    )
    new_files, first_new, watermark = con.execute(
        f"""
        select (select count(*) from _sentiment_new_files), (select min(first_loaded_at) from _sentiment_new_files),
            (select max(f.last_loaded_at) from ({previous}) as f)
        """
    ).fetchone()
    if not new_files:
        return "unchanged", "no new rows", None
    if watermark is None or first_new > watermark:
        return "new rows", f"{new_files} new file(s), loaded after everything scored before", watermark
    return "new keys", f"{new_files} new file(s), not all loaded after everything scored before", None


def _prepare_latest(con: duckdb.DuckDBPyConnection, mode: str, watermark: datetime | None) -> None:
    """``_sentiment_latest``: the latest version of the messages this mode looks at (``full``: the customer messages
    only, every other mode: every message the new rows touch, a customer's or not)."""
    twitter_ids = _ALL_TWITTER_IDS
    params: list = []
    if mode == "full":
        canonical_where = twcs_where = "true"
        twitter_ids = "select message_id from canonical where channel = 'twitter'"
    elif mode == "unchanged":
        canonical_where = twcs_where = "false"
    elif mode == "new rows" and watermark is None:  # nothing was scored before: every row is new
        canonical_where = twcs_where = "true"
    elif mode == "new rows":
        canonical_where = twcs_where = "r._loaded_at > ?"
        params = [watermark] * (len(CANONICAL_TABLES) + 1)
    else:  # new keys: every version of the messages of the new rows
        new_keys = " union all ".join(
            [
                *(
                    f"select channel, message_id from raw.{t} as r where {_NEW_FILE_ROWS.format(table=t)}"
                    for t in CANONICAL_TABLES
                ),
                f"select 'twitter', tweet_id from raw.{TWCS_TABLE} as r "
                f"where {_NEW_FILE_ROWS.format(table=TWCS_TABLE)}",
            ]
        )
        con.execute(f"create or replace temp table _sentiment_keys as select distinct * from ({new_keys})")
        canonical_where = "exists (select 1 from _sentiment_keys as k where k.channel = r.channel and k.message_id = r.message_id)"
        twcs_where = "r.tweet_id in (select message_id from _sentiment_keys where channel = 'twitter')"
        twitter_ids = "select message_id from canonical where channel = 'twitter'"
    sql = _latest_messages_sql(canonical_where, twcs_where, twitter_ids, customers_only=mode == "full")
    con.execute(f"create or replace temp table _sentiment_latest as {sql}", params)


def score_new_messages(con: duckdb.DuckDBPyConnection, workers: int = 2) -> dict[str, int | str]:
    """Score the customer messages whose text (or scorer) has no score yet, drop the scores of messages no longer
    in raw (or no longer a customer's), in one transaction: ``raw.message_sentiment`` holds one row per customer
    message, always, exactly as a scoring from scratch would (``scored_at`` aside).

    Only the messages that rows loaded since the last scoring touch are looked at, when raw holds every row scored
    last time unchanged (see ``_plan``); otherwise every message is compared with its score. ``mode`` and
    ``reason`` in the result say which, and why."""
    ensure_sentiment_table(con)
    scored_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    temp_tables = (
        "_sentiment_files",
        "_sentiment_new_files",
        "_sentiment_keys",
        "_sentiment_latest",
        "_sentiment_todo",
    )
    con.execute("begin transaction")
    try:
        con.execute(f"create or replace temp table _sentiment_files as {_FILES_IN_RAW}")
        mode, reason, watermark = _plan(con)
        _prepare_latest(con, mode, watermark)
        con.execute(
            f"""
            create or replace temp table _sentiment_todo as
            select l.message_key, l.text, l.text_hash
            from _sentiment_latest as l
            left join {TABLE} as s on s.message_key = l.message_key
            where l.customer and (s.message_key is null or s.text_hash <> l.text_hash or s.scorer is distinct from ?)
            """,
            [SCORER],
        )
        texts = con.execute("select coalesce(list(distinct text), []) from _sentiment_todo").fetchone()[0]
        scores = score_texts(texts, workers)
        if mode == "full":  # every message no customer's now, or gone
            gone = "not exists (select 1 from _sentiment_latest as l where l.message_key = s.message_key)"
        else:  # the messages looked at that are no customer's now
            gone = "s.message_key in (select message_key from _sentiment_latest where not customer)"
        deleted = con.execute(f"delete from {TABLE} as s where {gone}").fetchone()[0]
        con.execute(f"delete from {TABLE} where message_key in (select message_key from _sentiment_todo)")
        con.execute(
            f"""
            insert into {TABLE}
            select t.message_key, t.text_hash, s.compound, s.pos, s.neu, s.neg, ?, ?
            from _sentiment_todo as t
            join (
                select unnest(?) as text, unnest(?) as compound, unnest(?) as pos, unnest(?) as neu, unnest(?) as neg
            ) as s on s.text = t.text
            """,
            [SCORER, scored_at, texts, *([s[k] for s in scores] for k in range(4))],
        )
        total, todo = con.execute(
            f"select (select count(*) from {TABLE}), (select count(*) from _sentiment_todo)"
        ).fetchone()
        con.execute(f"delete from {STATE_TABLE}")
        con.execute(
            f"insert into {STATE_TABLE} select ?, ?, ?, coalesce((select list(f) from _sentiment_files as f), [])",
            [SCORER, total, scored_at],
        )
        con.execute("; ".join(f"drop table if exists {t}" for t in temp_tables))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return {
        "scored": todo,
        "skipped_already_scored": total - todo,
        "total_customer_messages": total,
        "distinct_texts_scored": len(texts),
        "deleted": deleted,
        "mode": mode,
        "reason": reason,
    }
