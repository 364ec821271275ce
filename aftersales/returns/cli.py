"""The ``aftersales returns`` commands: list, show, request, each action, bulk, sync, timers.

Every action takes ``--dry-run``, which checks everything, changes nothing and says
what it would do (``would approve``). An action whose marketplace answer was lost
is settled by hand, as a review's lost reply is::

    aftersales returns resolve RMA --mark-done     # it is done there: record it
    aftersales returns resolve RMA --release       # it is not: any action may go again
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from aftersales.amounts import check_amount
from aftersales.cli_support import (
    CliState,
    aware_datetime,
    clean_text,
    fail,
    finish,
    finish_stores,
    known_store,
    output,
    pass_app,
    pass_state,
    steps,
    stored_stores,
    stores_with,
    table,
)
from aftersales.errors import AfterSalesError
from aftersales.interfaces import Capability
from aftersales.returns.bulk_report import SHOWN_ERRORS, check_report_path
from aftersales.returns.bulk_rows import BulkFileError
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.returns import ReturnRow
from aftersales.ticks import per_store

__all__ = ["group"]


@click.group("returns")
def group() -> None:
    """Returns, exchanges and refunds."""


def _req(r: Any) -> dict[str, Any]:
    data: dict[str, Any] = r.model_dump(mode="json")
    return data


@group.command("list")
@click.option("--status", multiple=True, help="Only these statuses (repeatable).")
@click.option("--kind", default=None, help="refund_only, return or exchange.")
@click.option("--store", "--marketplace", "marketplace", default=None,
              help="Only this store's requests (--marketplace: its former name).")
@click.option("--order", "order_id", default=None, help="Only this order.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@pass_app
@pass_state
def list_(state: CliState, app: Any, status: tuple[str, ...], kind: str | None,
          marketplace: str | None, order_id: str | None, limit: int) -> None:
    """List requests, most recently updated first."""
    known_store(app, marketplace,
                stored=stored_stores(app, ReturnRow.marketplace, OrderRow.marketplace))
    found = app.returns.list(status=list(status) or None, kind=kind, marketplace=marketplace,
                             order_id=order_id, limit=limit)
    rows = [(r.rma_id, r.marketplace, r.order_id, r.kind.value, r.status.value,
             r.raw_status, sum(ln.quantity for ln in r.lines)) for r in found]
    output(state, [_req(r) for r in found], lambda: table(
        f"{len(found)} requests", ["rma_id", "marketplace", "order", "kind", "status", "raw",
                                   "units"], rows))


@group.command("show")
@click.argument("rma_id")
@pass_app
@pass_state
def show(state: CliState, app: Any, rma_id: str) -> None:
    """One request with its lines, refund preview and audit trail."""
    r = app.returns.get(rma_id)
    trail = app.returns.history(rma_id)
    try:
        preview = app.returns.preview_refund(rma_id).model_dump(mode="json")
    except AfterSalesError:  # a preview is optional in this view
        preview = None
    data = {"request": _req(r), "refund_preview": preview,
            "history": [e.model_dump(mode="json") for e in trail]}

    def render() -> Any:
        from rich.console import Group

        lines = table(f"{r.rma_id} {r.kind.value} {r.status.value} ({r.raw_status or '-'})",
                      ["line", "sku", "qty", "reason", "replacement"],
                      [(ln.order_line_id, ln.sku, ln.quantity, ln.reason.value,
                        ln.replacement_sku) for ln in r.lines])
        hist = table("history", ["at", "actor", "from", "to", "reason", "note"],
                     [(e.at.isoformat(timespec="minutes"), e.actor, e.from_status, e.to_status,
                       e.reason, e.note) for e in trail])
        parts: list[Any] = [lines, hist]
        if preview is not None:
            parts.append(f"refund now: {preview['total']['amount']} {preview['currency']}")
        return Group(*parts)

    output(state, data, render)


def _act(state: CliState, result: Any, verb: str, dry_run: bool) -> None:
    """Print an action's outcome: ``RMA: approved``, or ``RMA: would approve`` in a dry run."""
    data = {**_req(result), "dry_run": dry_run}
    output(state, data, lambda: f"{result.rma_id}: would {verb} (now {result.status.value})"
           if dry_run else f"{result.rma_id}: {result.status.value}")


def _money(ctx: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    """A positive plain decimal amount (``12.50``): no sign, exponent, comma or NaN."""
    if value is None:
        return None
    text = value.strip()
    if not _AMOUNT.fullmatch(text):
        raise click.BadParameter(f"{clean_text(value)[:40]!r} is not an amount like 12.50")
    amount = Decimal(text)
    if amount <= 0:
        raise click.BadParameter("must be more than 0")
    return amount


_AMOUNT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")


dry = click.option("--dry-run", is_flag=True, help="Check and show the outcome; change nothing.")
note_opt = click.option("--note", default=None)


@group.command("approve")
@click.argument("rma_id")
@note_opt
@click.option("--override", is_flag=True, help="Approve although found ineligible.")
@dry
@pass_app
@pass_state
def approve(state: CliState, app: Any, rma_id: str, note: str | None, override: bool,
            dry_run: bool) -> None:
    """Approve a request (on its marketplace too)."""
    _act(state, app.returns.approve(rma_id, note=note, override=override, actor="cli",
                                    dry_run=dry_run), "approve", dry_run)


@group.command("reject")
@click.argument("rma_id")
@click.option("--reason", required=True, help="Shown to the buyer.")
@note_opt
@dry
@pass_app
@pass_state
def reject(state: CliState, app: Any, rma_id: str, reason: str, note: str | None,
           dry_run: bool) -> None:
    """Reject a request, giving the buyer a reason."""
    _act(state, app.returns.reject(rma_id, reason=reason, note=note, actor="cli",
                                   dry_run=dry_run), "reject", dry_run)


@group.command("receive")
@click.argument("rma_id")
@click.option("--inspect", multiple=True, metavar="LINE=R1,R2",
              help="Per-unit results of one line: resellable, damaged, wrong_item, missing.")
@note_opt
@dry
@pass_app
@pass_state
def receive(state: CliState, app: Any, rma_id: str, inspect: tuple[str, ...],
            note: str | None, dry_run: bool) -> None:
    """Record the returned parcel's arrival and inspection."""
    _act(state, app.returns.receive(rma_id, inspection=_inspection(inspect), note=note,
                                    actor="cli", dry_run=dry_run), "receive", dry_run)


def _inspection(inspect: tuple[str, ...]) -> dict[str, list[str]] | None:
    """``--inspect LINE=R1,R2`` options as ``{line: [result, ...]}`` (``None``: none given)."""
    if not inspect:
        return None
    inspection: dict[str, list[str]] = {}
    for spec in inspect:
        line, sep, results = spec.partition("=")
        if not sep or not line.strip():
            raise click.BadParameter(f"expected LINE=R1,R2, got {clean_text(spec)[:60]!r}",
                                     param_hint="--inspect")
        inspection[line.strip()] = [r.strip() for r in results.split(",") if r.strip()]
    return inspection


@group.command("resolve")
@click.argument("rma_id")
@click.option("--mark-done", is_flag=True,
              help="The action whose answer was lost is done on the marketplace (you checked "
              "its seller console): record it, sending nothing.")
@click.option("--release", is_flag=True,
              help="The action whose answer was lost is not done there (you checked): drop it "
              "so any action may go again.")
@click.option("--reason", default=None, help="A refusal marked done: its reason for the buyer.")
@click.option("--inspect", multiple=True, metavar="LINE=R1,R2",
              help="A receipt marked done: per-unit results of one line.")
@click.option("--tracking-number", default=None,
              help="An exchange shipment marked done: its tracking number.")
@click.option("--carrier", default=None, help="An exchange shipment marked done: its carrier.")
@note_opt
@pass_app
@pass_state
def resolve(state: CliState, app: Any, rma_id: str, mark_done: bool, release: bool,
            reason: str | None, inspect: tuple[str, ...], tracking_number: str | None,
            carrier: str | None, note: str | None) -> None:
    """Settle an action whose marketplace answer was lost, once you checked the marketplace.

    For stores no sync can read (WooCommerce, requests made in the shop's own
    portal): the request holds every other action until this says what happened.
    """
    if mark_done == release:
        raise click.UsageError("give one of --mark-done or --release")
    if release and (reason is not None or inspect or tracking_number is not None
                    or carrier is not None):
        raise click.UsageError(
            "--reason, --inspect, --tracking-number and --carrier go with --mark-done")
    if release:
        released = app.returns.release_action(rma_id, note=note, actor="cli")
        output(state, {**_req(released), "resolved": "released"},
               lambda: f"{released.rma_id}: released (now {released.status.value}); any "
                       "action may go again")
        return
    done = app.returns.mark_action_done(rma_id, note=note, actor="cli", reason=reason,
                                        inspection=_inspection(inspect),
                                        tracking_number=tracking_number, carrier=carrier)
    output(state, {**_req(done), "resolved": "done"},
           lambda: f"{done.rma_id}: marked done, {done.status.value}")


@group.command("refund")
@click.argument("rma_id")
@click.option("--amount", default=None, callback=_money,
              help="A partial refund in the order's currency, e.g. 12.50.")
@click.option("--key", "idempotency_key", default=None, help="Idempotency key.")
@note_opt
@dry
@pass_app
@pass_state
def refund(state: CliState, app: Any, rma_id: str, amount: Decimal | None,
           idempotency_key: str | None, note: str | None, dry_run: bool) -> None:
    """Refund a request through its marketplace (at most once per key)."""
    money = None
    if amount is not None:
        currency = app.returns.preview_refund(rma_id).currency
        money = check_amount(amount, currency, field="--amount")
    paid = app.returns.refund(rma_id, amount=money, idempotency_key=idempotency_key, note=note,
                              actor="cli", dry_run=dry_run)
    output(state, paid.model_dump(mode="json"),
           lambda: f"{rma_id}: {'would refund' if dry_run else 'refunded'} {paid.amount}")


@group.command("close")
@click.argument("rma_id")
@note_opt
@dry
@pass_app
@pass_state
def close(state: CliState, app: Any, rma_id: str, note: str | None, dry_run: bool) -> None:
    """Close a finished request."""
    _act(state, app.returns.close(rma_id, note=note, actor="cli", dry_run=dry_run), "close",
         dry_run)


@group.command("cancel")
@click.argument("rma_id")
@note_opt
@dry
@pass_app
@pass_state
def cancel(state: CliState, app: Any, rma_id: str, note: str | None, dry_run: bool) -> None:
    """Cancel a request before anything was shipped."""
    _act(state, app.returns.cancel(rma_id, note=note, actor="cli", dry_run=dry_run), "cancel",
         dry_run)


@group.command("request")
@click.argument("marketplace", metavar="STORE")
@click.argument("order_id")
@click.option("--line", "lines", multiple=True, required=True, metavar="LINE=QTY",
              help="An order line (or SKU) and how many units. Repeatable.")
@click.option("--reason", required=True, help="quality_issue, wrong_item, no_reason, …")
@click.option("--kind", default="return", show_default=True,
              type=click.Choice(["refund_only", "return", "exchange"]))
@click.option("--note", "buyer_note", default=None, help="The buyer's words.")
@click.option("--key", "idempotency_key", default=None,
              help="Idempotency key: a repeat returns the first request.")
@click.option("--force", is_flag=True, help="Open it although the policy refuses it.")
@dry
@pass_app
@pass_state
def request(state: CliState, app: Any, marketplace: str, order_id: str,
            lines: tuple[str, ...], reason: str, kind: str, buyer_note: str | None,
            idempotency_key: str | None, force: bool, dry_run: bool) -> None:
    """Open a request for an order (made in the shop's own portal or by phone)."""
    known_store(app, marketplace, option="STORE", stored=stored_stores(app, OrderRow.marketplace))
    wanted: dict[str, int] = {}
    for spec in lines:
        line, sep, qty = spec.partition("=")
        if not sep or not line.strip() or not qty.strip().isdigit() or int(qty) < 1:
            raise click.BadParameter(f"expected LINE=QTY with QTY at least 1, got "
                                     f"{clean_text(spec)[:60]!r}", param_hint="--line")
        wanted[line.strip()] = wanted.get(line.strip(), 0) + int(qty)
    made = app.returns.request(marketplace, order_id, wanted, kind=kind, reason=reason,
                               buyer_note=buyer_note, idempotency_key=idempotency_key,
                               actor="cli", force=force, dry_run=dry_run)
    output(state, {**_req(made), "dry_run": dry_run},
           lambda: f"would open a {made.kind.value} request ({made.status.value}) for order "
                   f"{order_id}" if dry_run else
                   f"{made.rma_id}: {made.status.value} ({made.kind.value})")


@group.command("mark-shipped")
@click.argument("rma_id")
@click.argument("tracking_number")
@click.option("--carrier", default=None, help="Carrier code (sf, jd, ups, …); else detected.")
@dry
@pass_app
@pass_state
def mark_shipped(state: CliState, app: Any, rma_id: str, tracking_number: str,
                 carrier: str | None, dry_run: bool) -> None:
    """Record the buyer's return parcel, so logistics tracks it."""
    _act(state, app.returns.mark_shipped(rma_id, tracking_number, carrier, actor="cli",
                                         dry_run=dry_run), "mark shipped", dry_run)


@group.command("reopen")
@click.argument("rma_id")
@click.option("--reason", default=None, help="The revised reason.")
@note_opt
@dry
@pass_app
@pass_state
def reopen(state: CliState, app: Any, rma_id: str, reason: str | None, note: str | None,
           dry_run: bool) -> None:
    """Reopen a rejected request with a revision; eligibility is judged again."""
    _act(state, app.returns.reopen(rma_id, reason=reason, note=note, actor="cli",
                                   dry_run=dry_run), "reopen", dry_run)


@group.command("ship-exchange")
@click.argument("rma_id")
@click.argument("tracking_number")
@click.option("--carrier", default=None, help="Carrier code of the replacement's parcel.")
@note_opt
@dry
@pass_app
@pass_state
def ship_exchange(state: CliState, app: Any, rma_id: str, tracking_number: str,
                  carrier: str | None, note: str | None, dry_run: bool) -> None:
    """Send the replacement of a received exchange (stock is checked first)."""
    sent = app.returns.ship_exchange(rma_id, tracking_number, carrier, note=note, actor="cli",
                                     dry_run=dry_run)
    output(state, {**sent.model_dump(mode="json"), "rma_id": rma_id, "dry_run": dry_run},
           lambda: f"{rma_id}: {'would ship' if dry_run else 'shipped'} the exchange as "
                   f"{clean_text(tracking_number)}")


@group.command("bulk")
@click.argument("file", type=click.Path(path_type=Path))
@dry
@click.option("--report", type=click.Path(path_type=Path), default=None,
              help="Write one outcome per row here (CSV); never the input file.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(min=1))
@pass_state
def bulk(state: CliState, file: Path, dry_run: bool, report: Path | None,
         batch_size: int) -> None:
    """Apply a CSV of actions, each row once; bad rows are reported and skipped.

    Exit status 0 when every row was applied (or was already), 1 when the run
    completed with error rows (each is in the report; the first 20 are
    printed, then "and N more"), 2 when the file or the report path cannot be
    used (nothing is written then).
    """
    try:
        size = file.stat().st_size
    except OSError as exc:
        if str(file) == "-":
            fail("bulk reads a file, not standard input: give the file's path "
                 "(or /dev/stdin)", 2)
        fail(f"cannot open {file}: {exc.strerror}", 2)
    if report is not None:
        check_report_path(report, file)
    app = state.app
    errors: list[str] = []

    def record(o: Any) -> None:
        if o.outcome == "error" and len(errors) < SHOWN_ERRORS:
            where = f"row {o.row}"  # not twice when the detail names the row itself
            detail = " ".join(str(o.detail).split())  # one line, whatever the text quoted
            if detail.startswith((where + ":", where + ",")):
                detail = detail[len(where):]
            else:
                detail = ": " + detail
            line = f" (line {o.line})" if o.line is not None else ""
            errors.append(f"{where}{line}{detail}")

    with steps(state, "bulk", max(size, 1), every=1.0, unit=" bytes read") as progress:
        try:
            summary = app.returns.bulk_file(
                file, dry_run=dry_run, report=report, batch_size=batch_size, actor="bulk",
                progress=lambda pos, total: progress.advance(completed=pos),
                on_outcome=record)
        except BulkFileError as exc:
            fail(str(exc), 2)
    more = summary.errors - len(errors)
    data = {"total": summary.total, "ok": summary.ok, "skipped": summary.skipped,
            "errors": summary.errors, "dry_run": dry_run,
            "report": str(report) if report else None, "first_errors": errors}
    would = "would be " if dry_run else ""
    output(state, data, lambda: "\n".join([
        f"{'dry run: ' if dry_run else ''}{summary.total} rows: {summary.ok} {would}ok, "
        f"{summary.skipped} skipped (already done), {summary.errors} errors",
        *errors, *([f"and {more} more" + (f" (all in {report})" if report else "")]
                   if more > 0 else [])]))
    finish(summary.errors)


@group.command("sync")
@click.option("--store", default=None, help="Only this store.")
@pass_app
@pass_state
def sync(state: CliState, app: Any, store: str | None) -> None:
    """Pull changed return requests from every store; status 1 names a store that failed."""
    names = stores_with(app, Capability.LIST_RETURNS, store)
    report = per_store(names, lambda name: app.returns.sync(name).get(name, 0))
    finish_stores(state, report, "return requests changed", ["marketplace", "changed"])


@group.command("timers")
@click.option("--now", default=None, callback=aware_datetime,
              help="ISO time to run the tick at, with its zone (2026-01-05T10:00+00:00).")
@pass_app
@pass_state
def timers(state: CliState, app: Any, now: datetime | None) -> None:
    """Run one SLA timer tick: alerts before deadlines, actions after them, and the
    policy's automatic decisions a killed process left unsent.

    Exit status 1 when some action failed (the report counts them).
    """
    report = app.returns.run_timers(now)
    data = {"done": report.done, "skipped": report.skipped, "failed": report.failed,
            "reasons": report.reasons, "alerts": report.alerts, "reminders": report.reminders,
            "actions": report.actions, "decisions": report.decisions}
    output(state, data, lambda: f"{report.alerts} alerts, {report.reminders} reminders, "
                                f"{report.actions} actions, {report.decisions} automatic "
                                f"decisions, {report.skipped} skipped, {report.failed} failed")
    finish(report.failed)
