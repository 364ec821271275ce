"""The ``aftersales cases`` commands: list, show, open, note, assign, cause, propose,
resolve, close, reopen and causes.

Every bad value is a one-line error naming the field (``field 'kind': unknown
value; one of …``) with exit status 2, and nothing is written.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from aftersales.cli_support import (
    CliState,
    clean_text,
    known_store,
    output,
    pass_app,
    pass_state,
    stored_stores,
    table,
)
from aftersales.store.tables.cases import CaseRow
from aftersales.store.tables.core import OrderRow

__all__ = ["group"]


@click.group("cases")
def group() -> None:
    """Complaint cases (投诉工单): open, work, resolve and follow up."""


def _data(case: Any) -> dict[str, Any]:
    data = asdict(case)
    for key in ("kind", "channel", "priority", "status"):
        data[key] = getattr(case, key).value
    return data


def _said(state: CliState, case: Any) -> None:
    output(state, _data(case), lambda: f"case {case.id}: {case.status.value}"
           f" ({case.kind.value}, {case.priority.value}"
           f"{', ' + case.assignee if case.assignee else ''})")


@group.command("list")
@click.option("--status", default=None)
@click.option("--kind", default=None)
@click.option("--store", default=None)
@click.option("--buyer", "buyer_id", default=None)
@click.option("--order", "order_id", default=None)
@click.option("--open", "open_only", is_flag=True, help="Only cases not closed.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@pass_app
@pass_state
def list_(state: CliState, app: Any, status: str | None, kind: str | None, store: str | None,
          buyer_id: str | None, order_id: str | None, open_only: bool, limit: int) -> None:
    """List cases, newest first."""
    known_store(app, store, stored=stored_stores(app, CaseRow.store))
    found = app.cases.list(status=status, kind=kind, store=store, buyer_id=buyer_id,
                           order_id=order_id, open_only=open_only, limit=limit)
    output(state, [_data(c) for c in found], lambda: table(
        f"{len(found)} cases", ["id", "store", "kind", "status", "priority", "buyer", "order",
                                "assignee", "escalation"],
        [(c.id, c.store, c.kind.value, c.status.value, c.priority.value, c.buyer_id,
          c.order_id, c.assignee, c.escalation) for c in found]))


@group.command("show")
@click.argument("case_id", type=int)
@pass_app
@pass_state
def show(state: CliState, app: Any, case_id: int) -> None:
    """One case with its facts, links, deadlines and audit trail."""
    case = app.cases.get(case_id)
    trail = app.cases.history(case_id)
    data = {"case": _data(case), "history": [asdict(e) for e in trail]}

    def render() -> Any:
        from rich.console import Group
        from rich.text import Text

        head = (f"case {case.id} {case.kind.value} {case.status.value} {case.priority.value}"
                f" store={case.store} order={case.order_id or '-'}"
                f" cause={case.root_cause or '-'}")
        facts = table("facts", ["at", "source", "data"],
                      [(f.at.isoformat(timespec="minutes"), f.source, f.data)
                       for f in case.facts])
        slas = table("deadlines", ["metric", "status", "due", "warned", "breached"],
                     [(d.metric, d.status, d.due_at, d.warned_at, d.breached_at)
                      for d in case.deadlines])
        hist = table("history", ["at", "actor", "from", "to", "reason", "note"],
                     [(e.at.isoformat(timespec="minutes"), e.actor, e.from_status,
                       e.to_status, e.reason, e.note) for e in trail])
        return Group(Text(clean_text(head)), facts, slas, hist)

    output(state, data, render)


@group.command("open")
@click.option("--store", required=True)
@click.option("--buyer", "buyer_id", required=True)
@click.option("--kind", required=True, help="complaint, inquiry, damage_claim, logistics, …")
@click.option("--channel", default="phone", show_default=True)
@click.option("--order", "order_id", default=None)
@click.option("--priority", default="normal", show_default=True)
@click.option("--subject", default="")
@click.option("--key", default=None, help="A natural key: the same key never adds twice.")
@pass_app
@pass_state
def open_(state: CliState, app: Any, store: str, buyer_id: str, kind: str, channel: str,
          order_id: str | None, priority: str, subject: str, key: str | None) -> None:
    """Open a case (or add a fact to the open one for the same order and kind)."""
    known_store(app, store, stored=stored_stores(app, CaseRow.store, OrderRow.marketplace),
                labels=True)
    _said(state, app.cases.open(store=store, buyer_id=buyer_id, kind=kind, channel=channel,
                                order_id=order_id, priority=priority, subject=subject,
                                key=key, actor="cli"))


@group.command("note")
@click.argument("case_id", type=int)
@click.argument("text")
@click.option("--reply", is_flag=True, help="The note is the answer given to the buyer.")
@click.option("--actor", default="cli", show_default=True)
@pass_app
@pass_state
def note(state: CliState, app: Any, case_id: int, text: str, reply: bool, actor: str) -> None:
    """Add a note to the case's audit trail."""
    _said(state, app.cases.note(case_id, text, reply=reply, actor=actor))


@group.command("assign")
@click.argument("case_id", type=int)
@click.argument("assignee")
@pass_app
@pass_state
def assign(state: CliState, app: Any, case_id: int, assignee: str) -> None:
    """Give the case to someone."""
    _said(state, app.cases.assign(case_id, assignee, actor="cli"))


@group.command("cause")
@click.argument("case_id", type=int)
@click.argument("code")
@click.option("--valid/--invalid", default=True, show_default=True,
              help="Whether the complaint was justified.")
@click.option("--note", default=None)
@pass_app
@pass_state
def cause(state: CliState, app: Any, case_id: int, code: str, valid: bool,
          note: str | None) -> None:
    """Record the root cause (see ``aftersales cases causes``)."""
    _said(state, app.cases.set_cause(case_id, code, valid=valid, note=note, actor="cli"))


@group.command("causes")
@pass_app
@pass_state
def causes(state: CliState, app: Any) -> None:
    """The root-cause pick-list."""
    found = app.cases.root_causes()
    output(state, [{"code": c.code, "label": c.label} for c in found],
           lambda: table("root causes", ["code", "label"], [(c.code, c.label) for c in found]))


@group.command("propose")
@click.argument("case_id", type=int)
@click.argument("kind")
@click.option("--amount", default=None, help="Refund or compensation amount (12.50).")
@click.option("--currency", default=None, help="The amount's currency (the order's).")
@click.option("--rma", "rma_id", default=None, help="Refund against this return request.")
@click.option("--compensation", default=None, help="coupon or store_credit.")
@click.option("--message", default="", help="What the buyer is told.")
@click.option("--no-notify", is_flag=True, help="Record it; do not tell the buyer.")
@pass_app
@pass_state
def propose(state: CliState, app: Any, case_id: int, kind: str, amount: str | None,
            currency: str | None, rma_id: str | None, compensation: str | None, message: str,
            no_notify: bool) -> None:
    """Propose a resolution: refund, exchange, reship, compensation, repair, explanation."""
    from aftersales.cases.resolutions import Resolution

    resolution = Resolution(kind, amount=amount, currency=currency, rma_id=rma_id,
                            compensation=compensation, note=message)
    _said(state, app.cases.propose(case_id, resolution, actor="cli", notify=not no_notify))


@group.command("resolve")
@click.argument("case_id", type=int)
@click.option("--note", default=None)
@click.option("--plan", default=None, help="The follow-up plan of the 回访.")
@pass_app
@pass_state
def resolve(state: CliState, app: Any, case_id: int, note: str | None,
            plan: str | None) -> None:
    """Carry out the resolution (a refund is paid once) and schedule the 回访."""
    _said(state, app.cases.resolve(case_id, note=note, follow_up_plan=plan, actor="cli"))


@group.command("close")
@click.argument("case_id", type=int)
@click.option("--note", default=None)
@pass_app
@pass_state
def close(state: CliState, app: Any, case_id: int, note: str | None) -> None:
    """Close the case."""
    _said(state, app.cases.close(case_id, note=note, actor="cli"))


@group.command("reopen")
@click.argument("case_id", type=int)
@click.option("--reason", default="reopened")
@pass_app
@pass_state
def reopen(state: CliState, app: Any, case_id: int, reason: str) -> None:
    """Reopen a resolved or closed case, one priority step higher."""
    _said(state, app.cases.reopen(case_id, reason=reason, actor="cli"))
