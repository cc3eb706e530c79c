"""The whole pipeline (Dagster ingest -> dbt build with every test -> report) on the hand-made fixture, whose KPIs
were computed by hand in tests/fixtures/handmade/README.md."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from orchestration.run import build
from tests.conftest import FIXTURES

pytestmark = pytest.mark.e2e

MARTS = ("fct_threads", "fct_first_replies", "kpi_daily")


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in MARTS}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dg.ExecuteInProcessResult]:
    root = tmp_path_factory.mktemp("handmade")
    landing = root / "landing"
    shutil.copytree(FIXTURES / "handmade", landing, ignore=shutil.ignore_patterns("*.md"))
    warehouse = root / "warehouse" / "w.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIAL_CARE_LANDING_DIR", str(landing))
        mp.setenv("SOCIAL_CARE_WAREHOUSE", str(warehouse))
        result = build(instance=dg.DagsterInstance.ephemeral())
    return landing, warehouse, result


def test_run_succeeds_with_every_dbt_test_passing(built):
    _, _, result = built
    assert result.success
    checks = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(checks) > 20
    assert all(e.event_specific_data.passed for e in checks)


def test_first_replies_match_the_hand_computed_times(built):
    _, warehouse, _ = built
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.execute(
            """
            select conversation_id, account_id, first_customer_message_at, first_agent_reply_at,
                   first_reply_seconds, first_reply_business_seconds, response_status, first_reply_agent,
                   first_customer_message_date
            from marts.fct_first_replies order by conversation_id
            """
        ).fetchall()
    d = datetime
    assert got == [
        (
            "facebook:c10#1",
            "northwind_fb",
            d(2024, 3, 5, 12),
            d(2024, 3, 5, 12, 45),
            2700,
            2700,
            "answered",
            "a1",
            date(2024, 3, 5),
        ),
        (
            "facebook:northwind_fb:u1#1",
            "northwind_fb",
            d(2024, 3, 4, 23, 30),
            d(2024, 3, 5, 0, 15),
            2700,
            2700,
            "answered",
            "a1",
            date(2024, 3, 4),
        ),
        (
            "facebook:northwind_fb:u2#1",
            "northwind_fb",
            d(2024, 3, 5, 9),
            d(2024, 3, 5, 9),
            0,
            0,
            "answered",
            "a2",
            date(2024, 3, 5),
        ),
        (
            "facebook:northwind_fb:u4#1",
            "northwind_fb",
            d(2024, 3, 5, 20),
            None,
            None,
            None,
            "pending",
            None,
            date(2024, 3, 5),
        ),
        # NorthwindCare opens Mon-Fri 09:00-17:00 New York time (14:00-22:00 UTC in early March)
        (
            "twitter:100#1",
            "NorthwindCare",
            d(2024, 3, 4, 15),
            d(2024, 3, 4, 15, 10),
            600,
            600,
            "answered",
            "JK",
            date(2024, 3, 4),
        ),
        (
            "twitter:200#1",
            "NorthwindCare",
            d(2024, 3, 4, 16),
            d(2024, 3, 4, 17, 30),
            5400,
            5400,
            "answered",
            "JK",
            date(2024, 3, 4),
        ),
        (
            "twitter:300#1",
            "NorthwindCare",
            d(2024, 3, 5, 3),
            None,
            None,
            None,
            "pending",
            None,
            date(2024, 3, 4),
        ),
        (
            "twitter:500#1",
            "NorthwindCare",
            d(2024, 3, 5, 14),
            d(2024, 3, 5, 14, 0, 30),
            30,
            30,
            "answered",
            "JK",
            date(2024, 3, 5),
        ),
        (
            "twitter:600#1",
            "NorthwindCare",
            d(2024, 3, 5, 15),
            d(2024, 3, 5, 15, 20),
            1200,
            1200,
            "answered",
            "Anna",
            date(2024, 3, 5),
        ),
    ]


def test_kpi_daily_matches_the_hand_computed_figures(built):
    _, warehouse, _ = built
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.execute(
            """
            select account_id, channel, activity_date, conversations, agent_initiated_conversations,
                   answered_conversations, pending_conversations, round(response_rate, 4),
                   first_reply_seconds_median, first_reply_seconds_p90, first_reply_seconds_mean,
                   answered_within_15m, offered_15m, answered_within_60m, offered_60m,
                   customer_turns, answered_turns, reply_seconds_median, reply_seconds_mean
            from marts.kpi_daily order by all
            """
        ).fetchall()
    assert got == [
        (
            "NorthwindCare",
            "twitter",
            date(2024, 3, 4),
            3,
            0,
            2,
            1,
            1.0,
            3000.0,
            4920.0,
            3000.0,
            1,
            3,
            1,
            3,
            4,
            3,
            600.0,
            2100.0,
        ),
        (
            "NorthwindCare",
            "twitter",
            date(2024, 3, 5),
            2,
            1,
            2,
            0,
            1.0,
            615.0,
            1083.0,
            615.0,
            1,
            2,
            2,
            2,
            2,
            2,
            615.0,
            615.0,
        ),
        (
            "northwind_fb",
            "facebook",
            date(2024, 3, 4),
            1,
            0,
            1,
            0,
            1.0,
            2700.0,
            2700.0,
            2700.0,
            0,
            1,
            1,
            1,
            1,
            1,
            2700.0,
            2700.0,
        ),
        (
            "northwind_fb",
            "facebook",
            date(2024, 3, 5),
            3,
            0,
            2,
            1,
            1.0,
            1350.0,
            2430.0,
            1350.0,
            1,
            2,
            2,
            2,
            4,
            2,
            1350.0,
            1350.0,
        ),
    ]


def test_agents_are_credited_by_sign_off_or_agent_id(built):
    _, warehouse, _ = built
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.execute(
            """
            select account_id, agent, activity_date, replies, first_replies, reply_seconds_median
            from marts.kpi_agent_daily order by all
            """
        ).fetchall()
    assert got == [
        ("NorthwindCare", "Anna", date(2024, 3, 4), 1, 0, 300.0),
        ("NorthwindCare", "Anna", date(2024, 3, 5), 1, 1, 1200.0),
        ("NorthwindCare", "JK", date(2024, 3, 4), 2, 2, 3000.0),
        ("NorthwindCare", "JK", date(2024, 3, 5), 1, 1, 30.0),
        ("northwind_fb", "a1", date(2024, 3, 5), 2, 2, 2700.0),
        ("northwind_fb", "a2", date(2024, 3, 5), 1, 1, 0.0),
    ]


def test_threads_are_rebuilt(built):
    _, warehouse, _ = built
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.execute(
            """
            select thread_id, account_id, first_author_role, message_count, customer_message_count,
                   agent_message_count, bot_message_count, max_reply_depth
            from marts.fct_threads order by thread_id
            """
        ).fetchall()
    assert got == [
        ("facebook:c10", "northwind_fb", "customer", 3, 2, 1, 0, 2),
        ("facebook:northwind_fb:dm1", "northwind_fb", "customer", 3, 1, 1, 1, 0),
        ("facebook:northwind_fb:dm2", "northwind_fb", "customer", 2, 1, 1, 0, 0),
        ("facebook:northwind_fb:dm3", "northwind_fb", "customer", 2, 1, 0, 1, 0),
        ("twitter:100", "NorthwindCare", "customer", 5, 3, 2, 0, 4),
        ("twitter:200", "NorthwindCare", "customer", 2, 1, 1, 0, 1),
        ("twitter:300", "NorthwindCare", "customer", 1, 1, 0, 0, 0),
        ("twitter:400", "NorthwindCare", "agent", 2, 1, 1, 0, 1),
        ("twitter:500", "NorthwindCare", "customer", 2, 1, 1, 0, 1),
        ("twitter:600", "NorthwindCare", "customer", 2, 1, 1, 0, 1),
    ]


def test_every_row_read_is_loaded_or_rejected_with_its_reason(built):
    _, warehouse, _ = built
    with duckdb.connect(str(warehouse), read_only=True) as con:
        manifest = con.execute(
            "select file_path, status, rows_read, rows_loaded, rows_rejected from raw.load_manifest order by file_path"
        ).fetchall()
        rejects = con.execute(
            "select file_path, reason from raw.rejected_rows order by file_path, _row"
        ).fetchall()
    assert manifest == [
        ("messages/handmade.csv", "loaded", 3, 2, 1),
        ("messages/handmade.jsonl", "loaded", 9, 8, 1),
        ("twcs/handmade.csv", "loaded", 16, 14, 2),
        ("twcs/handmade_overlap.csv", "loaded", 2, 2, 0),
    ]
    assert rejects == [
        ("messages/handmade.csv", "sent_at has no UTC offset: 2024-03-05 20:05:00"),
        ("messages/handmade.jsonl", "invalid JSON"),
        ("twcs/handmade.csv", "unparseable created_at: yesterday at noon"),
        (
            "twcs/handmade.csv",
            "unparseable CSV record (too many columns): Expected Number of Columns: 7 Found: 8",
        ),
    ]


def test_loading_the_same_files_again_changes_no_mart(built, tmp_path):
    landing, warehouse, _ = built
    before = snapshot(warehouse)
    # the same content again, once as the same files and once under a new name
    shutil.copy(landing / "twcs" / "handmade.csv", landing / "twcs" / "handmade_copy.csv")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIAL_CARE_LANDING_DIR", str(landing))
        mp.setenv("SOCIAL_CARE_WAREHOUSE", str(warehouse))
        assert build(instance=dg.DagsterInstance.ephemeral()).success
    assert snapshot(warehouse) == before


def test_readme_queries_run_on_the_marts(built):
    """Every ```sql block of the README runs against a built warehouse (the marts and columns it names exist)."""
    _, warehouse, _ = built
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    queries = [block.split("```", 1)[0] for block in readme.split("```sql\n")[1:]]
    assert len(queries) >= 10
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for query in queries:
            con.execute(query).fetchall()


def test_hour_of_week_heatmap_in_local_time(built):
    """NorthwindCare is in New York (UTC-5 in early March): tweet 100 at 15:00 UTC is Monday 10:00 there."""
    _, warehouse, _ = built
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cells = con.execute(
            "select count(*) from marts.kpi_hour_of_week where account_id = 'NorthwindCare' and channel = 'twitter'"
        ).fetchone()[0]
        got = con.execute(
            """
            select iso_weekday, local_hour, customer_messages, conversations, answered_conversations,
                   first_reply_seconds_median
            from marts.kpi_hour_of_week
            where account_id = 'NorthwindCare' and (customer_messages > 0 or conversations > 0)
            order by all
            """
        ).fetchall()
    assert cells == 7 * 24
    assert got == [
        (1, 10, 3, 1, 1, 600.0),  # 100, 101 (burst) and 103 (second turn); conversation 100
        (1, 11, 1, 1, 1, 5400.0),  # 200
        (1, 22, 1, 1, 0, None),  # 300, sent 03:00 UTC on Tuesday: still Monday night in New York
        (2, 7, 1, 0, 0, None),  # 401, the customer's answer to the brand's outreach
        (2, 9, 1, 1, 1, 30.0),  # 500
        (2, 10, 1, 1, 1, 1200.0),  # 600
    ]


def test_run_publishes_the_serving_copy_and_the_report(built):
    _, warehouse, _ = built
    serving = warehouse.parent / "serving.duckdb"
    assert (warehouse.parent / "kpi_report.html").stat().st_size > 10_000
    folders = sorted(p for p in (warehouse.parent / "serving").iterdir() if p.is_dir())
    assert [p.name for p in folders[:2]] == ["fct_conversations", "fct_first_replies"]
    assert len(list(folders[0].glob("*.parquet"))) > 1  # one file per day
    with duckdb.connect(str(serving), read_only=True) as con:
        published = con.execute("select * from marts.kpi_daily order by all").fetchall()
        text_columns = con.execute(
            "select count(*) from duckdb_columns() where schema_name = 'marts' and column_name = 'text'"
        ).fetchone()[0]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert published == con.execute("select * from marts.kpi_daily order by all").fetchall()
    assert text_columns == 0


def test_dbt_docs_generate_describes_every_mart(built, tmp_path):
    _, warehouse, _ = built
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "SOCIAL_CARE_WAREHOUSE": str(warehouse), "DO_NOT_TRACK": "1"}
    subprocess.run(
        [shutil.which("dbt") or "dbt", "docs", "generate", "--target-path", str(tmp_path), "--quiet"],
        cwd=root,
        env=env,
        check=True,
    )
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    marts = {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["schema"] == "marts"
    }
    assert len(marts) == 10
    assert all(column["description"] for node in marts.values() for column in node["columns"].values())
    assert {e["name"] for e in manifest["exposures"].values()} == {"kpi_report", "serving_copy"}
    assert "model.social_care.kpi_daily" in catalog["nodes"]


def test_the_marts_refuse_a_null_where_the_contract_says_not_null(built, tmp_path):
    """The marts' not-null rules are contract constraints (models/marts/_marts.yml), enforced by DuckDB on every
    write, incremental ones included, instead of data tests run after the write: each declared column is NOT NULL
    in the warehouse, no other is, and a null is refused."""
    _, warehouse, _ = built
    models = yaml.safe_load((Path(__file__).resolve().parents[2] / "models/marts/_marts.yml").read_text())[
        "models"
    ]
    declared = {
        (model["name"], column["name"])
        for model in models
        for column in model["columns"]
        if {"type": "not_null"} in column.get("constraints", [])
    }
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        enforced = set(
            con.execute(
                "select table_name, column_name from duckdb_columns() where schema_name = 'marts' and not is_nullable"
            ).fetchall()
        )
        assert len(declared) == 59
        assert enforced == declared
        with pytest.raises(
            duckdb.ConstraintException, match=r"NOT NULL constraint failed: fct_conversations\.account_id"
        ):
            con.execute("update marts.fct_conversations set account_id = null where rowid = 0")


def test_sentiment_lift_equals_the_reference_scores(built):
    """Start and end of each conversation are the reference VADER scores of the customer's first and last message."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    _, warehouse, _ = built
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = {
            row[0]: row[1:]
            for row in con.execute(
                """
                select conversation_id, customer_sentiment_start, customer_sentiment_end, sentiment_lift
                from marts.fct_conversations
                where conversation_id in ('twitter:100#1', 'facebook:c10#1', 'twitter:300#1')
                """
            ).fetchall()
        }

    def score(text: str) -> float:
        return vader.polarity_scores(text)["compound"]

    start, end = score("@NorthwindCare my order is late"), score("@NorthwindCare thanks")
    assert got["twitter:100#1"] == (start, end, end - start)
    start, end = score("Your app is down"), score("done")
    assert got["facebook:c10#1"] == (start, end, end - start)
    # one customer message: the start is known, the lift is not measurable
    assert got["twitter:300#1"] == (score("@NorthwindCare hello? anyone?"), None, None)
