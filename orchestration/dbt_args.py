"""The dbt command lines the Dagster assets run, built by small pure functions (unit-tested in tests/unit)."""

from __future__ import annotations

import json
from datetime import datetime


def dbt_vars(as_of: str | None = None) -> dict[str, str]:
    """dbt vars for a run. ``as_of`` (UTC, ``YYYY-MM-DD[ HH:MM:SS]``) pins the moment the marts describe."""
    if not as_of:
        return {}
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError as exc:
        raise ValueError(f"as_of must be an ISO timestamp like 2024-03-15 00:00:00, got {as_of!r}") from exc
    if moment.tzinfo is not None:
        raise ValueError(f"as_of is UTC and takes no offset, got {as_of!r}")
    return {"as_of": moment.strftime("%Y-%m-%d %H:%M:%S")}


def build_args(as_of: str | None = None, full_refresh: bool = False, unit_tests: bool = True) -> list[str]:
    """``dbt build`` (seeds, models, snapshots, unit and data tests, in dependency order). ``unit_tests=False``
    leaves the unit tests out: they test the models' SQL on fixed rows, so they can only fail when the project
    (or dbt, its adapter or DuckDB) changed, and then the build is a full refresh, which runs them
    (orchestration/build_state.py). Data tests always run: they test the data."""
    args = ["build"]
    variables = dbt_vars(as_of)
    if variables:
        args += ["--vars", json.dumps(variables, sort_keys=True)]
    if full_refresh:
        args.append("--full-refresh")
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return args
