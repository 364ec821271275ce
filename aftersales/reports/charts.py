"""Server-side SVG charts (pygal) for the HTML report: lines for trends, bars for
breakdowns and distributions.

Every chart is rendered to an inline ``<svg>`` with pygal's interactive
script switched off (``js=[]``), so the report loads nothing from anywhere;
fonts are the viewer's own (a system font stack), never downloaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pygal
from pygal.style import Style

__all__ = ["FONTS", "LABEL_CHARS", "Series", "bar_chart", "line_chart", "plain", "short"]

#: Fonts the viewer already has: Latin, then Chinese faces of each system.
FONTS = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", '
         '"PingFang SC", "Microsoft YaHei", sans-serif')

_STYLE = Style(
    background="white", plot_background="white", foreground="#333",
    foreground_strong="#111", foreground_subtle="#999", opacity=".85", opacity_hover=".95",
    colors=("#2f6db5", "#d9822b", "#3a9b5c", "#c23b3b", "#7b5ea7", "#8c6d31"),
    font_family=FONTS, label_font_family=FONTS, major_label_font_family=FONTS,
    value_font_family=FONTS, value_label_font_family=FONTS, title_font_family=FONTS,
    legend_font_family=FONTS, tooltip_font_family=FONTS,
    title_font_size=18, label_font_size=12, major_label_font_size=12, legend_font_size=13,
)

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
#: Control characters and the invisible marks that reorder text (U+202E shows what
#: follows backwards, up to the end of its paragraph).
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
#: The longest label a chart shows (pygal's ``truncate_label``).
LABEL_CHARS = 18


def plain(text: str) -> str:
    """``text`` without control characters or direction overrides (a store's or SKU's name)."""
    return _HIDDEN.sub("", text)


def short(text: str) -> str:
    """A label as a chart shows it: :func:`plain` and at most :data:`LABEL_CHARS` characters.

    pygal truncates the label it draws, but sizes a horizontal chart's label
    margin by the whole text: a long SKU name pushed the plot off the page.
    """
    text = plain(text)
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"

#: A named series: its legend text and one value per label (``None`` for a gap).
Series = tuple[str, Sequence[float | None]]


def _config(title: str, labels: Sequence[str], formatter: Callable[[float], str] | None,
            no_data: str) -> dict[str, Any]:
    many = len(labels) > 12
    return {
        "title": title, "style": _STYLE, "js": [], "disable_xml_declaration": True,
        "width": 800, "height": 360, "explicit_size": False, "legend_at_bottom": True,
        "legend_at_bottom_columns": 3, "x_label_rotation": 40 if many else 0,
        "show_minor_x_labels": not many, "x_labels_major_every": max(1, len(labels) // 10),
        "truncate_label": LABEL_CHARS, "truncate_legend": 40, "print_values": False,
        "value_formatter": formatter or (lambda v: f"{v:g}"), "no_data_text": no_data,
        "margin": 16, "include_x_axis": True,
    }


def _render(chart: Any, labels: Sequence[str], series: Sequence[Series]) -> str:
    chart.x_labels = [short(label) for label in labels]
    for name, values in series:
        chart.add(name, list(values))
    svg: str = chart.render(is_unicode=True)
    # pygal writes its config for its (here absent) script; the report carries no script.
    return _SCRIPT.sub("", svg)


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series], *,
               formatter: Callable[[float], str] | None = None, no_data: str = "No data",
               ) -> str:
    """A trend: one line per series over ``labels`` (periods), as inline SVG text."""
    chart = pygal.Line(**_config(title, labels, formatter, no_data), dots_size=3,
                       allow_interruptions=True)
    return _render(chart, labels, series)


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], *,
              formatter: Callable[[float], str] | None = None, no_data: str = "No data",
              horizontal: bool = False) -> str:
    """Bars: one group per label, one bar per series, as inline SVG text."""
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = kind(**_config(title, labels, formatter, no_data))
    return _render(chart, labels, series)
