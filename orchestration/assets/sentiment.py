"""Sentiment: every customer message of the raw tables scored with VADER into raw.message_sentiment.

Incremental: a message is scored once per text (an edited message is scored again); scores of messages no longer
in raw are dropped. A nightly run looks only at the messages of the newly loaded files, unless raw changed in
another way (then every message is compared). See orchestration/sentiment.py.
"""

import time

import dagster as dg

from orchestration.resources import WarehouseResource
from orchestration.sentiment import SCORER, TABLE, score_new_messages


@dg.asset(
    key=["raw", "message_sentiment"],
    group_name="ingest",
    deps=[
        dg.AssetKey(["raw", table])
        for table in (
            "twcs_messages",
            "messages",
            "twitter_v2_messages",
            "facebook_graph_messages",
            "messenger_dyi_messages",
        )
    ],
    kinds={"python", "duckdb"},
    pool="warehouse",
    description=(
        "VADER scores (compound, pos, neu, neg) of every customer message, keyed by message_key "
        "(channel:message_id); only new or edited texts are scored, and a nightly run reads only the new files' "
        "messages."
    ),
)
def message_sentiment(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    start = time.perf_counter()
    with warehouse.connect() as con:
        counts = score_new_messages(con)
    seconds = time.perf_counter() - start
    context.log.info(
        f"{counts['scored']} customer messages scored ({counts['distinct_texts_scored']} distinct texts), "
        f"{counts['skipped_already_scored']} already scored, {counts['deleted']} scores of removed messages "
        f"dropped, in {seconds:.1f} s ({counts['mode']}: {counts['reason']})"
    )
    return dg.MaterializeResult(
        metadata={
            "scored": counts["scored"],
            "skipped": counts["skipped_already_scored"],
            "deleted": counts["deleted"],
            "distinct_texts_scored": counts["distinct_texts_scored"],
            "rows_per_second": round(counts["scored"] / seconds) if seconds > 0 else 0,
            "seconds": round(seconds, 3),
            "dagster/row_count": counts["total_customer_messages"],
            "mode": counts["mode"],
            "reason": counts["reason"],
            "scorer": SCORER,
            "table": TABLE,
        }
    )
