"""Transform: every dbt model and seed as a Dagster asset (dagster-dbt); dbt tests surface as asset checks.

A build is incremental unless history changed (orchestration/build_state.py decides, and says why).
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration import build_state
from orchestration.config import REPO_ROOT
from orchestration.dbt_args import build_args, dbt_vars
from orchestration.resources import WarehouseResource

dbt_project = DbtProject(project_dir=REPO_ROOT, profiles_dir=REPO_ROOT)
dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():
    # Outside `dagster dev` (make run, tests, a fresh clone) parse once to get the manifest.
    dbt_project.preparer.prepare(dbt_project)


class Translator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "transform"


class DbtRunConfig(dg.Config):
    as_of: str | None = None  # UTC; default: the latest message in the warehouse
    full_refresh: bool = False  # rebuild every incremental model even when history did not change


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=Translator(),
    pool="warehouse",
)
def dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtRunConfig
):
    variables = dbt_vars(config.as_of)
    requested_as_of = datetime.fromisoformat(variables["as_of"]) if "as_of" in variables else None
    # dbt opens the warehouse itself: this connection is closed before dbt starts (one writer at a time)
    with warehouse.connect() as con:
        fingerprint = build_state.current_fingerprint(con, REPO_ROOT, variables)
        decision = build_state.decide(build_state.previous_build(con), fingerprint, requested_as_of)
        if config.full_refresh:
            decision = build_state.Decision(True, "full refresh requested")
        build_state.record_start(con, fingerprint, decision, _now())
    context.log.info(("full refresh: " if decision.full_refresh else "") + decision.reason)
    # an incremental build runs the project the last finished build ran, unit tests included: they are left out
    args = build_args(config.as_of, decision.full_refresh, unit_tests=decision.full_refresh)
    yield from dbt.cli(args, context=context).stream()
    with warehouse.connect() as con:
        as_of = build_state.record_finish(con, _now())
        if context.is_subset:
            # models left out of this run missed its batch: the next whole build starts over
            build_state.invalidate(con, "the previous build ran a subset of the models")
    context.log.info(f"build finished, as_of {as_of}")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
