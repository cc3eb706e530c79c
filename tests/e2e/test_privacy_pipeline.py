"""Personal data on the sample exports (plus one file of each platform format): the serving copy, its Parquet
files and the report hold no message text and no raw handle; erasing a customer (forget) removes them from every
table of the warehouse and of the serving copy, leaves exactly the marts a fresh build without them gives, and
loading the landing files again does not bring them back."""

from __future__ import annotations

import csv
import json
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.assets.publish import MARTS
from orchestration.forget import forget
from orchestration.generate import generate
from orchestration.privacy import KEY_ENV, KeyedHash
from orchestration.run import build
from orchestration.serving import COLUMN_CLASSES, PUBLIC, UNATTRIBUTED
from tests.conftest import FIXTURES

pytestmark = pytest.mark.e2e

HEX64 = re.compile(r"[0-9a-f]{64}")
MENTION = re.compile(r"@([A-Za-z0-9_]+)")


@contextmanager
def environment(landing: Path, warehouse: Path) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIAL_CARE_LANDING_DIR", str(landing))
        mp.setenv("SOCIAL_CARE_WAREHOUSE", str(warehouse))
        mp.delenv(KEY_ENV, raising=False)  # the key file beside the warehouse
        yield


def run_build(landing: Path, warehouse: Path) -> dg.ExecuteInProcessResult:
    with environment(landing, warehouse):
        result = build(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    return result


@dataclass
class Sample:
    landing: Path
    warehouse: Path
    logs: list[str]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    root = tmp_path_factory.mktemp("privacy")
    landing = root / "landing"
    generate(landing, messages=800, days=7, accounts=2)
    shutil.copytree(FIXTURES / "formats" / "twitter_v2", landing / "twitter_v2")
    (landing / "facebook_graph").mkdir()
    shutil.copy(FIXTURES / "formats" / "facebook_graph" / "conversations.json", landing / "facebook_graph")
    shutil.copytree(FIXTURES / "formats" / "messenger_dyi", landing / "messenger_dyi")
    warehouse = root / "warehouse" / "w.duckdb"
    instance = dg.DagsterInstance.ephemeral()
    with environment(landing, warehouse):
        result = build(instance=instance)
    assert result.success
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    return Sample(landing, warehouse, logs)


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def varchar_values(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] | None = None
) -> dict[str, list[str]]:
    """Every non-null value of every text column of every table and view, by table.column."""
    columns = con.execute(
        """
        select schema_name, table_name, column_name from duckdb_columns()
        where database_name = current_database() and data_type = 'VARCHAR' and not internal
        order by all
        """
    ).fetchall()
    out = {}
    for schema, table, column in columns:
        if schemas and schema not in schemas:
            continue
        rows = con.execute(
            f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'
        )
        out[f"{schema}.{table}.{column}"] = [r[0] for r in rows.fetchall()]
    return out


def json_strings(value) -> list[str]:
    """Every key and string value in a parsed JSON document."""
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *json_strings(item)]]
    if isinstance(value, list):
        return [text for item in value for text in json_strings(item)]
    return [value] if isinstance(value, str) else []


def leaks(values: dict[str, list[str]] | str, needles: set[str], substring_from: int) -> list[str]:
    """Needles found in the values: as a whole value, as a word (between characters that are not letters or
    digits), or anywhere when at least ``substring_from`` characters long and not a plain number (a short number
    turns up inside hex hashes by chance)."""
    text = values if isinstance(values, str) else "\n".join(v for vs in values.values() for v in vs)
    exact = set() if isinstance(values, str) else {v for vs in values.values() for v in vs}
    words = set(re.split(r"[^0-9A-Za-z_]+", text))
    long_enough = {n for n in needles if len(n) >= substring_from and not n.isdigit()}
    return sorted(n for n in needles if n in exact or n in words or (n in long_enough and n in text))


def personal_values(warehouse: Path) -> tuple[set[str], set[str]]:
    """(handles, texts) of the warehouse: every customer's author id, every agent id and sign-off, the ids of
    private threads (a Messenger thread is named after the person), and every message text."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        allowed = {
            r[0]
            for r in con.execute("select account_id from seeds.accounts where publish_agent_names").fetchall()
        }
        handles = {
            r[0]
            for r in con.execute(
                """
                select author_id from staging.stg_messages where author_role = 'customer'
                union select agent_id from staging.stg_messages where agent_id is not null
                union select split_part(source_thread_key, ':', 3) from staging.stg_messages where is_private
                """
            ).fetchall()
            if r[0]
        }
        handles |= {
            agent
            for account, agent in con.execute(
                "select distinct account_id, agent from marts.kpi_agent_daily"
            ).fetchall()
            if account not in allowed and agent != UNATTRIBUTED
        }
        texts = {
            r[0]
            for r in con.execute("select distinct text from staging.stg_messages where text <> ''").fetchall()
        }
    return handles, texts


def test_the_serving_copy_parquet_and_report_hold_no_text_and_no_handle(sample):
    handles, texts = personal_values(sample.warehouse)
    assert len(handles) > 300 and {"900", "2001", "Jane Doe"} <= handles
    assert len(texts) > 100
    folder = sample.warehouse.parent
    with duckdb.connect(str(folder / "serving.duckdb"), read_only=True) as con:
        served = varchar_values(con)
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert tables == set(MARTS)
    with duckdb.connect() as con:
        for mart in sorted(p for p in (folder / "serving").iterdir() if p.is_dir()):
            con.execute(f"create view \"{mart.name}\" as select * from '{mart / '*.parquet'}'")
        in_parquet = varchar_values(con)
    assert len(in_parquet) == len(served) > 30
    report = (folder / "kpi_report.html").read_text(encoding="utf-8")
    # the manifest's text: its keys and string values (its numbers, row counts and file sizes, are no handle)
    manifest = "\n".join(
        json_strings(json.loads((folder / "serving" / "manifest.json").read_text(encoding="utf-8")))
    )

    for values in (served, in_parquet, report, manifest):
        assert leaks(values, handles, substring_from=6) == []
        assert leaks(values, texts, substring_from=12) == []
    # the same scan finds them in the warehouse's own marts (the scan works)
    with duckdb.connect(str(sample.warehouse), read_only=True) as con:
        in_marts = varchar_values(con, ("marts",))
    assert {"900", "Jane Doe"} <= set(leaks(in_marts, handles, substring_from=6))
    # and, more strongly: every text column is a public one or holds only keyed hashes
    for column, values in served.items():
        name = column.rsplit(".", 1)[1]
        if COLUMN_CLASSES[name] != PUBLIC:
            assert all(HEX64.fullmatch(v) or v == UNATTRIBUTED for v in values), column


def test_customers_are_stable_pseudonyms_that_still_count_repeat_contacts(sample):
    key_file = sample.warehouse.parent / "pseudonym.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    notices = [m for m in sample.logs if f"{KEY_ENV} is not set" in m]
    assert len(notices) == 1 and str(key_file) in notices[0]  # the run says so, once
    key = KeyedHash(key_file.read_text().strip().encode(), str(key_file))
    sql = "select channel, customer_id, count(*) from marts.fct_conversations group by all order by all"
    raw = query(sample.warehouse, sql)
    served = query(sample.warehouse.parent / "serving.duckdb", sql)
    expected = [(c, key.pseudonym(c, i) if i is not None else None, n) for c, i, n in raw]
    assert sorted(served, key=str) == sorted(expected, key=str)
    assert max(n for _, _, n in served) >= 3  # repeat contacts


# -------------------------------------------------------------------------------------------------- erasure


@dataclass
class Message:
    key: str
    parent_key: str | None
    thread_key: str | None
    channel: str
    author_id: str
    is_customer: bool
    is_brand: bool
    text: str


def read_landing(landing: Path) -> dict[Path, tuple[list[str], list[dict]]]:
    """The sample's twcs and canonical files: path -> (header, records)."""
    files = {}
    for path in sorted((landing / "twcs").glob("*.csv")) + sorted((landing / "messages").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            files[path] = (list(reader.fieldnames), list(reader))
    for path in sorted((landing / "messages").glob("*.jsonl")):
        files[path] = (
            [],
            [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line],
        )
    return files


def as_message(path: Path, record: dict) -> Message:
    if path.parent.name == "twcs":
        inbound = record["inbound"] == "True"
        parent = record["in_response_to_tweet_id"]
        return Message(
            f"twitter:{record['tweet_id']}",
            f"twitter:{parent}" if parent else None,
            None,
            "twitter",
            record["author_id"],
            inbound,
            not inbound,
            record["text"],
        )
    channel = record["channel"]
    private = record["is_private"] in (True, "true")
    return Message(
        f"{channel}:{record['message_id']}",
        f"{channel}:{record['parent_message_id']}" if record["parent_message_id"] else None,
        f"{channel}:{record['account_id']}:{record['thread_id']}"
        if private and record["thread_id"]
        else None,
        channel,
        record["author_id"],
        record["author_role"] == "customer",
        record["author_role"] in ("agent", "bot"),
        record["text"] or "",
    )


def erased_keys(messages: list[Message], channel: str, author: str) -> set[str]:
    """docs/definitions.md, "Erasure": the customer's messages, the brand messages of their private threads,
    brand messages that @mention them, and brand replies to any of those, at any depth."""
    mine = [m for m in messages if m.is_customer and m.channel == channel and m.author_id == author]
    threads = {m.thread_key for m in mine if m.thread_key}
    removed = {m.key for m in mine}
    for m in messages:
        if m.is_brand and m.channel == channel:
            mentions = {x.lower() for x in MENTION.findall(m.text)}
            if m.thread_key in threads or author.lower() in mentions:
                removed.add(m.key)
    while True:
        replies = {m.key for m in messages if m.is_brand and m.parent_key in removed} - removed
        if not replies:
            return removed
        removed |= replies


def write_landing(
    files: dict[Path, tuple[list[str], list[dict]]], source: Path, target: Path, drop: set[str]
):
    """A copy of the landing folder without the messages whose key is in ``drop`` (other formats as they are)."""
    for folder in source.iterdir():
        if folder.name not in ("twcs", "messages"):
            shutil.copytree(folder, target / folder.name)
    for path, (header, records) in files.items():
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        kept = [r for r in records if as_message(path, r).key not in drop]
        if path.suffix == ".jsonl":
            out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8")
        else:
            with out.open("w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
                writer.writeheader()
                writer.writerows(kept)


def marts(warehouse: Path) -> dict[str, list[tuple]]:
    """Every mart, rows in order; doubles rounded to 9 decimals (a mean of doubles depends, in its last bits, on
    the order DuckDB happens to add the rows in, and that order follows how the rows were loaded)."""

    def rounded(value):
        return round(value, 9) if isinstance(value, float) else value

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            m: [
                tuple(map(rounded, row))
                for row in con.execute(f"select * from marts.{m} order by all").fetchall()
            ]
            for m in MARTS
        }


def pick_customer(warehouse: Path, where: str) -> str:
    return query(
        warehouse,
        f"""
        select customer_id from marts.fct_conversations where customer_id is not null and {where}
        group by customer_id having count(*) >= 2 order by count(*) desc, customer_id limit 1
        """,
    )[0][0]


def test_forgetting_a_customer(sample, tmp_path):
    # the warehouse as it is (with its key), and its landing folder
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse" / "w.duckdb"
    shutil.copytree(sample.landing, landing)
    shutil.copytree(sample.warehouse.parent, warehouse.parent)
    key_file = warehouse.parent / "pseudonym.key"
    key = KeyedHash(key_file.read_text().strip().encode(), str(key_file))
    before = marts(warehouse)
    # a twcs customer with several conversations, and a Facebook customer with DM threads (canonical files)
    tweeter = pick_customer(warehouse, "channel = 'twitter' and account_id in ('AcmeSupport', 'NimbusHelp')")
    dm = pick_customer(warehouse, "channel = 'facebook' and is_private")
    erased = [("twitter", tweeter), ("facebook", dm)]
    files = read_landing(landing)
    messages = [as_message(path, r) for path, (_, records) in files.items() for r in records]
    drop = set().union(*(erased_keys(messages, c, a) for c, a in erased))
    conversations = query(
        warehouse,
        "select count(*), count(distinct customer_id) from marts.fct_conversations "
        f"where (channel, customer_id) in (('twitter', '{tweeter}'), ('facebook', '{dm}'))",
    )[0]
    assert conversations[0] >= 5 and conversations[1] == 2
    assert len(drop) > 20
    assert any(m.is_brand and m.key in drop for m in messages)  # replies go with them

    # the reference: a fresh build from the landing files without those messages
    reference_landing, reference = tmp_path / "reference_landing", tmp_path / "reference" / "w.duckdb"
    write_landing(files, landing, reference_landing, drop)
    reference.parent.mkdir()
    shutil.copy(key_file, reference.parent / "pseudonym.key")
    run_build(reference_landing, reference)
    expected = marts(reference)
    assert expected != before

    # the landing files are the customers' originals and stay; the same files land again under new names, to be
    # loaded by the rebuild that follows the erasure: they must not bring anyone back
    for path in files:
        shutil.copy(path, path.with_name("again_" + path.name))
    with environment(landing, warehouse):
        erasures, success = forget(erased, instance=dg.DagsterInstance.ephemeral(), log=lambda _: None)
    assert success
    assert marts(warehouse) == expected  # the KPIs, exactly as if they had never written
    assert marts(warehouse.parent / "serving.duckdb") == marts(reference.parent / "serving.duckdb")
    assert_forgotten(warehouse, erased, drop, key)
    assert read_landing(landing) == {
        **files,
        **{path.with_name("again_" + path.name): content for path, content in files.items()},
    }
    reloaded = query(
        warehouse,
        "select sum(rows_read), sum(rows_loaded), sum(rows_rejected), sum(rows_erased) from raw.load_manifest "
        "where file_path like '%again_%'",
    )[0]
    assert reloaded[3] == len(drop) and reloaded[0] == reloaded[1] + reloaded[2] + reloaded[3]

    # the audit: pseudonym, channel, time, rows per table; never the handle
    audit = query(
        warehouse, "select pseudonym, channel, rows_removed from raw.erased_authors order by erased_at"
    )
    assert [(p, c) for p, c, _ in audit] == [(key.pseudonym(c, a), c) for c, a in erased]
    removed = [json.loads(r) for _, _, r in audit]
    assert [e.rows_removed for e in erasures] == removed
    assert sum(r["raw.twcs_messages"] + r["raw.messages"] for r in removed) == len(drop)
    assert all(r["raw.message_sentiment"] > 0 for r in removed)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        audit_values = varchar_values(con, ("raw",))
    assert leaks({k: v for k, v in audit_values.items() if ".erased_" in k}, {tweeter, dm}, 6) == []


def assert_forgotten(warehouse: Path, erased: list[tuple[str, str]], drop: set[str], key: KeyedHash) -> None:
    """No table of the warehouse (any schema) holds the customers' ids or any removed message key; no table of the
    serving copy holds their pseudonyms."""
    handles = {author for _, author in erased}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        values = varchar_values(con)
    assert leaks(values, handles, substring_from=6) == []
    assert not [(column, v) for column, vs in values.items() for v in vs if v in drop], (
        "a removed message key"
    )
    assert not [
        (column, v)
        for column, vs in values.items()
        for v in vs
        if column.split(".")[2] in ("thread_key", "conversation_scope", "conversation_id", "thread_id")
        and v.split("#")[0] in drop
    ], "a conversation of a removed message"
    with duckdb.connect(str(warehouse.parent / "serving.duckdb"), read_only=True) as con:
        served = varchar_values(con)
    pseudonyms = {key.pseudonym(c, a) for c, a in erased}
    assert not [(column, v) for column, vs in served.items() for v in vs if v in pseudonyms]
