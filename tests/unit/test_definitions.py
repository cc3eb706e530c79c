"""The Dagster entry point: the asset graph, its lineage from raw files to marts, checks, schedule and sensor."""

from __future__ import annotations

import dagster as dg

from orchestration.definitions import defs


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def test_raw_assets_are_the_dbt_sources_so_lineage_connects():
    graph = defs.resolve_asset_graph()
    assert key("raw/twcs_messages") in graph.get(key("staging/stg_twcs__tweets")).parent_keys
    assert key("raw/messages") in graph.get(key("staging/stg_canonical__messages")).parent_keys
    assert key("raw/message_sentiment") in graph.get(key("intermediate/int_message_sentiment")).parent_keys
    assert key("marts/kpi_daily") in graph.get(key("report/kpi_summary")).parent_keys


def test_every_mart_is_an_asset_grouped_by_stage_with_its_dbt_tests_as_checks():
    graph = defs.resolve_asset_graph()
    marts = [k for k in graph.get_all_asset_keys() if k.path[0] == "marts"]
    assert len(marts) >= 10
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups >= {"ingest", "transform", "report"}
    checked = {check.asset_key for check in graph.asset_check_keys}
    assert all(m in checked for m in marts)


def test_nightly_schedule_and_landing_sensor():
    schedule = defs.resolve_schedule_def("nightly_build")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"
    assert defs.resolve_sensor_def("landing_sensor").job_name == "build_warehouse"
