"""The one Dagster entry point: `dagster dev` (pyproject [tool.dagster]) and `python -m orchestration.run` load it.

Assets: ingest (raw/twcs_messages, raw/messages, ... daily partitioned) -> transform (dbt seeds and models,
incremental, dbt tests as asset checks) -> report (report/kpi_summary, report/serving_copy, report/kpi_report).
A nightly schedule materialises yesterday's partition (its files, then the dbt models incrementally); a
landing-folder sensor runs today's.
"""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.assets.ingest import INGEST_ASSETS
from orchestration.assets.publish import kpi_report, serving_copy
from orchestration.assets.report import kpi_summary
from orchestration.assets.sentiment import message_sentiment
from orchestration.assets.transform import dbt_models, dbt_project
from orchestration.config import Settings
from orchestration.deliveries import previous_day_partition, today_partition
from orchestration.landing import landing_fingerprint
from orchestration.resources import WarehouseResource

settings = Settings.from_env()

build_warehouse = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.all(),
    description=(
        "Load the landing files delivered up to the partition's day, build every dbt model (incrementally unless "
        "history changed) and test, publish the serving copy and the report."
    ),
)


@dg.schedule(
    job=build_warehouse,
    cron_schedule="0 2 * * *",
    execution_timezone=settings.schedule_timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 02:00 (SOCIAL_CARE_SCHEDULE_TIMEZONE, default UTC): yesterday's partition.",
)
def nightly_build(context: dg.ScheduleEvaluationContext):
    partition_key = previous_day_partition(context.scheduled_execution_time)
    return dg.RunRequest(run_key=f"nightly-{partition_key}", partition_key=partition_key)


@dg.sensor(
    job=build_warehouse,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a build when a file appears in, changes in or leaves the landing folder.",
)
def landing_sensor(context: dg.SensorEvaluationContext):
    fingerprint = landing_fingerprint(Settings.from_env().landing_dir)
    if fingerprint == context.cursor:
        return dg.SkipReason("landing folder unchanged")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=f"landing-{fingerprint}", partition_key=today_partition())


defs = dg.Definitions(
    assets=[
        *INGEST_ASSETS,
        message_sentiment,
        dbt_models,
        kpi_summary,
        serving_copy,
        kpi_report,
    ],
    jobs=[build_warehouse],
    schedules=[nightly_build],
    sensors=[landing_sensor],
    resources={
        "warehouse": WarehouseResource(),
        "dbt": DbtCliResource(project_dir=dbt_project, profiles_dir=str(dbt_project.profiles_dir)),
    },
    # Steps of a run execute one after the other in one process: ingestion and dbt never write the DuckDB file
    # at the same time.
    executor=dg.in_process_executor,
)
