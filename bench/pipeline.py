"""The whole pipeline at scale, stage by stage, against the floor: DuckDB merely reading the same input files.

    python -m bench.pipeline --messages 1000000 10000000      # make bench-pipeline

For each size N: generate N messages (half twcs, half canonical CSV with DMs; orchestration.generate) over
``--days`` days, split them into daily export files (orchestration.daily_exports: late messages and edits
included), then

1. **full build** of every day but the last: ingest, sentiment, dbt build (models and tests), serving copy;
2. **nightly run**: the last day's files (plus the late deliveries after it) land, and the same stages run again;
   dbt is incremental (the Dagster asset decides the same way, orchestration/build_state.py).

Each stage runs in its own process, so its peak memory (max RSS) is its own. The floor is DuckDB reading every
column of the same files into a table. Prints wall time, rows/s, peak memory and the ratio to the floor, and
writes them to bench/results/pipeline-<N>.json. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench import cpu_model
from orchestration.dbt_args import build_args

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
LAYERS = {
    "stg": "dbt staging",
    "int": "dbt intermediate",
    "fct": "dbt marts",
    "kpi": "dbt marts",
    "test": "dbt tests",
    "unit_test": "dbt tests",
    "seed": "dbt seeds",
}


def run_stage(args: list[str], env: dict[str, str]) -> dict:
    """Run one stage in a child process: wall seconds and the child's own peak RSS (MB)."""
    start = time.perf_counter()
    process = subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.stderr.write(output[-5000:])
        raise SystemExit(f"stage failed: {' '.join(args)}")
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "output": output}


def scan_floor(files: list[Path], env: dict[str, str]) -> dict:
    """DuckDB reading every column of the CSV files into a table: the least any pipeline must do."""
    result = run_stage([sys.executable, "-m", "bench.pipeline", "--stage", "scan", *map(str, files)], env)
    result["rows"] = int(result["output"].strip().splitlines()[-1])
    return result


def stage_main(stage: str, paths: list[str]) -> None:
    """One stage, run in a child process by run_stage (``--stage``)."""
    import duckdb

    from orchestration.config import memory_limit

    if stage == "generate":
        from orchestration.daily_exports import split_into_days
        from orchestration.generate import generate

        root, messages, days, accounts = Path(paths[0]), int(paths[1]), int(paths[2]), int(paths[3])
        formats = ("twcs", "messages")
        generate(root / "export", messages=messages // 2, days=days, accounts=accounts, formats=formats)
        split_into_days(root / "export", root / "days")
        shutil.rmtree(root / "export")
        return
    if stage == "scan":
        con = duckdb.connect()
        con.execute("create table t as select * from read_csv(?, union_by_name = true)", [paths])
        print(con.execute("select count(*) from t").fetchone()[0])
        return
    con = duckdb.connect(paths[0])
    con.execute("set memory_limit = ?", [memory_limit()])
    try:
        if stage == "ingest":
            from orchestration.loader import FORMATS, load_folder

            for fmt in FORMATS.values():
                load_folder(con, Path(paths[1]), fmt)
        elif stage == "sentiment":
            from orchestration.sentiment import score_new_messages

            print(score_new_messages(con))
        elif stage == "rows":
            print(con.execute("select count(*) from staging.stg_messages").fetchone()[0])
        elif stage == "recomputed":
            recomputed, customers = con.execute(
                "select (select count(*) from intermediate.int_affected_customers),"
                " (select count(distinct customer_key) from intermediate.int_messages)"
            ).fetchone()
            print(f"{recomputed} {customers}")
    finally:
        con.close()
    if stage == "serving":
        from orchestration.serving import publish

        summary = publish(Path(paths[0]))
        written = summary["partitions_written"]
        print(
            f"{summary['mode']} {written} {written + summary['partitions_kept']} "
            f"{summary['blocks_written']} {summary['blocks']}"
        )


def dbt_layers(target_dir: Path) -> dict[str, float]:
    """Seconds per dbt layer (staging, intermediate, marts, tests, seeds) from run_results.json."""
    results = json.loads((target_dir / "run_results.json").read_text())["results"]
    layers: dict[str, float] = {}
    for result in results:
        unique_id = result["unique_id"]
        kind = unique_id.split(".")[0]
        if kind == "model":
            name = unique_id.split(".")[-1]
            layer = LAYERS.get(name.split("_")[0], "dbt other")
        else:
            layer = LAYERS.get(kind, "dbt other")
        layers[layer] = layers.get(layer, 0.0) + result["execution_time"]
    return layers


def slowest_nodes(target_dir: Path, count: int = 12) -> dict[str, float]:
    results = json.loads((target_dir / "run_results.json").read_text())["results"]
    ranked = sorted(results, key=lambda r: -r["execution_time"])[:count]
    return {r["unique_id"].split(".", 2)[-1]: round(r["execution_time"], 2) for r in ranked}


def pipeline(landing: Path, warehouse: Path, env: dict[str, str], full_refresh: bool) -> dict[str, dict]:
    stage = [sys.executable, "-m", "bench.pipeline", "--stage"]
    stages: dict[str, dict] = {}
    stages["ingest"] = run_stage([*stage, "ingest", str(warehouse), str(landing)], env)
    stages["sentiment"] = run_stage([*stage, "sentiment", str(warehouse)], env)
    target = warehouse.parent / "target"
    dbt = [str(Path(sys.executable).parent / "dbt"), "--quiet"]
    args = build_args(full_refresh=full_refresh, unit_tests=full_refresh)  # as the Dagster asset runs it
    stages["dbt build"] = run_stage([*dbt, *args, "--target-path", str(target)], env)
    stages["dbt build"]["layers"] = dbt_layers(target)
    stages["dbt build"]["slowest"] = slowest_nodes(target)
    stages["serving copy"] = run_stage([*stage, "serving", str(warehouse)], env)
    mode, written, partitions, blocks_written, blocks = (
        stages["serving copy"]["output"].strip().splitlines()[-1].split()
    )
    stages["serving copy"]["publish"] = {
        "mode": mode,
        "written": int(written),
        "partitions": int(partitions),
        "blocks_written": int(blocks_written),
        "blocks": int(blocks),
    }
    return stages


def count_rows(warehouse: Path, env: dict[str, str]) -> int:
    output = run_stage([sys.executable, "-m", "bench.pipeline", "--stage", "rows", str(warehouse)], env)[
        "output"
    ]
    return int(output.strip().splitlines()[-1])


def recomputed_customers(warehouse: Path, env: dict[str, str]) -> tuple[int, int]:
    """The customers the last dbt run recomputed, and all customers."""
    output = run_stage([sys.executable, "-m", "bench.pipeline", "--stage", "recomputed", str(warehouse)], env)
    recomputed, customers = output["output"].strip().splitlines()[-1].split()
    return int(recomputed), int(customers)


def report(title: str, rows: int, stages: dict[str, dict], floor: dict) -> list[str]:
    lines = [
        f"\n{title}: {rows:,} messages; floor (DuckDB reads the files) {floor['seconds']:.1f} s, "
        f"{floor['peak_mb']:,.0f} MB"
    ]
    lines.append(f"{'stage':<22} {'wall s':>8} {'rows/s':>10} {'peak MB':>8} {'x floor':>8}")
    total = 0.0
    for name, stage in stages.items():
        total += stage["seconds"]
        lines.append(
            f"{name:<22} {stage['seconds']:>8.1f} {rows / stage['seconds']:>10,.0f} {stage['peak_mb']:>8,.0f} "
            f"{stage['seconds'] / floor['seconds']:>8.1f}"
        )
        for layer, seconds in sorted(stage.get("layers", {}).items()):
            lines.append(f"  {layer:<20} {seconds:>8.1f}")
    peak = max(stage["peak_mb"] for stage in stages.values())
    lines.append(
        f"{'total':<22} {total:>8.1f} {rows / total:>10,.0f} {peak:>8,.0f} {total / floor['seconds']:>8.1f}"
    )
    return lines


def bench(messages: int, days: int, accounts: int, env: dict[str, str], keep: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        root = keep or Path(tmp)
        start = time.perf_counter()
        # generated in a child process too: a child inherits its parent's peak memory figure
        run_stage(
            [
                sys.executable,
                "-m",
                "bench.pipeline",
                "--stage",
                "generate",
                str(root),
                str(messages),
                str(days),
                str(accounts),
            ],
            env,
        )
        all_days = sorted({date.fromisoformat(p.stem) for p in (root / "days").rglob("*.csv")})
        print(f"generated and split {messages:,} messages in {time.perf_counter() - start:.1f} s")
        nightly_from = all_days[days - 1]  # the last day of messages, and the late deliveries after it
        history = [p for p in sorted((root / "days").rglob("*.csv")) if p.stem < nightly_from.isoformat()]
        nightly = [p for p in sorted((root / "days").rglob("*.csv")) if p.stem >= nightly_from.isoformat()]
        landing, warehouse = root / "landing", root / "warehouse" / "w.duckdb"
        warehouse.parent.mkdir()
        for path in history:
            (landing / path.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, landing / path.parent.name / path.name)
        env = {**env, "SOCIAL_CARE_WAREHOUSE": str(warehouse), "SOCIAL_CARE_LANDING_DIR": str(landing)}

        floor_full = scan_floor(history, env)
        full = pipeline(landing, warehouse, env, full_refresh=True)
        history_rows = count_rows(warehouse, env)

        for path in nightly:
            shutil.copyfile(path, landing / path.parent.name / path.name)
        floor_nightly = scan_floor(nightly, env)
        night = pipeline(landing, warehouse, env, full_refresh=False)
        nightly_rows = count_rows(warehouse, env) - history_rows
        recomputed, customers = recomputed_customers(warehouse, env)

    lines = report("full build", floor_full["rows"], full, floor_full)
    lines += report("nightly run", floor_nightly["rows"], night, floor_nightly)
    full_total = sum(s["seconds"] for s in full.values())
    night_total = sum(s["seconds"] for s in night.values())
    lines.append(f"\nnightly / full: {night_total / full_total:.1%} (new messages stored: {nightly_rows:,})")
    lines.append(f"customers recomputed by the nightly run: {recomputed:,} of {customers:,}")
    publish = night["serving copy"]["publish"]
    lines.append(
        f"serving copy after the nightly run: {publish['mode']}, {publish['written']} of "
        f"{publish['partitions']} mart partitions (Parquet files) written, {publish['blocks_written']} of "
        f"{publish['blocks']} blocks of the DuckDB copy"
    )
    print("\n".join(lines))
    strip = lambda stages: {k: {kk: vv for kk, vv in v.items() if kk != "output"} for k, v in stages.items()}  # noqa: E731
    return {
        "messages": messages,
        "days": days,
        "accounts": accounts,
        "machine": f"{os.cpu_count()} cores, {cpu_model()}",
        "floor_full": strip({"scan": floor_full})["scan"],
        "floor_nightly": strip({"scan": floor_nightly})["scan"],
        "full": strip(full),
        "nightly": strip(night),
        "nightly_over_full": night_total / full_total,
        "nightly_recomputed_customers": recomputed,
        "customers": customers,
        "table": lines,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--days", type=int, default=34, help="days of history + 1 nightly day (default 34)")
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (data, warehouse, dbt target)"
    )
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        stage_main(args.stage, args.paths)
        return
    env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    for messages in args.messages:
        result = bench(messages, args.days, args.accounts, env, args.keep)
        (RESULTS / f"pipeline-{messages}.json").write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
