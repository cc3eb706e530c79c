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
