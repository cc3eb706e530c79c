"""The KPI report of the generated sample warehouse, opened in headless Chromium with every host name unresolvable:
it renders (a screenshot that is not blank), every chart is in the DOM, and the page asked the network for nothing.

Needs Chromium (Debian: apt-get install chromium); skipped when it is absent. CHROMIUM=/path/to/chrome overrides.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import dagster as dg
import pytest

from orchestration.generate import generate
from orchestration.report_html import render_report
from orchestration.run import build
from orchestration.serving import publish

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 1400, 3000


def chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    pytest.skip(
        "Chromium is not installed (Debian: apt-get install chromium; or set CHROMIUM=/path/to/chrome)"
    )


def run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless, offline: no sandbox (root), no background services, every host name resolves to nothing."""
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run(
        [chromium(), *flags, *args], capture_output=True, text=True, timeout=180, check=True
    )


def page_requests(net_log: Path) -> list[str]:
    """http(s) URLs the page itself asked for, from Chromium's NetLog (the browser's own background requests,
    whose initiator is 'not an origin', are left out)."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        p["url"]
        for e in log["events"]
        if e["type"] == start_job
        and (p := e.get("params", {})).get("url", "").startswith(("http://", "https://"))
        and p.get("initiator") != "not an origin"
    ]


def png_facts(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values of the decoded scanlines): a blank page has only a handful."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chromium()  # skip before building anything
    root = tmp_path_factory.mktemp("report")
    landing = root / "landing"
    generate(landing)
    warehouse = root / "warehouse" / "social_care.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIAL_CARE_LANDING_DIR", str(landing))
        mp.setenv("SOCIAL_CARE_WAREHOUSE", str(warehouse))
        assert build(instance=dg.DagsterInstance.ephemeral()).success
    publish(warehouse)
    output = root / "report.html"
    summary = render_report(warehouse.parent / "serving.duckdb", output)
    assert len(summary["accounts"]) == 3
    return output


def test_the_report_renders_offline_with_every_chart(report, tmp_path):
    screenshot, net_log = tmp_path / "report.png", tmp_path / "net.json"
    run_chromium(
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--log-net-log={net_log}",
        report.as_uri(),
    )
    width, height, distinct = png_facts(screenshot)
    assert (width, height) == (WIDTH, HEIGHT)
    assert screenshot.stat().st_size > 100_000
    assert distinct > 100, "the screenshot is blank"
    assert page_requests(net_log) == []

    dom = run_chromium(tmp_path / "profile-dom", "--dump-dom", report.as_uri()).stdout
    charts = report.read_text(encoding="utf-8").count("<svg")
    assert charts >= 3 * 9  # per account: 4 line charts, a badge strip, 2 heatmaps per channel (...)
    assert dom.count("<svg") == charts
    assert dom.count('<section class="account"') == 3


def test_the_network_check_catches_a_page_that_fetches(tmp_path):
    page = tmp_path / "fetches.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" href="https://cdn.example.com/x.css"></head>'
        '<body><img src="http://img.example.net/a.png"></body></html>'
    )
    net_log = tmp_path / "net.json"
    run_chromium(tmp_path / "profile", f"--log-net-log={net_log}", "--dump-dom", page.as_uri())
    assert sorted(page_requests(net_log)) == ["http://img.example.net/a.png", "https://cdn.example.com/x.css"]
