"""publish(): the serving copy has the marts' rows and comments, is swapped in atomically, never disturbs a reader
that is already connected, and a failed publish leaves the previous copy as it was. It holds no message text and
no handle: every mart column is classified, customers and (unless the seed allows them) agents are pseudonyms."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration import serving
from orchestration.privacy import KEY_ENV, KeyedHash
from orchestration.serving import AGENT, CUSTOMER, IDENTIFIER, PUBLIC, TEXT, column_class, publish

SUM_SQL = "select sum(conversations) from marts.kpi_daily"
TEST_KEY = "unit-test-key-0123456789"
KEY = KeyedHash(TEST_KEY.encode(), KEY_ENV)
MARTS_YML = Path(__file__).resolve().parents[2] / "models" / "marts" / "_marts.yml"


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, TEST_KEY)


def make_warehouse(path: Path, conversations: tuple[int, int] = (3, 4)) -> Path:
    """Two marts with comments, a staging view for as_of, and a schema that must not be published."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema staging; create schema intermediate")
        con.execute(
            "create table marts.kpi_daily (account_id varchar, activity_date date, conversations bigint, "
            "response_rate double)"
        )
        con.execute(
            "insert into marts.kpi_daily values ('acme', '2024-03-01', ?, 0.5), ('acme', '2024-03-02', ?, 1.0)",
            list(conversations),
        )
        con.execute("create table marts.kpi_agent_daily (account_id varchar, agent varchar, replies bigint)")
        con.execute("insert into marts.kpi_agent_daily values ('acme', 'Anna', 2), ('acme', 'O''Brien', 1)")
        con.execute("comment on table marts.kpi_daily is 'One row per account x day. It''s daily.'")
        con.execute("comment on column marts.kpi_daily.conversations is 'Customer-initiated conversations.'")
        con.execute("comment on column marts.kpi_daily.response_rate is 'answered / (answered + unanswered)'")
        con.execute("comment on table marts.kpi_agent_daily is 'One row per agent x day.'")
        con.execute("comment on column marts.kpi_agent_daily.replies is 'Turns ended by this agent.'")
        con.execute("create table intermediate.int_secret as select 1 as x")
        con.execute("create view staging.stg_messages as select timestamp '2024-03-02 18:30:00' as sent_at")
        con.execute("create schema seeds")
        con.execute("create table seeds.accounts as select 'acme' as account_id, true as publish_agent_names")
    return path


def set_conversations(warehouse: Path, value: int) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.kpi_daily set conversations = ? where activity_date = '2024-03-01'", [value]
        )


def comments(db: Path) -> tuple[list[tuple], list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name, comment from duckdb_tables() order by all"
        ).fetchall()
        columns = con.execute(
            "select table_name, column_name, data_type, comment from duckdb_columns() "
            "where schema_name = 'marts' order by table_name, column_index"
        ).fetchall()
    return tables, columns


def rows(db: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"select * from marts.{table} order by all").fetchall()


def leftovers(*folders: Path) -> list[str]:
    return sorted(
        p.name for folder in folders for p in folder.rglob("*") if ".tmp-" in p.name or p.suffix == ".wal"
    )


def files(folder: Path) -> list[str]:
    """Every file under ``folder``, as a relative path."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "warehouse" / "social_care.duckdb")


def sqlalchemy_engine(db: Path):
    """A read-only SQLAlchemy engine on a DuckDB file (duckdb-engine). NullPool: each connect() opens the file
    anew (a pool would keep its connections, and so the build they opened, forever)."""
    sa = pytest.importorskip("sqlalchemy")
    pytest.importorskip("duckdb_engine", reason="duckdb-engine is not installed")
    from sqlalchemy.pool import NullPool

    return sa.create_engine(f"duckdb:///{db}", connect_args={"read_only": True}, poolclass=NullPool)


def total_in_new_process(db: Path) -> int:
    """The sum a reader in another process (a BI tool, an analyst's notebook) sees when it connects now."""
    code = "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute(sys.argv[2]).fetchone()[0])"
    out = subprocess.run(
        [sys.executable, "-c", code, str(db), SUM_SQL], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


def test_copy_has_the_same_rows_and_comments(warehouse):
    summary = publish(warehouse)

    target = warehouse.parent / "serving.duckdb"
    assert summary["serving_db"] == str(target)
    assert summary["tables"] == {"kpi_agent_daily": 2, "kpi_daily": 2}
    assert summary["rows"] == 4
    assert summary["bytes"] == target.stat().st_size > 0
    assert summary["seconds"] >= 0
    for table in ("kpi_daily", "kpi_agent_daily"):  # acme's seed row lets it publish its agents' names
        assert rows(target, table) == rows(warehouse, table)

    tables, columns = comments(target)
    assert tables == [
        ("marts", "kpi_agent_daily", "One row per agent x day."),
        ("marts", "kpi_daily", "One row per account x day. It's daily."),
    ]  # nothing but the marts
    # the same columns and comments; a pseudonymised column says so
    agent_note = serving._CLASS_NOTES[AGENT]
    assert columns == [
        (t, c, d, agent_note if (t, c) == ("kpi_agent_daily", "agent") else comment)
        for t, c, d, comment in comments(warehouse)[1]
    ]
    assert ("kpi_daily", "response_rate", "DOUBLE", "answered / (answered + unanswered)") in columns


def test_parquet_files_and_manifest(warehouse):
    summary = publish(warehouse)

    folder = warehouse.parent / "serving"
    assert files(folder) == ["kpi_agent_daily/all.parquet", "kpi_daily/all.parquet", "manifest.json"]
    with duckdb.connect() as con:
        got = con.execute(f"select * from '{folder / 'kpi_daily' / '*.parquet'}' order by all").fetchall()
    assert got == rows(warehouse, "kpi_daily") == rows(warehouse.parent / "serving.duckdb", "kpi_daily")
    assert summary["parquet_bytes"] == sum(p.stat().st_size for p in folder.rglob("*.parquet"))

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["as_of"] == "2024-03-02T18:30:00" == summary["as_of"]
    assert datetime.fromisoformat(manifest["published_at"]).tzinfo is not None
    assert manifest["tables"]["kpi_daily"]["rows"] == 2
    assert manifest["tables"]["kpi_daily"]["parquet"] == "kpi_daily/*.parquet"
    assert manifest["tables"]["kpi_daily"]["files"]["all"]["rows"] == 2
    assert manifest["publish"]["mode"] == summary["mode"] == "full"
    assert manifest["tables"]["kpi_agent_daily"]["comment"] == "One row per agent x day."


def test_explicit_destinations(warehouse, tmp_path):
    publish(warehouse, serving_db=tmp_path / "bi" / "kpis.duckdb", parquet_dir=tmp_path / "lake")
    assert rows(tmp_path / "bi" / "kpis.duckdb", "kpi_daily") == rows(warehouse, "kpi_daily")
    assert (tmp_path / "lake" / "kpi_daily" / "all.parquet").is_file()
    assert not (warehouse.parent / "serving.duckdb").exists()


def test_no_temporary_file_is_left_behind(warehouse):
    publish(warehouse)
    publish(warehouse)
    assert leftovers(warehouse.parent, warehouse.parent / "serving") == []
    assert sorted(p.name for p in warehouse.parent.iterdir()) == [
        "serving",
        "serving.duckdb",
        "social_care.duckdb",
    ]


def test_a_connected_reader_keeps_its_build_and_a_new_connection_sees_the_new_one(warehouse, monkeypatch):
    target = warehouse.parent / "serving.duckdb"
    publish(warehouse)
    engine = sqlalchemy_engine(target)
    sa = pytest.importorskip("sqlalchemy")
    set_conversations(warehouse, 10)
    seen_while_writing = []
    write_parquet = serving._write_parquet

    with engine.connect() as reader:
        assert reader.execute(sa.text(SUM_SQL)).scalar() == 7
        with pytest.raises(sa.exc.DBAPIError, match="read-only"):
            reader.execute(sa.text("create table marts.x (a int)"))
        reader.rollback()

        def watching(con, query, path):  # runs while publish() writes the new build
            seen_while_writing.append(reader.execute(sa.text(SUM_SQL)).scalar())
            write_parquet(con, query, path)

        monkeypatch.setattr(serving, "_write_parquet", watching)
        publish(warehouse)

        assert seen_while_writing == [7]  # only kpi_daily changed: one file written again
        assert reader.execute(sa.text(SUM_SQL)).scalar() == 7  # still the build it opened (the old inode)
        assert total_in_new_process(target) == 14  # another process connecting now gets the new build
    engine.dispose()

    with sqlalchemy_engine(target).connect() as reader:
        assert reader.execute(sa.text(SUM_SQL)).scalar() == 14


@pytest.mark.parametrize("failing_step", ["_write_parquet", "_fsync"])
def test_a_failure_in_the_middle_leaves_the_old_serving_copy(warehouse, monkeypatch, failing_step):
    publish(warehouse)
    target = warehouse.parent / "serving.duckdb"
    folder = warehouse.parent / "serving"
    before = {p.name: p.read_bytes() for p in [target, *folder.rglob("*.*")]}
    set_conversations(warehouse, 100)

    def boom(*args, **kwargs):
        assert list(warehouse.parent.glob("serving.duckdb.tmp-*")), "the new build is being written"
        raise OSError("disk full")

    monkeypatch.setattr(serving, failing_step, boom)
    with pytest.raises(OSError, match="disk full"):
        publish(warehouse)

    assert {p.name: p.read_bytes() for p in [target, *folder.rglob("*.*")]} == before
    assert rows(target, "kpi_daily")[0][2] == 3
    assert leftovers(warehouse.parent, folder) == []


def test_a_warehouse_without_marts_publishes_nothing(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ValueError, match="nothing to publish"):
        publish(empty)
    assert [p.name for p in tmp_path.iterdir()] == ["empty.duckdb"]


# ------------------------------------------------------------------------------------------- personal data


def personal_warehouse(path: Path) -> Path:
    """Marts with a customer, agents of an account that allows their names and of one that does not, ids that
    embed a customer id, and message text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema seeds")
        con.execute(
            "create table seeds.accounts as select * from (values ('open', 'true'), ('closed', 'false')) "
            "t(account_id, publish_agent_names)"
        )
        con.execute(
            """
            create table marts.fct_conversations as select * from (values
                ('facebook:closed:u1#1', 'closed', 'facebook', 'u1', 'ana@closed.example', 'hi, my order', 3),
                ('twitter:55#1', 'open', 'twitter', 'u1', 'JK', 'hello', 1),
                ('twitter:56#1', 'closed', 'twitter', null, '(unattributed)', null, 2),
                ('twitter:57#1', 'closed', 'twitter', 'u2', null, 'x', 4)
            ) t(conversation_id, account_id, channel, customer_id, first_reply_agent, text, message_count)
            """
        )
        con.execute("comment on column marts.fct_conversations.customer_id is 'The customer.'")
        con.execute(
            """
            create table marts.fct_turns as select * from (values
                ('facebook:closed:u1#1/0', 'facebook:closed:u1#1', 'closed', 'facebook', 'ana@closed.example'),
                ('twitter:55#1/0', 'twitter:55#1', 'open', 'twitter', 'JK')
            ) t(turn_id, conversation_id, account_id, channel, replied_by_agent)
            """
        )
    return path


def test_customers_become_pseudonyms_ids_keyed_hashes_and_text_is_dropped(tmp_path):
    warehouse = personal_warehouse(tmp_path / "w.duckdb")
    summary = publish(warehouse)
    target = tmp_path / "serving.duckdb"
    with duckdb.connect(str(target), read_only=True) as con:
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where table_name = 'fct_conversations' order by column_index"
            ).fetchall()
        ]
        got = con.execute(
            "select conversation_id, account_id, channel, customer_id, first_reply_agent, message_count "
            "from marts.fct_conversations order by message_count"
        ).fetchall()
        joined = con.execute(
            "select count(*) from marts.fct_turns join marts.fct_conversations using (conversation_id)"
        ).fetchone()[0]
        comment = con.execute(
            "select comment from duckdb_columns() where table_name = 'fct_conversations' "
            "and column_name = 'customer_id'"
        ).fetchone()[0]
    assert "text" not in columns
    h = KEY.hash
    assert got == [
        # open publishes its agents; closed's are pseudonyms (one per account and agent); "(unattributed)" stays
        (h("id", "twitter:55#1"), "open", "twitter", KEY.pseudonym("twitter", "u1"), "JK", 1),
        (h("id", "twitter:56#1"), "closed", "twitter", None, "(unattributed)", 2),
        (
            h("id", "facebook:closed:u1#1"),
            "closed",
            "facebook",
            KEY.pseudonym("facebook", "u1"),
            h("agent", "closed", "ana@closed.example"),
            3,
        ),
        (h("id", "twitter:57#1"), "closed", "twitter", KEY.pseudonym("twitter", "u2"), None, 4),
    ]
    assert joined == 2  # the hashed ids still join the marts
    assert comment == "The customer. " + serving._CLASS_NOTES[CUSTOMER]
    assert summary["withheld"] == {}
    with duckdb.connect() as con:  # the Parquet files hold what the DuckDB copy holds
        parquet = con.execute(
            f"select conversation_id, account_id, channel, customer_id, first_reply_agent, message_count "
            f"from '{tmp_path / 'serving' / 'fct_conversations' / 'all.parquet'}' order by message_count"
        ).fetchall()
    assert parquet == got
    personal = json.loads((tmp_path / "serving" / "manifest.json").read_text())["personal_data"]
    assert personal["columns"]["fct_conversations"] == {
        "conversation_id": IDENTIFIER,
        "customer_id": CUSTOMER,
        "first_reply_agent": AGENT,
    }
    assert personal["dropped"]["fct_conversations"] == ["text"]
    assert personal["agent_names_published_for"] == ["open"]
    assert TEST_KEY not in (tmp_path / "serving" / "manifest.json").read_text()


def test_pseudonyms_are_the_same_in_every_publish_and_change_with_the_key(tmp_path, monkeypatch):
    warehouse = personal_warehouse(tmp_path / "w.duckdb")
    publish(warehouse)
    first = rows(tmp_path / "serving.duckdb", "fct_conversations")
    publish(warehouse)
    assert rows(tmp_path / "serving.duckdb", "fct_conversations") == first
    monkeypatch.setenv(KEY_ENV, "another-key-0123456789ab")
    publish(warehouse)
    assert rows(tmp_path / "serving.duckdb", "fct_conversations") != first


def test_without_a_key_one_is_created_beside_the_warehouse_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    warehouse = personal_warehouse(tmp_path / "w.duckdb")
    first = publish(warehouse)
    assert "not set" in first["key_notice"] and "created" in first["key_notice"]
    key_file = tmp_path / "pseudonym.key"
    assert key_file.stat().st_mode & 0o077 == 0
    pseudonyms = rows(tmp_path / "serving.duckdb", "fct_conversations")
    second = publish(warehouse)
    assert "stored" in second["key_notice"]
    assert rows(tmp_path / "serving.duckdb", "fct_conversations") == pseudonyms
    expected = KeyedHash(key_file.read_text().strip().encode(), "file").pseudonym("facebook", "u1")
    assert expected in {r[3] for r in pseudonyms}


def test_an_unclassified_column_is_withheld(tmp_path):
    warehouse = personal_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table marts.fct_turns add column customer_handle varchar default '@u1'")
        con.execute("alter table marts.fct_turns add column tags varchar[] default ['u1']")
        con.execute("alter table marts.fct_turns add column wait_seconds bigint default 5")
    summary = publish(warehouse)
    assert summary["withheld"] == {"fct_turns": ["customer_handle", "tags"]}
    with duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True) as con:
        published = [r[0] for r in con.execute("describe marts.fct_turns").fetchall()]
    assert published == [
        "turn_id",
        "conversation_id",
        "account_id",
        "channel",
        "replied_by_agent",
        "wait_seconds",
    ]


def test_every_column_of_every_mart_is_classified():
    """A new mart column that can hold text must get a class in serving.COLUMN_CLASSES before it is published
    (until then the serving copy withholds it)."""
    models = yaml.safe_load(MARTS_YML.read_text(encoding="utf-8"))["models"]
    assert len(models) >= 10
    unclassified = [
        f"{model['name']}.{column['name']} ({column['data_type']})"
        for model in models
        for column in model.get("columns", [])
        if column_class(column["name"], column["data_type"]) is None
    ]
    assert unclassified == []
    kinds = {column_class(c["name"], c["data_type"]) for m in models for c in m.get("columns", [])}
    assert {PUBLIC, CUSTOMER, AGENT, IDENTIFIER} <= kinds
    assert column_class("text", "varchar") == TEXT
    assert column_class("new_free_text", "varchar") is None
    assert column_class("new_count", "bigint") == PUBLIC
    assert column_class("customer_id", "bigint") == CUSTOMER  # a numeric customer id is still personal


# ------------------------------------------------------------------------------------------ agent pseudonyms


def agents_warehouse(path: Path) -> Path:
    """fct_turns with 40 agents over 2,000 rows, of an account that publishes its agents and of two that do not,
    with nulls, "(unattributed)", a quote in a name and a row without an account; and a mart without an agent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema seeds")
        con.execute(
            "create table seeds.accounts as select * from (values ('open', 'true'), ('closed', 'false'), "
            "('shut', 'false')) t(account_id, publish_agent_names)"
        )
        con.execute(
            """
            create table marts.fct_turns as
            select
                'turn-' || i as turn_id,
                case when i % 97 = 0 then null else ['open', 'closed', 'shut'][1 + i % 3] end as account_id,
                'twitter' as channel,
                case
                    when i % 11 = 0 then null
                    when i % 13 = 0 then '(unattributed)'
                    when i % 17 = 0 then 'O''Brien'
                    else 'agent ' || (i * 7919 % 40)
                end as replied_by_agent,
                i as wait_seconds
            from range(2000) t(i)
            """
        )
        con.execute("create table marts.kpi_daily as select 'open' as account_id, 5 as conversations")
    return path


def test_the_agent_map_holds_each_agents_keyed_hash(tmp_path):
    warehouse = agents_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        KEY.install(con)
        lookup = serving.install_agent_map(con, KEY, ["fct_turns", "kpi_daily"])
        assert lookup == f"(select pseudonyms from temp.main.{serving.AGENT_MAP_TABLE})"
        entries = dict(
            con.execute(
                f"select unnest(map_keys(m)), unnest(map_values(m)) from (select {lookup} as m)"
            ).fetchall()
        )
        got = con.execute(f"select {lookup}['closed' || chr(31) || 'O''Brien']").fetchone()[0]
        # a row without an account has no message: no entry, and the lookup gives null as the HMAC does
        assert con.execute(f"select {lookup}[null::varchar]").fetchone()[0] is None
        assert serving.install_agent_map(con, KEY, ["fct_turns"], limit=10) is None  # 40+ agents: row by row
        assert serving.install_agent_map(con, KEY, ["kpi_daily"]) is None  # no agent column
    # every (account, agent) pair, "(unattributed)" included (the CASE keeps it before any lookup)
    assert len(entries) == 3 * 42
    assert entries["shut\x1fagent 3"] == KEY.hash("agent", "shut", "agent 3")
    assert entries["open\x1f(unattributed)"] == KEY.hash("agent", "open", "(unattributed)")
    assert got == KEY.hash("agent", "closed", "O'Brien")


def test_agents_looked_up_in_the_map_equal_agents_hashed_row_by_row(tmp_path, monkeypatch):
    """The map is only a faster way to the same values: the serving copy (rows, order, Parquet) is the one that
    hashing every row gives (AGENT_MAP_LIMIT 0: no map, the implementation before the map)."""
    warehouse = agents_warehouse(tmp_path / "w.duckdb")
    summary = publish(warehouse, serving_db=tmp_path / "mapped.duckdb", parquet_dir=tmp_path / "mapped")
    monkeypatch.setattr(serving, "AGENT_MAP_LIMIT", 0)
    publish(warehouse, serving_db=tmp_path / "hashed.duckdb", parquet_dir=tmp_path / "hashed")

    def ordered(db: Path) -> list[tuple]:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute("select * from marts.fct_turns").fetchall()  # in stored order

    mapped, hashed = ordered(tmp_path / "mapped.duckdb"), ordered(tmp_path / "hashed.duckdb")
    assert mapped == hashed and len(mapped) == 2000
    with duckdb.connect() as con:
        for folder in ("mapped", "hashed"):
            assert (
                con.execute(f"select * from '{tmp_path / folder / 'fct_turns' / 'all.parquet'}'").fetchall()
                == hashed
            )
    agents = {(r[1], r[3]) for r in mapped}
    assert ("open", "agent 0") in agents  # open publishes its agents
    assert ("closed", KEY.hash("agent", "closed", "agent 1")) in agents
    assert ("shut", KEY.hash("agent", "shut", "O'Brien")) in agents
    assert ("shut", "(unattributed)") in agents and ("closed", None) in agents
    no_account = {a for account, a in agents if account is None}
    assert no_account == {None, "(unattributed)"}  # without an account an agent has no pseudonym
    assert summary["tables"] == {"fct_turns": 2000, "kpi_daily": 1}


# ------------------------------------------------------------------------------------------ incremental publish


def days_warehouse(path: Path) -> Path:
    """fct_conversations over three days (partitioned by started_date and blocks of started_at, 1,000 rows a day,
    one row without a day) with customers to pseudonymise, and a small kpi mart."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema seeds")
        con.execute(
            "create table seeds.accounts as select 'acme' as account_id, false as publish_agent_names"
        )
        con.execute(
            """
            create table marts.fct_conversations as
            select
                'twitter:' || i as conversation_id,
                'acme' as account_id,
                'twitter' as channel,
                'u' || (i % 300) as customer_id,
                case when i = 0 then null else date '2024-03-01' + (i % 3)::int end as started_date,
                case when i = 0 then null else timestamp '2024-03-01' + to_days(i % 3) + to_seconds(i) end
                    as started_at,
                'resolved' as resolution_status,
                i as message_count
            from range(3000) t(i)
            """
        )
        con.execute("comment on column marts.fct_conversations.started_date is 'Local day.'")
        con.execute("create table marts.kpi_daily as select 'acme' as account_id, 5 as conversations")
    return path


def manifest_state(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())["state"]


def parquet_rows(folder: Path, mart: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(f"select * from '{folder / mart / '*.parquet'}' order by all").fetchall()


def test_an_incremental_publish_writes_only_changed_partitions_and_equals_a_full_one(tmp_path):
    warehouse = days_warehouse(tmp_path / "w.duckdb")
    first = publish(warehouse)
    folder = tmp_path / "serving"
    assert first["mode"] == "full" and first["partitions_written"] == 5  # 3 days + no day + kpi_daily
    assert files(folder) == [
        "fct_conversations/2024-03-01.parquet",
        "fct_conversations/2024-03-02.parquet",
        "fct_conversations/2024-03-03.parquet",
        "fct_conversations/none.parquet",
        "kpi_daily/all.parquet",
        "manifest.json",
    ]
    untouched = (folder / "fct_conversations" / "2024-03-02.parquet").stat()
    first_state = manifest_state(folder)
    with duckdb.connect(str(warehouse)) as con:
        # a status moves on day 2024-03-01, day 2024-03-03 loses every row, a new day arrives, no row loses its day
        con.execute(
            "update marts.fct_conversations set resolution_status = 'pending' where conversation_id = 'twitter:3'"
        )
        con.execute("delete from marts.fct_conversations where started_date = date '2024-03-03'")
        con.execute(
            "insert into marts.fct_conversations select 'twitter:new' || i, 'acme', 'twitter', 'u9', "
            "date '2024-03-05', timestamp '2024-03-05 10:00:00' + to_seconds(i), 'open', i from range(10) t(i)"
        )

    second = publish(warehouse)

    assert (second["mode"], second["partitions_written"], second["partitions_kept"]) == ("incremental", 2, 3)
    assert files(folder) == [
        "fct_conversations/2024-03-01.parquet",
        "fct_conversations/2024-03-02.parquet",
        "fct_conversations/2024-03-05.parquet",
        "fct_conversations/none.parquet",
        "kpi_daily/all.parquet",
        "manifest.json",
    ]
    assert (folder / "fct_conversations" / "2024-03-02.parquet").stat().st_mtime_ns == untouched.st_mtime_ns
    assert second["tables"] == {"fct_conversations": 2010, "kpi_daily": 1}
    # the DuckDB copy rewrote blocks, not days: of day 2024-03-01 (1,000 rows in 32 blocks) only the changed row's
    assert first["blocks"] == 3 * 32 + 1 + 1  # every block of 3 days, the rows without a day, kpi_daily
    assert 2 * 32 + 1 + 2 <= second["blocks"] <= 2 * 32 + 1 + 10 + 1  # and the new day's 10 rows
    before, after = (
        {p: f for p, f in state["fingerprints"]["fct_conversations"].items() if p.startswith("2024-03-01#")}
        for state in (first_state, manifest_state(folder))
    )
    assert len(before) == len(after) == 32 and sum(before[p] != after[p] for p in before) == 1
    assert 2 <= second["blocks_written"] <= 1 + 10  # that block and the new day's (10 rows)
    # the same rows as a full publish of the same marts, in the DuckDB copy and in the Parquet files
    full = publish(warehouse, serving_db=tmp_path / "full.duckdb", parquet_dir=tmp_path / "full", full=True)
    assert full["mode"] == "full"
    for mart in ("fct_conversations", "kpi_daily"):
        assert rows(tmp_path / "serving.duckdb", mart) == rows(tmp_path / "full.duckdb", mart)
        assert (
            parquet_rows(folder, mart)
            == parquet_rows(tmp_path / "full", mart)
            == rows(tmp_path / "full.duckdb", mart)
        )
    assert comments(tmp_path / "serving.duckdb") == comments(tmp_path / "full.duckdb")
    assert ("twitter", KEY.pseudonym("twitter", "u9")) in {
        (r[2], r[3]) for r in rows(tmp_path / "serving.duckdb", "fct_conversations")
    }
    third = publish(warehouse)  # nothing changed: nothing written
    assert (third["mode"], third["partitions_written"]) == ("incremental", 0)
    assert rows(tmp_path / "serving.duckdb", "fct_conversations") == rows(
        tmp_path / "full.duckdb", "fct_conversations"
    )


def test_a_change_to_a_text_that_duckdbs_hash_cannot_tell_apart_is_published(tmp_path):
    """DuckDB's hash() of a string has structural collisions: these two ids (two digits moved in step, 8 bytes
    apart) hash to the same 64-bit value in DuckDB 2.0, and 75 pairs of the 16M message keys of the 20M benchmark
    did. A fingerprint summing hash() of the row missed this change; text columns are fingerprinted by md5."""
    before, after = "facebook:1000002022_5935725", "facebook:1000005022_5930725"
    warehouse = days_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.fct_conversations set customer_id = ? where conversation_id = 'twitter:3'", [before]
        )
    publish(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.fct_conversations set customer_id = ? where conversation_id = 'twitter:3'", [after]
        )

    second = publish(warehouse)

    assert (second["mode"], second["partitions_written"]) == ("incremental", 1)
    customers = {r[3] for r in rows(tmp_path / "serving.duckdb", "fct_conversations")}
    assert KEY.pseudonym("twitter", after) in customers and KEY.pseudonym("twitter", before) not in customers
    publish(warehouse, serving_db=tmp_path / "full.duckdb", parquet_dir=tmp_path / "full", full=True)
    published = rows(tmp_path / "serving.duckdb", "fct_conversations")
    assert published == rows(tmp_path / "full.duckdb", "fct_conversations")
    assert parquet_rows(tmp_path / "serving", "fct_conversations") == published


def test_a_full_publish_after_an_erasure_a_new_key_or_a_replaced_serving_copy(tmp_path, monkeypatch):
    warehouse = days_warehouse(tmp_path / "w.duckdb")
    publish(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.erased_authors as select 'twitter' as channel")
    erased = publish(warehouse)
    assert erased["mode"] == "full" and "erasure" in erased["reason"]
    assert publish(warehouse)["mode"] == "incremental"

    monkeypatch.setenv(KEY_ENV, "another-key-0123456789ab")
    assert publish(warehouse)["mode"] == "full"

    other = tmp_path / "other.duckdb"
    publish(warehouse, serving_db=other, parquet_dir=tmp_path / "other")
    (tmp_path / "serving.duckdb").write_bytes(other.read_bytes())  # someone put another file in its place
    replaced = publish(warehouse)
    assert replaced["mode"] == "full" and "not the one" in replaced["reason"]

    (
        tmp_path / "serving" / "fct_conversations" / "2024-03-03.parquet"
    ).unlink()  # a Parquet file went missing
    repaired = publish(warehouse)
    assert (repaired["mode"], repaired["partitions_written"]) == ("incremental", 1)
    assert (tmp_path / "serving" / "fct_conversations" / "2024-03-03.parquet").is_file()


def test_a_publish_of_the_layout_before_partitions_removes_its_files(tmp_path):
    warehouse = days_warehouse(tmp_path / "w.duckdb")
    folder = tmp_path / "serving"
    folder.mkdir()
    (folder / "kpi_daily.parquet").write_bytes(b"old")
    (folder / "manifest.json").write_text(
        json.dumps({"tables": {"kpi_daily": {"rows": 1, "parquet": "kpi_daily.parquet"}}})
    )
    assert publish(warehouse)["mode"] == "full"
    assert not (folder / "kpi_daily.parquet").exists()


def test_plan_compares_fingerprints_per_partition():
    now = {"m": {"2024-03-01": [2, "10"], "2024-03-02": [1, "7"]}, "k": {"all": [1, "3"]}}
    state = {
        "signature": "s",
        "serving_db_stat": [10, 20],
        "fingerprints": {"m": {"2024-03-01": [2, "10"], "2024-03-03": [4, "1"]}, "k": {"all": [1, "3"]}},
    }
    on_disk = {"m": {"2024-03-01", "2024-03-03"}, "k": {"all"}}
    got = serving.plan(state, "s", now, [10, 20], on_disk)
    assert (got.full, got.changed, got.removed) == (
        False,
        {"m": ["2024-03-02"], "k": []},
        {"m": ["2024-03-03"], "k": []},
    )
    assert serving.plan(state, "s", now, [10, 20], {"m": set(), "k": {"all"}}).changed["m"] == [
        "2024-03-01",
        "2024-03-02",
    ]
    for args, reason in [
        ((None, "s", now, [10, 20], on_disk), "no earlier publish"),
        ((state, "t", now, [10, 20], on_disk), "changed"),
        ((state, "s", now, [11, 20], on_disk), "not the one"),
        ((state, "s", now, None, on_disk), "not the one"),
    ]:
        full = serving.plan(*args)
        assert (
            full.full
            and reason in full.reason
            and full.changed == {"m": ["2024-03-01", "2024-03-02"], "k": ["all"]}
        )
    assert serving.plan(state, "s", now, [10, 20], on_disk, full=True).full


def test_a_mart_that_empties_has_no_file_and_no_rows(tmp_path):
    warehouse = days_warehouse(tmp_path / "w.duckdb")
    publish(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from marts.kpi_daily")
        con.execute("delete from marts.fct_conversations where started_date = date '2024-03-02'")
    emptied = publish(warehouse)
    assert emptied["mode"] == "incremental" and emptied["tables"] == {
        "fct_conversations": 2000,
        "kpi_daily": 0,
    }
    assert "kpi_daily/all.parquet" not in files(tmp_path / "serving")
    assert "fct_conversations/2024-03-02.parquet" not in files(tmp_path / "serving")
    assert rows(tmp_path / "serving.duckdb", "kpi_daily") == []
    assert publish(warehouse, full=True)["tables"] == emptied["tables"]  # a full publish of an empty mart too


def test_a_block_that_loses_every_row_rewrites_its_day_file(tmp_path):
    """A block of a day empties (its rows moved to another day), the day's other blocks do not change: the day's
    Parquet file is written again without those rows."""
    warehouse = days_warehouse(tmp_path / "w.duckdb")
    publish(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        block = serving._block("started_at")
        before = con.execute(
            "select count(*) from marts.fct_conversations where started_date = date '2024-03-01'"
        ).fetchone()[0]
        moved = con.execute(
            f"update marts.fct_conversations set started_date = date '2024-03-05', "
            f"started_at = started_at + interval 4 days where started_date = date '2024-03-01' and {block} = "
            f"(select {block} from marts.fct_conversations where conversation_id = 'twitter:3')"
        ).fetchone()[0]
    assert moved > 1
    second = publish(warehouse)
    assert second["mode"] == "incremental"
    full = publish(warehouse, serving_db=tmp_path / "full.duckdb", parquet_dir=tmp_path / "full", full=True)
    assert full["mode"] == "full"
    folder = tmp_path / "serving"
    assert parquet_rows(folder, "fct_conversations") == parquet_rows(tmp_path / "full", "fct_conversations")
    with duckdb.connect() as con:
        day_rows = con.execute(
            f"select count(*) from '{folder / 'fct_conversations' / '2024-03-01.parquet'}'"
        ).fetchone()[0]
    assert day_rows == before - moved
    assert rows(tmp_path / "serving.duckdb", "fct_conversations") == rows(
        tmp_path / "full.duckdb", "fct_conversations"
    )


def test_plan_rewrites_blocks_of_days_and_every_block_of_a_day_whose_file_is_missing():
    now = {"m": {"2024-03-01#00": [2, "10"], "2024-03-01#05": [1, "8"], "2024-03-02#05": [1, "7"]}}
    state = {
        "signature": "s",
        "serving_db_stat": [10, 20],
        "full_publish_bytes": 6,
        "fingerprints": {
            "m": {"2024-03-01#00": [2, "10"], "2024-03-01#05": [1, "9"], "2024-03-02#05": [1, "7"]}
        },
    }
    got = serving.plan(state, "s", now, [10, 20], {"m": {"2024-03-01", "2024-03-02"}})
    assert (got.full, got.changed, got.removed) == (False, {"m": ["2024-03-01#05"]}, {"m": []})
    got = serving.plan(state, "s", now, [10, 20], {"m": {"2024-03-02"}})
    assert got.changed == {"m": ["2024-03-01#00", "2024-03-01#05"]}
    # a copy grown past GROWTH_LIMIT times its size after the last full publish is written anew
    grown = serving.plan({**state, "serving_db_stat": [13, 20]}, "s", now, [13, 20], {"m": {"2024-03-01"}})
    assert grown.full and "grew" in grown.reason


def test_in_partitions_selects_whole_days_blocks_and_rows_without_a_day():
    with duckdb.connect() as con:
        con.execute(
            "create table t as select i, case when i % 10 = 0 then null "
            "else timestamp '2024-03-01' + to_days(i % 3) + to_seconds(i) end as at from range(300) t(i)"
        )
        block = {
            i: b for i, b in con.execute(f"select i, {serving._block('at')} from t").fetchall()
        }  # the function under test's block numbers, checked below to spread rows and be 0-31
        assert set(block.values()) == set(range(serving.BLOCKS))

        def selected(parts: list[str]) -> set[int]:
            where = serving._in_partitions("at", parts, "at")
            return {i for (i,) in con.execute(f"select i from t where {where}").fetchall()}

        day = {i: None if i % 10 == 0 else f"2024-03-0{1 + i % 3}" for i in range(300)}
        assert selected([]) == set()
        assert selected(["2024-03-02"]) == {i for i in range(300) if day[i] == "2024-03-02"}
        assert selected(["2024-03-01#03", "2024-03-01#07", "none#03", "2024-03-03"]) == {
            i
            for i in range(300)
            if (day[i] == "2024-03-01" and block[i] in (3, 7))
            or (day[i] is None and block[i] == 3)
            or day[i] == "2024-03-03"
        }
        assert selected(["none"]) == {i for i in range(300) if day[i] is None}
        # a day named whole and by a block: the whole day
        assert selected(["2024-03-02", "2024-03-02#01"]) == selected(["2024-03-02"])


@pytest.mark.parametrize("fails_on", ["serving.duckdb", "manifest.json"])
def test_a_publish_interrupted_after_the_parquet_files_is_repaired_by_the_next_one(
    tmp_path, monkeypatch, fails_on
):
    """A crash after some files were renamed into place (Parquet first, then serving.duckdb, then the manifest):
    the next publish still ends with what a full publish of the same marts gives."""
    warehouse = days_warehouse(tmp_path / "w.duckdb")
    publish(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.fct_conversations set message_count = -1 where started_date = date '2024-03-02'"
        )
    replace = serving.os.replace

    def crash(source, target):
        if Path(target).name == fails_on:
            raise OSError("power cut")
        replace(source, target)

    monkeypatch.setattr(serving.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        publish(warehouse)
    monkeypatch.setattr(serving.os, "replace", replace)

    publish(warehouse)
    publish(warehouse, serving_db=tmp_path / "full.duckdb", parquet_dir=tmp_path / "full", full=True)
    for mart in ("fct_conversations", "kpi_daily"):
        assert rows(tmp_path / "serving.duckdb", mart) == rows(tmp_path / "full.duckdb", mart)
        assert parquet_rows(tmp_path / "serving", mart) == parquet_rows(tmp_path / "full", mart)
    assert files(tmp_path / "serving") == files(tmp_path / "full")
    assert leftovers(tmp_path, tmp_path / "serving") == []
