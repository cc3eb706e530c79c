"""Report stage: publish the marts for readers (serving copy) and render the HTML KPI report.

Both run only after every dbt model and test of the run succeeded (they depend on the marts), so readers always
see the last complete, tested build.
"""

import dagster as dg

from orchestration.report_html import render_report
from orchestration.resources import WarehouseResource
from orchestration.serving import publish

MARTS = (
    "fct_threads",
    "fct_conversations",
    "fct_first_replies",
    "fct_turns",
    "kpi_daily",
    "kpi_service_level_daily",
    "kpi_agent_daily",
    "kpi_badge_daily",
    "kpi_hour_of_week",
    "kpi_backlog_daily",
)


@dg.asset(
    key=["report", "serving_copy"],
    group_name="report",
    deps=[dg.AssetKey(["marts", mart]) for mart in MARTS],
    kinds={"duckdb", "parquet"},
    pool="warehouse",
    description=(
        "Every mart copied to serving.duckdb (read-only for BI tools) and serving/<mart>/*.parquet beside the "
        "warehouse, written to new files and renamed atomically: readers never block the run nor see half a build. "
        "No message text; customers (and agents, unless the account's seed row allows their names) appear as keyed "
        "pseudonyms (orchestration/serving.py)."
    ),
)
def serving_copy(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    summary = publish(warehouse.file())
    if summary["key_notice"]:
        context.log.warning(summary["key_notice"])
    for table, columns in summary["withheld"].items():
        context.log.warning(
            f"marts.{table}: columns {', '.join(columns)} not published: no privacy class for them "
            "(orchestration/serving.py COLUMN_CLASSES)"
        )
    context.log.info(
        f"published {summary['rows']} rows of {len(summary['tables'])} marts to {summary['serving_db']}"
    )
    return dg.MaterializeResult(
        metadata={
            "serving_db": dg.MetadataValue.path(str(summary["serving_db"])),
            "parquet_dir": dg.MetadataValue.path(str(summary["parquet_dir"])),
            "as_of": str(summary["as_of"]),
            "rows": summary["rows"],
            "tables": dg.MetadataValue.json(summary["tables"]),
            "seconds": round(summary["seconds"], 3),
            "mode": f"{summary['mode']}: {summary['reason']}",
            "partitions_written": summary["partitions_written"],
            "partitions_kept": summary["partitions_kept"],
            "blocks_written": f"{summary['blocks_written']} of {summary['blocks']}",
            "withheld_columns": dg.MetadataValue.json(summary["withheld"]),
        }
    )


@dg.asset(
    key=["report", "kpi_report"],
    group_name="report",
    deps=[serving_copy],
    kinds={"html"},
    description="kpi_report.html beside the warehouse: a self-contained page of charts per account (no network).",
)
def kpi_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    database = warehouse.file()
    output = database.parent / "kpi_report.html"
    summary = render_report(database.parent / "serving.duckdb", output)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.url(output.resolve().as_uri()),
            "path": dg.MetadataValue.path(str(output)),
            "accounts": summary["accounts"],
            "charts": summary["charts"],
            "as_of": str(summary["as_of"]),
        }
    )
