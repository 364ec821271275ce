"""The ``aftersales followups`` commands: list, schedule, dispatch, metrics.

Plans come from ``--plans FILE.toml`` or ``AFTERSALES_FOLLOWUPS_PLANS``::

    aftersales followups --plans plans.toml schedule satisfaction --buyer b1 \\
        --order 1001 --store shopify
    aftersales followups dispatch --limit 500
    aftersales followups list --status failed
    aftersales --json followups metrics --since 2024-06-01T00:00:00+00:00
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from aftersales.cli_support import (
    CliState,
    aware_datetime,
    fail,
    finish,
    known_store,
    output,
    pass_state,
    steps,
    stored_stores,
    table,
)
from aftersales.models import FollowUpStatus
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.followups import FollowUpRow

__all__ = ["group"]


def _app(state: CliState) -> Any:
    return state.app


@click.group("followups")
@click.option("--plans", "plans", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="TOML file of [plans.<name>] tables to register first.")
@pass_state
def group(state: CliState, plans: Path | None) -> None:
    """Scheduled follow-up visits (回访): list, schedule, dispatch, metrics."""
    if plans is not None:
        _app(state).followups.register(plans)


@group.command("list")
@click.option("--status", type=click.Choice([s.value for s in FollowUpStatus]), default=None)
@click.option("--plan", default=None)
@click.option("--buyer", "buyer_id", default=None)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@pass_state
def list_command(state: CliState, status: str | None, plan: str | None, buyer_id: str | None,
                 limit: int) -> None:
    """Follow-ups, soonest due first."""
    rows = _app(state).followups.list(status=status, plan=plan, buyer_id=buyer_id, limit=limit)
    data = [r.model_dump(mode="json", exclude={"context"}) for r in rows]
    output(state, data, lambda: table(
        f"Follow-ups ({len(rows)})",
        ["id", "plan", "channel", "buyer", "order", "due (UTC)", "status", "attempts", "note"],
        [(r.id, r.plan, r.channel, r.buyer_id, r.order_id,
          r.due_at.strftime("%Y-%m-%d %H:%M"), r.status.value, r.attempts,
          (r.last_error or "")[:60]) for r in rows]))


@group.command("schedule")
@click.argument("plan")
@click.option("--buyer", "buyer_id", required=True, help="The buyer to contact.")
@click.option("--order", "order_id", default=None, help="The order it is about.")
@click.option("--store", "--marketplace", "marketplace", default=None,
              help="The order's store (--marketplace: its former name).")
@click.option("--rma", "rma_id", default=None, help="The return it is about.")
@click.option("--at", "at", default=None, callback=aware_datetime, metavar="ISO-TIME",
              help="The anchor the plan's delay counts from (default: now).")
@click.option("--due", "due_at", default=None, callback=aware_datetime, metavar="ISO-TIME",
              help="An exact due time.")
@click.option("--key", default=None, help="Idempotency key: the same key schedules once.")
@pass_state
def schedule_command(state: CliState, plan: str, buyer_id: str, order_id: str | None,
                     marketplace: str | None, rma_id: str | None, at: datetime | None,
                     due_at: datetime | None, key: str | None) -> None:
    """Schedule one follow-up of PLAN for a buyer."""
    known_store(_app(state), marketplace,
                stored=stored_stores(_app(state), OrderRow.marketplace, FollowUpRow.marketplace))
    fu = _app(state).followups.schedule(plan, buyer_id=buyer_id, order_id=order_id,
                                        marketplace=marketplace, rma_id=rma_id, at=at,
                                        due_at=due_at, key=key)
    output(state, fu.model_dump(mode="json", exclude={"context"}),
           lambda: f"follow-up {fu.id} ({fu.plan}) {fu.status.value}, "
                   f"due {fu.due_at:%Y-%m-%d %H:%M} UTC")


@group.command("dispatch")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--now", "now", default=None, callback=aware_datetime, metavar="ISO-TIME",
              help="Dispatch as of this time.")
@pass_state
def dispatch_command(state: CliState, limit: int, now: datetime | None) -> None:
    """Send the follow-ups that are due (one worker tick).

    Exit status 1 when a follow-up failed or was left to retry (the reasons say why),
    or when a channel failed as a whole (a refused login, a server out of reach):
    its follow-ups stay queued and one line on stderr says why.
    """
    with steps(state, "followups dispatch", unit=" follow-ups") as progress:
        report = _app(state).followups.dispatch_due(now=now, limit=limit,
                                                    progress=progress.advance)
    counts = {k: v for k, v in vars(report).items() if k not in ("reasons", "stopped")}
    output(state, {**counts, "reasons": report.reasons, "stopped": report.stopped},
           lambda: table("Dispatch", ["claimed", "sent", "deferred", "retried", "failed",
                                      "skipped", "cancelled", "released"],
                         [[counts[k] for k in ("claimed", "sent", "deferred", "retried",
                                               "failed", "skipped", "cancelled",
                                               "released")]]))
    if report.stopped:  # a channel failed as a whole: its queue is kept, the job failed
        fail(f"dispatch stopped: {report.stopped}")
    # As the worker judges the same tick: a failure, or a reason (a retry left
    # for later), is status 1; cron must not read a failed dispatch as done.
    finish(0 if report.ok else max(report.failed, 1))


@group.command("metrics")
@click.option("--plan", default=None)
@click.option("--since", default=None, callback=aware_datetime, metavar="ISO-TIME")
@click.option("--until", default=None, callback=aware_datetime, metavar="ISO-TIME")
@pass_state
def metrics_command(state: CliState, plan: str | None, since: datetime | None,
                    until: datetime | None) -> None:
    """Sent, response rate, CSAT and NPS per plan."""
    rows = _app(state).followups.metrics(plan=plan, since=since, until=until)
    output(state, [m.as_dict() for m in rows], lambda: table(
        "Follow-up metrics",
        ["plan", "scheduled", "sent", "responded", "response rate", "CSAT", "NPS", "failed"],
        [(m.plan, m.scheduled, m.sent, m.responded, _pct(m.response_rate),
          "" if m.csat is None else f"{m.csat:.2f}", "" if m.nps is None else f"{m.nps:+.0f}",
          m.failed) for m in rows]))


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"
