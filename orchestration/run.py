"""`make run`: build the whole warehouse once (every asset, every check) and print the KPI summary.

python -m orchestration.run [--as-of "2024-03-15 00:00:00"] [--full-refresh]
"""

from __future__ import annotations

import argparse
import sys

import dagster as dg

from orchestration.assets.report import format_summary, kpi_summary_rows
from orchestration.config import Settings
from orchestration.deliveries import today_partition
from orchestration.resources import WarehouseResource


def build(
    as_of: str | None = None,
    instance: dg.DagsterInstance | None = None,
    partition_key: str | None = None,
    full_refresh: bool = False,
) -> dg.ExecuteInProcessResult:
    """Materialise every asset of the Definitions in one in-process run: the ingest partition of
    ``partition_key`` (default today, UTC: every file delivered so far) and the dbt models (incrementally unless
    history changed or ``full_refresh``)."""
    from orchestration.definitions import build_warehouse, defs

    run_config: dict = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    dbt_config = {"as_of": as_of} if as_of else {}
    if full_refresh:
        dbt_config["full_refresh"] = True
    if dbt_config:
        run_config["ops"] = {"dbt_models": {"config": dbt_config}}
    job = defs.resolve_job_def(build_warehouse.name)
    return job.execute_in_process(
        run_config=run_config,
        instance=instance or dg.DagsterInstance.get(),
        raise_on_error=False,
        partition_key=partition_key or today_partition(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", help="UTC moment the marts describe (default: the latest message)")
    parser.add_argument("--day", help="load the files delivered up to this UTC day (default: today)")
    parser.add_argument("--full-refresh", action="store_true", help="rebuild every incremental model")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    print(f"Landing folder: {settings.landing_dir}\nWarehouse:      {settings.warehouse}")
    result = build(args.as_of, partition_key=args.day, full_refresh=args.full_refresh)
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print(f"FAILED {event.step_key}: {event.step_failure_data.error.message}", file=sys.stderr)
        return 1
    with WarehouseResource().connect(read_only=True) as con:
        failed = con.execute(
            "select file_path, error from raw.load_manifest where status = 'failed' order by file_path"
        ).fetchall()
        rejected = con.execute("select count(*) from raw.rejected_rows").fetchone()[0]
        print("\nKPI summary (all days up to as_of)\n" + format_summary(kpi_summary_rows(con)))
    folder = WarehouseResource().file().parent
    print(f"\nReport: {folder / 'kpi_report.html'}\nServing copy for BI tools: {folder / 'serving.duckdb'}")
    if rejected:
        print(f"\n{rejected} rows rejected: select * from raw.rejected_rows")
    for file, error in failed:
        print(f"not loaded: {file}: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
