"""The ``aftersales report`` commands: one table set per section, and the HTML report.

::

    aftersales report returns --since 2026-03-01 --until 2026-04-01 --by week
    aftersales report logistics --by carrier --store tmall-flagship
    aftersales --json report reviews --by sku
    aftersales report followups --csv out/
    aftersales report html -o report.html --lang zh

``--since``/``--until`` take a date (midnight in the shop's zone) or an ISO
time with a zone; the default window is the 30 days to now.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from aftersales.cli_support import (
    EXIT_UNUSABLE,
    CliState,
    aware_datetime,
    fail,
    known_store,
    output,
    pass_state,
    stored_stores,
    table,
)
from aftersales.reports.export import to_jsonable, write_csv_files, write_whole
from aftersales.reports.labels import LANGS
from aftersales.reports.rows import ReportTable
from aftersales.reports.service import SECTIONS
from aftersales.store.tables.cases import CaseRow
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.returns import ReturnRow
from aftersales.store.tables.reviews import ReviewRow

__all__ = ["group"]


def _when(ctx: click.Context, param: click.Parameter, value: str | None
          ) -> datetime | date | None:
    """A day (read in the shop's zone later) or an ISO time with its zone."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return aware_datetime(ctx, param, value)


def _aware(value: datetime | date | None, app: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=app.timezone)


def window_options(fn: Any) -> Any:
    """``--since``, ``--until``, ``--store`` (repeatable) and ``--by``."""
    for option in reversed([
        click.option("--since", callback=_when, default=None,
                     help="First day or time counted (default: 30 days before --until)."),
        click.option("--until", callback=_when, default=None,
                     help="First day or time not counted (default: now)."),
        click.option("--store", "stores", multiple=True,
                     help="Only this store (repeatable; default: every store)."),
    ]):
        fn = option(fn)
    return fn


def _known_stores(app: Any, stores: tuple[str, ...]) -> None:
    """Refuse a ``--store`` that names no store (a typo reported an empty shop)."""
    stored = stored_stores(app, OrderRow.marketplace, ReturnRow.marketplace,
                           ReviewRow.marketplace, CaseRow.store)
    for store in stores:
        known_store(app, store, stored=stored)


def _cell(value: Any, column: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and (column.endswith(("rate", "share", "satisfied"))):
        return f"{100 * value:.1f}%"
    return str(value)


def render(tables: list[ReportTable]) -> Any:
    """Rich tables for a terminal, one per report table."""
    from rich.console import Group

    return Group(*(table(f"{t.name} by {t.by}", t.columns(),
                         [[_cell(row[c], c) for c in t.columns()] for row in t.as_dicts()])
                   for t in tables))


@click.group("report")
def group() -> None:
    """Reports: returns, logistics, reviews and follow-ups in numbers; the HTML report."""


def _section_command(name: str) -> click.Command:
    @click.command(name, help=f"The {name} report's tables (figures defined in the README).")
    @window_options
    @click.option("--by", default=None,
                  help="day, week, month, all, store, or a column of this report "
                       "(sku, category, reason, carrier, plan).")
    @click.option("--csv", "csv_dir", type=click.Path(file_okay=False, path_type=Path),
                  default=None, help="Also write each table to DIR/<report>-<table>.csv.")
    @pass_state
    def command(state: CliState, since: Any, until: Any, stores: tuple[str, ...],
                by: str | None, csv_dir: Path | None) -> None:
        if csv_dir is not None:  # before the report is built: nothing to throw away
            try:
                csv_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                fail(f"--csv: cannot make folder {csv_dir}: {exc.strerror}", EXIT_UNUSABLE)
        app = state.app
        _known_stores(app, stores)
        tables = app.reports.section(name, since=_aware(since, app), until=_aware(until, app),
                                     store=stores or None, by=by)
        try:
            written = write_csv_files(tables, csv_dir, name) if csv_dir is not None else []
        except OSError as exc:
            fail(f"--csv: cannot write in {csv_dir}: {exc.strerror}", EXIT_UNUSABLE)
        data: dict[str, Any] = {"report": name, "tables": to_jsonable(tables)}
        if written:
            data["csv"] = [str(p) for p in written]
        output(state, data, lambda: render(tables))

    return command


@group.command("html")
@window_options
@click.option("-o", "--output", "path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("report.html"), show_default=True, help="Where to write the report.")
@click.option("--lang", type=click.Choice(sorted(LANGS)), default="en", show_default=True,
              help="Labels in English or Chinese.")
@pass_state
def html_command(state: CliState, since: Any, until: Any, stores: tuple[str, ...], path: Path,
                 lang: str) -> None:
    """Write the self-contained HTML report (charts inline, works offline, prints on A4)."""
    if not path.parent.is_dir():  # before the report is built: nothing to throw away
        fail(f"--output: folder {path.parent} does not exist", EXIT_UNUSABLE)
    app = state.app
    _known_stores(app, stores)
    text = app.reports.html(since=_aware(since, app), until=_aware(until, app),
                            store=stores or None, lang=lang)
    try:
        write_whole(path, text)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}", EXIT_UNUSABLE)
    output(state, {"written": str(path.resolve()), "bytes": len(text.encode())},
           lambda: f"report written to {path.resolve()}")


for _name in SECTIONS:
    group.add_command(_section_command(_name))
