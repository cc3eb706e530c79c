"""The DuckDB warehouse as a Dagster resource (one file, one writer at a time)."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from orchestration.config import Settings, memory_limit, resolve


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file: ``path`` when set, else SOCIAL_CARE_WAREHOUSE read when a run connects (the same
    variable profiles.yml gives dbt). Ingestion and dbt run one after the other in a run (in-process executor),
    and runs start one at a time (orchestration/dagster.yaml): the file only ever has one writer."""

    path: str | None = None

    def file(self):
        return resolve(self.path) if self.path else Settings.from_env().warehouse

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.file()
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only)
        try:
            con.execute("set TimeZone = 'UTC'")
            con.execute("set memory_limit = ?", [memory_limit()])
            yield con
        finally:
            con.close()
