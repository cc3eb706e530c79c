"""Deterministic sample exports of social customer-care conversations (see docs/formats.md), in every landing format.

- ``twcs``: ``twcs/sample_twcs.csv`` ("Customer Support on Twitter" CSV);
- ``messages``: ``messages/sample_messages.csv`` + ``messages/sample_messages.jsonl`` (canonical format,
  facebook/instagram, split by thread);
- ``twitter_v2``, ``facebook_graph``, ``messenger_dyi``: the same conversations as ``messages`` (same seed: the
  same messages, times, brands, customers and texts), written as each platform exports them
  (``_write_twitter_v2``, ``_write_facebook_graph``, ``_write_messenger_dyi`` say how). A customer's private
  threads with a brand are one platform conversation; customers have names; a public tweet starts with the @handle
  it answers; auto-replies are brand messages worded as ``seeds/automated_authors.csv`` recognises them. Brands are
  the generated accounts' handles (``AcmeSupport``, ...), listed in ``seeds/accounts.csv`` (the first 12) so that
  the parsers know them as brands.

All randomness is hash-based inside DuckDB SQL (``hash(key, seed)``), so the same arguments give byte-identical
files and the generator scales to millions of messages without per-row Python (the inbox export, one file per
thread, is written by Python one file at a time).

Usage: ``python -m orchestration.generate --messages 3000 --days 14 --accounts 3 --seed 42 \\
    --start 2024-03-01 --out data/landing --formats twcs,messages``
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

FORMATS: tuple[str, ...] = ("twcs", "messages", "twitter_v2", "facebook_graph", "messenger_dyi")
# What ``make sample`` writes (the end-to-end tests pin figures computed from these).
DEFAULT_FORMATS: tuple[str, ...] = ("twcs", "messages")
TWCS_FILE = Path("twcs") / "sample_twcs.csv"
MESSAGES_CSV_FILE = Path("messages") / "sample_messages.csv"
MESSAGES_JSONL_FILE = Path("messages") / "sample_messages.jsonl"

_BRANDS = (
    "Acme",
    "Nimbus",
    "Orbit",
    "Zenith",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Quartz",
    "Harbor",
    "Vertex",
    "Cobalt",
    "Mosaic",
)
_SUFFIXES = ("Support", "Help", "Care", "Cares")
_FIRST_NAMES = (
    "Anna",
    "Ben",
    "Chloe",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Aiko",
    "Bruno",
    "Carla",
    "Dmitri",
    "Emma",
    "Felix",
    "Gina",
    "Hana",
    "Ivan",
    "Julia",
    "Karim",
    "Lea",
    "Marco",
    "Nina",
)
_TZ_MINUTES = (60, -300, 120, -480, 330, 540, -180, 0)
# Relative volume by local hour of day (0..23) and by ISO day of week (Mon=1..Sun=7).
_HOUR_PROFILE = (14, 9, 6, 5, 5, 7, 15, 35, 70, 95, 100, 100, 96, 98, 100, 97, 94, 90, 85, 80, 74, 62, 45, 26)
_DOW_PROFILE = (100, 97, 95, 93, 88, 62, 55)
_EST_MESSAGES_PER_THREAD = 4.4  # a little under the real mean (~4.7); a shortfall is topped up by a retry

# Message templates by category; {order} is replaced with the thread's order number.
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "c_open": (
        "my order #{order} still hasn't arrived. it's been 2 weeks",
        "Hi, I was charged twice for order {order}, can you help?",
        "Your app keeps crashing when I try to log in. Already reinstalled it twice",
        'The tracking page says "delivered" but there is nothing here, what now?',
        "Is there an outage right now? Nothing loads on my side",
        "Hi,\nI need to change the delivery address on order {order}.\nThanks",
        "How do I cancel my subscription? Can't find it anywhere in settings",
        "Worst customer service ever 😡 three calls and still no refund",
        "can someone help me reset my password? the reset email never comes",
        "Do you ship to Canada?",
        "I've been on hold for 45 minutes. Is anyone actually working today?",
        "Got the wrong size in my package (ordered M, got XL). How do I exchange it?",
        "love the new update 🙌 but where did dark mode go?",
        "My card was declined but the money left my account. Order {order}",
        "Where is my refund?? It's been 10 business days",
        "The promo code SPRING20 isn't working at checkout",
        "Hello, my package arrived damaged; the box was crushed and the glass is broken",
        'Why does my bill say "late fee" when I paid on time?',
        "Can I talk to a human please",
        "your website says in stock, then out of stock at checkout. which one is it",
        "Been trying to reach you for 3 days about order {order}. Nobody answers the phone",
        "Is the store on Main St open on Sundays?",
        "I still haven't heard back &amp; the live chat doesn't work. Can someone call me?",
    ),
    "c_burst": (
        "hello??",
        "anyone?",
        "Order number is {order} btw",
        "Still waiting...",
        "I also sent you an email about this",
        "This is really urgent, I need it by Friday",
        'screenshot attached, the error says "code 503"',
        "?",
        "Seriously, this is the third time this month",
    ),
    "c_follow": (
        "DM sent",
        "Just sent you a message with the details",
        "It's {order}",
        "I already tried that, didn't work",
        'Ok, I did that. Now it says "pending"',
        "What's the timeline on that?",
        "Same problem again today",
        "The email is the one on the account, I just checked",
        "Can you check again? It's still not showing",
        "Yes, that's correct",
        "No, I bought it online",
        "Tried restarting, clearing the cache, and reinstalling. Nothing.",
        "Any update?",
    ),
    "c_close": (
        "Thanks!",
        "thank you, that worked 🙏",
        "Great, appreciate the quick help",
        "ok thanks",
        "Got it, thanks for sorting this out",
        "Still not happy but ok",
    ),
    "a_first": (
        "Hi there, sorry to hear about this! Could you DM us your order number so we can take a look?",
        "We're sorry for the trouble. Can you tell us which device and app version you're using?",
        "Thanks for reaching out. We'd like to help, please DM us the email on your account.",
        "Hi! That doesn't sound right. Please send us a private message with the details and we'll check it.",
        "Sorry for the wait! We're looking into this now.",
        "We hear you, and we apologize. Please DM us the order number and we'll make it right.",
        "Hey, thanks for letting us know. There is a known issue and our team is on it.",
        "Sorry about that! Try logging out and back in, then let us know if it's still happening.",
        "We can help. Which version of the app are you on? Reply in DM. https://t.co/x7Gq2RkLpz",
        'Hi, could you confirm the "reference" number on your confirmation email?',
    ),
    "a_follow": (
        "Thanks, we've got it. Give us a moment to check.",
        "We've escalated this to our shipping team; you should hear back within 24-48 hours.",
        "Got it. We issued a refund for order {order}, it can take 3-5 business days to show.",
        "Thanks for confirming. Could you also try clearing the app cache?",
        "Checking with our team now, we'll update you shortly.",
        "We replied to your DM!",
        "That's odd. Can you share a screenshot of the error?",
        "Your replacement has been shipped. Tracking is on its way by email.",
        "We understand the frustration,\nand we're doing everything we can to speed this up.",
    ),
    "a_close": (
        "Glad we could help! Have a great day.",
        "You're welcome! Reach out anytime.",
        "Happy to help 😊",
        "Anytime! Enjoy the rest of your week.",
    ),
    "a_init": (
        "Hi! We noticed you had trouble with your order earlier. Is everything sorted now?",
        "Hey, following up on case {order}: the replacement is out for delivery today.",
        "Hi there, we saw your post about the outage. Service is back, tell us if anything isn't working.",
    ),
    "bot": (
        "Thanks for your message! We typically reply within a few hours.",
        "Hi! 👋 Our team has received your message and will get back to you as soon as possible.",
        "Thanks for reaching out. Our support hours are 8am-8pm; we'll reply as soon as we're back.",
        "Automatic reply: for order status, visit our help center. An agent will follow up here.",
    ),
}
# The platform exports do not say which brand message is automated: there an auto-reply is the brand's own message,
# told apart by seeds/automated_authors.csv, whose text patterns these match (one for each "bot" template above).
_PLATFORM_BOT = (
    "Thanks for your message! We usually reply within a few hours.",
    "Thanks for contacting us 👋 Our team has received your message and we will get back to you as soon as possible.",
    "Thanks for reaching out. Our support hours are 8am-8pm; we'll reply as soon as we're back.",
    "We are away right now. For order status, visit our help center; an agent will follow up here.",
)
# Customers of the platform exports have names (mixed radix: first x last, then a middle initial, then a number, so
# that every customer number has its own name); some are not ASCII, for the inbox export's Latin-1 mojibake.
_CUSTOMER_FIRST = (
    "Anna", "Ben", "Chloé", "David", "Elena", "Farid", "Grace", "Hugo", "Inès", "Jonas", "Kira", "Liam", "Maya",
    "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Søren", "Tara", "Umar", "Vera", "Will", "Xenia", "Yusuf", "Zoë",
    "Aiko", "Bruno", "Carla", "Dmitri", "Emma", "Felix", "Gina", "Hana", "Ivan", "Julia", "Karim", "Léa", "Marco",
    "Nina",
)  # fmt: skip
_CUSTOMER_LAST = (
    "Müller", "García", "Smith", "Nuñez", "Lefèvre", "Kowalski", "Rossi", "Novák", "Jiménez", "Björk", "Çelik",
    "Tanaka", "Kim", "Silva", "Ferreira", "O'Brien", "Papadopoulos", "Horváth", "Dubois", "Jensen", "Brown",
    "Nguyễn", "Okafor", "Łukasik", "Andersson", "Moreau", "Schmidt", "Costa", "Patel", "Şahin",
)  # fmt: skip
# How the platform files are split (the APIs' page sizes; pages per file keep files at a few tens of MB).
TWEETS_PER_PAGE = 100
CONVERSATIONS_PER_PAGE = 25
COMMENTS_PER_PAGE = 100
PAGES_PER_FILE = 500
# Twitter ids are snowflakes: milliseconds since an epoch, shifted left 22 bits, plus a sequence.
_SNOWFLAKE_EPOCH_MS = 1142899200000  # 2006-03-21, the first tweet: every id is positive


@dataclass(frozen=True)
class _Account:
    account: int
    handle: str
    tz_min: int
    tz_suffix: str
    always_on: bool
    speed_min: float
    has_bot: bool
    signoff: str
    weight: int
    n_agents: int


def _tz_suffix(minutes: int) -> str:
    if minutes == 0:
        return "Z"
    sign = "+" if minutes > 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _accounts(accounts: int, seed: int) -> tuple[list[_Account], list[tuple[int, int, str, str, str]]]:
    """Per-account settings and agents (account, idx, agent_id, first_name, initials), from the seed."""
    rng = random.Random(seed)
    result: list[_Account] = []
    agents: list[tuple[int, int, str, str, str]] = []
    for a in range(accounts):
        brand = _BRANDS[a % len(_BRANDS)]
        handle = f"{brand}{_SUFFIXES[a % len(_SUFFIXES)]}"
        if a >= len(_BRANDS):
            handle += str(a // len(_BRANDS))
        tz_min = 0 if a == 0 else rng.choice(_TZ_MINUTES)
        always_on = a == 0 or (a != 1 and rng.random() < 0.4)
        n_agents = 3 + rng.randrange(8)
        result.append(
            _Account(
                account=a,
                handle=handle,
                tz_min=tz_min,
                tz_suffix=_tz_suffix(tz_min),
                always_on=always_on,
                speed_min=round(rng.uniform(12.0, 30.0), 1),
                has_bot=a % 2 == 0,
                signoff=("caret", "dash", "none")[a % 3],
                weight=max(1, int(1000 * rng.uniform(0.8, 1.2) / (1 + a) ** 0.7)),
                n_agents=n_agents,
            )
        )
        for g, first in enumerate(rng.sample(_FIRST_NAMES, n_agents)):
            last = chr(ord("A") + rng.randrange(26))
            agent_id = f"{first.lower()}.{last.lower()}@{handle.lower()}.example"
            agents.append((a, g, agent_id, first, first[0] + last))
    return result, agents


def _setup(con: duckdb.DuckDBPyConnection, accounts: int, seed: int) -> None:
    """Create the accounts, agents and templates tables."""
    accs, agents = _accounts(accounts, seed)
    con.execute("""CREATE TABLE accounts (account INTEGER, handle VARCHAR, tz_min INTEGER, tz_suffix VARCHAR,
        always_on BOOLEAN, speed_min DOUBLE, acct_bot BOOLEAN, signoff VARCHAR, weight BIGINT,
        n_agents INTEGER)""")
    con.executemany(
        "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                a.account,
                a.handle,
                a.tz_min,
                a.tz_suffix,
                a.always_on,
                a.speed_min,
                a.has_bot,
                a.signoff,
                a.weight,
                a.n_agents,
            ]
            for a in accs
        ],
    )
    con.execute(
        "CREATE TABLE agents (account INTEGER, g INTEGER, agent_id VARCHAR, first_name VARCHAR, "
        "initials VARCHAR)"
    )
    con.executemany("INSERT INTO agents VALUES (?, ?, ?, ?, ?)", agents)
    # txt: the text; ptxt: in the platform exports (auto-replies differ); ptxt_dyi: ptxt as the inbox export writes
    # it inside a JSON string.
    con.execute(
        "CREATE TABLE templates (cat VARCHAR, idx INTEGER, n INTEGER, txt VARCHAR, ptxt VARCHAR, ptxt_dyi VARCHAR)"
    )
    rows: list[list[object]] = []
    for cat, txts in _TEMPLATES.items():
        for i, t in enumerate(txts):
            platform = _PLATFORM_BOT[i] if cat == "bot" else t
            rows.append([cat, i, len(txts), t, platform, _dyi_json(platform)])
    con.executemany("INSERT INTO templates VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.execute(
        "CREATE TABLE name_parts (part VARCHAR, idx INTEGER, name VARCHAR, slug VARCHAR, dyi VARCHAR)"
    )
    con.executemany(
        "INSERT INTO name_parts VALUES (?, ?, ?, ?, ?)",
        [
            [part, i, name, _slug(name), _dyi_json(name)]
            for part, names in (("first", _CUSTOMER_FIRST), ("last", _CUSTOMER_LAST))
            for i, name in enumerate(names)
        ],
    )


def _dyi_json(text: str) -> str:
    """The inside of a JSON string as "Download your information" writes it: the UTF-8 bytes as Latin-1 code
    points (mojibake), escaped as \\u00XX."""
    return json.dumps(text.encode("utf-8").decode("latin-1"))[1:-1]


def _slug(name: str) -> str:
    """Lower-case ASCII letters of a name (accents dropped), as in inbox folder names and handles."""
    name = name.translate(str.maketrans("łŁøØß", "lLoOs"))
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in ascii_name.lower() if c.isalpha())


def _macros(con: duckdb.DuckDBPyConnection, seed: int, stream: int) -> None:
    """Hash-based uniform numbers: u*(key..., salt) in [0, 1) and h*(key..., salt) as UBIGINT."""
    mix = f"{seed}, {stream}"
    con.execute(f"""
        CREATE OR REPLACE MACRO h1(a, s) AS hash(xor(hash(a, {mix}), hash(s)));
        CREATE OR REPLACE MACRO h2(a, b, s) AS hash(xor(hash(a, b, {mix}), hash(s)));
        CREATE OR REPLACE MACRO u1(a, s) AS h1(a, s) / 18446744073709551616.0;
        CREATE OR REPLACE MACRO u2(a, b, s) AS h2(a, b, s) / 18446744073709551616.0;
        CREATE OR REPLACE MACRO gauss(a, b, s) AS
            sqrt(-2.0 * ln(1.0 - u2(a, b, s))) * cos(2.0 * pi() * u2(a, b, s + 1));
    """)


def _buckets(con: duckdb.DuckDBPyConnection, days: int, start: date) -> int:
    """Hourly (account, hour) buckets with cumulative integer weights; returns the total weight."""
    con.execute(f"""
        CREATE OR REPLACE TABLE buckets AS
        WITH h AS (
            SELECT a.account, r.hr, a.weight,
                   TIMESTAMP '{start.isoformat()}' + to_hours(r.hr) + to_minutes(a.tz_min) AS local_ts
            FROM accounts a CROSS JOIN range({days * 24}) r(hr)
        ), w AS (
            SELECT account, hr,
                   (weight * list_extract({list(_HOUR_PROFILE)}, hour(local_ts) + 1)
                    * list_extract({list(_DOW_PROFILE)}, isodow(local_ts))
                    * (0.85 + 0.3 * u2(account, date_diff('day', DATE '2000-01-01', local_ts::DATE), 101))
                    * CASE WHEN u2(account, hr, 102) < 0.01 THEN 3 ELSE 1 END)::BIGINT AS w
            FROM h
        )
        SELECT account, hr, w,
               (sum(w) OVER (ORDER BY account, hr ROWS UNBOUNDED PRECEDING) - w)::BIGINT AS cum_lo
        FROM w WHERE w > 0
    """)
    row = con.execute("SELECT max(cum_lo + w)::BIGINT FROM buckets").fetchone()
    assert row is not None
    return int(row[0])


def _threads(
    con: duckdb.DuckDBPyConnection, n_threads: int, total_w: int, start: date, twitter: bool
) -> None:
    """One row per thread: account, start time, kind, channel, number of turns, people."""
    channel = "'twitter'" if twitter else "CASE WHEN u1(i, 4) < 0.6 THEN 'facebook' ELSE 'instagram' END"
    private = "false" if twitter else "(kind = 'agent' OR u1(i, 5) < 0.55)"
    pool = max(50, n_threads * 3 // 4)
    con.execute(f"""
        CREATE OR REPLACE TABLE threads AS
        WITH t AS (
            SELECT i, h1(i, 1) % {total_w} AS uw FROM range({n_threads}) r(i)
        ), b AS (
            SELECT t.i, b.account, b.hr FROM t ASOF JOIN buckets b ON t.uw >= b.cum_lo
        ), k AS (
            SELECT b.*, a.* EXCLUDE (account),
                   TIMESTAMP '{start.isoformat()}' + to_hours(b.hr) + to_seconds((h1(i, 2) % 3600)::BIGINT)
                       AS start_ts,
                   CASE WHEN u1(i, 3) < 0.03 THEN 'agent' WHEN u1(i, 3) < 0.18 THEN 'unanswered'
                        ELSE 'answered' END AS kind,
                   u1(i, 6) AS r6, u1(i, 7) AS r7
            FROM b JOIN accounts a USING (account)
        )
        SELECT i, account, handle, tz_min, tz_suffix, always_on, speed_min, signoff, n_agents, start_ts, kind,
               {channel} AS channel, {private} AS private,
               (CASE kind
                    WHEN 'unanswered' THEN 1
                    WHEN 'agent' THEN CASE WHEN r6 < 0.35 THEN 1 ELSE 2 + floor(r7 * 4) END
                    ELSE CASE WHEN r6 < 0.45 THEN 2 WHEN r6 < 0.70 THEN 3 WHEN r6 < 0.82 THEN 4
                              WHEN r6 < 0.91 THEN 5 + floor(r7 * 5) ELSE 10 + floor(r7 * r7 * 21) END
                END)::INTEGER AS n_turns,
               ({"false" if twitter else "true"} AND private AND acct_bot AND kind <> 'agent'
                AND u1(i, 8) < 0.85) AS has_bot,
               (h1(i, 9) % {pool})::BIGINT AS cust_no,
               (h1(i, 10) % n_agents)::INTEGER AS g0,
               (10000000 + h1(i, 11) % 90000000)::BIGINT AS order_no,
               (1000000000 + account * 1000 + h1(i, 12) % 40)::BIGINT AS post_id,
               u1(i, 13) < 0.35 AS to_jsonl
        FROM k
    """)


def _turns(con: duckdb.DuckDBPyConnection) -> None:
    """One row per turn (consecutive messages of one role) with its delay, burst size and start time."""
    con.execute("""
        CREATE OR REPLACE TABLE turns AS
        WITH x AS (
            SELECT i, kind, has_bot, always_on, tz_min, speed_min, start_ts,
                   n_turns + has_bot::INTEGER AS n_total,
                   CASE WHEN kind = 'agent' THEN -1 WHEN has_bot THEN 2 ELSE 1 END AS fa,
                   unnest(range(n_turns + has_bot::INTEGER)) AS j
            FROM threads
        ), y AS (
            SELECT *,
                   CASE WHEN has_bot AND j = 1 THEN 'bot'
                        WHEN (j - CASE WHEN has_bot AND j > 1 THEN 1 ELSE 0 END
                              + CASE WHEN kind = 'agent' THEN 1 ELSE 0 END) % 2 = 0 THEN 'customer'
                        ELSE 'agent' END AS role,
                   u2(i, j, 20) AS rb
            FROM x
        ), z AS (
            SELECT *,
                   CASE role
                       WHEN 'customer' THEN
                           CASE WHEN j = 0 THEN (CASE WHEN rb < 0.70 THEN 1 WHEN rb < 0.88 THEN 2 ELSE 3 END)
                                ELSE (CASE WHEN rb < 0.84 THEN 1 WHEN rb < 0.95 THEN 2 ELSE 3 END) END
                       WHEN 'agent' THEN CASE WHEN rb < 0.9 THEN 1 ELSE 2 END
                       ELSE 1 END AS burst,
                   (CASE WHEN j = 0 THEN 0
                         WHEN role = 'bot' THEN 2 + h2(i, j, 21) % 25
                         WHEN role = 'agent' THEN least(greatest(round(exp(
                             ln(speed_min * 60 * CASE WHEN j >= 3 THEN 0.6 ELSE 1.0 END)
                             + 1.4 * gauss(i, j, 22))), 45), 129600)
                         ELSE least(greatest(round(exp(ln(420.0) + 1.6 * gauss(i, j, 22))), 10), 172800)
                    END)::BIGINT AS gap,
                   (CASE WHEN role = 'customer' THEN 10 + floor(u2(i, j, 24) ^ 2 * 600)
                         ELSE 20 + floor(u2(i, j, 24) * 150) END)::BIGINT AS bg1,
                   (CASE WHEN role = 'customer' THEN 10 + floor(u2(i, j, 25) ^ 2 * 600)
                         ELSE 20 + floor(u2(i, j, 25) * 150) END)::BIGINT AS bg2
            FROM y
        ), d AS (
            SELECT *, CASE burst WHEN 1 THEN 0 WHEN 2 THEN bg1 ELSE bg1 + bg2 END AS dur FROM z
        ), c AS (
            SELECT *,
                   start_ts + to_seconds((sum(gap + dur) OVER w - dur)::BIGINT) AS t0,
                   (sum(burst) OVER w - burst)::BIGINT AS k0
            FROM d WINDOW w AS (PARTITION BY i ORDER BY j ROWS UNBOUNDED PRECEDING)
        ), s AS (
            -- business-hours accounts mostly answer a night-time first contact the next morning
            SELECT *,
                   CASE WHEN role = 'agent' AND j = fa AND NOT always_on
                             AND (hour(t0 + to_minutes(tz_min)) < 8 OR hour(t0 + to_minutes(tz_min)) >= 20)
                             AND u2(i, j, 26) < 0.85
                        THEN date_diff('second', t0 + to_minutes(tz_min),
                                       date_trunc('day', t0 + to_minutes(tz_min) - INTERVAL 8 HOUR)
                                       + INTERVAL 32 HOUR) + (h2(i, j, 27) % 2400)::BIGINT
                        ELSE 0 END AS shift
            FROM c
        )
        SELECT i, j, role, burst, bg1, bg2, k0, fa, n_total,
               t0 + to_seconds(sum(shift) OVER (PARTITION BY i ORDER BY j ROWS UNBOUNDED PRECEDING)::BIGINT)
                   AS t_turn
        FROM s
    """)


def _kept_threads(con: duckdb.DuckDBPyConnection, n_messages: int) -> int:
    """Keep the first threads (by index) that hold ``n_messages`` messages; returns the messages available."""
    con.execute(f"""
        CREATE OR REPLACE TABLE kept AS
        WITH n AS (SELECT i, sum(burst)::BIGINT AS n FROM turns GROUP BY i),
        b AS (SELECT i, n, (sum(n) OVER (ORDER BY i ROWS UNBOUNDED PRECEDING) - n)::BIGINT AS base FROM n),
        k AS (
            SELECT b.i, b.base, least(b.n, {n_messages} - b.base) AS n_kept, t.channel
            FROM b JOIN threads t USING (i) WHERE b.base < {n_messages}
        )
        SELECT *,
               (sum(n_kept) OVER (PARTITION BY channel ORDER BY i ROWS UNBOUNDED PRECEDING) - n_kept)::BIGINT
                   AS chbase
        FROM k
    """)
    row = con.execute("SELECT coalesce(sum(n_kept), 0)::BIGINT FROM kept").fetchone()
    assert row is not None
    return int(row[0])


def _messages(con: duckdb.DuckDBPyConnection, n_messages: int, platform: bool) -> None:
    """One row per message: role, time, parent index, text and agent (format-independent); with ``platform``, also
    the texts of the platform formats (pbody, pbody_dyi)."""
    platform_texts = (
        "replace(tp.ptxt, '{order}', order_no::VARCHAR) AS pbody, "
        "replace(tp.ptxt_dyi, '{order}', order_no::VARCHAR) AS pbody_dyi,"
        if platform
        else ""
    )
    cases = " ".join(f"WHEN '{cat}' THEN {len(txts)}" for cat, txts in _TEMPLATES.items())
    con.execute(f"""
        CREATE OR REPLACE TABLE msgs AS
        WITH m AS (
            SELECT tu.i, tu.j, tu.role, tu.fa, tu.n_total, tu.k0, tu.t_turn, tu.bg1, tu.bg2, kp.base,
                   unnest(range(tu.burst)) AS w
            FROM turns tu JOIN kept kp USING (i)
        ), m2 AS (
            SELECT m.*, m.k0 + m.w AS k,
                   t_turn + to_seconds(CASE w WHEN 0 THEN 0 WHEN 1 THEN bg1 ELSE bg1 + bg2 END) AS ts
            FROM m WHERE base + k0 + w < {n_messages}
        ), m3 AS (
            SELECT m2.*, t.* EXCLUDE (i),
                   CASE role
                       WHEN 'bot' THEN 'bot'
                       WHEN 'customer' THEN CASE WHEN k = 0 THEN 'c_open' WHEN w > 0 THEN 'c_burst'
                                                 WHEN j = n_total - 1 AND j > 1 AND u2(i, k, 40) < 0.7
                                                     THEN 'c_close'
                                                 ELSE 'c_follow' END
                       ELSE CASE WHEN k = 0 THEN 'a_init' WHEN w > 0 THEN 'a_follow'
                                 WHEN j = fa THEN 'a_first'
                                 WHEN j = n_total - 1 AND u2(i, k, 40) < 0.6 THEN 'a_close'
                                 ELSE 'a_follow' END
                   END AS cat,
                   CASE WHEN u2(i, j, 41) < 0.15 THEN (h2(i, j, 42) % n_agents)::INTEGER ELSE g0 END AS g,
                   CASE WHEN k = 0 THEN NULL
                        WHEN channel = 'twitter' AND w > 0 AND k0 > 0
                             AND u2(i, k, 43) < CASE WHEN role = 'agent' THEN 0.6 ELSE 0.5 END THEN k0 - 1
                        WHEN channel = 'twitter' THEN k - 1
                        WHEN private THEN NULL
                        WHEN channel = 'facebook' THEN 0
                        ELSE k - 1 END AS parent_k
            FROM m2 JOIN threads t USING (i)
        )
        SELECT m3.i, m3.k, m3.base, m3.role, m3.ts, m3.parent_k, m3.channel, m3.private, m3.handle,
               m3.tz_min, m3.tz_suffix, m3.cust_no, m3.post_id, m3.to_jsonl, ag.agent_id, m3.account,
               replace(tp.txt, '{{order}}', order_no::VARCHAR) AS body,
               {platform_texts}
               CASE WHEN role = 'agent' AND u2(i, k, 45) < 0.9 THEN
                   CASE signoff WHEN 'caret' THEN ' ^' || ag.initials WHEN 'dash' THEN ' -' || ag.first_name
                        ELSE '' END
                   ELSE '' END AS sign
        FROM m3
        JOIN templates tp ON tp.cat = m3.cat
            AND tp.idx = h2(i, k, 44) % (CASE m3.cat {cases} END)
        LEFT JOIN agents ag ON ag.account = m3.account AND ag.g = m3.g
    """)
    con.execute("DROP TABLE turns; DROP TABLE threads")


def _write_twcs(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE tw AS
        SELECT base + k + 1 AS tweet_id,
               CASE WHEN role = 'customer' THEN (100000 + cust_no)::VARCHAR ELSE handle END AS author_id,
               CASE WHEN role = 'customer' THEN 'True' ELSE 'False' END AS inbound,
               strftime(ts, '%a %b %d %H:%M:%S +0000 %Y') AS created_at,
               CASE WHEN role = 'customer' THEN '@' || handle || ' ' || body
                    ELSE '@' || (100000 + cust_no)::VARCHAR || ' ' || body || sign END AS text,
               base + parent_k + 1 AS in_response_to_tweet_id
        FROM msgs
    """)
    con.execute(f"""
        COPY (
            WITH ch AS (
                SELECT in_response_to_tweet_id AS p, string_agg(tweet_id::VARCHAR, ',' ORDER BY tweet_id) AS r
                FROM tw WHERE in_response_to_tweet_id IS NOT NULL GROUP BY 1
            )
            SELECT tweet_id, author_id, inbound, created_at, text, ch.r AS response_tweet_id,
                   in_response_to_tweet_id
            FROM tw LEFT JOIN ch ON ch.p = tw.tweet_id
            ORDER BY tweet_id
        ) TO '{_sql_path(path)}' (FORMAT CSV, HEADER true)
    """)
    con.execute("DROP TABLE tw")


def _write_messages(con: duckdb.DuckDBPyConnection, csv_path: Path, jsonl_path: Path) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE canon AS
        WITH s2 AS (
            SELECT msgs.*, kept.chbase + k + 1 AS seq, kept.chbase + parent_k + 1 AS pseq
            FROM msgs JOIN kept USING (i)
        )
        SELECT CASE WHEN channel = 'facebook' AND private THEN 'm_' || seq
                    WHEN channel = 'facebook' THEN post_id || '_' || seq
                    WHEN private THEN 'ig_m_' || seq
                    ELSE (17850000000000000 + seq)::VARCHAR END AS message_id,
               CASE WHEN NOT private THEN NULL
                    WHEN channel = 'facebook' THEN 't_' || (100000000 + i)
                    ELSE 'ig_t_' || (100000000 + i) END AS thread_id,
               CASE WHEN pseq IS NULL THEN NULL
                    WHEN channel = 'facebook' THEN post_id || '_' || pseq
                    ELSE (17850000000000000 + pseq)::VARCHAR END AS parent_message_id,
               channel,
               handle AS account_id,
               CASE WHEN role <> 'customer' THEN handle
                    WHEN channel = 'facebook' THEN (3100000000000000 + cust_no)::VARCHAR
                    ELSE (17841400000000000 + cust_no)::VARCHAR END AS author_id,
               role AS author_role,
               private AS is_private,
               CASE WHEN channel = 'facebook'
                    THEN strftime(ts + to_minutes(tz_min), '%Y-%m-%dT%H:%M:%S') || tz_suffix
                    ELSE strftime(ts, '%Y-%m-%dT%H:%M:%SZ') END AS sent_at,
               body || sign AS text,
               CASE WHEN role = 'agent' AND u2(i, k, 46) < 0.93 THEN agent_id END AS agent_id,
               ts, seq, to_jsonl
        FROM s2
    """)
    con.execute("DROP TABLE msgs")
    cols = (
        "message_id, thread_id, parent_message_id, channel, account_id, author_id, author_role, "
        "is_private, sent_at, text, agent_id"
    )
    order = "ORDER BY ts, channel, seq"
    con.execute(
        f"COPY (SELECT {cols} FROM canon WHERE NOT to_jsonl {order}) "
        f"TO '{_sql_path(csv_path)}' (FORMAT CSV, HEADER true)"
    )
    con.execute(
        f"COPY (SELECT {cols} FROM canon WHERE to_jsonl {order}) TO '{_sql_path(jsonl_path)}' (FORMAT JSON)"
    )
    con.execute("DROP TABLE canon")


def _q(value: str) -> str:
    """A SQL string literal (new lines kept as they are)."""
    return "'" + value.replace("'", "''") + "'"


def _write_lines(con: duckdb.DuckDBPyConnection, select: str, path: Path) -> None:
    """Write the one text column of ``select`` (ordered), one value per line, as it is (JSON Lines)."""
    con.execute(
        f"COPY ({select}) TO '{_sql_path(path)}' "
        "(FORMAT CSV, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x1f')"
    )


def _platform_base(con: duckdb.DuckDBPyConnection) -> None:
    """``plat``: the canonical stream's messages as the platform exports see them (one customer per thread,
    ``cust_key`` telling a facebook customer from an instagram one as the canonical author ids do), and ``people``:
    each customer's name, handle and ids."""
    con.execute("""
        CREATE OR REPLACE TABLE plat AS
        SELECT i, k, base + k AS seq, role, role <> 'customer' AS brand, ts, parent_k, channel, private,
               account::BIGINT AS account, handle, cust_no * 2 + (channel = 'instagram')::BIGINT AS cust_key, pbody || sign AS text,
               pbody_dyi || sign AS text_dyi, post_id
        FROM msgs
    """)
    f, last = len(_CUSTOMER_FIRST), len(_CUSTOMER_LAST)
    con.execute(f"""
        CREATE OR REPLACE TABLE people AS
        WITH c AS (
            SELECT DISTINCT cust_key FROM plat
        ), r AS (
            SELECT cust_key, cust_key % {f} AS fi, (cust_key // {f}) % {last} AS li, cust_key // {f * last} AS n
            FROM c
        ), x AS (
            SELECT r.*,
                   CASE WHEN n = 0 THEN ' ' ELSE ' ' || chr((65 + (n - 1) % 26)::INTEGER) || '. ' END AS mid,
                   CASE WHEN n > 26 THEN ' ' || ((n - 1) // 26 + 1) ELSE '' END AS tail
            FROM r
        )
        SELECT cust_key,
               fn.name || mid || ln.name || tail AS name,
               fn.dyi || mid || ln.dyi || tail AS name_dyi,
               fn.slug || '_' || cust_key AS username,
               fn.slug || ln.slug AS slug,
               (1100000000 + cust_key)::VARCHAR AS twitter_id,
               (6000000000000000 + cust_key)::VARCHAR AS facebook_id
        FROM x
        JOIN name_parts fn ON fn.part = 'first' AND fn.idx = x.fi
        JOIN name_parts ln ON ln.part = 'last' AND ln.idx = x.li
    """)


def _write_twitter_v2(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Twitter/X API v2 responses as twarc2 writes them: one response page a line (JSON Lines).

    - ``search_<handle>_<n>.jsonl``: full-archive search pages (``/2/tweets/search/all``, newest first,
      ``TWEETS_PER_PAGE`` tweets a page): ``data`` (tweets with ``conversation_id``, ``referenced_tweets``
      ``replied_to``, ``in_reply_to_user_id``, ``entities.mentions``, ``edit_history_tweet_ids``),
      ``includes.users`` (every user the page's tweets name) and ``meta`` (``newest_id``, ``oldest_id``,
      ``result_count``, ``next_token`` but on the last page). Public threads of the conversations; a customer
      tweet starts ``@<brand>``, a brand tweet ``@<customer>``.
    - ``dm_events_<handle>_<n>.jsonl``: the brand's ``/2/dm_events`` pages: ``MessageCreate`` events with
      ``sender_id`` and ``dm_conversation_id`` (``<brand id>-<customer id>``: one conversation per customer, so a
      customer's private threads share it) and ``includes.users`` (the brand and the page's customers).

    Ids are snowflakes (time and sequence); the brand's user id is ``14000000 + account``, its username the
    handle; ``PAGES_PER_FILE`` pages a file, per account.
    """
    folder.mkdir(parents=True, exist_ok=True)
    con.execute(f"""
        CREATE OR REPLACE TABLE tw_msgs AS
        WITH s AS (
            SELECT p.*, ((epoch_ms(p.ts) + (p.seq // 4194304) % 1000 - {_SNOWFLAKE_EPOCH_MS}) * 4194304
                         + p.seq % 4194304)::VARCHAR AS id
            FROM plat p
        ), x AS (
            SELECT c.*, pe.name, pe.username, pe.twitter_id AS cust_id, (14000000 + c.account)::VARCHAR AS brand_id,
                   par.id AS parent_id, par.brand AS parent_brand, root.id AS root_id,
                   strftime(c.ts, '%Y-%m-%dT%H:%M:%S.000Z') AS created_at
            FROM s c
            JOIN people pe USING (cust_key)
            LEFT JOIN s par ON par.i = c.i AND par.k = c.parent_k AND NOT c.private
            LEFT JOIN s root ON root.i = c.i AND root.k = 0 AND NOT c.private
        ), y AS (
            SELECT *,
                   CASE WHEN brand THEN brand_id ELSE cust_id END AS author_id,
                   CASE WHEN brand THEN username ELSE handle END AS mention,
                   CASE WHEN brand THEN cust_id ELSE brand_id END AS mention_id,
                   CASE WHEN parent_brand THEN brand_id ELSE cust_id END AS parent_author_id
            FROM x
        )
        SELECT account, handle, private AS dm, seq, ts, brand_id, cust_id, id,
               json_object('id', brand_id, 'name', handle, 'username', handle)::VARCHAR AS brand_user,
               json_object('id', cust_id, 'name', name, 'username', username)::VARCHAR AS cust_user,
               CASE
                   WHEN private THEN json_object(
                       'id', id, 'event_type', 'MessageCreate', 'text', text, 'sender_id', author_id,
                       'dm_conversation_id', brand_id || '-' || cust_id, 'created_at', created_at)
                   WHEN parent_id IS NULL THEN json_object(
                       'edit_history_tweet_ids', [id], 'id', id, 'conversation_id', root_id, 'author_id', author_id,
                       'created_at', created_at, 'text', '@' || mention || ' ' || text,
                       'entities', json_object('mentions', [json_object(
                           'start', 0, 'end', length(mention) + 1, 'username', mention, 'id', mention_id)]))
                   ELSE json_object(
                       'edit_history_tweet_ids', [id], 'id', id, 'conversation_id', root_id, 'author_id', author_id,
                       'created_at', created_at, 'text', '@' || mention || ' ' || text,
                       'entities', json_object('mentions', [json_object(
                           'start', 0, 'end', length(mention) + 1, 'username', mention, 'id', mention_id)]),
                       'in_reply_to_user_id', parent_author_id,
                       'referenced_tweets', [json_object('type', 'replied_to', 'id', parent_id)])
               END::VARCHAR AS j
        FROM y
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE tw_pages AS
        WITH r AS (
            SELECT *, (row_number() OVER (PARTITION BY account, dm ORDER BY ts DESC, seq DESC) - 1)
                          // {TWEETS_PER_PAGE} AS page
            FROM tw_msgs
        ), u AS (
            SELECT account, dm, page, string_agg(u, ',' ORDER BY uid::BIGINT) AS users
            FROM (
                SELECT DISTINCT account, dm, page, brand_id AS uid, brand_user AS u FROM r
                UNION
                SELECT DISTINCT account, dm, page, cust_id, cust_user FROM r
            )
            GROUP BY ALL
        ), p AS (
            SELECT account, any_value(handle) AS handle, dm, page, count(*) AS n,
                   arg_max(id, (ts, seq)) AS newest_id, arg_min(id, (ts, seq)) AS oldest_id,
                   string_agg(j, ',' ORDER BY ts DESC, seq DESC) AS data
            FROM r GROUP BY ALL
        ), m AS (
            SELECT p.*, u.users, page = max(page) OVER (PARTITION BY account, dm) AS is_last,
                   substr(md5(handle || ':' || dm || ':' || page), 1, 26) AS token
            FROM p JOIN u USING (account, dm, page)
        )
        SELECT account, handle, dm, page, page // {PAGES_PER_FILE} AS file,
               '{{"data":[' || data || '],"includes":{{"users":[' || users || ']}},"meta":{{'
               || CASE WHEN dm THEN '' ELSE '"newest_id":"' || newest_id || '","oldest_id":"' || oldest_id || '",' END
               || '"result_count":' || n
               || CASE WHEN is_last THEN '' ELSE ',"next_token":"' || token || '"' END || '}}}}' AS line
        FROM m
    """)
    files = con.execute("SELECT DISTINCT account, handle, dm, file FROM tw_pages ORDER BY ALL").fetchall()
    for account, handle, dm, file in files:
        name = f"{'dm_events' if dm else 'search'}_{handle}_{file + 1:04d}.jsonl"
        _write_lines(
            con,
            f"SELECT line FROM tw_pages WHERE account = {account} AND dm = {dm} AND file = {file} ORDER BY page",
            folder / name,
        )
    con.execute("DROP TABLE tw_msgs; DROP TABLE tw_pages")


def _write_facebook_graph(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Facebook Graph API pages, one response page a line (JSON Lines), per page (brand):

    - ``conversations_<handle>_<n>.jsonl``: ``/<page-id>/conversations?fields=participants,messages{message,from,
      to,created_time,id}``, ``CONVERSATIONS_PER_PAGE`` conversations a page, the latest updated first. One
      conversation per customer (``t_...``; the customer's private threads share it), holding its messages newest
      first, each with ``from`` and ``to`` (name, email, id). The private threads of the conversations.
    - ``comments_<handle>_<n>.jsonl``: ``/<post-id>/comments?filter=stream&fields=from,message,created_time,id,
      parent``, one post's comments a page (``COMMENTS_PER_PAGE``, oldest first); a reply's ``parent`` is the
      thread's first comment (Facebook has two levels of comments). The public threads.

    The page's id is ``104000000000000 + account``, its name the handle; ``created_time`` is
    ``2024-03-01T09:15:00+0000``; ``paging`` has cursors and, but on the last page, ``next``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    graph = "https://graph.facebook.com/v19.0/"
    con.execute("""
        CREATE OR REPLACE TABLE fb_msgs AS
        SELECT p.*, pe.facebook_id AS cust_id, (104000000000000 + p.account)::VARCHAR AS page_id,
               json_object('name', pe.name, 'email', pe.facebook_id || '@facebook.com', 'id', pe.facebook_id)
                   ::VARCHAR AS cust_obj,
               json_object('name', p.handle, 'email', (104000000000000 + p.account) || '@facebook.com',
                           'id', (104000000000000 + p.account)::VARCHAR)::VARCHAR AS page_obj,
               strftime(p.ts, '%Y-%m-%dT%H:%M:%S+0000') AS created_time,
               pe.name
        FROM plat p JOIN people pe USING (cust_key)
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE fb_pages AS
        WITH m AS (
            SELECT *,
                   json_object('id', 'm_mid.' || epoch_ms(ts) || ':' || lpad(lower(hex(seq)), 10, '0'),
                               'created_time', created_time,
                               'from', (CASE WHEN brand THEN page_obj ELSE cust_obj END)::JSON,
                               'to', json_object('data', [(CASE WHEN brand THEN cust_obj ELSE page_obj END)::JSON]),
                               'message', text)::VARCHAR AS j
            FROM fb_msgs WHERE private
        ), c AS (
            SELECT account, any_value(handle) AS handle, any_value(page_id) AS page_id, cust_key,
                   max((ts, seq)) AS updated,
                   '{{"id":"t_' || (1000000000000000 + account * 1000000000 + cust_key) || '","participants":{{"data":['
                   || any_value(cust_obj) || ',' || any_value(page_obj) || ']}},"messages":{{"data":['
                   || string_agg(j, ',' ORDER BY ts DESC, seq DESC) || '],"paging":{{"cursors":{{"before":"'
                   || substr(md5('b' || account || ':' || cust_key), 1, 20) || '","after":"'
                   || substr(md5('a' || account || ':' || cust_key), 1, 20) || '"}}}}}}}}' AS conv
            FROM m GROUP BY account, cust_key
        ), r AS (
            SELECT *, (row_number() OVER (PARTITION BY account ORDER BY updated DESC, cust_key) - 1)
                          // {CONVERSATIONS_PER_PAGE} AS page
            FROM c
        ), p AS (
            SELECT account, any_value(handle) AS handle, any_value(page_id) AS page_id, page,
                   string_agg(conv, ',' ORDER BY updated DESC, cust_key) AS data,
                   substr(md5('conversations:' || account || ':' || page), 1, 24) AS after
            FROM r GROUP BY account, page
        )
        SELECT 'conversations' AS kind, account, handle, page AS seq, page // {PAGES_PER_FILE} AS file,
               '{{"data":[' || data || '],"paging":{{"cursors":{{"before":"' || md5('b' || after)[:24]
               || '","after":"' || after || '"}}'
               || CASE WHEN page = max(page) OVER (PARTITION BY account) THEN '' ELSE ',"next":"' || '{graph}'
                       || page_id || '/conversations?fields=participants,messages%7Bmessage,from,to,created_time,id'
                       || '%7D&limit={CONVERSATIONS_PER_PAGE}&after=' || after || '"' END
               || '}}}}' AS line
        FROM p
    """)
    con.execute(f"""
        INSERT INTO fb_pages
        WITH m AS (
            SELECT f.*, (f.post_id + 121000000000000)::VARCHAR AS post,
                   (f.post_id + 121000000000000) || '_' || (1000000000000000 + f.seq) AS cid,
                   (f.post_id + 121000000000000) || '_' || (1000000000000000 + f.seq - f.k) AS root_cid
            FROM fb_msgs f WHERE NOT private
        ), j AS (
            SELECT *,
                   CASE WHEN k = 0 THEN json_object(
                            'id', cid, 'from', json_object('name', CASE WHEN brand THEN handle ELSE name END,
                                                           'id', CASE WHEN brand THEN page_id ELSE cust_id END),
                            'message', text, 'created_time', created_time)
                        ELSE json_object(
                            'id', cid, 'from', json_object('name', CASE WHEN brand THEN handle ELSE name END,
                                                           'id', CASE WHEN brand THEN page_id ELSE cust_id END),
                            'message', text, 'created_time', created_time, 'parent', json_object('id', root_cid))
                   END::VARCHAR AS j,
                   (row_number() OVER (PARTITION BY account, post ORDER BY ts, seq) - 1) // {COMMENTS_PER_PAGE}
                       AS page
            FROM m
        ), p AS (
            SELECT account, any_value(handle) AS handle, post, page,
                   string_agg(j, ',' ORDER BY ts, seq) AS data,
                   substr(md5('comments:' || post || ':' || page), 1, 24) AS after
            FROM j GROUP BY account, post, page
        ), n AS (
            SELECT *, row_number() OVER (PARTITION BY account ORDER BY post, page) - 1 AS seq,
                   page = max(page) OVER (PARTITION BY account, post) AS is_last
            FROM p
        )
        SELECT 'comments', account, handle, seq, seq // {PAGES_PER_FILE},
               '{{"data":[' || data || '],"paging":{{"cursors":{{"before":"' || md5('b' || after)[:24]
               || '","after":"' || after || '"}}'
               || CASE WHEN is_last THEN '' ELSE ',"next":"' || '{graph}' || post
                       || '/comments?filter=stream&fields=from,message,created_time,id,parent&limit='
                       || '{COMMENTS_PER_PAGE}&after=' || after || '"' END
               || '}}}}'
        FROM n
    """)
    files = con.execute("SELECT DISTINCT kind, account, handle, file FROM fb_pages ORDER BY ALL").fetchall()
    for kind, account, handle, file in files:
        _write_lines(
            con,
            f"SELECT line FROM fb_pages WHERE kind = '{kind}' AND account = {account} AND file = {file} ORDER BY seq",
            folder / f"{kind}_{handle}_{file + 1:04d}.jsonl",
        )
    con.execute("DROP TABLE fb_msgs; DROP TABLE fb_pages")


# The inbox file, pretty-printed as the export writes it (two-space indent).
_DYI_HEAD = '{\n  "participants": [\n    {\n      "name": "'
_DYI_MID = '"\n    },\n    {\n      "name": "'
_DYI_MESSAGES = '"\n    }\n  ],\n  "messages": [\n'
_DYI_MESSAGE = (
    '    {\n      "sender_name": "',
    '",\n      "timestamp_ms": ',
    ',\n      "content": "',
    '",\n      "is_geoblocked_for_viewer": false\n    }',
)
_DYI_TITLE = '\n  ],\n  "title": "'
_DYI_PATH = '",\n  "is_still_participant": true,\n  "thread_path": "inbox/'
_DYI_TAIL = '",\n  "magic_words": []\n}'


def _write_messenger_dyi(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """ "Download your information" inboxes, one per brand and platform: ``facebook-<handle>/your_facebook_activity/
    messages/inbox/<thread>/message_1.json`` and ``instagram-<handle>/your_instagram_activity/messages/inbox/...``
    (the parser tells Instagram by the path).

    One thread (folder ``<name><id>``) per customer, holding every message between the brand and that customer
    (public threads included: the export has only messages), newest first, with ``sender_name`` (the brand's name
    is its handle), ``timestamp_ms`` and ``content``; names and texts in the export's Latin-1 mojibake, escaped as
    ``\\u00XX``. The export splits a thread of more than 10,000 messages into ``message_2.json``...; a generated
    customer never has that many, so each thread is one file. Written by Python, one file at a time: a million
    messages are some 130,000 folders.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sender, stamp, content, end = (_q(part) for part in _DYI_MESSAGE)
    con.execute(f"""
        CREATE OR REPLACE TABLE dyi_files AS
        WITH m AS (
            SELECT p.*, pe.name_dyi, pe.slug || '_' || (10000000000 + p.account * 1000000000 + p.cust_key) AS thread
            FROM plat p JOIN people pe USING (cust_key)
        ), t AS (
            SELECT channel, account, any_value(handle) AS handle, cust_key, any_value(thread) AS thread,
                   any_value(name_dyi) AS name,
                   string_agg({sender} || CASE WHEN brand THEN handle ELSE name_dyi END || {stamp} || epoch_ms(ts)
                              || {content} || text_dyi || {end}, ',' || chr(10) ORDER BY ts DESC, seq DESC) AS msgs
            FROM m GROUP BY channel, account, cust_key
        )
        SELECT channel || '-' || lower(handle) || '/your_' || channel || '_activity/messages/inbox/' || thread
                   || '/message_1.json' AS path,
               {_q(_DYI_HEAD)} || name || {_q(_DYI_MID)} || handle || {_q(_DYI_MESSAGES)} || msgs || {_q(_DYI_TITLE)}
                   || name || {_q(_DYI_PATH)} || thread || {_q(_DYI_TAIL)} AS content
        FROM t
    """)
    cursor = con.execute("SELECT path, content FROM dyi_files ORDER BY path")
    made: set[Path] = set()
    while batch := cursor.fetchmany(5000):
        for relative, text in batch:
            path = folder / relative
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_bytes(text.encode("utf-8"))
    con.execute("DROP TABLE dyi_files")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _build(
    con: duckdb.DuckDBPyConnection,
    messages: int,
    days: int,
    start: date,
    seed: int,
    stream: int,
    platform: bool = False,
) -> None:
    """Fill ``msgs`` with exactly ``messages`` messages of one stream (0 = twitter, 1 = canonical); ``platform``:
    with the platform formats' texts too."""
    _macros(con, seed, stream)
    total_w = _buckets(con, days, start)
    n_threads = math.ceil(messages / _EST_MESSAGES_PER_THREAD * 1.05) + 64
    while True:
        _threads(con, n_threads, total_w, start, twitter=stream == 0)
        _turns(con)
        if _kept_threads(con, messages) >= messages:
            break
        n_threads = n_threads * 3 // 2
    _messages(con, messages, platform)


def generate(
    out_dir: Path,
    messages: int = 3000,
    days: int = 14,
    accounts: int = 3,
    seed: int = 42,
    start: date = date(2024, 3, 1),
    formats: tuple[str, ...] = DEFAULT_FORMATS,
) -> dict[str, Path]:
    """Write the sample exports under ``out_dir``; returns what was written: {"twcs", "messages_csv",
    "messages_jsonl"} -> file, {"twitter_v2", "facebook_graph", "messenger_dyi"} -> the format's folder (files of an
    earlier run there are left alone).

    Each format gets ``messages`` messages over ``days`` days from ``start`` (UTC) for ``accounts`` brands.
    """
    unknown = set(formats) - set(FORMATS)
    if unknown or not formats:
        raise ValueError(f"unknown formats: {sorted(unknown)} (expected some of {FORMATS})")
    if messages < 1 or days < 1 or accounts < 1:
        raise ValueError("messages, days and accounts must be >= 1")
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    platforms = [f for f in FORMATS[2:] if f in formats]
    with tempfile.TemporaryDirectory(prefix="generate-") as tmp:
        con = duckdb.connect(config={"temp_directory": tmp, "preserve_insertion_order": True})
        try:
            _setup(con, accounts, seed)
            if "twcs" in formats:
                path = out_dir / TWCS_FILE
                path.parent.mkdir(parents=True, exist_ok=True)
                _build(con, messages, days, start, seed, stream=0)
                _write_twcs(con, path)
                con.execute("DROP TABLE msgs")
                written["twcs"] = path
            if "messages" in formats or platforms:
                # The platform formats are the canonical stream's conversations, written in other shapes.
                _build(con, messages, days, start, seed, stream=1, platform=bool(platforms))
                if platforms:
                    _platform_base(con)
                if "messages" in formats:
                    csv_path, jsonl_path = out_dir / MESSAGES_CSV_FILE, out_dir / MESSAGES_JSONL_FILE
                    csv_path.parent.mkdir(parents=True, exist_ok=True)
                    _write_messages(con, csv_path, jsonl_path)  # drops msgs
                    written["messages_csv"], written["messages_jsonl"] = csv_path, jsonl_path
                else:
                    con.execute("DROP TABLE msgs")
            if platforms:
                writers = {
                    "twitter_v2": _write_twitter_v2,
                    "facebook_graph": _write_facebook_graph,
                    "messenger_dyi": _write_messenger_dyi,
                }
                for name in platforms:
                    writers[name](con, out_dir / name)
                    written[name] = out_dir / name
                con.execute("DROP TABLE plat; DROP TABLE people")
        finally:
            con.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Write deterministic sample social customer-care exports.")
    parser.add_argument("--messages", type=int, default=3000, help="messages per format (default 3000)")
    parser.add_argument("--days", type=int, default=14, help="days covered (default 14)")
    parser.add_argument("--accounts", type=int, default=3, help="brand support accounts (default 3)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2024, 3, 1),
        help="first day, YYYY-MM-DD (default 2024-03-01)",
    )
    parser.add_argument("--out", type=Path, default=Path("data/landing"), help="landing directory")
    parser.add_argument(
        "--formats",
        default=",".join(DEFAULT_FORMATS),
        help=f"comma-separated, any of {','.join(FORMATS)} (default {','.join(DEFAULT_FORMATS)})",
    )
    args = parser.parse_args(argv)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    began = time.perf_counter()
    try:
        written = generate(
            args.out,
            messages=args.messages,
            days=args.days,
            accounts=args.accounts,
            seed=args.seed,
            start=args.start,
            formats=formats,
        )
    except ValueError as exc:
        parser.error(str(exc))
    for name, path in written.items():
        print(f"{name}: {path}")
    print(f"done in {time.perf_counter() - began:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
