"""Social Care Warehouse: Dagster orchestration, ingestion parsers and helpers."""
