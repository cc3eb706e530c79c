"""KPI report: one self-contained HTML file (inline CSS and SVG charts, no script, no network) from the marts.

``render_report(serving.duckdb or the warehouse, output.html)``: a header with as_of and a summary per account and
channel, then one section per account: first reply time (median, p90), response rate and service level against
their targets, the Facebook badge over time, backlog, hour-of-week heatmaps of volume and wait, and agents.
Charts are SVG written here; tooltips are SVG ``<title>`` elements (shown by every browser, no JavaScript).

python -m orchestration.report_html [database] [output.html]
"""

from __future__ import annotations

import argparse
import html
import math
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from orchestration.serving import warehouse_as_of

RESPONSE_RATE_TARGET = 0.9  # Facebook's badge asks for 90 %
SERVICE_LEVEL_TARGET = 0.8  # the usual "80 % within T" service-level goal; a reference line, not a dbt var

CHANNEL_COLOURS = {"twitter": "#0c8599", "facebook": "#3b5bdb", "instagram": "#c2255c"}
OTHER_COLOURS = ("#e8590c", "#7048e8", "#5c940d", "#495057", "#d6336c", "#1098ad")
THRESHOLD_COLOURS = ("#2b8a3e", "#1971c2", "#868e96", "#e8590c", "#7048e8")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MINUTE_TICKS = (1, 2, 5, 15, 30, 60, 120, 240, 480, 1440, 2880, 10080, 43200)

Rows = list[dict[str, object]]


# --------------------------------------------------------------------------------------------------- data


def _has(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def _query(
    con: duckdb.DuckDBPyConnection, needs: Sequence[str], sql: str, params: list | None = None
) -> Rows:
    """Rows as dicts; [] when a mart the query needs is missing (a partial warehouse still renders)."""
    if not all(_has(con, "marts", name) for name in needs):
        return []
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


SUMMARY_SQL = """
with daily as (
    select
        account_id,
        channel,
        sum(conversations) as conversations,
        sum(answered_conversations) / nullif(sum(answered_conversations + unanswered_conversations), 0)
            as response_rate,
        sum(answered_within_60m) / nullif(sum(offered_60m), 0) as within_60m,
        sum(resolved_conversations) as resolved,
        min(activity_date) as first_day,
        max(activity_date) as last_day
    from marts.kpi_daily
    group by all
),
frt as (
    select account_id, channel, median(first_reply_seconds) as frt_median,
        quantile_cont(first_reply_seconds, 0.9) as frt_p90
    from marts.fct_first_replies
    group by all
)
select daily.*, frt.frt_median, frt.frt_p90
from daily left join frt using (account_id, channel)
order by account_id, channel
"""

ACCOUNT_SQL = """
select
    account_id,
    sum(conversations) as conversations,
    sum(answered_conversations) / nullif(sum(answered_conversations + unanswered_conversations), 0)
        as response_rate,
    sum(answered_within_60m) / nullif(sum(offered_60m), 0) as within_60m
from marts.kpi_daily
group by all
"""

ACCOUNT_FRT_SQL = """
select account_id, median(first_reply_seconds) as frt_median, quantile_cont(first_reply_seconds, 0.9) as frt_p90
from marts.fct_first_replies
group by all
"""

DAILY_SQL = """
select account_id, channel, activity_date, response_rate, first_reply_seconds_median, first_reply_seconds_p90
from marts.kpi_daily
order by all
"""

SERVICE_LEVEL_SQL = """
select account_id, activity_date, threshold_minutes, sum(answered_within) / nullif(sum(offered), 0) as service_level
from marts.kpi_service_level_daily
group by all
order by all
"""

BADGE_SQL = """
select account_id, channel, activity_date, response_rate, fastest_90pct_mean_reply_seconds, median_reply_seconds,
    conversations, is_very_responsive, is_very_responsive_median_rule
from marts.kpi_badge_daily
order by all
"""

BACKLOG_SQL = """
select account_id, channel, activity_date, conversations_waiting, conversations_waiting_over_window,
    oldest_waiting_seconds
from marts.kpi_backlog_daily
order by all
"""

HOUR_OF_WEEK_SQL = """
select account_id, channel, iso_weekday, local_hour, customer_messages, conversations, answered_conversations,
    first_reply_seconds_median
from marts.kpi_hour_of_week
order by all
"""

AGENT_SQL = """
select
    account_id,
    agent,
    string_agg(distinct channel, ', ' order by channel) as channels,
    sum(replies) as replies,
    sum(first_replies) as first_replies,
    sum(replies_within_15m) / nullif(sum(replies), 0) as within_15m,
    sum(replies_within_60m) / nullif(sum(replies), 0) as within_60m
from marts.kpi_agent_daily
group by all
order by account_id, replies desc, agent
"""

# Quantiles over the whole period cannot come from daily medians: they come from the turns kpi_agent_daily sums.
AGENT_WAIT_SQL = """
select
    account_id,
    coalesce(replied_by_agent, '(unattributed)') as agent,
    median(wait_seconds) as wait_median,
    quantile_cont(wait_seconds, 0.9) as wait_p90
from marts.fct_turns
where is_answered and is_in_customer_initiated_conversation
group by all
"""


@dataclass
class Marts:
    as_of: datetime | None
    summary: Rows
    accounts: Rows
    account_frt: Rows
    daily: Rows
    service_level: Rows
    badge: Rows
    backlog: Rows
    hour_of_week: Rows
    agents: Rows
    agent_waits: Rows


def read_marts(con: duckdb.DuckDBPyConnection) -> Marts:
    """Everything the report shows, read from the marts of one connection."""
    return Marts(
        as_of=warehouse_as_of(con),
        summary=_query(con, ["kpi_daily", "fct_first_replies"], SUMMARY_SQL),
        accounts=_query(con, ["kpi_daily"], ACCOUNT_SQL),
        account_frt=_query(con, ["fct_first_replies"], ACCOUNT_FRT_SQL),
        daily=_query(con, ["kpi_daily"], DAILY_SQL),
        service_level=_query(con, ["kpi_service_level_daily"], SERVICE_LEVEL_SQL),
        badge=_query(con, ["kpi_badge_daily"], BADGE_SQL),
        backlog=_query(con, ["kpi_backlog_daily"], BACKLOG_SQL),
        hour_of_week=_query(con, ["kpi_hour_of_week"], HOUR_OF_WEEK_SQL),
        agents=_query(con, ["kpi_agent_daily"], AGENT_SQL),
        agent_waits=_query(con, ["fct_turns"], AGENT_WAIT_SQL),
    )


# --------------------------------------------------------------------------------------------------- formatting


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: object, digits: int = 1) -> str:
    return "\u2013" if value is None else f"{100 * float(value):.{digits}f} %"


def _minutes(seconds: object) -> str:
    """Seconds as minutes for people: 0.5, 12.3, 95 (one decimal below 100)."""
    if seconds is None:
        return "\u2013"
    m = float(seconds) / 60
    return f"{m:.1f}" if m < 100 else f"{m:,.0f}"


def _int(value: object) -> str:
    return "\u2013" if value is None else f"{int(value):,}"


def _day(d: date) -> str:
    return f"{d:%b} {d.day}"


def _colour_of(channel: str, known: list[str]) -> str:
    if channel in CHANNEL_COLOURS:
        return CHANNEL_COLOURS[channel]
    others = [c for c in known if c not in CHANNEL_COLOURS]
    return (
        OTHER_COLOURS[others.index(channel) % len(OTHER_COLOURS)] if channel in others else OTHER_COLOURS[0]
    )


def _mix(a: str, b: str, t: float) -> str:
    """Colour between hex colours a (t=0) and b (t=1)."""
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    t = min(max(t, 0.0), 1.0)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


def _ramp(stops: Sequence[str], t: float) -> str:
    t = min(max(t, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    return _mix(stops[i], stops[i + 1], t - i)


# --------------------------------------------------------------------------------------------------- charts


@dataclass
class Series:
    label: str
    colour: str
    points: dict[date, float | None]
    dashed: bool = False
    tooltip: Callable[[date, float], str] | None = None
    group: str = ""  # legend name shared by the solid and dashed series of one channel


@dataclass
class Scale:
    """A y scale: value -> 0..1 (bottom..top), its ticks, and how tick labels read."""

    lo: float
    hi: float
    log: bool = False
    ticks: tuple[float, ...] = ()
    label: Callable[[float], str] = str

    def at(self, value: float) -> float:
        if self.log:
            value = min(max(value, self.lo), self.hi)
            span = math.log(self.hi) - math.log(self.lo)
            return (math.log(value) - math.log(self.lo)) / span if span else 0.5
        return (value - self.lo) / ((self.hi - self.lo) or 1)


def linear_scale(values: Iterable[float], label: Callable[[float], str] = lambda v: f"{v:g}") -> Scale:
    top = max([v for v in values if v is not None] + [0])
    if top <= 0:
        return Scale(0, 1, ticks=(0, 1), label=label)
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude)
    hi = math.ceil(top / step) * step
    return Scale(0, hi, ticks=tuple(step * i for i in range(round(hi / step) + 1)), label=label)


def percent_scale() -> Scale:
    return Scale(0, 1, ticks=(0, 0.2, 0.4, 0.6, 0.8, 1.0), label=lambda v: f"{100 * v:.0f}")


def minutes_log_scale(values: Iterable[float]) -> Scale:
    """Minutes on a log scale (waits run from seconds to days); below 1 min sits at the bottom."""
    present = [v for v in values if v is not None]
    top = max([*present, 5])
    bottom = min([*present, top])
    hi = next((t for t in MINUTE_TICKS if t >= top), MINUTE_TICKS[-1])
    lo = next((t for t in reversed(MINUTE_TICKS) if t <= bottom), 0.5)
    ticks = tuple(t for t in MINUTE_TICKS if lo <= t <= hi and t in (1, 5, 15, 60, 240, 1440, 10080, 43200))
    return Scale(
        lo, hi, log=True, ticks=(lo, *ticks) if lo not in ticks else ticks, label=lambda v: f"{v:,.4g}"
    )


def line_chart(
    title: str,
    days: Sequence[date],
    series: Sequence[Series],
    scale: Scale,
    y_label: str,
    references: Sequence[tuple[float, str]] = (),
    note: str = "",
    styles: tuple[str, str] | None = None,
) -> str:
    """An SVG line chart over days: one path per series (gaps where a day has no value), dots with tooltips,
    dashed reference lines (targets), weekends shaded. ``styles``: what solid and dashed lines mean, when each
    group (channel) has one of each."""
    width, height = 640, 250
    left, right, top, bottom = 58, 40, 12, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(days)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n if n else 0)

    def y(v: float) -> float:
        return top + plot_h * (1 - scale.at(v))

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">']
    if n:
        band = plot_w / n
        for i, d in enumerate(days):
            if d.isoweekday() >= 6:
                parts.append(
                    f'<rect x="{x(i) - band / 2:.1f}" y="{top}" width="{band:.1f}" height="{plot_h}" class="weekend"/>'
                )
    for tick in scale.ticks:
        ty = y(tick)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{left - 6}" y="{ty + 4:.1f}" class="tick" text-anchor="end">{scale.label(tick)}</text>'
        )
    every = max(1, math.ceil(n / 12))
    for i, d in enumerate(days):
        if i % every == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" class="tick" text-anchor="middle">{_day(d)}</text>'
            )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" class="axis"/>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" class="axis-label" text-anchor="middle">'
        "day (account's local date)</text>"
        f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" class="axis-label" '
        f'text-anchor="middle">{_e(y_label)}</text>'
    )
    for value, label in references:
        ry = y(value)
        parts.append(
            f'<g><title>{_e(label)}</title><line x1="{left}" x2="{width - right}" y1="{ry:.1f}" y2="{ry:.1f}" '
            f'class="target"/><text x="{width - right + 4}" y="{ry + 4:.1f}" class="target-label">'
            f"{scale.label(value)}</text></g>"
        )
    index = {d: i for i, d in enumerate(days)}
    for s in series:
        path, dots, pen_down = [], [], False
        for d in days:
            v = s.points.get(d)
            if v is None:
                pen_down = False
                continue
            px, py = x(index[d]), y(v)
            path.append(f"{'L' if pen_down else 'M'}{px:.1f},{py:.1f}")
            pen_down = True
            tip = s.tooltip(d, v) if s.tooltip else f"{s.label}, {d.isoformat()}: {v:g}"
            dots.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.6" fill="{s.colour}"><title>{_e(tip)}</title></circle>'
            )
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        if path:
            parts.append(f'<path d="{" ".join(path)}" stroke="{s.colour}"{dash} class="line"/>')
        parts.extend(dots)
    if not any(s.points for s in series):
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" class="empty" text-anchor="middle">no data</text>'
        )
    parts.append("</svg>")
    return _figure(title, "".join(parts), _legend(series, references, styles), note)


def _key(label: str, colour: str, dashed: bool = False) -> str:
    style = f"border-top: 2.5px {'dashed' if dashed else 'solid'} {colour}"
    return f'<span class="key"><i style="{style}"></i>{_e(label)}</span>'


def _legend(
    series: Sequence[Series],
    references: Sequence[tuple[float, str]] = (),
    styles: tuple[str, str] | None = None,
) -> str:
    if styles:
        groups = dict.fromkeys((s.group or s.label, s.colour) for s in series)
        items = [_key(group, colour) for group, colour in groups]
        items += [_key(styles[0], "#616e7c"), _key(styles[1], "#616e7c", dashed=True)]
    else:
        items = [_key(s.label, s.colour, s.dashed) for s in series]
    items += [f'<span class="key"><i class="target-key"></i>{_e(label)}</span>' for _, label in references]
    return f'<div class="legend">{"".join(items)}</div>'


def _figure(title: str, svg: str, legend: str = "", note: str = "") -> str:
    note_html = f'<p class="note">{note}</p>' if note else ""
    return f'<figure class="card"><h3>{_e(title)}</h3>{legend}{svg}{note_html}</figure>'


def badge_strip(title: str, days: Sequence[date], rows: Rows, channels: Sequence[str]) -> str:
    """One row of day cells per channel and rule: very responsive (green), not (red), undecided (grey)."""
    lanes = [(c, rule) for c in channels for rule in ("is_very_responsive", "is_very_responsive_median_rule")]
    cell_w = min(40.0, 560 / max(len(days), 1))
    left, top, lane_h = 190, 8, 22
    width = left + cell_w * len(days) + 10
    height = top + lane_h * len(lanes) + 30
    by_key = {(r["channel"], r["activity_date"]): r for r in rows}
    parts = [
        f'<svg class="chart strip" viewBox="0 0 {width:.0f} {height}" role="img" aria-label="{_e(title)}">'
    ]
    for j, (channel, rule) in enumerate(lanes):
        ly = top + j * lane_h
        name = "current rule" if rule == "is_very_responsive" else "median rule"
        parts.append(
            f'<text x="{left - 8}" y="{ly + 15}" class="tick" text-anchor="end">{_e(channel)} · {name}</text>'
        )
        for i, d in enumerate(days):
            r = by_key.get((channel, d))
            state = None if r is None else r[rule]
            cls = "unknown" if state is None else ("yes" if state else "no")
            if r is None:
                tip = f"{channel}, {d.isoformat()}: no private conversations in the window"
            else:
                verdict = {None: "undecided", True: "very responsive", False: "not very responsive"}[state]
                tip = (
                    f"{channel}, window ending {d.isoformat()} ({name}): {verdict}; response rate "
                    f"{_pct(r['response_rate'])}, fastest-90 % mean {_minutes(r['fastest_90pct_mean_reply_seconds'])}"
                    f" min, median {_minutes(r['median_reply_seconds'])} min, {r['conversations']} conversations"
                )
            parts.append(
                f'<rect x="{left + i * cell_w + 1:.1f}" y="{ly + 2}" width="{cell_w - 2:.1f}" height="{lane_h - 4}" '
                f'rx="3" class="badge-{cls}"><title>{_e(tip)}</title></rect>'
            )
    every = max(1, math.ceil(len(days) / 12))
    for i, d in enumerate(days):
        if i % every == 0:
            parts.append(
                f'<text x="{left + (i + 0.5) * cell_w:.1f}" y="{height - 8}" class="tick" '
                f'text-anchor="middle">{_day(d)}</text>'
            )
    parts.append("</svg>")
    legend = (
        '<div class="legend"><span class="key"><b class="sw badge-yes"></b>very responsive</span>'
        '<span class="key"><b class="sw badge-no"></b>not very responsive</span>'
        '<span class="key"><b class="sw badge-unknown"></b>no decided conversation</span></div>'
    )
    note = (
        "Trailing 7-day window of customer-initiated private conversations. Current rule: response rate ≥ 90 % and "
        "mean of the fastest 90 % of first replies ≤ 15 min; older rule: median ≤ 15 min."
    )
    return _figure(title, "".join(parts), legend, note)


def heatmap(
    title: str,
    cells: dict[tuple[int, int], float | None],
    colour: Callable[[float], str],
    tooltip: Callable[[int, int], str],
    legend: str,
) -> str:
    """Local weekday (rows, Monday first) x hour (columns)."""
    cell_w, cell_h, left, top = 21, 17, 36, 18
    width, height = left + 24 * cell_w + 4, top + 7 * cell_h + 4
    parts = [f'<svg class="chart heat" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">']
    for hour in range(0, 24, 3):
        parts.append(
            f'<text x="{left + hour * cell_w + cell_w / 2}" y="12" class="tick" text-anchor="middle">{hour:02d}</text>'
        )
    for weekday in range(1, 8):
        cy = top + (weekday - 1) * cell_h
        parts.append(
            f'<text x="{left - 6}" y="{cy + 12}" class="tick" text-anchor="end">{WEEKDAYS[weekday - 1]}</text>'
        )
        for hour in range(24):
            value = cells.get((weekday, hour))
            fill = "#f1f3f5" if value is None else colour(value)
            parts.append(
                f'<rect x="{left + hour * cell_w}" y="{cy}" width="{cell_w - 1}" height="{cell_h - 1}" '
                f'fill="{fill}"><title>{_e(tooltip(weekday, hour))}</title></rect>'
            )
    parts.append("</svg>")
    return _figure(title, "".join(parts), legend)


def _ramp_legend(stops: Sequence[str], low: str, high: str, unit: str) -> str:
    gradient = ", ".join(stops)
    return (
        f'<div class="legend"><span class="key">{_e(low)}<b class="ramp" style="background: linear-gradient(90deg, '
        f'{gradient})"></b>{_e(high)} {_e(unit)}</span><span class="key"><b class="sw" style="background: #f1f3f5">'
        "</b>none</span></div>"
    )


# --------------------------------------------------------------------------------------------------- sections

VOLUME_STOPS = ("#e7f5ff", "#74c0fc", "#1c7ed6", "#0b3d91")
WAIT_STOPS = ("#fff9db", "#ffd43b", "#f76707", "#c92a2a", "#5c0a0a")


def _days(rows: Iterable[dict]) -> list[date]:
    present = [r["activity_date"] for r in rows if r.get("activity_date") is not None]
    if not present:
        return []
    first, last = min(present), max(present)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _tiles(account: dict | None, frt: dict | None, backlog_now: int | None) -> str:
    account = account or {}
    frt = frt or {}
    tiles = [
        ("Conversations", _int(account.get("conversations")), "customer-initiated"),
        ("Response rate", _pct(account.get("response_rate")), f"target {RESPONSE_RATE_TARGET:.0%}"),
        ("Answered ≤ 60 min", _pct(account.get("within_60m")), "of conversations offered"),
        ("Median first reply", _minutes(frt.get("frt_median")), "minutes"),
        ("p90 first reply", _minutes(frt.get("frt_p90")), "minutes"),
        ("Waiting at as_of", _int(backlog_now), "conversations"),
    ]
    rate = account.get("response_rate")
    cells = []
    for name, value, sub in tiles:
        flag = ""
        if name == "Response rate" and rate is not None:
            flag = " good" if rate >= RESPONSE_RATE_TARGET else " bad"
        cells.append(
            f'<div class="tile{flag}"><div class="tile-name">{name}</div><div class="tile-value">{value}</div>'
            f'<div class="tile-sub">{sub}</div></div>'
        )
    return f'<div class="tiles">{"".join(cells)}</div>'


def _agent_table(agents: Rows, waits: dict[str, dict]) -> str:
    if not agents:
        return '<figure class="card wide"><h3>Agents</h3><p class="note">No replies.</p></figure>'
    top = max(int(a["replies"]) for a in agents) or 1
    body = []
    for a in agents:
        wait = waits.get(a["agent"], {})
        share = 100 * int(a["replies"]) / top
        body.append(
            f"<tr><td>{_e(a['agent'])}</td><td>{_e(a['channels'])}</td>"
            f'<td class="num bar" style="background-size: {share:.0f}% 70%">{_int(a["replies"])}</td>'
            f'<td class="num">{_int(a["first_replies"])}</td><td class="num">{_pct(a["within_15m"], 0)}</td>'
            f'<td class="num">{_pct(a["within_60m"], 0)}</td><td class="num">{_minutes(wait.get("wait_median"))}</td>'
            f'<td class="num">{_minutes(wait.get("wait_p90"))}</td></tr>'
        )
    head = (
        "<tr><th>Agent</th><th>Channels</th><th class='num'>Replies</th><th class='num'>First replies</th>"
        "<th class='num'>≤ 15 min</th><th class='num'>≤ 60 min</th><th class='num'>Median wait (min)</th>"
        "<th class='num'>p90 wait (min)</th></tr>"
    )
    note = (
        "Customer turns each agent ended (kpi_agent_daily, all days); waits are those of the customers they answered, "
        "over the whole period (from fct_turns: daily medians cannot be combined)."
    )
    return (
        f'<figure class="card wide"><h3>Agents: replies and the wait of the customers they answered</h3>'
        f'<table class="data"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'
        f'<p class="note">{note}</p></figure>'
    )


def account_section(account_id: str, anchor: str, marts: Marts) -> str:
    """One account: tiles, then every chart."""

    def mine(rows: Rows) -> Rows:
        return [r for r in rows if r["account_id"] == account_id]

    daily, levels, badge = mine(marts.daily), mine(marts.service_level), mine(marts.badge)
    backlog, how, agents = mine(marts.backlog), mine(marts.hour_of_week), mine(marts.agents)
    days = _days(daily + levels + badge + backlog)
    channels = sorted({r["channel"] for r in daily + backlog + how})
    everything = sorted({r["channel"] for r in marts.daily + marts.backlog + marts.hour_of_week})
    colour = {c: _colour_of(c, everything) for c in channels}

    def by_channel(rows: Rows, channel: str, column: str, factor: float = 1.0) -> dict[date, float | None]:
        return {
            r["activity_date"]: (None if r[column] is None else float(r[column]) * factor)
            for r in rows
            if r["channel"] == channel
        }

    frt_series = []
    for c in channels:
        for column, name, dashed in (
            ("first_reply_seconds_median", "median", False),
            ("first_reply_seconds_p90", "p90", True),
        ):
            frt_series.append(
                Series(
                    f"{c} {name}",
                    colour[c],
                    by_channel(daily, c, column, 1 / 60),
                    dashed,
                    lambda d, v, c=c, name=name: f"{c}, {d.isoformat()}: {name} first reply {v:,.1f} min",
                    group=c,
                )
            )
    frt_values = [v for s in frt_series for v in s.points.values()]
    charts = [
        line_chart(
            "First reply time by day: median and p90",
            days,
            frt_series,
            minutes_log_scale(frt_values),
            "minutes (log scale)",
            styles=("median", "p90"),
            note="Calendar time from the first customer message to the first human reply, conversations counted on "
            "the local day they started.",
        ),
        line_chart(
            "Response rate by day",
            days,
            [
                Series(
                    c,
                    colour[c],
                    by_channel(daily, c, "response_rate"),
                    tooltip=lambda d, v, c=c: f"{c}, {d.isoformat()}: response rate {100 * v:.1f} %",
                )
                for c in channels
            ],
            percent_scale(),
            "% answered",
            [(RESPONSE_RATE_TARGET, f"target {RESPONSE_RATE_TARGET:.0%}")],
            note="Answered by a human within the response window / (answered + unanswered); conversations still "
            "pending at as_of are left out.",
        ),
    ]
    thresholds = sorted({int(r["threshold_minutes"]) for r in levels})
    charts.append(
        line_chart(
            "Service level by day, all channels",
            days,
            [
                Series(
                    f"within {t} min",
                    THRESHOLD_COLOURS[i % len(THRESHOLD_COLOURS)],
                    {
                        r["activity_date"]: r["service_level"]
                        for r in levels
                        if r["threshold_minutes"] == t and r["service_level"] is not None
                    },
                    tooltip=lambda d, v, t=t: f"{d.isoformat()}: {100 * v:.1f} % answered within {t} min",
                )
                for i, t in enumerate(thresholds)
            ],
            percent_scale(),
            "% answered within T",
            [(SERVICE_LEVEL_TARGET, f"target {SERVICE_LEVEL_TARGET:.0%}")],
            note="Answered within T / offered, channels summed; unanswered conversations count as missed.",
        )
    )
    backlog_series = []
    for c in channels:
        waiting = by_channel(backlog, c, "conversations_waiting")
        if not waiting:
            continue
        backlog_series.append(
            Series(
                f"{c} waiting",
                colour[c],
                waiting,
                tooltip=lambda d, v, c=c: f"{c}, end of {d.isoformat()}: {v:,.0f} conversations waiting",
                group=c,
            )
        )
        backlog_series.append(
            Series(
                f"{c} waiting > response window",
                colour[c],
                by_channel(backlog, c, "conversations_waiting_over_window"),
                dashed=True,
                tooltip=lambda d, v, c=c: (
                    f"{c}, end of {d.isoformat()}: {v:,.0f} waiting longer than the window"
                ),
                group=c,
            )
        )
    charts.append(
        line_chart(
            "Backlog at the end of each day",
            days,
            backlog_series,
            linear_scale([v for s in backlog_series for v in s.points.values()], lambda v: f"{v:,.0f}"),
            "conversations",
            styles=("waiting", "waiting > response window"),
            note="Conversations waiting for a human reply at the end of each local day (at as_of on the last).",
        )
    )

    badge_channels = sorted({r["channel"] for r in badge})
    badge_html = (
        badge_strip(
            '"Very responsive" badge by day (Facebook\'s rule, private channels)', days, badge, badge_channels
        )
        if badge
        else ""
    )

    heatmaps = []
    for c in channels:
        cells = {(r["iso_weekday"], r["local_hour"]): r for r in how if r["channel"] == c}
        if not cells:
            continue
        top_volume = max(int(r["customer_messages"] or 0) for r in cells.values()) or 1
        waits = [
            float(r["first_reply_seconds_median"]) / 60
            for r in cells.values()
            if r["first_reply_seconds_median"]
        ]
        top_wait = max([*waits, 5.0])
        wait_scale = Scale(1, max(top_wait, 2), log=True)

        def volume_tip(wd: int, h: int, cells: dict = cells, c: str = c) -> str:
            r = cells.get((wd, h))
            if r is None:
                return f"{c}, {WEEKDAYS[wd - 1]} {h:02d}:00: no data"
            return (
                f"{c}, {WEEKDAYS[wd - 1]} {h:02d}:00-{h:02d}:59: {r['customer_messages']} customer messages, "
                f"{r['conversations']} conversations started"
            )

        def wait_tip(wd: int, h: int, cells: dict = cells, c: str = c) -> str:
            r = cells.get((wd, h))
            if r is None or r["first_reply_seconds_median"] is None:
                return f"{c}, {WEEKDAYS[wd - 1]} {h:02d}:00: no answered conversation"
            return (
                f"{c}, {WEEKDAYS[wd - 1]} {h:02d}:00-{h:02d}:59: median first reply "
                f"{_minutes(r['first_reply_seconds_median'])} min ({r['answered_conversations']} answered)"
            )

        volume = {
            k: (float(r["customer_messages"]) if r["customer_messages"] else None) for k, r in cells.items()
        }
        wait = {
            k: (
                float(r["first_reply_seconds_median"]) / 60
                if r["first_reply_seconds_median"] is not None
                else None
            )
            for k, r in cells.items()
        }
        heatmaps.append(
            heatmap(
                f"{c}: customer messages by local weekday and hour",
                volume,
                lambda v, top=top_volume: _ramp(VOLUME_STOPS, v / top),
                volume_tip,
                _ramp_legend(VOLUME_STOPS, "1", f"{top_volume:,}", "messages"),
            )
        )
        heatmaps.append(
            heatmap(
                f"{c}: median first reply by local weekday and hour (minutes)",
                wait,
                lambda v, s=wait_scale: _ramp(WAIT_STOPS, s.at(v)),
                wait_tip,
                _ramp_legend(WAIT_STOPS, "≤ 1", f"{_minutes(top_wait * 60)}", "minutes (log)"),
            )
        )

    account = next((r for r in marts.accounts if r["account_id"] == account_id), None)
    frt = next((r for r in marts.account_frt if r["account_id"] == account_id), None)
    last_backlog: dict[str, dict] = {}
    for r in backlog:
        last_backlog[r["channel"]] = r  # rows are ordered by day: the last one is at as_of
    backlog_now = (
        sum(int(r["conversations_waiting"]) for r in last_backlog.values()) if last_backlog else None
    )
    waits = {r["agent"]: r for r in mine(marts.agent_waits)}
    period = f"{days[0].isoformat()} to {days[-1].isoformat()}" if days else "no days"
    channel_list = ", ".join(channels) or "no channel"
    return (
        f'<section class="account" id="{anchor}"><h2>{_e(account_id)}</h2>'
        f'<p class="sub">{_e(channel_list)} · {period} · local days of the account</p>'
        f"{_tiles(account, frt, backlog_now)}"
        f'<div class="grid">{"".join(charts)}</div>'
        f'<div class="grid one">{badge_html}</div>'
        f'<h3 class="group">When customers write, and how long they wait</h3><div class="grid">{"".join(heatmaps)}</div>'
        f'<div class="grid one">{_agent_table(agents, waits)}</div></section>'
    )


def _summary_table(rows: Rows) -> str:
    if not rows:
        return '<p class="note">No customer-initiated conversations in the warehouse yet.</p>'
    head = (
        "<tr><th>Account</th><th>Channel</th><th class='num'>Conversations</th><th class='num'>Response rate</th>"
        "<th class='num'>≤ 60 min</th><th class='num'>Median first reply (min)</th>"
        "<th class='num'>p90 first reply (min)</th><th class='num'>Resolved</th><th>Days</th></tr>"
    )
    body = "".join(
        f"<tr><td>{_e(r['account_id'])}</td><td>{_e(r['channel'])}</td><td class='num'>{_int(r['conversations'])}</td>"
        f"<td class='num {'good' if (r['response_rate'] or 0) >= RESPONSE_RATE_TARGET else 'bad'}'>"
        f"{_pct(r['response_rate'])}</td><td class='num'>{_pct(r['within_60m'])}</td>"
        f"<td class='num'>{_minutes(r['frt_median'])}</td><td class='num'>{_minutes(r['frt_p90'])}</td>"
        f"<td class='num'>{_int(r['resolved'])}</td><td>{r['first_day']} to {r['last_day']}</td></tr>"
        for r in rows
    )
    return f'<table class="data summary"><thead>{head}</thead><tbody>{body}</tbody></table>'


CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --card: #ffffff; --bg: #f5f7fa; --good: #2b8a3e;
  --bad: #c92a2a; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif; }
header { background: #1f2933; color: #f5f7fa; padding: 22px 32px 18px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 650; letter-spacing: .2px; }
header .meta { color: #cbd2d9; font-size: 13px; }
header .meta b { color: #fff; font-weight: 600; }
nav { margin-top: 10px; font-size: 13px; }
nav a { color: #9fd3ff; text-decoration: none; margin-right: 14px; }
main { padding: 20px 32px 40px; max-width: 1440px; margin: 0 auto; }
h2 { font-size: 20px; margin: 0; }
h3 { font-size: 14px; margin: 0 0 6px; font-weight: 600; }
h3.group { margin: 18px 0 8px; color: var(--muted); text-transform: uppercase; font-size: 12px; letter-spacing: .6px; }
.sub { color: var(--muted); margin: 2px 0 12px; font-size: 13px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px 10px;
  margin: 0; box-shadow: 0 1px 2px rgba(15, 23, 42, .04); }
.overview { margin-bottom: 22px; }
section.account { margin: 28px 0 0; padding-top: 18px; border-top: 3px solid #d9e2ec; }
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; margin-bottom: 16px; }
.grid.one { grid-template-columns: 1fr; }
.grid:empty { display: none; }
.tiles { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 12px; margin-bottom: 16px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; }
.tile-name { color: var(--muted); font-size: 12px; }
.tile-value { font-size: 24px; font-weight: 650; margin: 2px 0; font-variant-numeric: tabular-nums; }
.tile-sub { color: var(--muted); font-size: 11px; }
.tile.good .tile-value, td.good { color: var(--good); }
.tile.bad .tile-value, td.bad { color: var(--bad); }
svg.chart { width: 100%; height: auto; display: block; font-size: 11px; }
svg .grid { stroke: #eef1f4; stroke-width: 1; }
svg .axis { stroke: #9aa5b1; stroke-width: 1; }
svg .tick { fill: #616e7c; font-size: 10.5px; }
svg .axis-label { fill: #3e4c59; font-size: 11px; }
svg .weekend { fill: #f5f7fa; }
svg .line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg .target { stroke: #c92a2a; stroke-width: 1.3; stroke-dasharray: 2 3; }
svg .target-label { fill: #c92a2a; font-size: 10.5px; font-weight: 600; }
svg .empty { fill: #9aa5b1; font-size: 14px; }
svg .badge-yes, .sw.badge-yes { fill: #40c057; background: #40c057; }
svg .badge-no, .sw.badge-no { fill: #fa5252; background: #fa5252; }
svg .badge-unknown, .sw.badge-unknown { fill: #dee2e6; background: #dee2e6; }
svg.strip { max-width: 900px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: var(--muted); margin: 0 0 4px; }
.key { display: inline-flex; align-items: center; gap: 6px; }
.key i { display: inline-block; width: 20px; height: 0; }
.key i.target-key { border-top: 1.5px dotted #c92a2a; }
.sw { display: inline-block; width: 12px; height: 12px; border-radius: 3px; }
.ramp { display: inline-block; width: 90px; height: 10px; border-radius: 2px; }
.note { color: var(--muted); font-size: 12px; margin: 6px 0 2px; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
table.data th { text-align: left; color: var(--muted); font-weight: 600; font-size: 12px; border-bottom: 1px solid
  var(--line); padding: 6px 8px; }
table.data td { border-bottom: 1px solid #f0f2f5; padding: 5px 8px; }
table.data .num { text-align: right; }
table.data td.bar { background: linear-gradient(#d0ebff, #d0ebff) no-repeat left center; min-width: 110px; }
footer { color: var(--muted); font-size: 12px; padding: 0 32px 30px; max-width: 1440px; margin: 0 auto; }
@media (max-width: 900px) { .grid, .tiles { grid-template-columns: 1fr; } }
@media print { body { background: #fff; } section.account { break-before: page; } }
"""


def report_accounts(marts: Marts) -> list[str]:
    """Every account some mart has a row for: one section each."""
    rows = marts.daily + marts.backlog + marts.badge + marts.agents + marts.hour_of_week
    return sorted({str(r["account_id"]) for r in rows})


def render_html(marts: Marts, source_name: str) -> str:
    """The whole page as a string."""
    accounts = report_accounts(marts)
    anchors = {
        a: f"account-{i + 1}-{re.sub(r'[^a-z0-9]+', '-', a.lower()).strip('-')}"
        for i, a in enumerate(accounts)
    }
    days = _days(marts.daily + marts.backlog)
    as_of = f"{marts.as_of:%Y-%m-%d %H:%M:%S} UTC" if marts.as_of else "unknown"
    period = f"{days[0].isoformat()} to {days[-1].isoformat()}" if days else "no data"
    pairs = len(marts.summary)
    nav = "".join(f'<a href="#{anchors[a]}">{_e(a)}</a>' for a in accounts)
    sections = "".join(account_section(a, anchors[a], marts) for a in accounts)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Social care KPIs, as of {_e(as_of)}</title><style>{CSS}</style></head><body>"
        "<header><h1>Social customer care: KPI report</h1>"
        f'<div class="meta">as of <b>{_e(as_of)}</b> · days {period} · <b>{len(accounts)}</b> accounts, '
        f"{pairs} account \u00d7 channel pairs · source <b>{_e(source_name)}</b></div><nav>{nav}</nav></header>"
        '<main><figure class="card overview"><h3>Build summary: every day up to as_of, per account and channel</h3>'
        f"{_summary_table(marts.summary)}"
        '<p class="note">Rates are sums of counts divided (never averages of daily rates); medians and p90s come '
        "from the facts. Times are calendar minutes; days are each account's local days.</p></figure>"
        f"{sections}</main>"
        "<footer>Definitions of every KPI: docs/definitions.md. Hover a point or a cell for its value.</footer>"
        "</body></html>\n"
    )


def render_report(serving_db_or_warehouse: Path, output: Path) -> dict:
    """Read the marts of a serving copy or a warehouse (read-only) and write one self-contained HTML file.

    Returns a summary: output, bytes, accounts, charts (SVG elements), as_of."""
    source = Path(serving_db_or_warehouse)
    if not source.is_file():
        raise FileNotFoundError(f"database not found: {source}")
    with duckdb.connect(str(source), read_only=True) as con:
        marts = read_marts(con)
    page = render_html(marts, source.name)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f"{output.name}.tmp-{secrets.token_hex(6)}")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return {
        "output": str(output),
        "bytes": output.stat().st_size,
        "accounts": report_accounts(marts),
        "charts": page.count("<svg"),
        "as_of": marts.as_of.isoformat() if marts.as_of else None,
    }


def main(argv: list[str] | None = None) -> int:
    from orchestration.config import Settings

    parser = argparse.ArgumentParser(description="Write the KPI report (one offline HTML file).")
    parser.add_argument(
        "database", nargs="?", type=Path, help="serving.duckdb or the warehouse (default: warehouse)"
    )
    parser.add_argument(
        "output", nargs="?", type=Path, help="HTML file (default: report.html beside the database)"
    )
    args = parser.parse_args(argv)
    database = args.database or Settings.from_env().warehouse
    output = args.output or database.parent / "report.html"
    summary = render_report(database, output)
    print(
        f"{summary['output']}: {summary['bytes']:,} bytes, {len(summary['accounts'])} accounts, {summary['charts']} charts"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
