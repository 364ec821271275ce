"""The ``aftersales reviews`` commands: sync, alerts, report, reply.

::

    aftersales reviews sync
    aftersales reviews alerts --rule counterfeit --days 7
    aftersales reviews report --by sku --days 30
    aftersales --json reviews report --by shop --since 2026-03-01T00:00:00+08:00
    aftersales reviews reply 42 --template sorry --dry-run
    aftersales reviews reply 42 --mark-sent      # a lost answer: the reply is there
    aftersales reviews reply 42 --release        # a lost answer: it is not; reply again
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import click

from aftersales.cli_support import (
    CliState,
    aware_datetime,
    finish_stores,
    known_store,
    output,
    pass_state,
    steps,
    stored_stores,
    stores_with,
    table,
)
from aftersales.errors import NotFoundError
from aftersales.interfaces import Capability
from aftersales.reviews.alerts import AlertRule
from aftersales.reviews.classify import Severity
from aftersales.store.tables.reviews import ReviewRow
from aftersales.ticks import per_store

__all__ = ["group"]


def _since(app: Any, since: datetime | None, days: float | None) -> datetime | None:
    if since is not None and days is not None:
        raise click.UsageError("give --since or --days, not both")
    if days is not None:
        start: datetime = app.now() - timedelta(days=days)
        return start
    return since


#: The longest ``--days`` window: a century (a larger one is no calendar date).
_MOST_DAYS = 36_500


def _days(_ctx: click.Context, _param: click.Parameter, value: float | None) -> float | None:
    """``--days``: a finite number of days above 0, at most a century."""
    if value is not None and not 0 < value <= _MOST_DAYS:  # NaN fails both comparisons
        raise click.BadParameter(f"give a number of days above 0, at most {_MOST_DAYS}")
    return value


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


_window = [
    click.option("--since", callback=aware_datetime, default=None,
                 help="ISO 8601 start, with zone."),
    click.option("--until", callback=aware_datetime, default=None, help="ISO 8601 end, with zone."),
    click.option("--days", type=float, callback=_days, default=None,
                 help="The last N days (instead of --since), at most 36500."),
]


def _with_window(fn: Any) -> Any:
    for option in reversed(_window):
        fn = option(fn)
    return fn


@click.group("reviews")
def group() -> None:
    """Review sync, classification, alerts, metrics and replies."""


@group.command("sync")
@click.option("--store", "--marketplace", "marketplace", default=None,
              help="Only this store (--marketplace: its former name).")
@pass_state
def sync_command(state: CliState, marketplace: str | None) -> None:
    """Pull new and changed reviews, raise and deliver alerts.

    Exit status 1 when a store failed, or when an alert channel failed (the
    alerts it did not take are kept and sent again on the next run).
    """
    app = state.app
    names = stores_with(app, Capability.LIST_REVIEWS, marketplace)
    app.reviews.check_alert_channels()  # status 2 before any store is synced
    with steps(state, "reviews sync", unit=" reviews") as progress:
        # Store by store: one store failing is named and the others still sync.
        report = per_store(names, lambda name: app.reviews.sync(
            name, progress=lambda store, n: progress.advance(n, store)).get(name, 0))
    # alerts a channel refused are kept for the next run, but this run did not deliver them
    finish_stores(state, report, "reviews changed", ["marketplace", "reviews"],
                  undelivered=app.reviews.delivery_failures())


@group.command("alerts")
@click.option("--rule", type=click.Choice([r.value for r in AlertRule]), default=None)
@click.option("--sku", default=None)
@click.option("--min-severity", type=click.Choice([s.name.lower() for s in Severity]),
              default=None)
@click.option("--undelivered", is_flag=True, help="Only alerts a channel does not have yet.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@_with_window
@pass_state
def alerts_command(state: CliState, rule: str | None, sku: str | None,
                   min_severity: str | None, undelivered: bool, limit: int,
                   since: datetime | None, until: datetime | None, days: float | None) -> None:
    """List review alerts, newest first."""
    app = state.app
    found = app.reviews.alerts(
        since=_since(app, since, days),
        until=until,
        rule=rule,
        sku=sku,
        min_severity=Severity[min_severity.upper()] if min_severity else None,
        undelivered=undelivered,
        limit=limit,
    )
    data = [
        {
            "id": a.id,
            "rule": a.rule.value,
            "severity": a.severity.name.lower(),
            "subject": a.subject,
            "sku": a.sku,
            "occurred_at": a.occurred_at.isoformat(),
            "delivered": a.delivered_at is not None,
            "message": a.message,
        }
        for a in found
    ]
    rows = [
        (a.occurred_at.strftime("%Y-%m-%d %H:%M"), a.rule.value, a.severity.name, a.sku or "",
         a.message)
        for a in found
    ]
    output(state, data, lambda: table(f"{len(found)} review alerts",
                                      ["when (UTC)", "rule", "severity", "sku", "message"], rows))


@group.command("report")
@click.option("--by", type=click.Choice(["sku", "shop"]), default="sku", show_default=True)
@_with_window
@pass_state
def report_command(state: CliState, by: str, since: datetime | None, until: datetime | None,
                   days: float | None) -> None:
    """Count, average rating, positive rate (好评率), negative rate and top complaints."""
    app = state.app
    metrics = app.reviews.metrics(since=_since(app, since, days), until=until, by=by)
    rows = [
        (m.key or "(none)", m.count, f"{m.average_rating:.2f}", _pct(m.positive_rate),
         _pct(m.negative_rate), ", ".join(f"{t} ({n})" for t, n in m.top_negative_topics))
        for m in metrics
    ]
    columns = [by, "reviews", "avg ★", "positive", "negative", "top negative topics"]
    output(state, [m.as_dict() for m in metrics],
           lambda: table(f"reviews by {by}", columns, rows))


@group.command("reply")
@click.argument("review_id")
@click.option("--template", default=None,
              help="A template name (thanks, sorry, …) or the template text itself.")
@click.option("--store", "--marketplace", "marketplace", default=None,
              help="The review's store, when the id is the store's own (--marketplace: "
              "its former name).")
@click.option("--dry-run", is_flag=True, help="Show the reply; send and write nothing.")
@click.option("--mark-sent", is_flag=True,
              help="An unfinished reply is on the store (you checked): record it as sent.")
@click.option("--release", is_flag=True,
              help="An unfinished reply is not on the store (you checked): drop it so "
              "the next reply posts.")
@pass_state
def reply_command(state: CliState, review_id: str, template: str | None,
                  marketplace: str | None, dry_run: bool, mark_sent: bool,
                  release: bool) -> None:
    """Reply to a review once (REVIEW_ID: the library's id, or the marketplace's)."""
    reviews = state.app.reviews
    known_store(state.app, marketplace,
                stored=stored_stores(state.app, ReviewRow.marketplace))
    if mark_sent and release:
        raise click.UsageError("--mark-sent and --release exclude each other")
    if dry_run and (mark_sent or release):
        # a dry run writes nothing, and a mark or a release is nothing but a write
        raise click.UsageError("--dry-run sends nothing; --mark-sent and --release only "
                               "write, so they take no --dry-run")
    if (mark_sent or release) and template is not None:
        # a mark or a release sends nothing: the template would be silently dropped
        raise click.UsageError("--mark-sent and --release send nothing and take no "
                               "--template; reply again after --release")
    if not (mark_sent or release) and template is None:
        raise click.UsageError("Missing option '--template'.")

    def act(key: int | str) -> Any:
        if mark_sent:
            return reviews.mark_reply_sent(key, marketplace=marketplace)
        if release:
            return reviews.release_reply(key, marketplace=marketplace)
        return reviews.reply(key, template=template or "", marketplace=marketplace,
                             dry_run=dry_run)

    try:
        key: int | str = int(review_id) if marketplace is None else review_id
        result = act(key)
    except (ValueError, NotFoundError):  # not the library's id: the marketplace's
        result = act(review_id)
    data = {"review_id": result.review_id, "status": result.status, "text": result.text,
            "remote_id": result.remote_id}
    output(state, data, lambda: f"{result.status}: {result.text}")
