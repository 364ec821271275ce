"""The HTML report in a real headless Chromium: every chart drawn, nothing fetched, A4 wide.

Chromium runs with the network unreachable (no proxy answers, no host
resolves) and the DevTools protocol lists every request the page makes.
Charts are screenshotted one by one and their plot areas' pixels counted.
Each check is also run once on a page that breaks it, to show it bites.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reports.browser import Browser, chromium, png_pixels
from tests.reports.conftest import ZONE, Dataset

CHARTS = ["return_trend", "by_reason", "money", "handling", "sla", "by_category", "transit",
          "transit_hist", "carrier_rates", "by_issue", "stuck", "exception_trend",
          "review_trend", "stars_trend", "topics", "plan_rates", "score_trend",
          "case_trend", "case_kinds", "case_causes", "case_times", "case_skus"]
#: Coloured pixels a plot area needs to count as drawn (an empty chart has none).
DRAWN = 40
#: A4 is 210 mm wide; less 12 mm margins each side, 186 mm = 703 CSS pixels at 96 per inch.
A4_PRINTABLE_PX = 703


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = chromium()
    if binary is None:
        if os.environ.get("AFTERSALES_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed but AFTERSALES_REQUIRE_BROWSER=1")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    b = Browser(binary)
    b.page("Network.enable")
    b.page("Page.enable")
    b.page("Emulation.setDeviceMetricsOverride", width=A4_PRINTABLE_PX, height=1000,
           deviceScaleFactor=1, mobile=False)
    b.page("Emulation.setEmulatedMedia", media="print")
    # No scrollbar: a full-page capture must not narrow (and so re-flow) the page.
    b.page("Emulation.setScrollbarsHidden", hidden=True)
    yield b
    b.close()


@pytest.fixture(scope="module")
def reports(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    folder = tmp_path_factory.mktemp("html")
    since = datetime(2026, 2, 1, tzinfo=ZoneInfo(ZONE))
    out = {}
    for lang in ("en", "zh"):
        path = folder / f"report-{lang}.html"
        path.write_text(dataset.app.reports.html(since=since, lang=lang), encoding="utf-8")
        out[lang] = path
    return out


def load(browser: Browser, path: Path) -> list[str]:
    """Open ``path``; return the URLs the page requested."""
    browser.events.clear()
    browser.page("Page.navigate", url=path.as_uri())
    browser.wait_for("Page.loadEventFired")
    return browser.requests()


def layout(browser: Browser) -> dict[str, Any]:
    """The page's scroll width and each chart's plot area (document coordinates)."""
    script = """JSON.stringify({
      width: document.documentElement.scrollWidth,
      charts: [...document.querySelectorAll('figure.chart')].map(f => {
        const box = f.getBoundingClientRect();
        const plot = (f.querySelector('g.plot') || f).getBoundingClientRect();
        return {name: f.dataset.chart, right: box.right + scrollX,
                x: plot.x + scrollX, y: plot.y + scrollY, w: plot.width, h: plot.height};
      })})"""
    data: dict[str, Any] = json.loads(browser.evaluate(script))
    return data


def drawn(browser: Browser, chart: dict[str, Any]) -> int:
    """Coloured (saturated) pixels in a chart's plot area: the plotted data, not axes or text."""
    width, height, pixels = png_pixels(browser.screenshot(chart["x"], chart["y"], chart["w"],
                                                          chart["h"]))
    assert width > 100
    assert height > 100
    return sum(1 for p in pixels if max(p[:3]) - min(p[:3]) > 60)


@pytest.mark.parametrize("dataset", ["sqlite"], indirect=True)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_chart_is_present_and_not_blank(browser: Browser, reports: dict[str, Path],
                                              lang: str) -> None:
    load(browser, reports[lang])
    charts = layout(browser)["charts"]
    assert [c["name"] for c in charts] == CHARTS
    blank = [c["name"] for c in charts if drawn(browser, c) < DRAWN]
    assert blank == []


@pytest.mark.parametrize("dataset", ["sqlite"], indirect=True)
def test_the_check_sees_a_blank_chart(browser: Browser, reports: dict[str, Path],
                                      tmp_path: Path) -> None:
    """The same check on a report of an empty shop: every chart is blank."""
    from aftersales.app import AfterSales

    empty = AfterSales(f"sqlite:///{tmp_path}/empty.db", marketplaces=[], timezone=ZONE)
    page = tmp_path / "empty.html"
    page.write_text(empty.reports.html(), encoding="utf-8")
    empty.close()
    load(browser, page)
    charts = layout(browser)["charts"]
    assert len(charts) == len(CHARTS)
    assert [c["name"] for c in charts if drawn(browser, c) >= DRAWN] == []


@pytest.mark.parametrize("dataset", ["sqlite"], indirect=True)
def test_nothing_is_requested_outside_the_file(browser: Browser,
                                               reports: dict[str, Path]) -> None:
    for path in reports.values():
        assert load(browser, path) == [path.as_uri()]
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text
        assert "@import" not in text
        assert "url(" not in text


@pytest.mark.parametrize("dataset", ["sqlite"], indirect=True)
def test_the_request_log_sees_a_fetch(browser: Browser, reports: dict[str, Path],
                                      tmp_path: Path) -> None:
    """A page that loads an image from a host shows up in the log (and cannot reach it)."""
    page = tmp_path / "fetching.html"
    page.write_text(reports["en"].read_text(encoding="utf-8").replace(
        "<body>", '<body><img src="https://cdn.example.com/logo.png">', 1), encoding="utf-8")
    assert "https://cdn.example.com/logo.png" in load(browser, page)


@pytest.mark.parametrize("dataset", ["sqlite"], indirect=True)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_fits_an_a4_width(browser: Browser, reports: dict[str, Path],
                                   lang: str) -> None:
    load(browser, reports[lang])
    page = layout(browser)
    assert page["width"] <= A4_PRINTABLE_PX
    assert max(c["right"] for c in page["charts"]) <= A4_PRINTABLE_PX
    pdf = base64.b64decode(browser.page(
        "Page.printToPDF", paperWidth=8.27, paperHeight=11.69, preferCSSPageSize=True)["data"])
    assert pdf.startswith(b"%PDF")
    boxes = {(round(float(w)), round(float(h))) for w, h in re.findall(
        rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)}
    assert boxes == {(595, 842)}  # A4 in points


@pytest.mark.parametrize("dataset", ["sqlite"], indirect=True)
def test_the_width_check_sees_an_overflow(browser: Browser, reports: dict[str, Path],
                                          tmp_path: Path) -> None:
    page = tmp_path / "wide.html"
    page.write_text(reports["en"].read_text(encoding="utf-8").replace(
        "figure.chart svg { display: block; width: 100%;",
        "figure.chart svg { display: block; width: 900px;", 1), encoding="utf-8")
    load(browser, page)
    assert layout(browser)["width"] > A4_PRINTABLE_PX


@pytest.mark.parametrize("dataset", ["sqlite"], indirect=True)
def test_labels_in_english_and_chinese(reports: dict[str, Path]) -> None:
    en, zh = (reports[k].read_text(encoding="utf-8") for k in ("en", "zh"))
    assert '<html lang="en">' in en
    assert "Return rate" in en
    assert '<html lang="zh-CN">' in zh
    assert "退货率" in zh
    assert "好评率" in zh
    assert "Return rate" not in zh


HOSTILE = ["</svg><script>document.title='owned'</script>", '<img src=x onerror="alert(1)">',
           "javascript:alert(1)", "\u202eevil reversed \u2066", "长" * 5000, "a" * 100_000]


def _hostile_report(tmp_path: Path) -> Path:
    """The report with SKUs, reasons, categories, carriers and stores named by an attacker."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from aftersales.reports.html import render_report
    from aftersales.reports.periods import Scope
    from aftersales.reports.rows import CountRow, RateRow, ReportTable

    counts = [CountRow(k, 3 + i) for i, k in enumerate(HOSTILE)]
    rates = [RateRow(k, 1 + i, 10) for i, k in enumerate(HOSTILE)]
    data = {
        "returns": [ReportTable("returned_by_reason", "reason", CountRow, counts)],
        "returns_category": [ReportTable("return_rate", "category", RateRow, rates)],
        "logistics": [ReportTable("exception_rate", "carrier", RateRow, rates),
                      ReportTable("stuck_parcels", "carrier", CountRow, counts)],
        "cases": [ReportTable("volume_by_cause", "cause", CountRow, counts),
                  ReportTable("skus", "sku", CountRow, counts)],
    }
    zone = ZoneInfo(ZONE)
    scope = Scope(datetime(2026, 3, 1, tzinfo=zone), datetime(2026, 4, 1, tzinfo=zone), zone,
                  tuple(HOSTILE[:4]))
    page = tmp_path / "hostile.html"
    page.write_text(render_report(data, scope=scope), encoding="utf-8")
    return page


@pytest.mark.parametrize("dataset", ["sqlite"], indirect=True)
def test_hostile_names_run_nothing_and_keep_every_chart_on_the_page(
        browser: Browser, reports: dict[str, Path], tmp_path: Path) -> None:
    """Names with markup, script URLs, direction overrides and 100 kB are text in their place.

    Long names once sized a horizontal chart's label margin: its plot went
    hundreds of thousands of pixels off the page, and a 50-character name
    halved it.
    """
    page = _hostile_report(tmp_path)
    assert load(browser, page) == [page.as_uri()]
    found = json.loads(browser.evaluate("""JSON.stringify({
      title: document.title, scripts: document.scripts.length,
      handlers: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes])
        .filter(a => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value)).length,
      meta: document.querySelector('p.meta').textContent})"""))
    assert found["scripts"] == 0
    assert found["handlers"] == 0
    assert "owned" not in found["title"]
    assert "\u202e" not in found["meta"]
    assert "\u2066" not in found["meta"]
    assert "evil reversed" in found["meta"]
    layout_ = layout(browser)
    assert layout_["width"] <= A4_PRINTABLE_PX
    for chart in layout_["charts"]:
        if chart["name"] in ("by_reason", "by_category", "carrier_rates", "stuck",
                             "case_causes", "case_skus"):
            assert chart["x"] >= 0, chart
            assert chart["x"] + chart["w"] <= A4_PRINTABLE_PX, chart
            assert chart["w"] > A4_PRINTABLE_PX / 2, chart
            assert drawn(browser, chart) >= DRAWN, chart["name"]
