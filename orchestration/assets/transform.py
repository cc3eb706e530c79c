"""Transform: every dbt model and seed as a Dagster asset (dagster-dbt); dbt tests surface as asset checks."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.config import REPO_ROOT
from orchestration.dbt_args import build_args

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
    full_refresh: bool = False


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=Translator(),
    pool="warehouse",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtRunConfig):
    yield from dbt.cli(build_args(config.as_of, config.full_refresh), context=context).stream()
