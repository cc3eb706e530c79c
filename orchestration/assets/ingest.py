"""Ingest: one asset per landing format (loader.FORMATS), each loading its sub-folder into the raw table of the same name.

The asset keys (raw/twcs_messages, raw/messages) are the dbt source keys, so the dbt models hang below them.
Daily partitions (UTC): the partition of day D loads the files delivered up to D (orchestration/deliveries.py).
"""

from datetime import date

import dagster as dg

from orchestration.config import Settings
from orchestration.deliveries import daily_partitions
from orchestration.loader import FORMATS, FileResult, LandingFormat, load_folder, summarize
from orchestration.resources import WarehouseResource


def _ingest(context: dg.AssetExecutionContext, warehouse: WarehouseResource, fmt: LandingFormat):
    landing_dir = Settings.from_env().landing_dir
    through_day = date.fromisoformat(context.partition_key) if context.has_partition_key else None
    with warehouse.connect() as con:
        results = load_folder(con, landing_dir, fmt, through_day=through_day)
        total_rows = con.execute(f"select count(*) from raw.{fmt.table}").fetchone()[0]
    for result in results:
        _log(context, result)
    failed = [r for r in results if r.status == "failed"]
    table = "\n".join(
        f"| {r.file} | {r.status} | {r.rows_read} | {r.rows_loaded} | {r.rows_rejected} | {r.rows_erased} "
        f"| {r.error or ''} |"
        for r in results
        if r.status != "skipped"
    )
    return dg.MaterializeResult(
        metadata={
            **summarize(results),
            "dagster/row_count": total_rows,
            "landing_folder": dg.MetadataValue.path(str(landing_dir / fmt.name)),
            "files": dg.MetadataValue.md(
                "| file | status | read | loaded | rejected | erased | error |\n|---|---|---|---|---|---|---|\n"
                + table
            ),
            "failed_files": dg.MetadataValue.json({r.file: r.error for r in failed}),
        }
    )


def _log(context: dg.AssetExecutionContext, result: FileResult) -> None:
    if result.status == "failed":
        context.log.error(f"{result.file}: not loaded: {result.error}")
    elif result.status == "loaded":
        message = (
            f"{result.file}: {result.rows_read} rows read, {result.rows_loaded} loaded, "
            f"{result.rows_rejected} rejected (see raw.rejected_rows)"
            + (f", {result.rows_erased} of erased customers dropped" if result.rows_erased else "")
        )
        (context.log.warning if result.rows_rejected else context.log.info)(message)
    else:
        context.log.info(f"{result.file}: already loaded, skipped")


DESCRIPTIONS = {
    "twcs": "Tweets from 'Customer Support on Twitter' CSV exports in the landing folder twcs/.",
    "messages": "Canonical messages (CSV or JSON Lines) from the landing folder messages/.",
    "twitter_v2": "Tweets and DM events from Twitter/X API v2 responses in the landing folder twitter_v2/.",
    "facebook_graph": "Facebook Graph page conversations and post comments in the landing folder facebook_graph/.",
    "messenger_dyi": "Messenger/Instagram 'Download your information' inboxes in the landing folder messenger_dyi/.",
}


def ingest_asset(fmt: LandingFormat) -> dg.AssetsDefinition:
    """The asset that loads one landing format: key raw/<table>, the dbt source of the same name."""

    @dg.asset(
        key=["raw", fmt.table],
        group_name="ingest",
        kinds={"python", "duckdb"},
        pool="warehouse",
        description=DESCRIPTIONS[fmt.name],
        partitions_def=daily_partitions(),
    )
    def load(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        return _ingest(context, warehouse, fmt)

    return load


INGEST_ASSETS = [ingest_asset(fmt) for fmt in FORMATS.values()]
