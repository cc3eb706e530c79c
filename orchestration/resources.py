"""The DuckDB warehouse as a Dagster resource (one file, one writer at a time)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. Ingestion and dbt run one after the other in a run (in-process executor) and
    runs are queued one at a time (orchestration/dagster.yaml), so the file only ever has one writer."""

    path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        from pathlib import Path

        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only)
        try:
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()
