"""Report: a short KPI summary of the marts, per account and channel, over everything up to as_of."""

import dagster as dg
import duckdb

from orchestration.resources import WarehouseResource

SUMMARY_SQL = """
select
    account_id,
    channel,
    sum(conversations) as conversations,
    sum(answered_conversations) as answered,
    round(100.0 * sum(answered_conversations) / nullif(sum(answered_conversations + unanswered_conversations), 0), 1)
        as response_rate_pct,
    round(100.0 * sum(answered_within_60m) / nullif(sum(offered_60m), 0), 1) as within_60m_pct,
    sum(resolved_conversations) as resolved,
    min(activity_date) as first_day,
    max(activity_date) as last_day
from marts.kpi_daily
group by account_id, channel
order by account_id, channel
"""
MEDIAN_SQL = """
select account_id, channel, round(median(first_reply_seconds) / 60.0, 1) as median_first_reply_min
from marts.fct_first_replies
group by account_id, channel
"""


def kpi_summary_rows(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """One dict per account x channel: conversations, answered, response rate, share within 60 min, median FRT."""
    medians = {(a, c): m for a, c, m in con.execute(MEDIAN_SQL).fetchall()}
    cursor = con.execute(SUMMARY_SQL)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["median_first_reply_min"] = medians.get((row["account_id"], row["channel"]))
    return rows


def format_summary(rows: list[dict[str, object]]) -> str:
    """A plain-text table for the terminal."""
    if not rows:
        return "No customer-initiated conversations in the warehouse yet."
    headers = list(rows[0])
    cells = [[("" if r[h] is None else str(r[h])) for h in headers] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


@dg.asset(
    key=["report", "kpi_summary"],
    group_name="report",
    deps=[dg.AssetKey(["marts", "kpi_daily"]), dg.AssetKey(["marts", "fct_first_replies"])],
    kinds={"duckdb"},
    pool="warehouse",
    description="Per account and channel: conversations, response rate, share answered within 60 min, median FRT.",
)
def kpi_summary(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as con:
        rows = kpi_summary_rows(con)
    text = format_summary(rows)
    context.log.debug("KPI summary\n" + text)
    return dg.MaterializeResult(
        metadata={"summary": dg.MetadataValue.md("```\n" + text + "\n```"), "accounts": len(rows)}
    )
