"""The self-contained HTML report: every section's charts and headline figures in one file.

Everything is inline: the stylesheet, the SVG charts (pygal, no script), no
font or image fetched. The page is laid out for A4 (``@page size: A4``; the
content is at most the printable width), so printing it to PDF keeps every
chart whole on the page width. Labels are English or Chinese (``lang``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from html import escape

from aftersales.reports.charts import FONTS, Series, bar_chart, line_chart, plain
from aftersales.reports.labels import words
from aftersales.reports.periods import Scope
from aftersales.reports.rows import ReportTable, ratio

__all__ = ["CSS", "render_report"]

#: The page's whole stylesheet (A4: 210 mm less 12 mm margins each side = 186 mm).
CSS = f"""
@page {{ size: A4; margin: 12mm; }}
* {{ box-sizing: border-box; }}
html {{ background: white; }}
body {{ font-family: {FONTS}; color: #222; margin: 0 auto; padding: 0 4mm;
       max-width: 186mm; font-size: 11pt; line-height: 1.4; }}
h1 {{ font-size: 20pt; margin: 6mm 0 2mm; }}
h2 {{ font-size: 15pt; margin: 8mm 0 3mm; border-bottom: 1px solid #ccc;
      break-after: avoid; }}
p.meta {{ color: #555; margin: 0 0 4mm; }}
.kpis {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 3mm; margin: 4mm 0; }}
.kpi {{ border: 1px solid #ddd; border-radius: 2mm; padding: 2mm 3mm; }}
.kpi b {{ display: block; font-size: 16pt; }}
.kpi span {{ color: #555; font-size: 9pt; }}
figure.chart {{ margin: 0 0 5mm; break-inside: avoid; page-break-inside: avoid; }}
figure.chart svg {{ display: block; width: 100%; height: auto; }}
"""


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _hours(value: float) -> str:
    return f"{value:.1f} h"


def _table(data: Mapping[str, list[ReportTable]], group: str, name: str) -> ReportTable | None:
    return next((t for t in data.get(group, []) if t.name == name), None)


def _series(table: ReportTable | None, attr: str, name: str) -> Series:
    rows = table.rows if table is not None else []
    return name, [getattr(r, attr) for r in rows]


def _labels(table: ReportTable | None) -> list[str]:
    return [str(r.key) for r in table.rows] if table is not None else []


class _Page:
    """Accumulates the page's parts in order."""

    def __init__(self, lang: str) -> None:
        self.w = words(lang)
        self.parts: list[str] = []

    def heading(self, key: str) -> None:
        self.parts.append(f"<h2>{escape(self.w[key])}</h2>")

    def chart(self, name: str, svg: str) -> None:
        self.parts.append(f'<figure class="chart" data-chart="{escape(name)}">{svg}</figure>')

    def line(self, name: str, table: ReportTable | None, series: Sequence[tuple[str, str]],
             fmt: Callable[[float], str] | None = None) -> None:
        self.chart(name, line_chart(self.w[name], _labels(table),
                                    [_series(table, a, self.w[k]) for a, k in series],
                                    formatter=fmt, no_data=self.w["no_data"]))

    def bars(self, name: str, table: ReportTable | None, series: Sequence[tuple[str, str]],
             fmt: Callable[[float], str] | None = None, *, horizontal: bool = False) -> None:
        self.chart(name, bar_chart(self.w[name], _labels(table),
                                   [_series(table, a, self.w[k]) for a, k in series],
                                   formatter=fmt, no_data=self.w["no_data"],
                                   horizontal=horizontal))


def _kpis(page: _Page, data: Mapping[str, list[ReportTable]]) -> None:
    def total(group: str, name: str, num: str, den: str) -> float | None:
        t = _table(data, group, name)
        rows = t.rows if t is not None else []
        return ratio(sum(getattr(r, num) for r in rows), sum(getattr(r, den) for r in rows))

    money = _table(data, "returns", "revenue")
    refunded = sum((r.refunded for r in money.rows), start=0) if money else 0
    revenue = sum((r.revenue for r in money.rows), start=0) if money else 0
    currencies = {r.currency for r in money.rows} if money else set()
    survey = _table(data, "followups", "surveys")
    promoters = sum(r.promoters for r in survey.rows) if survey else 0
    detractors = sum(r.detractors for r in survey.rows) if survey else 0
    answers = sum(r.nps_count for r in survey.rows) if survey else 0
    figures: list[tuple[str, str]] = [
        ("kpi_return_rate", _fmt(total("returns", "return_rate", "numerator", "denominator"))),
        ("kpi_refund_share", _fmt(float(refunded / revenue)
                                  if revenue and len(currencies) == 1 else None)),
        ("kpi_exception", _fmt(total("logistics", "exception_rate", "numerator",
                                     "denominator"))),
        ("kpi_positive", _fmt(total("reviews", "stars", "positive", "reviews"))),
        ("kpi_response", _fmt(total("followups", "surveys", "responded", "sent"))),
        ("kpi_nps", f"{100 * (promoters - detractors) / answers:.1f}" if answers else "-"),
    ]
    tiles = "".join(f'<div class="kpi"><b>{escape(v)}</b><span>{escape(page.w[k])}</span></div>'
                    for k, v in figures)
    page.parts.append(f'<div class="kpis">{tiles}</div>')


def _fmt(value: float | None) -> str:
    return "-" if value is None else _pct(value)


def render_report(data: Mapping[str, list[ReportTable]], *, scope: Scope, lang: str = "en",
                  generated: datetime | None = None) -> str:
    """The whole report as one HTML document (text).

    ``data`` holds the tables by group: ``returns`` (by period), ``returns_category``,
    ``logistics`` (by carrier), ``logistics_trend``, ``reviews`` (by period),
    ``followups`` (by plan), ``followups_trend``, and ``cases`` (by kind) with
    ``cases_trend`` when the cases area is there.

    Raises:
        ValidationError: ``lang`` is neither ``en`` nor ``zh``.
    """
    page = _Page(lang)
    w = page.w
    local = scope.zone
    window = (f"{scope.since.astimezone(local):%Y-%m-%d %H:%M} – "
              f"{scope.until.astimezone(local):%Y-%m-%d %H:%M}")
    stores = ", ".join(plain(s) for s in scope.stores) if scope.stores else w["all_stores"]
    meta = (f"{w['window']}: {window} · {w['zone']}: {local.key} · {w['stores']}: {stores}"
            + (f" · {w['generated']}: {generated:%Y-%m-%d %H:%M} UTC" if generated else ""))
    page.parts.append(f"<h1>{escape(w['title'])}</h1><p class=\"meta\">{escape(meta)}</p>")
    _kpis(page, data)

    t = _table  # shorthand
    page.heading("returns")
    rate, share = t(data, "returns", "return_rate"), t(data, "returns", "exchange_share")
    page.chart("return_trend", line_chart(
        w["return_trend"], _labels(rate),
        [_series(rate, "rate", w["return_rate"]),
         (w["exchange_share"], _aligned(rate, share, "rate"))],
        formatter=_pct, no_data=w["no_data"]))
    page.bars("by_reason", t(data, "returns", "returned_by_reason"), [("count", "units")])
    money = t(data, "returns", "revenue")
    page.chart("money", bar_chart(
        w["money"], [f"{r.key} {r.currency}" for r in money.rows] if money else [],
        [(w["refunded"], [float(r.refunded) for r in money.rows] if money else []),
         (w["retained"], [float(r.retained) for r in money.rows] if money else [])],
        no_data=w["no_data"]))
    response, refund = t(data, "returns", "response_time"), t(data, "returns", "refund_time")
    page.chart("handling", line_chart(
        w["handling"], _labels(response),
        [_series(response, "p50_hours", w["response_p50"]),
         _series(response, "p90_hours", w["response_p90"]),
         _series(refund, "p50_hours", w["refund_p50"]),
         _series(refund, "p90_hours", w["refund_p90"])], formatter=_hours,
        no_data=w["no_data"]))
    sla_response, sla_refund = t(data, "returns", "response_sla"), t(data, "returns", "refund_sla")
    page.chart("sla", line_chart(
        w["sla"], _labels(sla_response or sla_refund),
        [s for s in (_series(sla_response, "breach_rate", w["response_sla"])
                     if sla_response else None,
                     _series(sla_refund, "breach_rate", w["refund_sla"])
                     if sla_refund else None) if s is not None],
        formatter=_pct, no_data=w["no_data"]))
    page.bars("by_category", t(data, "returns_category", "return_rate"),
              [("rate", "return_rate")], _pct, horizontal=True)

    page.heading("logistics")
    page.bars("transit", t(data, "logistics", "transit_time"),
              [("p50_hours", "p50"), ("p90_hours", "p90")], _hours)
    page.bars("transit_hist", t(data, "logistics", "transit_bands"), [("count", "parcels")])
    rates, first = t(data, "logistics", "exception_rate"), t(data, "logistics",
                                                               "first_attempt_rate")
    page.chart("carrier_rates", bar_chart(
        w["carrier_rates"], _labels(rates),
        [_series(rates, "rate", w["exception_rate"]),
         (w["first_attempt"], _aligned(rates, first, "rate"))],
        formatter=_pct, no_data=w["no_data"]))
    page.bars("by_issue", t(data, "logistics", "exception_issue"), [("numerator", "parcels")])
    page.bars("stuck", t(data, "logistics", "stuck_parcels"), [("count", "parcels")])
    page.line("exception_trend", t(data, "logistics_trend", "exception_rate"),
              [("rate", "exception_rate")], _pct)

    page.heading("reviews")
    stars = t(data, "reviews", "stars")
    page.line("review_trend", stars, [("positive_rate", "positive_rate"),
                                      ("negative_rate", "negative_rate")], _pct)
    page.line("stars_trend", stars, [("average_stars", "average_stars")])
    page.bars("topics", t(data, "reviews", "complaint_topics"), [("count", "reviews_count")])

    page.heading("followups")
    page.bars("plan_rates", t(data, "followups", "surveys"),
              [("response_rate", "response_rate"), ("csat_satisfied", "csat_satisfied")], _pct)
    trend = t(data, "followups_trend", "surveys")
    page.line("score_trend", trend, [("nps", "nps"), ("csat", "csat")])
    if "cases" in data:
        _cases(page, data)
    body = "\n".join(page.parts)
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(w['title'])}</title><style>{CSS}</style></head>"
            f"<body>\n{body}\n</body></html>\n")


def _cases(page: _Page, data: Mapping[str, list[ReportTable]]) -> None:
    w, t = page.w, _table
    page.heading("cases")
    page.bars("case_trend", t(data, "cases_trend", "volume"), [("count", "cases_count")])
    kinds = t(data, "cases", "change")
    page.chart("case_kinds", bar_chart(
        w["case_kinds"], _labels(kinds),
        [_series(kinds, "current", w["cases_now"]), _series(kinds, "previous", w["cases_before"])],
        no_data=w["no_data"]))
    page.bars("case_causes", t(data, "cases", "volume_by_cause"), [("count", "cases_count")],
              horizontal=True)
    first, resolution = t(data, "cases", "first_response_time"), t(data, "cases",
                                                                   "resolution_time")
    page.chart("case_times", bar_chart(
        w["case_times"], _labels(first),
        [_series(first, "p50_hours", w["first_p50"]),
         (w["resolution_p50"], _aligned(first, resolution, "p50_hours"))],
        formatter=_hours, no_data=w["no_data"]))
    page.bars("case_skus", t(data, "cases", "skus"), [("count", "cases_count")], horizontal=True)


def _aligned(base: ReportTable | None, other: ReportTable | None, attr: str
             ) -> list[float | None]:
    """``other``'s ``attr`` for each of ``base``'s keys, in ``base``'s order."""
    found = {r.key: getattr(r, attr) for r in other.rows} if other is not None else {}
    return [found.get(r.key) for r in base.rows] if base is not None else []

