"""Dagster assets, by stage: ingest (landing files -> raw), transform (dbt), report."""
