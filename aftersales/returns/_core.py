"""What every returns action shares: one transition path, pushes, deadlines, dry runs.

Every change of status, whoever asks for it (a person, a policy rule, a
timer, a bulk file or a marketplace sync), goes through
:meth:`ServiceCore._move`: the state machine checks it, the row gets the new
status (the version column bumps on flush, so a racing writer loses with
``ConcurrentUpdateError``), an audit row and an event are added, and the SLA
deadline is replaced, all in the caller's one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from aftersales.errors import ConcurrentUpdateError, ConfigurationError
from aftersales.interfaces import Capability, Marketplace, require
from aftersales.models import ReturnKind, ReturnRequest, ReturnStatus
from aftersales.returns import repository as repo
from aftersales.returns.eligibility import DEFAULT_VALIDATORS, Validator
from aftersales.returns.lifecycle import check_transition
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.sla import PlannedDeadline, plan_deadline
from aftersales.returns.transition import build_transition
from aftersales.store.tables.core import AuditRow
from aftersales.store.tables.returns import ReturnDeadlineRow, ReturnRow

if TYPE_CHECKING:
    from aftersales.runtime import Runtime

__all__ = ["ServiceCore", "StockCheck"]

T = TypeVar("T")

#: ``stock_check(sku, quantity) -> bool``: can the shop send this replacement now?
StockCheck = Callable[[str, int], bool]


class _DryRun(Exception):
    def __init__(self, result: Any) -> None:
        self.result = result


def _policy_from(value: object) -> ReturnPolicy:
    if value is None:
        return ReturnPolicy()
    if isinstance(value, ReturnPolicy):
        return value
    if isinstance(value, str | Path):
        return ReturnPolicy.load(value)
    if isinstance(value, dict):
        return ReturnPolicy.from_mapping(value)
    raise ConfigurationError("returns.policy must be a ReturnPolicy, a TOML path or a mapping")


class ServiceCore:
    """State, configuration and the shared transition path of the returns service."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        #: The shop's policy (``AfterSales(return_policy=...)``: object, TOML path or dict).
        self.policy: ReturnPolicy = _policy_from(runtime.settings.returns.policy)
        #: Eligibility validators, in order; append a function to add a rule.
        self.validators: list[Validator] = list(
            runtime.settings.returns.validators or DEFAULT_VALIDATORS
        )
        #: The backend's stock check for exchange replacements (``None``: always in stock).
        self.stock_check: StockCheck | None = runtime.settings.returns.stock_check

    # ------------------------------------------------------------ units of work

    def _run(self, fn: Callable[[Session], T], *, dry_run: bool = False) -> T:
        """Run ``fn`` in a unit of work of its own; a dry run does everything, then rolls back.

        Nothing joins a transaction by ambient context: a caller that has a
        unit of work open (a bulk batch) calls the session-taking step
        (``_approve``, ``_request``, ...) with it instead.
        """
        try:
            with self.runtime.unit_of_work() as session:
                result = fn(session)
                if dry_run:
                    raise _DryRun(result)
                return result
        except _DryRun as done:
            result_: T = done.result
            return result_

    @staticmethod
    def _expect(row: ReturnRow, version: int | None) -> None:
        if version is not None and row.version != version:
            raise ConcurrentUpdateError(
                f"return {row.rma_id} is at version {row.version}, not {version}; reload it"
            )

    # ------------------------------------------------------------ marketplace

    def _market(self, name: str, capability: Capability) -> Marketplace:
        market = self.runtime.marketplaces.get(name)
        if market is None:
            raise ConfigurationError(
                f"marketplace {name!r} is not configured, so it cannot "
                f"{capability.value.replace('_', ' ')}"
            )
        require(market, capability)
        return market

    def _push(
        self, row: ReturnRow, capability: Capability,
        call: Callable[[Marketplace, ReturnRequest], object], *, dry_run: bool,
    ) -> None:
        """Send a local action to the marketplace that owns the request.

        A request made in the shop's own portal (no ``external_id``) is told
        to the marketplace only where the marketplace has no return objects
        of its own (``LIST_RETURNS`` undeclared, as on WooCommerce, whose
        adapter records the step on the order) and declares the operation;
        otherwise the step is the library's alone. A dry run checks the
        capability and sends nothing.
        """
        if not self._reaches_market(row, capability):
            return
        market = self._market(row.marketplace, capability)
        if not dry_run:
            call(market, repo.to_model(row))

    def _reaches_market(self, row: ReturnRow, capability: Capability) -> bool:
        """Whether a local ``capability`` step on ``row`` is told to its marketplace."""
        if row.external_id is not None:
            return True
        local = self.runtime.marketplaces.get(row.marketplace)
        return not (
            local is None
            or Capability.LIST_RETURNS in local.capabilities
            or capability not in local.capabilities
        )

    # ------------------------------------------------------------ transitions

    def _move(
        self, session: Session, row: ReturnRow, target: ReturnStatus, *, actor: str,
        now: datetime, reason: str | None = None, note: str | None = None,
        raw_status: str | None = None, data: dict[str, Any] | None = None,
        check: bool = True,
    ) -> None:
        """Move ``row`` to ``target`` with its audit row, event and deadline."""
        kind = ReturnKind(row.kind)
        current = ReturnStatus(row.status)
        if check:
            check_transition(kind, current, target, entity=f"return {row.rma_id}")
        row.status = target.value
        if raw_status is not None:
            row.raw_status = raw_status
        row.updated_at = now
        session.flush()  # bumps the version now: a lost race surfaces here
        # The same builder as the bulk approvals': identical audit and event rows.
        move = build_transition(
            rma_id=row.rma_id, kind=row.kind, marketplace=row.marketplace,
            order_id=row.order_external_id, external_id=row.external_id, source=current,
            target=target, version=row.version, actor=actor, at=now,
            deadline=plan_deadline(kind, target, now, self.policy),
            reason=reason, note=note, data=data,
        )
        session.add(AuditRow(entity=repo.ENTITY, **move.audit_values()))
        self.runtime.events.emit(session, move.topic, move.payload(), key=move.event_key)
        self._set_deadline(session, row, move.deadline)

    def _event(
        self, session: Session, name: str, row: ReturnRow, *, actor: str,
        extra: dict[str, Any] | None = None, key: str | None = None,
    ) -> None:
        payload = {
            "rma_id": row.rma_id, "marketplace": row.marketplace,
            "order_id": row.order_external_id, "external_id": row.external_id,
            "kind": row.kind, "status": row.status, "actor": actor, "version": row.version,
            **(extra or {}),
        }
        self.runtime.events.emit(session, name, payload,
                                 key=key or f"{name}:{row.rma_id}:{row.version}")

    def _plan(self, session: Session, row: ReturnRow, status: ReturnStatus,
              now: datetime) -> None:
        """Replace the request's deadline with the one its new status runs."""
        self._set_deadline(session, row, plan_deadline(ReturnKind(row.kind), status, now,
                                                       self.policy))

    def _set_deadline(self, session: Session, row: ReturnRow,
                      plan: PlannedDeadline | None) -> None:
        dl = session.get(ReturnDeadlineRow, row.rma_id)
        if dl is None:
            dl = ReturnDeadlineRow(rma_id=row.rma_id)
            session.add(dl)
        dl.name = plan.name if plan else None
        dl.status = plan.status.value if plan else None
        dl.action = plan.action.value if plan else None
        dl.due_at = plan.due_at if plan else None
        dl.alert_at = plan.alert_at if plan else None
        dl.alerted_at = None
        dl.lease_until = None
        dl.last_error = None

    def _models(self, rows: Sequence[ReturnRow]) -> list[ReturnRequest]:
        return [repo.to_model(r) for r in rows]
