"""Ingestion speed per format, against the floor: DuckDB merely scanning the same files.

    python -m bench.ingest --messages 1000000

Generates N messages per format with orchestration.generate (twcs CSV; canonical CSV + JSONL), then for each
format times (a) a plain DuckDB scan of the files (read_csv / read_json, count(*)) and (b) the loader
(parse, validate, reject, store in one transaction per file) into a fresh warehouse. Prints rows/s and the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import duckdb

from orchestration.generate import generate
from orchestration.loader import FORMATS, load_folder, summarize


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def scan_seconds(folder: Path) -> float:
    """The floor: DuckDB reading every file of a landing sub-folder and counting rows."""
    con = duckdb.connect()
    start = time.perf_counter()
    for path in sorted(folder.iterdir()):
        reader = "read_csv" if path.suffix == ".csv" else "read_json"
        con.execute(f"select count(*) from {reader}('{path}')").fetchone()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--accounts", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        start = time.perf_counter()
        generate(landing, messages=args.messages, days=args.days, accounts=args.accounts)
        print(f"generated {args.messages:,} messages per format in {time.perf_counter() - start:.1f} s")
        print(f"machine: {os.cpu_count()} cores, {cpu_model()}")
        print(f"{'format':<10} {'rows':>10} {'scan s':>8} {'load s':>8} {'rows/s':>10} {'load / scan':>12}")
        for name in ("twcs", "messages"):
            floor = scan_seconds(landing / name)
            con = duckdb.connect(str(Path(tmp) / f"{name}.duckdb"))
            start = time.perf_counter()
            results = load_folder(con, landing, FORMATS[name])
            seconds = time.perf_counter() - start
            rows = summarize(results)["rows_read"]
            print(
                f"{name:<10} {rows:>10,} {floor:>8.2f} {seconds:>8.2f} {rows / seconds:>10,.0f} {seconds / floor:>11.1f}x"
            )
            con.close()


if __name__ == "__main__":
    main()
