"""Bulk processing: apply a stream of rows in batches, each row exactly once.

Rows are applied in file order, in batches of ``batch_size`` per
transaction. Every applied row's key (:mod:`~aftersales.returns.bulk_rows`)
is written in the same transaction as its effect, so a re-run skips it, and
a run killed at any moment loses at most the batch in flight, which the
next run applies. Runs of consecutive approvals take a set-based fast path
(one query to read the batch, one executemany per table); every other row
runs the ordinary action inside a savepoint, so a bad row is reported and
the batch goes on. Outcomes are reported only once their batch committed.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from aftersales.csv_cells import safe_cell
from aftersales.errors import (
    AfterSalesError,
    ConcurrentUpdateError,
    DatabaseUnavailableError,
    StorageError,
    ValidationError,
)
from aftersales.interfaces import Capability
from aftersales.models import ReturnKind, ReturnLine, ReturnStatus
from aftersales.money import Money
from aftersales.naming import shown
from aftersales.returns import action_claim as action_claims
from aftersales.returns import bulk_creates, bulk_refunds
from aftersales.returns import refund_claim as refund_claims
from aftersales.returns import repository as repo
from aftersales.returns.actions import Actions
from aftersales.returns.auto_decisions import Finished
from aftersales.returns.bulk_approve import applied_keys, read_requests, write_keys
from aftersales.returns.bulk_report import check_report_path, report_failed
from aftersales.returns.bulk_rows import BadRow, BulkRow, CsvSource, parse_row
from aftersales.returns.context import ReturnsContext
from aftersales.returns.lifecycle import can_transition, check_transition
from aftersales.returns.queries import Queries
from aftersales.returns.refunding import Guard, Refunding
from aftersales.returns.requests import AutoStep, Requests
from aftersales.returns.write_many import Move
from aftersales.returns.writes import TransitionWriter
from aftersales.store.locking import begin_write
from aftersales.store.tables.returns import BulkKeyRow, RefundRow

__all__ = ["REPORT_COLUMNS", "Bulk", "BulkOutcome", "BulkSummary"]

#: The columns of a bulk report.
REPORT_COLUMNS = ("row", "line", "action", "rma_id", "outcome", "detail")

S = ReturnStatus
Item = BulkRow | BadRow
#: (kind, status) pairs the machine lets approve, read once from the table.
_EARLIER = "already applied (by an earlier row or run)"
#: Applied row keys: each one's (action, rma id).
Done = dict[str, tuple[str, str | None]]
_STATUS = {s.value: s for s in ReturnStatus}
_APPROVABLE = frozenset((k.value, s.value) for k in ReturnKind for s in ReturnStatus
                        if can_transition(k, s, ReturnStatus.APPROVED))


def _stopped(row: BulkRow, exc: DatabaseUnavailableError) -> DatabaseUnavailableError:
    """The error that stops a run at ``row``: the database, not the row, failed.

    Every later row would wait the busy timeout and fail the same way; the
    rows before it that committed are applied, and a re-run goes on from here.
    """
    where = f"row {row.number}" + (f" (line {row.line})" if row.line is not None else "")
    return DatabaseUnavailableError(
        f"{where}: {exc}; the run stopped here (rows before it that were applied stay "
        "applied; run the file again to go on)")


def _seen(row: BulkRow, done: Done) -> BulkOutcome:
    """A row whose key was applied: skipped, or an error when the key was applied to another
    action or request (a reused ``idempotency_key``; skipping would lose the row silently)."""
    action, rma = done[row.key]
    if action == row.action and (action == "create" or rma == row.rma_id):
        return BulkOutcome(row.number, row.action, row.rma_id, "skipped", _EARLIER)
    what = f"{action} of {rma}" if rma else action
    error = ValidationError(f"already used for the {what}; give each row its own",
                            field="idempotency_key", row=row.number)
    return BulkOutcome(row.number, row.action, row.rma_id, "error", str(error))


class BulkOutcome(NamedTuple):
    """What happened to one row: ``ok``, ``skipped`` (already done) or ``error``."""

    row: int
    action: str
    rma_id: str | None
    outcome: str
    detail: str = ""
    #: The line of the file the row starts on, when it came from a file.
    line: int | None = None


@dataclass
class BulkSummary:
    """Counts over the whole run."""

    total: int = 0
    ok: int = 0
    skipped: int = 0
    errors: int = 0
    dry_run: bool = False

    def add(self, outcome: BulkOutcome) -> None:
        """Count one outcome."""
        self.total += 1
        if outcome.outcome == "ok":
            self.ok += 1
        elif outcome.outcome == "skipped":
            self.skipped += 1
        else:
            self.errors += 1


class _Rollback(Exception):
    """Ends a dry run's transaction without committing it."""


def _batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _message(exc: Exception) -> str:
    if isinstance(exc, StaleDataError):
        return "changed by someone else during the run; run the file again"
    if isinstance(exc, AfterSalesError):
        return str(exc)
    return f"database error: {type(exc).__name__}"


class Bulk:
    """``bulk`` and ``bulk_file``: rows applied in batches, each row exactly once."""

    def __init__(self, ctx: ReturnsContext, writer: TransitionWriter, queries: Queries,
                 requests: Requests, actions: Actions, refunding: Refunding) -> None:
        self.ctx = ctx
        self.writer = writer
        self.queries = queries
        self.requests = requests
        self.actions = actions
        self.refunding = refunding

    def bulk(
        self, rows: Iterable[Mapping[str, Any] | BulkRow | BadRow], *, dry_run: bool = False,
        batch_size: int = 500, actor: str = "bulk",
        on_outcome: Callable[[BulkOutcome], None] | None = None,
    ) -> BulkSummary:
        """Apply rows (dicts with the CSV's columns, or parsed rows) in batches.

        Args:
            dry_run: check and report every row, change nothing anywhere. The
                rows run for real (marketplace calls aside) in one transaction
                that is rolled back at the end, so the prediction is what the
                real run would do, duplicates and later rows on the same
                request included; on SQLite that transaction holds the write
                lock until the dry run ends.
            batch_size: rows per transaction.
            on_outcome: called with each row's outcome once its batch is
                committed (the CLI writes the report and moves the bar here).

        Returns:
            The counts; the per-row details went to ``on_outcome``.
        """
        summary = BulkSummary(dry_run=dry_run)

        def parsed() -> Iterator[Item]:
            for n, row in enumerate(rows, start=1):
                yield row if isinstance(row, BulkRow | BadRow) else parse_row(n, row)

        items = rows if isinstance(rows, CsvSource) else parsed()  # a file comes parsed

        def run(shared: Session | None) -> None:
            for batch in _batches(items, max(1, batch_size)):
                for outcome in self._batch(batch, shared, actor=actor, dry_run=dry_run):
                    summary.add(outcome)
                    if on_outcome is not None:
                        on_outcome(outcome)

        if not dry_run:
            run(None)
            return summary
        # A dry run applies every row for real, marketplace calls aside, inside one
        # transaction that is then rolled back: each row sees what the rows before it
        # did (duplicates, approve-then-reject, a second refund), as in the real run.
        try:
            with self.ctx.runtime.unit_of_work() as shared:
                # A real transaction first: on SQLite a SAVEPOINT opened outside one
                # would itself be the transaction, and releasing it would commit.
                begin_write(shared)
                run(shared)
                raise _Rollback
        except _Rollback:
            pass
        return summary

    @contextmanager
    def _tx(self, shared: Session | None) -> Iterator[Session]:
        """A row's or a batch's unit of work: its own, or a savepoint of the dry run's."""
        if shared is None:
            with self.ctx.runtime.unit_of_work() as session:
                yield session
            return
        savepoint = shared.begin_nested()
        try:
            yield shared
            shared.flush()
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()

    def bulk_file(
        self, path: str | Path, *, dry_run: bool = False, report: str | Path | None = None,
        batch_size: int = 500, actor: str = "bulk",
        on_outcome: Callable[[BulkOutcome], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> BulkSummary:
        """Apply a bulk CSV file, streaming it, and write a per-row report.

        Args:
            report: where to write ``row,line,action,rma_id,outcome,detail`` lines
                (``line``: where the row starts in the file, the header being line 1).
            progress: called as ``progress(bytes_read, file_size)`` after each row.

        Raises:
            BulkFileError: the file is missing, has no header or unknown
                columns, or ``report`` is the input file or in a missing folder
                (checked before any row runs). Report cells that a spreadsheet
                would run as formulas are written as text (``'=...``).
            BulkReportError: the report could not be written during the run
                (a full disk): the run stopped; the rows it applied stay applied.
        """
        if report is not None:
            check_report_path(report, path)
        with CsvSource(path) as source, ExitStack() as stack:
            writer = None
            if report is not None:
                handle = open(report, "w", newline="", encoding="utf-8")  # noqa: SIM115
                stack.push(partial(self._close_report, report, handle))
                writer = csv.writer(handle)
                writer.writerow(REPORT_COLUMNS)

            def each(outcome: BulkOutcome) -> None:
                if writer is not None:
                    try:
                        writer.writerow([outcome.row, outcome.line or "",
                                         safe_cell(outcome.action), safe_cell(outcome.rma_id),
                                         outcome.outcome, safe_cell(outcome.detail)])
                    except OSError as exc:
                        raise report_failed(report or "", exc) from None
                if on_outcome is not None:
                    on_outcome(outcome)
                if progress is not None and outcome.row % 200 == 0:
                    progress(source.position, source.size)

            summary = self.bulk(source, dry_run=dry_run, batch_size=batch_size, actor=actor,
                                on_outcome=each)
            if progress is not None:
                progress(source.size, source.size)
            return summary

    @staticmethod
    def _close_report(report: str | Path, handle: Any, kind: type[BaseException] | None,
                      *_: object) -> bool:
        """Close the report; what the disk refuses then is the run's error, unless the run
        already failed (its own error is the one to tell)."""
        try:
            handle.close()
        except OSError as exc:
            if kind is None:
                raise report_failed(report, exc) from None
        return False

    def _batch(self, batch: list[Item], shared: Session | None, *, actor: str,
               dry_run: bool) -> list[BulkOutcome]:
        """Apply one batch: each run of approvals in one transaction, any other row in its own.

        Other rows run the ordinary actions, which may call the marketplace
        and emit events; a transaction of their own keeps a bad row from
        touching its neighbours without savepoints (whose release would run
        the event hooks before the real commit).
        """
        with self._tx(shared) as session:
            done = applied_keys(session, [i.key for i in batch if isinstance(i, BulkRow)])
        out: list[BulkOutcome] = []
        run: list[BulkRow] = []
        for item in batch:
            if isinstance(item, BulkRow) and item.action == "approve":
                run.append(item)
                continue
            if run:
                out.extend(self._approvals(run, done, shared, actor=actor, dry_run=dry_run))
                run = []
            if isinstance(item, BadRow):
                out.append(BulkOutcome(item.number, item.action, item.rma_id, "error",
                                       item.error))
            elif item.key in done:
                seen = _seen(item, done)
                if item.action == "refund" and seen.outcome == "skipped":
                    seen = self._same_refund(item, seen, shared)
                if item.action == "create" and seen.outcome == "skipped" and shared is None:
                    seen = self._finish_decision(item, seen, done[item.key][1])
                out.append(seen)
            else:
                out.append(self._one(item, done, shared, actor=actor, dry_run=dry_run))
        if run:
            out.extend(self._approvals(run, done, shared, actor=actor, dry_run=dry_run))
        lines = {item.number: item.line for item in batch}
        return [o._replace(line=lines.get(o.row)) for o in out]

    def _approvals(self, run: list[BulkRow], done: Done, shared: Session | None, *,
                   actor: str, dry_run: bool) -> list[BulkOutcome]:
        """A run of approvals, set-based in one transaction; row by row after a race."""
        before = dict(done)
        out: list[BulkOutcome] = []
        pushed: set[str] = set()
        try:
            with self._tx(shared) as session:
                self._approve_run(session, run, done, out, pushed, actor=actor,
                                  dry_run=dry_run)
        except (StaleDataError, ConcurrentUpdateError):
            # A racing writer changed one of the requests: redo the run row by row,
            # without telling a marketplace again what it already heard.
            done.clear()
            done.update(before)
            return [self._one(row, done, shared, actor=actor, dry_run=dry_run,
                              pushed=row.rma_id in pushed)
                    if row.key not in done
                    else _seen(row, done)
                    for row in run]
        return out

    # ------------------------------------------------------------ one row, any action

    def _one(self, row: BulkRow, done: Done, shared: Session | None, *, actor: str,
             dry_run: bool, pushed: bool = False) -> BulkOutcome:
        def result(outcome: str, detail: str, rma_id: str | None = row.rma_id) -> BulkOutcome:
            return BulkOutcome(row.number, row.action, rma_id, outcome, detail)

        if row.action == "refund" and not dry_run:  # a dry run sends nothing: stays in its tx
            return self._refund_row(row, done, actor=actor, dry_run=dry_run)
        later: list[AutoStep] = []
        try:
            with self._tx(shared) as session:
                if row.action == "create":
                    self._check_store(row, None)
                    bulk_creates.check(session, row)
                else:
                    current = repo.load_row(session, row.rma_id or "")
                    self._check_store(row, current.marketplace)
                    if row.action == "approve" and current.status == S.APPROVED.value:
                        session.add(self._key_row(row, row.rma_id))
                        outcome = result("skipped", "already approved")
                        done[row.key] = (row.action, row.rma_id)
                        return outcome
                detail, rma_id = self._do(session, row, actor=actor, dry_run=dry_run,
                                          later=later, pushed=pushed)
                session.add(self._key_row(row, rma_id))
                session.flush()
            done[row.key] = (row.action, rma_id)
            if later:  # a policy decision the marketplace must hear, after the commit
                self.requests.run_later(later)
                detail = f"created ({self.queries.get(rma_id or '').status.value})"
            return result("ok", detail, rma_id)
        except DatabaseUnavailableError as exc:
            raise _stopped(row, exc) from None
        except bulk_refunds.AppliedBefore:  # a dry run's refund row, applied by an older run
            done[row.key] = (row.action, row.rma_id)
            return result("skipped", _EARLIER)
        except (AfterSalesError, SQLAlchemyError, StaleDataError) as exc:
            meanwhile = None if shared is not None else self._applied_meanwhile(row)
            if meanwhile is not None:
                done[row.key] = (row.action, meanwhile)
                return result("skipped", _EARLIER, meanwhile)
            return result("error", _message(exc))
        except Exception as exc:  # an adapter's bug fails this row, not the run
            return result("error", f"unexpected error: {type(exc).__name__}")

    def _finish_decision(self, row: BulkRow, seen: BulkOutcome,
                         rma_id: str | None) -> BulkOutcome:
        """A create row applied before: its request's automatic decision, should the run
        that opened it have died before telling the marketplace, is sent now (once).

        As in the run that opened it, a decision the marketplace refused (or
        whose answer was lost) leaves the request to a person; the row stays
        skipped and its detail says so.
        """
        if rma_id is None:
            return seen
        try:
            finished = self.requests.auto.finish(rma_id)
        except DatabaseUnavailableError as exc:
            raise _stopped(row, exc) from None
        except AfterSalesError as exc:
            finished = Finished("failed", str(exc))
        except Exception as exc:  # an adapter's bug fails this row, not the run
            return seen._replace(outcome="error", detail=f"unexpected error: {type(exc).__name__}")
        if finished.outcome == "done":
            status = self.queries.get(rma_id).status.value
            return seen._replace(rma_id=rma_id,
                                 detail=f"{_EARLIER}; its automatic decision sent now ({status})")
        if finished.outcome == "failed":
            return seen._replace(rma_id=rma_id, detail=f"{_EARLIER}; its automatic decision "
                                 f"was not sent: {finished.reason}")
        return seen

    def _applied_meanwhile(self, row: BulkRow) -> str | None:
        """The request of a row that failed because another run applied it meanwhile.

        Two runs of one file at the same instant both find a row's key not yet
        applied; the one that comes second fails on the other's write (the
        request moved on, a version or key already taken). When the row's
        key is now recorded for this very action (and request), the row is
        applied, once: it is reported skipped, not as the error.
        """
        try:
            found = self.ctx.run(lambda s: applied_keys(s, [row.key])).get(row.key)
        except AfterSalesError:
            return None
        if found is None or found[0] != row.action:
            return None
        if row.action != "create" and found[1] != row.rma_id:
            return None
        return found[1] or row.rma_id or ""

    def _refund_row(self, row: BulkRow, done: Done, *, actor: str,
                    dry_run: bool) -> BulkOutcome:
        """A refund row, in no batch transaction: claim, push and record are its own.

        The row's key is the refund's idempotency key, so a re-run resumes
        (or returns) the refund instead of paying again; the key row is
        written once the refund is settled (a run of the same file at the
        same instant may have written it first: the row is then already
        applied). A row without an ``idempotency_key`` is refused when the
        request has another refund from a bulk row (:mod:`bulk_refunds`).
        Any failure, even one the library did not foresee, fails this row only.
        """
        rma = row.rma_id or ""
        try:
            money = row.money(self._checked_currency(row))
            try:
                paid = self.refunding.refund(rma, amount=money, note=row.note,
                                             idempotency_key=row.key, actor=actor,
                                             dry_run=dry_run, guard=self._guard(row, money))
            except bulk_refunds.AppliedBefore:
                paid = None
            if not dry_run:
                try:
                    with self.ctx.runtime.unit_of_work() as session:
                        session.add(self._key_row(row, rma))
                except StorageError:
                    if (self.ctx.run(lambda s: applied_keys(s, [row.key])).get(row.key)
                            != (row.action, rma)):
                        raise
                    done[row.key] = (row.action, rma)
                    return BulkOutcome(row.number, row.action, rma, "skipped", _EARLIER)
        except DatabaseUnavailableError as exc:
            raise _stopped(row, exc) from None
        except (AfterSalesError, SQLAlchemyError, StaleDataError) as exc:
            return BulkOutcome(row.number, row.action, rma, "error", _message(exc))
        except Exception as exc:  # a poison row must not stop the run
            return BulkOutcome(row.number, row.action, rma, "error",
                               f"unexpected error: {type(exc).__name__}")
        done[row.key] = (row.action, rma)
        if paid is None:
            return BulkOutcome(row.number, row.action, rma, "skipped", _EARLIER)
        return BulkOutcome(row.number, row.action, rma, "ok", f"refunded {paid.amount}")

    def _same_refund(self, row: BulkRow, seen: BulkOutcome,
                     shared: Session | None) -> BulkOutcome:
        """A refund row whose key was applied: skipped only when it asks what the key's
        refund asked (as ``refund()`` refuses a key given again with other values)."""
        with self._tx(shared) as session:
            found = refund_claims.by_key(session, row.key)
            if found is None and not row.keyed:  # applied by an older release's run
                found = bulk_refunds.earlier_bulk_refund(session, row.rma_id or "")
            if found is None or found.fingerprint is None:
                return seen
            try:
                money = None if row.amount is None else Money(row.amount,
                                                              row.currency or found.currency)
            except AfterSalesError as exc:
                return seen._replace(outcome="error", detail=str(exc))
            if refund_claims.fingerprint(money, None) == found.fingerprint:
                return seen
            if not row.keyed:  # an edited amount: say what was refunded before
                error = bulk_refunds.already_refunded(row.number, row.rma_id or "", found, money)
            else:
                error = ValidationError(f"already used for a refund {found.fingerprint}; give "
                                        "each row its own", field="idempotency_key",
                                        row=row.number)
        return seen._replace(outcome="error", detail=str(error))

    @staticmethod
    def _guard(row: BulkRow, money: Money | None) -> Guard | None:
        """The claim's check for a refund row without a key (:mod:`bulk_refunds`)."""
        return None if row.keyed else bulk_refunds.guard(row.number, row.key, money)

    def _key_row(self, row: BulkRow, rma_id: str | None) -> BulkKeyRow:
        return BulkKeyRow(key=row.key, action=row.action, rma_id=rma_id,
                          applied_at=self.ctx.runtime.now())

    def _do(self, session: Session, row: BulkRow, *, actor: str, dry_run: bool,
            later: list[AutoStep], pushed: bool = False) -> tuple[str, str | None]:
        """Apply one row's action in the row's unit of work (``session``)."""
        rma = row.rma_id or ""
        if row.action == "create":
            assert row.marketplace
            assert row.order_id
            assert row.sku
            assert row.quantity
            assert row.kind
            line = ReturnLine(order_line_id=row.sku, quantity=row.quantity,
                              reason=row.reason or "other")
            made = self.requests.request_in(
                session, row.marketplace, row.order_id, [line], kind=row.kind, reason=None,
                evidence=(), buyer_note=row.note, requested_amount=None,
                idempotency_key=row.key, actor=actor, force=False, auto=True, dry_run=dry_run,
                later=later)
            return f"created ({made.status.value})", made.rma_id
        if row.action == "approve":
            self.actions.approve_in(session, rma, note=row.note, actor=actor, dry_run=dry_run,
                                    pushed=pushed)
        elif row.action == "reject":
            self.actions.reject_in(session, rma, reason=row.note or "rejected by the shop",
                                   note=None, actor=actor, dry_run=dry_run)
        elif row.action == "receive":
            self.actions.receive_in(session, rma, inspection=None, note=row.note, actor=actor,
                          dry_run=dry_run)
        elif row.action == "refund":  # only a dry run comes here: nothing is sent
            money = row.money(repo.load_row(session, rma).currency)
            paid = self.refunding.claim_in(session, rma, amount=money, note=row.note,
                                      idempotency_key=row.key, guard=self._guard(row, money))
            self._as_if_paid(session, rma, paid.idempotency_key, actor=actor)
            return f"refunded {paid.amount}", rma
        elif row.action == "close":
            self.actions.end_in(session, rma, S.CLOSED, note=row.note, actor=actor)
        elif row.action == "cancel":
            self.actions.end_in(session, rma, S.CANCELLED, note=row.note, actor=actor)
        return row.action + ("d" if row.action.endswith("e") else "ed"), rma

    def _as_if_paid(self, session: Session, rma_id: str, key: str, *, actor: str) -> None:
        """In a dry run, record a refund as the marketplace's answer would have."""
        refund_row = session.scalar(select(RefundRow).where(RefundRow.idempotency_key == key))
        if refund_row is None or refund_row.status == "paid":
            return
        refund_row.status = "paid"
        row = repo.load_row(session, rma_id)
        if S(row.status) not in (S.REFUNDED, S.CLOSED, S.CANCELLED):
            self.writer.move(session, row, S.REFUNDED, actor=actor, now=self.ctx.runtime.now(),
                       reason=f"refunded {refund_row.amount}")

    def _checked_currency(self, row: BulkRow) -> str | None:
        """The currency of a refund row's request, once the row's store is checked."""
        def read(session: Session) -> str | None:
            request = repo.load_row(session, row.rma_id or "")
            self._check_store(row, request.marketplace)
            return request.currency

        return self.ctx.run(read)

    def _check_store(self, row: BulkRow, owner: str | None) -> None:
        """Refuse a row whose ``marketplace`` cell names no store it may act for.

        A create row must name a configured store; any other row, the store
        of its request (``owner``; a store since removed from the
        configuration still matches its own requests). The CLI's ``--store``
        options are checked the same way (``cli_support.known_store``).

        Raises:
            ValidationError: naming the row and the ``marketplace`` field.
        """
        name = row.marketplace
        configured = self.ctx.runtime.marketplaces
        if name is None or name == owner or (owner is None and name in configured):
            return
        if name not in configured:
            known = ", ".join(shown(n) for n in configured) or "none"
            message = f"no store {shown(name)} (configured: {known[:200]})"
        else:
            message = f"return {row.rma_id} is of store {shown(owner)}, not {shown(name)}"
        raise ValidationError(message, field="marketplace", row=row.number)

    # ------------------------------------------------------------ approvals, set-based

    def _approve_run(self, session: Session, run: list[BulkRow], done: Done,
                     out: list[BulkOutcome], pushed: set[str], *, actor: str,
                     dry_run: bool) -> None:
        """Approve a run set-based: one read, the pushes (before any write), one write a table.

        ``pushed`` collects the requests whose marketplace heard the approval,
        so a redo after a race does not send it twice.
        """
        found = read_requests(session, [r.rma_id or "" for r in run])
        now = self.ctx.runtime.now()
        approved = S.APPROVED.value
        moves: list[Move] = []
        applied: list[tuple[str, str]] = []
        taken: set[str] = set()
        add = out.append
        cap = Capability.APPROVE_RETURN
        for row in run:
            rma = row.rma_id or ""
            if row.key in done:
                add(_seen(row, done))
                continue
            rec = found.get(rma)
            if rec is None:
                add(BulkOutcome(row.number, "approve", rma, "error",
                                f"return request {rma} not found"))
                continue
            _, status, kind, version, marketplace, external_id, eligibility, order_id = rec
            try:
                self._check_store(row, marketplace)
            except ValidationError as exc:
                add(BulkOutcome(row.number, "approve", rma, "error", str(exc)))
                continue
            if status == approved or rma in taken:
                add(BulkOutcome(row.number, "approve", rma, "skipped", "already approved"))
                continue
            if ((kind, status) not in _APPROVABLE or eligibility == "ineligible"
                    or self.ctx.reaches(marketplace, external_id, cap)):
                try:
                    check_transition(ReturnKind(kind), S(status), S.APPROVED,
                                     entity=f"return {rma}")
                    if eligibility == "ineligible":
                        raise AfterSalesError(f"return {rma} was found ineligible; approve it "
                                              "by hand with override to make an exception")
                    self._push_approve(rma, marketplace, row.note, dry_run=dry_run)
                    pushed.add(rma)
                except AfterSalesError as exc:
                    add(BulkOutcome(row.number, "approve", rma, "error", str(exc)))
                    continue
                except Exception as exc:  # an adapter's bug fails this row, not the run
                    add(BulkOutcome(row.number, "approve", rma, "error",
                                    f"unexpected error: {type(exc).__name__}"))
                    continue
            done[row.key] = ("approve", rma)
            taken.add(rma)  # a repeat later in the run is "already approved"
            moves.append(Move(rma, kind, marketplace, order_id, external_id, _STATUS[status],
                              version, S.APPROVED, actor, note=row.note))
            applied.append((row.key, rma))
            add(BulkOutcome(row.number, "approve", rma, "ok", "approved"))
        self.writer.move_many(session, moves, now=now)
        for rma in pushed:
            action_claims.settle_pushed(session, rma, "approve")
        write_keys(session, applied, now=now)

    def _push_approve(self, rma: str, marketplace: str, note: str | None, *,
                      dry_run: bool) -> None:
        """Tell the marketplace, as a single approval does, from a unit that only reads.

        A dry run checks the marketplace can approve and sends nothing.
        """
        if dry_run:
            self.ctx.market(marketplace, Capability.APPROVE_RETURN)
            return
        def push(session: Session) -> None:
            row = repo.load_row(session, rma)
            cap = Capability.APPROVE_RETURN
            claim = self.ctx.claim(row, "approve", cap, dry_run=dry_run)
            self.ctx.push(row, cap, lambda m, r: m.approve_return(r, note=note),
                          dry_run=dry_run, claim=claim)
            self.ctx.answered(claim)  # the run's write settles it (settle_pushed)

        self.ctx.run(push)
