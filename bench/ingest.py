"""Ingestion speed per landing format, against the floor: DuckDB merely scanning the same files.

    python -m bench.ingest --messages 1000000

Generates N messages per format with orchestration.generate (twcs CSV; canonical CSV + JSONL; Twitter API v2 pages;
Facebook Graph pages; a Messenger "Download your information" inbox, one file per thread), then for each format, each
measure in a fresh process:

- scan: the floor, DuckDB reading every file of the format's folder and counting its messages: ``read_csv``
  ``count(*)`` for CSV, ``read_json_objects`` (every JSON document read and validated) and the length of the
  documents' message arrays for JSON;
- load: the loader (``load_folder``: parse, validate, reject, store with the manifest) into a fresh warehouse file.

Prints rows, seconds, rows/s, load / scan, and each process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from bench import cpu_model
from orchestration.generate import FORMATS as GENERATED_FORMATS
from orchestration.generate import generate
from orchestration.loader import FORMATS, load_folder, summarize

# What the floor reads and counts, per format: (read_csv or read_json_objects, glob under the format's folder, the
# messages of one row). A Graph page holds conversations (each with its messages) or comments.
_GRAPH_MESSAGES = (
    "case when json_exists(json, '$.data[0].messages') "
    "then list_sum(list_transform(json_extract(json, '$.data[*].messages.data'), lambda x: json_array_length(x))) "
    "else json_array_length(json, '$.data') end"
)
SCANS: dict[str, list[tuple[str, str, str]]] = {
    "twcs": [("read_csv", "*.csv", "1")],
    "messages": [("read_csv", "*.csv", "1"), ("read_json_objects", "*.jsonl", "1")],
    "twitter_v2": [("read_json_objects", "*.jsonl", "json_array_length(json, '$.data')")],
    "facebook_graph": [("read_json_objects", "*.jsonl", _GRAPH_MESSAGES)],
    "messenger_dyi": [("read_json_objects", "**/message_*.json", "json_array_length(json, '$.messages')")],
}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: since its exec, unlike getrusage, which keeps the parent's peak
    across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scan(landing: Path, name: str) -> tuple[int, float]:
    """The floor: (messages counted, seconds)."""
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    start = time.perf_counter()
    rows = 0
    for reader, pattern, messages in SCANS[name]:
        glob = str(landing / name / pattern).replace("'", "''")
        rows += con.execute(
            f"select coalesce(sum({messages}), 0)::bigint from {reader}('{glob}')"
        ).fetchone()[0]
    return rows, time.perf_counter() - start


def load(landing: Path, name: str, warehouse: Path) -> tuple[int, float]:
    """The loader into a fresh warehouse: (rows read, seconds); every row must load."""
    con = duckdb.connect(str(warehouse))
    start = time.perf_counter()
    totals = summarize(load_folder(con, landing, FORMATS[name]))
    seconds = time.perf_counter() - start
    con.close()
    if totals["files_failed"] or totals["rows_rejected"]:
        raise SystemExit(f"{name}: the generated files did not load whole: {totals}")
    return totals["rows_read"], seconds


def measure_in_child(*args: str) -> dict[str, float]:
    """Run one step in a fresh Python process (its own peak memory, nothing cached in this one)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.ingest", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--formats", default=",".join(GENERATED_FORMATS))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if args.child:
        what, *rest = args.child
        if what == "generate":
            start = time.perf_counter()
            generate(
                Path(rest[0]),
                messages=args.messages,
                days=args.days,
                accounts=args.accounts,
                formats=tuple(formats),
            )
            rows, seconds = args.messages, time.perf_counter() - start
        elif what == "scan":
            rows, seconds = scan(Path(rest[1]), rest[0])
        else:
            rows, seconds = load(Path(rest[1]), rest[0], Path(rest[2]))
        print(json.dumps({"rows": rows, "seconds": seconds, "rss_mb": peak_rss_mb()}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        sizes = ["--messages", str(args.messages), "--days", str(args.days), "--accounts", str(args.accounts)]
        made = measure_in_child(*sizes, "--formats", ",".join(formats), "--child", "generate", str(landing))
        print(
            f"generated {args.messages:,} messages per format ({', '.join(formats)}) in {made['seconds']:.1f} s, "
            f"peak {made['rss_mb']:,.0f} MB"
        )
        print(f"machine: {os.cpu_count()} cores, {cpu_model()}, DuckDB {duckdb.__version__}")
        print(
            f"{'format':<15} {'rows':>10} {'scan s':>7} {'load s':>7} {'rows/s':>9} {'load/scan':>9} "
            f"{'scan MB':>8} {'load MB':>8}"
        )
        for name in formats:
            floor = measure_in_child("--child", "scan", name, str(landing))
            loaded = measure_in_child(
                "--child", "load", name, str(landing), str(Path(tmp) / f"{name}.duckdb")
            )
            if floor["rows"] != loaded["rows"]:
                raise SystemExit(
                    f"{name}: the scan counted {floor['rows']:,} messages, the loader read {loaded['rows']:,}"
                )
            print(
                f"{name:<15} {loaded['rows']:>10,.0f} {floor['seconds']:>7.2f} {loaded['seconds']:>7.2f} "
                f"{loaded['rows'] / loaded['seconds']:>9,.0f} {loaded['seconds'] / floor['seconds']:>8.1f}x "
                f"{floor['rss_mb']:>8,.0f} {loaded['rss_mb']:>8,.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
