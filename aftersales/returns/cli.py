"""The ``aftersales returns`` commands: list, show, act, bulk, sync and timers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from aftersales.cli_support import CliState, fail, output, pass_app, pass_state, table
from aftersales.errors import AfterSalesError
from aftersales.money import Money
from aftersales.returns.bulk_rows import BulkFileError

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
@click.option("--marketplace", default=None)
@click.option("--order", "order_id", default=None, help="Only this order.")
@click.option("--limit", default=50, show_default=True)
@pass_app
@pass_state
def list_(state: CliState, app: Any, status: tuple[str, ...], kind: str | None,
          marketplace: str | None, order_id: str | None, limit: int) -> None:
    """List requests, most recently updated first."""
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


def _act(state: CliState, result: Any) -> None:
    output(state, _req(result), lambda: f"{result.rma_id}: {result.status.value}")


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
                                    dry_run=dry_run))


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
                                   dry_run=dry_run))


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
    inspection = None
    if inspect:
        inspection = {}
        for spec in inspect:
            line, _, results = spec.partition("=")
            inspection[line.strip()] = [r.strip() for r in results.split(",") if r.strip()]
    _act(state, app.returns.receive(rma_id, inspection=inspection, note=note, actor="cli",
                                    dry_run=dry_run))


@group.command("refund")
@click.argument("rma_id")
@click.option("--amount", default=None, help="A partial refund, in the order's currency.")
@click.option("--key", "idempotency_key", default=None, help="Idempotency key.")
@note_opt
@dry
@pass_app
@pass_state
def refund(state: CliState, app: Any, rma_id: str, amount: str | None,
           idempotency_key: str | None, note: str | None, dry_run: bool) -> None:
    """Refund a request through its marketplace (at most once per key)."""
    money = None
    if amount is not None:
        currency = app.returns.preview_refund(rma_id).currency
        money = Money(Decimal(amount), currency)
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
    _act(state, app.returns.close(rma_id, note=note, actor="cli", dry_run=dry_run))


@group.command("cancel")
@click.argument("rma_id")
@note_opt
@dry
@pass_app
@pass_state
def cancel(state: CliState, app: Any, rma_id: str, note: str | None, dry_run: bool) -> None:
    """Cancel a request before anything was shipped."""
    _act(state, app.returns.cancel(rma_id, note=note, actor="cli", dry_run=dry_run))


@group.command("bulk")
@click.argument("file", type=click.Path(path_type=Path))
@dry
@click.option("--report", type=click.Path(path_type=Path), default=None,
              help="Write one outcome per row here (CSV).")
@click.option("--batch-size", default=500, show_default=True)
@pass_state
def bulk(state: CliState, file: Path, dry_run: bool, report: Path | None,
         batch_size: int) -> None:
    """Apply a CSV of actions, each row once; bad rows are reported and skipped.

    Exit status 0 when the run completed (bad rows are in the report), 2 when
    the file cannot be used.
    """
    from rich.progress import BarColumn, Progress, TextColumn

    try:
        size = file.stat().st_size
    except OSError:
        fail(f"cannot open {file}", 2)
    app = state.app
    errors: list[str] = []
    with Progress(TextColumn("bulk"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  console=state.err, transient=True, disable=state.as_json) as bar:
        task = bar.add_task("rows", total=max(size, 1))
        try:
            summary = app.returns.bulk_file(
                file, dry_run=dry_run, report=report, batch_size=batch_size, actor="bulk",
                progress=lambda pos, total: bar.update(task, completed=pos),
                on_outcome=lambda o: errors.append(f"row {o.row}: {o.detail}")
                if o.outcome == "error" and len(errors) < 20 else None)
        except BulkFileError as exc:
            fail(str(exc), 2)
            return
    data = {"total": summary.total, "ok": summary.ok, "skipped": summary.skipped,
            "errors": summary.errors, "dry_run": dry_run,
            "report": str(report) if report else None}
    output(state, data, lambda: "\n".join([
        f"{'dry run: ' if dry_run else ''}{summary.total} rows: {summary.ok} ok, "
        f"{summary.skipped} skipped (already done), {summary.errors} errors",
        *errors]))


@group.command("sync")
@pass_app
@pass_state
def sync(state: CliState, app: Any) -> None:
    """Pull changed return requests from every marketplace."""
    counts = app.returns.sync()
    output(state, counts, lambda: table("return requests changed", ["marketplace", "changed"],
                                        list(counts.items())))


@group.command("timers")
@click.option("--now", "now_text", default=None, help="ISO time to run the tick at (aware).")
@pass_app
@pass_state
def timers(state: CliState, app: Any, now_text: str | None) -> None:
    """Run one SLA timer tick: alerts before deadlines, actions after them."""
    now = datetime.fromisoformat(now_text) if now_text else None
    if now is not None and now.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-01-05T10:00+00:00",
                                 param_hint="--now")
    report = app.returns.run_timers(now)
    data = {"alerts": report.alerts, "reminders": report.reminders, "actions": report.actions,
            "failed": report.failed, "errors": report.errors}
    output(state, data, lambda: f"{report.alerts} alerts, {report.reminders} reminders, "
                                f"{report.actions} actions, {report.failed} failed")
