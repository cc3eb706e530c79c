"""When a dbt build may be incremental and when it must be a full refresh (orchestration/build_state.py)."""

from __future__ import annotations

from datetime import datetime

import duckdb

from orchestration import build_state
from orchestration.build_state import Fingerprint, PreviousBuild, decide

FILES = frozenset({("twcs/2024-03-01.csv", "aaa"), ("twcs/2024-03-02.csv", "bbb")})
BASE = Fingerprint(FILES, "project-1", {})
AS_OF = datetime(2024, 3, 3)


def previous(fingerprint: Fingerprint = BASE, finished: bool = True) -> PreviousBuild:
    return PreviousBuild(fingerprint, finished, AS_OF)


def test_first_build_is_full():
    assert decide(None, BASE, None) == build_state.Decision(True, "first build of this warehouse")


def test_new_files_only_is_incremental():
    current = Fingerprint(FILES | {("twcs/2024-03-03.csv", "ccc")}, "project-1", {})
    assert decide(previous(), current, None) == build_state.Decision(
        False, "incremental: 1 new file(s) since the last build"
    )
    assert not decide(previous(), BASE, None).full_refresh  # nothing new: still incremental (as_of may move)


def test_replaced_or_removed_file_is_full():
    replaced = Fingerprint(
        (FILES - {("twcs/2024-03-01.csv", "aaa")}) | {("twcs/2024-03-01.csv", "zzz")}, "project-1"
    )
    decision = decide(previous(), replaced, None)
    assert decision == build_state.Decision(True, "loaded file(s) replaced or removed: twcs/2024-03-01.csv")
    removed = Fingerprint(frozenset({("twcs/2024-03-02.csv", "bbb")}), "project-1")
    assert decide(previous(), removed, None).full_refresh


def test_project_vars_unfinished_and_earlier_as_of_are_full():
    assert decide(previous(), Fingerprint(FILES, "project-2"), None).reason.startswith("the dbt project")
    with_vars = Fingerprint(FILES, "project-1", {"conversation_gap_hours": "12"})
    assert decide(previous(), with_vars, None).reason.startswith("dbt vars changed")
    assert decide(previous(finished=False), BASE, None).reason == "the previous build did not finish"
    earlier = decide(
        previous(), Fingerprint(FILES, "project-1", {"as_of": "2024-03-02 00:00:00"}), datetime(2024, 3, 2)
    )
    assert earlier == build_state.Decision(
        True, "as_of moved back from 2024-03-03 00:00:00 to 2024-03-02 00:00:00"
    )
    later = Fingerprint(FILES, "project-1", {"as_of": "2024-03-04 00:00:00"})
    assert not decide(
        previous(), later, datetime(2024, 3, 4)
    ).full_refresh  # as_of only in vars: not a change


def test_project_hash_follows_model_files(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    (tmp_path / "models" / "a.sql").write_text("select 1")
    first = build_state.project_hash(tmp_path)
    assert build_state.project_hash(tmp_path) == first
    (tmp_path / "models" / "a.sql").write_text("select 2")
    assert build_state.project_hash(tmp_path) != first


def test_project_hash_follows_the_versions_of_dbt_and_duckdb(tmp_path, monkeypatch):
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    first = build_state.project_hash(tmp_path)
    real = build_state._version
    monkeypatch.setattr(build_state, "_version", lambda p: "9.9.9" if p == "duckdb" else real(p))
    assert build_state.project_hash(tmp_path) != first


def test_state_round_trip_and_invalidate(tmp_path):
    con = duckdb.connect()
    con.execute("create schema raw; create schema intermediate")
    con.execute("create table raw.load_manifest (file_path varchar, file_hash varchar, status varchar)")
    con.execute(
        "insert into raw.load_manifest values ('twcs/a.csv', 'h1', 'loaded'), ('twcs/b.csv', 'h2', 'failed')"
    )
    con.execute("create table intermediate.int_messages (as_of_at timestamp)")
    con.execute("insert into intermediate.int_messages values ('2024-03-03 12:00:00')")
    assert build_state.previous_build(con) is None
    fingerprint = build_state.current_fingerprint(con, tmp_path, {})
    assert fingerprint.files == frozenset({("twcs/a.csv", "h1")})  # a failed file is not part of the history
    build_state.record_start(con, fingerprint, build_state.Decision(True, "first"), datetime(2024, 3, 4))
    assert build_state.previous_build(con).finished is False  # a build that never finishes forces a full one
    assert build_state.record_finish(con, datetime(2024, 3, 4, 0, 5)) == datetime(2024, 3, 3, 12)
    last = build_state.previous_build(con)
    assert (last.fingerprint, last.finished, last.as_of) == (fingerprint, True, datetime(2024, 3, 3, 12))
    assert decide(last, fingerprint, None).full_refresh is False
    build_state.invalidate(con, "erasure")
    assert decide(build_state.previous_build(con), fingerprint, None).full_refresh is True


def test_new_twcs_brand_handles_mean_a_full_refresh():
    """An inbound twcs tweet belongs to the brand it @mentions among the handles that reply: a new handle (or a
    new first spelling of one) changes the account of tweets loaded before."""
    before = Fingerprint(FILES, "project-1", {}, brands="b1")
    grown = Fingerprint(FILES | {("twcs/2024-03-03.csv", "ccc")}, "project-1", {}, brands="b2")
    decision = decide(PreviousBuild(before, True, None), grown, None)
    assert decision.full_refresh and "brand handles" in decision.reason
    same = Fingerprint(FILES | {("twcs/2024-03-03.csv", "ccc")}, "project-1", {}, brands="b1")
    assert not decide(PreviousBuild(before, True, None), same, None).full_refresh


def test_twcs_brands_follow_the_replying_handles():
    con = duckdb.connect()
    assert build_state.twcs_brands(con) == ""  # nothing loaded yet
    con.execute("create schema raw; create table raw.twcs_messages (author_id varchar, inbound boolean)")
    con.execute("insert into raw.twcs_messages values ('c1', true), ('Acme', false)")
    first = build_state.twcs_brands(con)
    con.execute("insert into raw.twcs_messages values ('c2', true), ('Acme', false)")  # more of the same
    assert build_state.twcs_brands(con) == first
    con.execute("insert into raw.twcs_messages values ('acme', false)")  # a spelling that does not come first
    assert build_state.twcs_brands(con) == first
    con.execute("insert into raw.twcs_messages values ('ACME', false)")  # comes first: now the account
    spelled = build_state.twcs_brands(con)
    assert spelled != first
    con.execute("insert into raw.twcs_messages values ('Globex', false)")
    assert build_state.twcs_brands(con) not in (first, spelled)
