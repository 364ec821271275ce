"""The ``aftersales`` command: demo, database, sync, and each area's commands."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from aftersales.cli_support import (
    CliState,
    ErrorsAsLines,
    add_json_option,
    fail,
    finish,
    output,
    pass_app,
    pass_state,
    steps,
    table,
)
from aftersales.config import check_environment, config_file_variables

__all__ = ["main"]


@click.group(cls=ErrorsAsLines)
@click.option(
    "--database-url",
    envvar="AFTERSALES_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL (default: AFTERSALES_DATABASE_URL or sqlite:///aftersales.db).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
@click.version_option(package_name="aftersales")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, as_json: bool) -> None:
    """After-sales work for online shops: returns, logistics, reviews and follow-ups.

    Exit status: 0 all done, 1 completed with failures (named in the output),
    2 unusable input or configuration. ``--json`` works on every command.
    """
    ctx.obj = CliState(database_url, as_json)
    # a misspelt AFTERSALES_* variable: exit 2, not the defaults
    check_environment(also=config_file_variables())
    if database_url is not None and not database_url.strip():
        fail("--database-url is empty; give a URL such as sqlite:///aftersales.db", 2)


@main.command()
@click.option("--orders", default=200, show_default=True, help="Sandbox orders to simulate.")
@click.option("--seed", default=0, show_default=True, help="Sandbox seed.")
@click.option("--shape", type=click.Choice(["sandbox", "douyin"]), default="sandbox",
              show_default=True,
              help="sandbox: the generic shop; douyin: a Douyin-shaped shop (fen amounts, "
                   "价保/补寄/维修, platform deadlines) through the douyin adapter.")
@pass_state
def demo(state: CliState, orders: int, seed: int, shape: str) -> None:
    """Run one after-sales cycle on a fresh SQLite file and the sandbox shop.

    With ``--json`` the walk-through goes to stderr and stdout holds one
    JSON document: the shape, the database and the report file written.
    """
    module = importlib.import_module(
        "aftersales.demo" if shape == "sandbox" else f"aftersales_{shape}.demo")
    shown = state.console
    if state.as_json:  # the story's tables and panels must not mix into the JSON
        state.console = state.err
    try:
        if shape == "sandbox":
            module.run_demo(state, orders=orders, seed=seed)
        else:
            module.run(state, seed=seed)
    finally:
        state.console = shown
    if state.as_json:
        report = getattr(module, "REPORT_FILE", None)
        output(state, {"demo": shape, "database": state.database_url or module.DEMO_URL,
                       "report": str(Path(report).resolve()) if report else None})


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_state
def db_upgrade(state: CliState, revision: str) -> None:
    """Apply the packaged migrations (under a lock: safe while other processes start)."""
    from aftersales.store import Store

    store = Store(state.database_url or _default_url())
    store.upgrade(revision)
    output(state, {"upgraded": revision, "tables": store.table_names()},
           lambda: f"database at {revision}: {len(store.table_names())} tables")


@main.command()
@click.option("--store", default=None, help="Only this store.")
@pass_app
@pass_state
def sync(state: CliState, app: Any, store: str | None) -> None:
    """Pull what changed on every configured store ([stores.NAME], AFTERSALES_MARKETPLACES).

    Each store's orders, return requests and reviews sync on their own:
    a failed stream is one failure, named with its store (status 1); the
    other streams and stores still sync.
    """
    if not app.marketplaces:
        raise click.UsageError("no marketplaces configured; set AFTERSALES_MARKETPLACES=sandbox,…")
    if store is not None and store not in app.marketplaces:
        from aftersales.naming import shown

        raise click.BadParameter(f"no store {shown(store)}; configured: "
                                 f"{', '.join(app.marketplaces)}", param_hint="--store")
    from aftersales.app import SYNC_CAPABILITIES

    if store is not None and not SYNC_CAPABILITIES & app.marketplaces[store].capabilities:
        raise click.BadParameter(f"store {store} lists no orders, returns or reviews: "
                                 "nothing to sync", param_hint="--store")
    with steps(state, "sync") as progress:
        report = app.sync(store, progress=lambda stream, n: progress.advance(n, stream))
    rows = [(m, s, n) for m, per in report.counts.items() for s, n in per.items()]
    # each failed stream is one row and one failure: a store's orders and
    # returns failing together are two things to look at, not one
    failed = [(m, s, f"failed: {e}") for m, per in report.failures.items()
              for s, e in per.items()]
    data = report.counts if not report.reasons else {
        **report.counts, "reasons": report.reasons, "failures": report.failures}
    title = "changed"
    if report.failed:
        title += (f"; {report.failed} stream(s) of {len(report.failures)} store(s) failed: "
                  f"{report.failed_streams()}")
    output(state, data, lambda: table(title, ["store", "stream", "count"], rows + failed))
    finish(report.failed)


@main.command("stores")
@pass_app
@pass_state
def stores_command(state: CliState, app: Any) -> None:
    """List the configured stores: name, adapter kind, and each one's figures."""
    from aftersales.store_metrics import StoreFigures

    metrics = app.store_metrics()
    kinds = {name: getattr(m, "kind", type(m).__name__) for name, m in app.marketplaces.items()}
    names = [*kinds, *(n for n in metrics.stores if n not in kinds)]
    data = {"stores": {n: {"kind": kinds.get(n), **metrics.stores.get(n, StoreFigures()).as_dict()}
                       for n in names},
            "total": metrics.total.as_dict()}

    def row(name: str, kind: str, figures: Any) -> tuple[Any, ...]:
        paid = ", ".join(f"{a} {c}" for c, a in sorted(figures.refunded.items())) or "-"
        return (name, kind, figures.orders, sum(figures.returns.values()),
                figures.refunds_paid, paid, figures.reviews)

    rows = [row(n, kinds.get(n) or "(not configured)", metrics.stores.get(n, StoreFigures()))
            for n in names]
    output(state, data, lambda: table(
        f"{len(kinds)} store(s)", ["store", "kind", "orders", "requests", "refunds", "refunded",
                                   "reviews"], [*rows, row("all", "", metrics.total)]))


def _default_url() -> str:
    from aftersales.app import DEFAULT_DATABASE_URL

    return DEFAULT_DATABASE_URL


def _add_area_commands() -> None:
    for area in ("returns", "logistics", "reviews", "followups", "kb", "reports",
                 "customers", "cases"):
        module = importlib.import_module(f"aftersales.{area}.cli")
        main.add_command(module.group)
        for extra in getattr(module, "top_level_commands", ()):
            main.add_command(extra)
    main.add_command(importlib.import_module("aftersales.outbox_cli").group)
    try:
        scheduler = importlib.import_module("aftersales.scheduler")
    except ImportError:
        return
    worker = getattr(scheduler, "worker_command", None)
    if worker is not None:
        main.add_command(worker, "worker")


_add_area_commands()
add_json_option(main)
