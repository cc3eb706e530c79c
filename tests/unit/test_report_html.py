"""render_report(): one self-contained HTML file (nothing fetched at view time), one section per account, every
chart titled, values escaped, SVG well-formed."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest

from orchestration.report_html import render_report

TRICKY = 'Acme <Care> & "Co"'  # account ids come from the exports: they must be escaped

MARTS_SQL = f"""
create schema marts;
create table marts.kpi_daily as
select * from (values
    ('northwind', 'twitter', date '2024-03-01', 4, 3, 1, 2, 4, 2, 0.75, 600.0, 3000.0),
    ('northwind', 'twitter', date '2024-03-02', 2, 2, 0, 2, 2, 1, 1.0, 750.0, 900.0),
    ('northwind', 'facebook', date '2024-03-02', 1, 0, 1, 0, 1, 0, 0.0, null, null),
    ('{TRICKY.replace("'", "''")}', 'instagram', date '2024-03-01', 3, 3, 0, 3, 3, 3, 1.0, 60.0, 120.0)
) t(account_id, channel, activity_date, conversations, answered_conversations, unanswered_conversations,
    answered_within_60m, offered_60m, resolved_conversations, response_rate, first_reply_seconds_median,
    first_reply_seconds_p90);
create table marts.fct_first_replies as
select * from (values
    ('northwind', 'twitter', 600), ('northwind', 'twitter', 3000), ('northwind', 'twitter', 750),
    ('northwind', 'facebook', null), ('{TRICKY.replace("'", "''")}', 'instagram', 60)
) t(account_id, channel, first_reply_seconds);
create table marts.kpi_service_level_daily as
select * from (values
    ('northwind', 'twitter', date '2024-03-01', 15, 1, 4), ('northwind', 'twitter', date '2024-03-01', 60, 2, 4),
    ('northwind', 'twitter', date '2024-03-02', 15, 1, 2), ('northwind', 'twitter', date '2024-03-02', 60, 2, 2)
) t(account_id, channel, activity_date, threshold_minutes, answered_within, offered);
create table marts.kpi_badge_daily as
select * from (values
    ('northwind', 'facebook', date '2024-03-01', 1.0, 540.0, 500.0, 2, true, true),
    ('northwind', 'facebook', date '2024-03-02', 0.5, 1200.0, 1100.0, 3, false, false)
) t(account_id, channel, activity_date, response_rate, fastest_90pct_mean_reply_seconds, median_reply_seconds,
    conversations, is_very_responsive, is_very_responsive_median_rule);
create table marts.kpi_backlog_daily as
select * from (values
    ('northwind', 'twitter', date '2024-03-01', timestamp '2024-03-02 00:00:00', 2, 0, 7200),
    ('northwind', 'twitter', date '2024-03-02', timestamp '2024-03-02 23:15:00', 1, 1, 90000)
) t(account_id, channel, activity_date, snapshot_at, conversations_waiting, conversations_waiting_over_window,
    oldest_waiting_seconds);
create table marts.kpi_hour_of_week as
select 'northwind' as account_id, 'twitter' as channel, d as iso_weekday, h as local_hour,
    (d * h) % 5 as customer_messages, (d * h) % 3 as conversations, (d * h) % 2 as answered_conversations,
    case when (d * h) % 2 = 1 then 60.0 * h else null end as first_reply_seconds_median
from range(1, 8) w(d), range(24) x(h);
create table marts.kpi_agent_daily as
select * from (values
    ('northwind', 'twitter', 'JK', date '2024-03-01', 2, 2, 1, 1),
    ('northwind', 'twitter', 'JK', date '2024-03-02', 1, 1, 1, 1),
    ('northwind', 'facebook', 'Anna', date '2024-03-02', 1, 0, 0, 1)
) t(account_id, channel, agent, activity_date, replies, first_replies, replies_within_15m, replies_within_60m);
create table marts.fct_turns as
select * from (values
    ('northwind', 'JK', 600, true, true), ('northwind', 'JK', 3000, true, true), ('northwind', 'JK', 30, true, true),
    ('northwind', 'Anna', 1800, true, true), ('northwind', null, null, false, true)
) t(account_id, replied_by_agent, wait_seconds, is_answered, is_in_customer_initiated_conversation);
"""

ACCOUNT_CHARTS = (
    "First reply time by day: median and p90",
    "Response rate by day",
    "Service level by day, all channels",
    "Backlog at the end of each day",
    "Agents: replies and the wait of the customers they answered",
)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(MARTS_SQL)
    return path


@pytest.fixture
def page(warehouse: Path, tmp_path: Path) -> str:
    summary = render_report(warehouse, tmp_path / "out" / "report.html")
    assert summary["output"] == str(tmp_path / "out" / "report.html")
    assert summary["accounts"] == [TRICKY, "northwind"]
    return (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def sections(page: str) -> list[str]:
    return re.findall(r'<section class="account".*?</section>', page, flags=re.S)


def test_nothing_is_fetched_from_the_network(page):
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"\bsrc\s*=|@import|url\(|<link\b|<script\b|<iframe\b|<object\b", page, flags=re.I)
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page))
    assert "<style>" in page  # the CSS is inline


def test_one_section_per_account_with_every_chart(page):
    found = sections(page)
    assert len(found) == 2
    assert html.escape(TRICKY) in found[0] and TRICKY not in page  # escaped everywhere
    northwind = found[1]
    assert "<h2>northwind</h2>" in northwind
    for title in ACCOUNT_CHARTS:
        assert f"<h3>{title}</h3>" in northwind
    assert html.escape('"Very responsive" badge by day') in northwind
    assert "twitter: customer messages by local weekday and hour" in northwind
    assert "twitter: median first reply by local weekday and hour (minutes)" in northwind
    assert northwind.count("<svg") == 7  # 4 line charts, the badge strip, 2 heatmaps
    for title in ACCOUNT_CHARTS[:4]:
        assert f"<h3>{title}</h3>" in found[0]  # also for an account with little data


def test_header_axes_and_values(page):
    assert "as of <b>2024-03-02 23:15:00 UTC</b>" in page  # the backlog's last snapshot
    assert "minutes (log scale)" in page and "% answered within T" in page
    assert "day (account's local date)" in page
    northwind = sections(page)[1]
    # tiles: 7 conversations, response rate 5 / 7, first reply median of 600, 750, 3000 s
    assert '<div class="tile-value">7</div>' in northwind
    assert '<div class="tile-value">71.4 %</div>' in northwind
    assert '<div class="tile-value">12.5</div>' in northwind
    assert "twitter, 2024-03-01: p90 first reply 50.0 min" in northwind  # a tooltip
    assert "2024-03-01: 50.0 % answered within 60 min" in northwind
    # agents: JK 3 replies over the days; median wait of 30, 600, 3000 s = 10 min (from the turns)
    assert re.search(r"<td>JK</td><td>twitter</td>.*?>3</td>.*?<td class=\"num\">10.0</td>", northwind)


def test_svg_is_well_formed(page):
    charts = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(charts) == 4 + 7  # the small account has no badge, hour-of-week or backlog rows: 4 line charts
    for svg in charts:
        ET.fromstring(svg)


def test_a_partial_warehouse_still_renders(tmp_path):
    db = tmp_path / "partial.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(MARTS_SQL.split("create table marts.fct_first_replies")[0])
    summary = render_report(db, tmp_path / "r.html")
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert summary["accounts"] == [TRICKY, "northwind"]
    assert len(sections(text)) == 2
    assert "no data" in text  # the backlog chart, without its mart


def test_missing_database(tmp_path):
    with pytest.raises(FileNotFoundError):
        render_report(tmp_path / "nope.duckdb", tmp_path / "r.html")
    assert not (tmp_path / "nope.duckdb").exists()


def test_log_scale_of_a_single_value_does_not_divide_by_zero():
    from orchestration.report_html import minutes_log_scale

    scale = minutes_log_scale([50000.0])  # above every tick: lo and hi coincide
    assert 0.0 <= scale.at(50000.0) <= 1.0
