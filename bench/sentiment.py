"""Sentiment scoring speed: the reference VADER package on one core against ``score_texts`` on a pool of workers,
and a whole ``score_new_messages`` run (then an incremental one with nothing new) on a warehouse of N messages.

Usage: ``python -m bench.sentiment --messages 200000 [--workers 2] [--seed 7]``

Texts are generated deterministically (``customer_texts``): social-media customer messages built from templates
with order numbers, handles, emoji, ALL CAPS, negations, slang and punctuation runs; a share of them are exact
repeats ("DM sent", "any update?"), as in real exports. The result depends on what else the machine runs: the
load average is printed with it.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import duckdb

from orchestration.loader import ensure_raw_schema
from orchestration.sentiment import SCORER, polarity, reference_scores, score_new_messages, score_texts

_HANDLES = ("@AcmeSupport", "@NimbusHelp", "@Orbit_Care", "@ZenithCares", "@JuniperAir", "@KestrelMobile")
_OPENERS = ("", "", "", "hi ", "Hi, ", "hey ", "Hello, ", "HELLO?? ", "ok so ", "Ugh. ", "um ")
_BODIES = (
    "my order #{order} still hasn't arrived. it's been {n} weeks",
    "I was charged twice for order {order}, can you help?",
    "your app keeps crashing when I try to log in. already reinstalled it {n} times",
    'the tracking page says "delivered" but there is nothing here, what now?',
    "is there an outage right now? nothing loads on my side",
    "I need to change the delivery address on order {order}",
    "how do I cancel my subscription? can't find it anywhere in settings",
    "worst customer service ever, {n} calls and still no refund",
    "can someone help me reset my password? the reset email never comes",
    "I've been on hold for {n} minutes. is anyone actually working today?",
    "got the wrong size (ordered M, got XL). how do I exchange it?",
    "love the new update but where did dark mode go?",
    "my card was declined but the money left my account",
    "where is my refund?? it's been {n} business days",
    "the promo code SPRING{n} isn't working at checkout",
    "my package arrived damaged; the box was crushed and the glass is broken",
    'why does my bill say "late fee" when I paid on time?',
    "can I talk to a human please",
    "your website says in stock, then out of stock at checkout. which one is it",
    "been trying to reach you for {n} days. nobody answers the phone",
    "thank you so much, the agent was super helpful and fixed it in minutes",
    "great job on the new checkout, really smooth",
    "not happy at all. this is not what I paid for",
    "never flying with you again. lost my bag AND missed my connection",
    "honestly the best support team, you guys rock",
    "flight {order} delayed again with no explanation, absolutely ridiculous",
    "no wifi, no food, no apology. kinda disappointed tbh",
    "it's not bad, but it's not great either",
    "the driver was rude and cancelled on me twice",
    "wow that was fast, problem solved, thanks a lot",
    "I don't understand why this is so hard",
    "at least the refund came through, finally",
    "phone system seems to be down",
    "still no signal in my area since yesterday. paying for nothing",
    "battery drains in {n} hours after the update, please fix this",
    "you charged me a fee I never agreed to. I want my money back",
    "could you please check my account? the email is the one on file",
    "the new feature is awesome but the app is slow as hell",
)
_PUNCTUATION_TAILS = (".", "!", "!!!", "??", "...", " :(", " :)")
_TAILS = ("",) * 4 + _PUNCTUATION_TAILS + (" smh", " lol", " wtf", " pls", " thx", " #fail")
_EMOJI = ("😡", "🙏", "😊", "👍", "💔", "🤷🏻\u200d♀️", "😂", "🔥", "😤", "🙄", "❤️", "😭", "👏", "🤬", "😍")
_SHORT_REPEATS = (
    "DM sent",
    "Thanks!",
    "thank you",
    "any update?",
    "hello??",
    "Still waiting...",
    "?",
    "ok thanks",
    "Done",
    "",
    "This is ridiculous",
    "Yes",
    "No",
    "Please help",
)


def customer_texts(count: int, seed: int = 7, repeat_share: float = 0.15) -> list[str]:
    """``count`` customer messages, the same for the same arguments; ``repeat_share`` of them are short stock
    phrases that recur (the rest are almost all distinct)."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        if rng.random() < repeat_share:
            texts.append(rng.choice(_SHORT_REPEATS))
            continue
        parts = [rng.choice(_OPENERS)]
        if rng.random() < 0.6:
            parts.insert(0, rng.choice(_HANDLES) + " ")
        for k in range(1 if rng.random() < 0.7 else rng.randint(2, 4)):
            body = rng.choice(_BODIES).format(order=rng.randint(10_000, 99_999_999), n=rng.randint(2, 90))
            if rng.random() < 0.12:
                body = body.upper()
            elif rng.random() < 0.25:
                words = body.split()
                w = rng.randrange(len(words))
                words[w] = words[w].upper()
                body = " ".join(words)
            parts.append(("" if k == 0 else ". ") + body)
        parts.append(rng.choice(_TAILS))
        if rng.random() < 0.3:
            parts.append(" " + "".join(rng.choice(_EMOJI) for _ in range(rng.randint(1, 3))))
        if rng.random() < 0.1:
            parts.append(f" https://t.co/{rng.getrandbits(40):x}")
        texts.append("".join(parts))
    return texts


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def warehouse_with(con: duckdb.DuckDBPyConnection, texts: Sequence[str]) -> None:
    """Raw tables holding ``texts`` as customer messages, half tweets and half canonical messages, with one agent
    reply to every fourth message (not scored)."""
    ensure_raw_schema(con)
    half = len(texts) // 2
    loaded_at = datetime(2026, 1, 1)
    con.execute(
        """
        insert into raw.twcs_messages
        select (1000000 + i)::varchar, 'c' || i, true, timestamp '2025-06-01', t, null, null,
            'twcs/bench.csv', 'x', i, ?
        from (select unnest(?) as t, unnest(range(?)) as i)
        """,
        [loaded_at, list(texts[:half]), half],
    )
    con.execute(
        """
        insert into raw.messages
        select (5000000 + i)::varchar, null, null, 'facebook', 'acme', 'c' || i, 'customer', false,
            timestamp '2025-06-01', t, null, 'messages/bench.csv', 'x', i, ?
        from (select unnest(?) as t, unnest(range(?)) as i)
        """,
        [loaded_at, list(texts[half:]), len(texts) - half],
    )
    con.execute(
        """
        insert into raw.messages
        select (9000000 + i)::varchar, null, null, 'facebook', 'acme', 'acme', 'agent', false,
            timestamp '2025-06-01', 'Sorry to hear that! Please DM us.', null, 'messages/bench.csv', 'x', i, ?
        from range(?) as r(i)
        """,
        [loaded_at, len(texts) // 4],
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--reference-sample", type=int, default=50_000, help="messages the (slow) reference scores"
    )
    args = parser.parse_args(argv)
    texts = customer_texts(args.messages, args.seed)
    distinct = len(set(texts))
    sample = texts[: args.reference_sample]
    load_before = os.getloadavg()

    reference, t_ref = _timed(lambda: [reference_scores(t) for t in sample])
    own, t_own = _timed(lambda: [polarity(t) for t in sample])
    if own != reference:
        raise SystemExit("polarity() differs from the reference: not benchmarking a wrong result")
    parallel, t_par = _timed(lambda: score_texts(texts, args.workers))
    if parallel[: len(sample)] != reference:
        raise SystemExit("score_texts() differs from the reference")
    # Every text distinct: nothing to save by deduplicating.
    unique = [f"{t} #{i}" for i, t in enumerate(texts)]
    _, t_unique = _timed(lambda: score_texts(unique, args.workers))

    con = duckdb.connect()
    warehouse_with(con, texts)
    first, t_first = _timed(lambda: score_new_messages(con, args.workers))
    second, t_second = _timed(lambda: score_new_messages(con, args.workers))
    rows = con.execute("select count(*), count(distinct scorer) from raw.message_sentiment").fetchone()
    con.close()
    load_after = os.getloadavg()

    ref_rate = _rate(len(sample), t_ref)
    lines = [
        ("reference polarity_scores, 1 process", len(sample), t_ref),
        ("polarity (this repo), 1 process", len(sample), t_own),
        (f"score_texts, {args.workers} workers", len(texts), t_par),
        (f"score_texts, {args.workers} workers, all texts distinct", len(unique), t_unique),
        (f"score_new_messages, first run ({first['scored']} scored)", len(texts), t_first),
        (f"score_new_messages, second run ({second['scored']} scored)", len(texts), t_second),
    ]
    print(f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {_cpu_model()}")
    print(f"scorer: {SCORER}; {len(texts)} messages, {distinct} distinct texts; seed {args.seed}")
    print(f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    print()
    print(f"| {'run':<58} | {'messages':>9} | {'seconds':>8} | {'messages/s':>10} | {'vs reference':>12} |")
    print(f"|{'-' * 60}|{'-' * 11}|{'-' * 10}|{'-' * 12}|{'-' * 14}|")
    for name, count, seconds in lines:
        rate = _rate(count, seconds)
        print(f"| {name:<58} | {count:>9} | {seconds:>8.3f} | {rate:>10,.0f} | {rate / ref_rate:>11.2f}x |")
    print()
    print(f"raw.message_sentiment: {rows[0]} rows; identical to the reference on {len(sample)} messages")


if __name__ == "__main__":
    main()
