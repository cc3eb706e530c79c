"""Which landing files a daily partition loads, and which partition the nightly schedule runs."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from orchestration.deliveries import delivered_by, file_day, previous_day_partition, today_partition
from orchestration.loader import FORMATS, load_folder


def test_file_day_reads_the_last_valid_date_in_the_path():
    assert file_day("twcs/2024-03-15.csv") == date(2024, 3, 15)
    assert file_day("messages/2024-03-15/export_2024-03-16.jsonl") == date(2024, 3, 16)
    assert file_day("twitter_v2/search_2024-03-15T0200.json") == date(2024, 3, 15)
    assert file_day("twcs/2024-02-30.csv") is None  # not a day
    assert file_day("twcs/sample_twcs.csv") is None
    assert file_day("twcs/12024-03-15.csv") is None  # part of a longer number


def test_a_partition_loads_its_day_the_days_before_and_undated_files():
    day = date(2024, 3, 15)
    assert delivered_by("twcs/2024-03-15.csv", day)
    assert delivered_by("twcs/2024-03-01.csv", day)  # a missed night is caught up
    assert not delivered_by("twcs/2024-03-16.csv", day)  # waits for its own day
    assert delivered_by("twcs/sample.csv", day)
    assert delivered_by("twcs/2024-03-16.csv", None)  # no partition: everything


def test_nightly_schedule_runs_yesterdays_partition():
    assert previous_day_partition(datetime(2024, 3, 16, 2, 0, tzinfo=UTC)) == "2024-03-15"
    # 02:00 in Auckland is still the previous UTC day: the partition before that one
    auckland = datetime(2024, 3, 16, 2, 0, tzinfo=ZoneInfo("Pacific/Auckland"))
    assert previous_day_partition(auckland) == "2024-03-14"
    assert today_partition(datetime(2024, 3, 16, 23, 59, tzinfo=UTC)) == "2024-03-16"


def test_schedule_and_job_are_partitioned():
    from orchestration.definitions import defs, nightly_build

    job = defs.resolve_job_def("build_warehouse")
    assert isinstance(job.partitions_def, dg.DailyPartitionsDefinition)
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2024, 3, 16, 2, 0, tzinfo=UTC))
    request = nightly_build(context)
    assert (request.partition_key, request.run_key) == ("2024-03-15", "nightly-2024-03-15")


def test_load_folder_through_a_day(tmp_path):
    header = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    for day, tweet in (("2024-03-14", 1), ("2024-03-15", 2), ("2024-03-16", 3)):
        folder = tmp_path / "twcs"
        folder.mkdir(exist_ok=True)
        (folder / f"{day}.csv").write_text(
            header + f"{tweet},u{tweet},True,Thu Mar 14 10:00:00 +0000 2024,@Acme hi,,\n"
        )
    con = duckdb.connect()
    first = load_folder(con, tmp_path, FORMATS["twcs"], through_day=date(2024, 3, 15))
    assert [(r.file, r.status) for r in first] == [
        ("twcs/2024-03-14.csv", "loaded"),
        ("twcs/2024-03-15.csv", "loaded"),
    ]
    second = load_folder(con, tmp_path, FORMATS["twcs"], through_day=date(2024, 3, 16))
    assert [(r.file, r.status) for r in second] == [
        ("twcs/2024-03-14.csv", "skipped"),
        ("twcs/2024-03-15.csv", "skipped"),
        ("twcs/2024-03-16.csv", "loaded"),
    ]


def test_loading_scoring_and_publishing_import_no_dagster():
    """The loader, the sentiment scoring and the serving copy are plain Python: a process that only loads files
    (the benchmark's stages, a script) does not pay Dagster's imports (1.2 s)."""
    code = (
        "import sys; import orchestration.loader, orchestration.sentiment, orchestration.serving; "
        "print(sorted(m for m in sys.modules if m == 'dagster' or m.startswith('dagster.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
