"""Parsers: plain functions that read one landing file into DuckDB temp tables, testable without Dagster."""
