"""Each platform format reaches the marts: Twitter API v2 (a reply thread and a DM), a Facebook Graph page
conversation, and a Messenger "Download your information" inbox (mojibake repaired). The brands are the accounts
of seeds/accounts.csv (AcmeSupport, "Acme Support", "Acme Café")."""

from __future__ import annotations

import shutil
from datetime import datetime

import dagster as dg
import duckdb
import pytest

from orchestration.run import build
from tests.conftest import FIXTURES

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("formats")
    landing = root / "landing"
    shutil.copytree(FIXTURES / "formats" / "twitter_v2", landing / "twitter_v2")
    (landing / "facebook_graph").mkdir()
    shutil.copy(FIXTURES / "formats" / "facebook_graph" / "conversations.json", landing / "facebook_graph")
    shutil.copytree(FIXTURES / "formats" / "messenger_dyi", landing / "messenger_dyi")
    path = root / "w.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIAL_CARE_LANDING_DIR", str(landing))
        mp.setenv("SOCIAL_CARE_WAREHOUSE", str(path))
        assert build(instance=dg.DagsterInstance.ephemeral()).success
    return path


def test_every_format_file_is_accounted_for(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        manifest = con.execute(
            "select file_path, status, rows_read, rows_loaded, rows_rejected from raw.load_manifest order by 1"
        ).fetchall()
    assert manifest == [
        ("facebook_graph/conversations.json", "loaded", 2, 2, 0),
        ("messenger_dyi/messages/inbox/janedoe_abc123/message_1.json", "loaded", 3, 3, 0),
        # an edited tweet's earlier version and a ParticipantsJoin DM event are rejected with their reasons
        ("twitter_v2/search_and_dm.jsonl", "loaded", 7, 5, 2),
    ]


def test_first_replies_of_each_format(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.execute(
            """
            select account_id, channel, is_private, first_customer_message_at, first_agent_reply_at,
                   first_reply_seconds
            from marts.fct_first_replies order by account_id, first_customer_message_at
            """
        ).fetchall()
    d = datetime
    assert got == [
        # Messenger inbox, newest first in the file: customer at 22:10:47 (two messages), page at 22:12:47
        ("Acme Café", "facebook", True, d(2017, 10, 31, 22, 10, 47), d(2017, 10, 31, 22, 12, 47), 120),
        # Graph conversation, times written 2017-10-31T22:10:47+0000 and 22:12:00+0000
        ("Acme Support", "facebook", True, d(2017, 10, 31, 22, 10, 47), d(2017, 10, 31, 22, 12), 73),
        # v2 public reply thread (12:00 -> 12:05) and DM conversation (12:10 -> 12:12)
        ("AcmeSupport", "twitter", False, d(2022, 11, 2, 12), d(2022, 11, 2, 12, 5), 300),
        ("AcmeSupport", "twitter", True, d(2022, 11, 2, 12, 10), d(2022, 11, 2, 12, 12), 120),
    ]


def test_messenger_mojibake_is_repaired(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        texts = {
            r[0]
            for r in con.execute(
                "select text from staging.stg_messages where source_format = 'messenger_dyi' and text is not null"
            ).fetchall()
        }
    assert texts == {"Où est ma commande ?", "Merci ! 😀"}


def test_a_broken_file_is_reported_by_the_run_and_the_others_still_build(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "formats" / "twitter_v2", landing / "twitter_v2")
    (landing / "twitter_v2" / "cut_short.json").write_text('{"data": [{"id": "1", "text": "half')
    (landing / "twitter_v2" / "empty.jsonl").write_bytes(b"")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIAL_CARE_LANDING_DIR", str(landing))
        mp.setenv("SOCIAL_CARE_WAREHOUSE", str(tmp_path / "w.duckdb"))
        result = build(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    materialization = next(
        m
        for m in result.asset_materializations_for_node("raw__twitter_v2_messages")
        if m.asset_key == dg.AssetKey(["raw", "twitter_v2_messages"])
    )
    failed = materialization.metadata["failed_files"].value
    assert failed == {"twitter_v2/empty.jsonl": "empty file (0 bytes)"}
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        # the page cut short is read, and its one record kept with the reason
        assert con.execute(
            "select reason from raw.rejected_rows where file_path = 'twitter_v2/cut_short.json'"
        ).fetchall() == [("invalid JSON (a line cut short?)",)]
        assert con.execute("select count(*) from marts.fct_first_replies").fetchone() == (2,)


def test_a_late_reply_in_the_next_export_updates_the_earlier_day(tmp_path):
    """Day 1's export has a question, day 2's export brings the answer: day 1's figures change on the next run."""
    header = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    landing = tmp_path / "landing" / "twcs"
    landing.mkdir(parents=True)
    (landing / "day1.csv").write_text(
        header + "1,c1,True,Mon Mar 04 15:00:00 +0000 2024,@NorthwindCare help,,\n"
        "2,c2,True,Mon Mar 04 20:00:00 +0000 2024,@NorthwindCare hello,,\n"
    )
    warehouse = tmp_path / "w.duckdb"

    def run_and_read():
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SOCIAL_CARE_LANDING_DIR", str(tmp_path / "landing"))
            mp.setenv("SOCIAL_CARE_WAREHOUSE", str(warehouse))
            assert build(instance=dg.DagsterInstance.ephemeral()).success
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute(
                "select activity_date, conversations, answered_conversations, pending_conversations "
                "from marts.kpi_daily"
            ).fetchall()

    from datetime import date

    assert run_and_read() == [(date(2024, 3, 4), 2, 0, 2)]
    (landing / "day2.csv").write_text(
        header + "3,NorthwindCare,False,Tue Mar 05 09:00:00 +0000 2024,@c1 Sorry for the wait ^JK,,1\n"
    )
    # c1 is now answered (18 h late); c2 is still pending: as_of is the latest message (09:00), 13 h after it
    assert run_and_read() == [(date(2024, 3, 4), 2, 1, 1)]


@pytest.mark.parametrize("first", ["messages", "twcs"])
def test_a_tweet_in_both_formats_keeps_its_canonical_version_whichever_loads_first(tmp_path, first):
    """The same tweet in a canonical export and in a twcs export: the canonical version is kept (stg_messages),
    also when the twcs version arrives in a later run (an incremental one: the canonical version stored before
    must stay, not be replaced by the later load)."""
    twcs_header = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    canonical_header = (
        "message_id,thread_id,parent_message_id,channel,account_id,author_id,author_role,is_private,sent_at,"
        "text,agent_id\n"
    )
    files = {
        "twcs": (
            "twcs",
            twcs_header + "10,c1,True,Mon Mar 04 15:00:00 +0000 2024,@NorthwindCare twcs version,,\n",
        ),
        "messages": (
            "messages",
            canonical_header + "10,,,twitter,NorthwindCare,c1,customer,false,2024-03-04T15:00:00Z,"
            "@NorthwindCare canonical version,\n",
        ),
    }
    landing = tmp_path / "landing"
    # a brand reply in a twcs file from the start: the brand handles stay the same, so the second run is incremental
    (landing / "twcs").mkdir(parents=True)
    (landing / "twcs" / "day0.csv").write_text(
        twcs_header + "1,c2,True,Sun Mar 03 15:00:00 +0000 2024,@NorthwindCare hi,,\n"
        "2,NorthwindCare,False,Sun Mar 03 15:05:00 +0000 2024,@c2 Hello ^JK,,1\n"
    )
    warehouse = tmp_path / "w.duckdb"

    def deliver_and_build(fmt: str) -> tuple[bool, list[tuple]]:
        folder, content = files[fmt]
        (landing / folder).mkdir(parents=True, exist_ok=True)
        (landing / folder / f"{fmt}.csv").write_text(content)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SOCIAL_CARE_LANDING_DIR", str(landing))
            mp.setenv("SOCIAL_CARE_WAREHOUSE", str(warehouse))
            assert build(instance=dg.DagsterInstance.ephemeral()).success
        with duckdb.connect(str(warehouse), read_only=True) as con:
            full_refresh = con.execute("select full_refresh from raw.dbt_build_state").fetchone()[0]
            kept = con.execute(
                "select source_format, text from staging.stg_messages where message_key = 'twitter:10'"
            ).fetchall()
        return full_refresh, kept

    second = "twcs" if first == "messages" else "messages"
    assert deliver_and_build(first)[1] == [
        (first, f"@NorthwindCare {'twcs' if first == 'twcs' else 'canonical'} version")
    ]
    full_refresh, kept = deliver_and_build(second)
    assert not full_refresh
    assert kept == [("messages", "@NorthwindCare canonical version")]
