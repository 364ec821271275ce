"""Reading requests back: one, a filtered page, the audit trail, the stored verdict."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from aftersales.errors import ValidationError
from aftersales.models import FulfilmentStage, ReturnKind, ReturnRequest, ReturnStatus
from aftersales.returns import repository as repo
from aftersales.returns.context import ReturnsContext
from aftersales.store.tables.returns import ReturnRow

__all__ = ["Queries"]


class Queries:
    """``get``, ``list``, ``history`` and ``eligibility_of``: reads, each in its own unit."""

    def __init__(self, ctx: ReturnsContext) -> None:
        self.ctx = ctx

    def eligibility_of(self, rma_id: str) -> tuple[str | None, builtins.list[str]]:
        """The stored verdict of a request: (decision, reasons in customer words)."""
        def work(session: Session) -> tuple[str | None, builtins.list[str]]:
            row = repo.load_row(session, rma_id)
            return row.eligibility, builtins.list(row.eligibility_reasons or [])

        return self.ctx.run(work)

    def get(self, rma_id: str) -> ReturnRequest:
        """One request.

        Raises:
            NotFoundError: no request has that id.
        """
        return self.ctx.run(lambda s: repo.to_model(repo.load_row(s, rma_id)))

    def list(
        self, *, status: ReturnStatus | str | Sequence[ReturnStatus | str] | None = None,
        kind: ReturnKind | str | None = None, marketplace: str | None = None,
        order_id: str | None = None, buyer_id: str | None = None,
        limit: int = 100, offset: int = 0, stage: FulfilmentStage | str | None = None,
    ) -> list[ReturnRequest]:
        """Requests matching every filter given, most recently updated first.

        ``stage="not_shipped"`` keeps refunds asked before shipment apart from
        after-delivery ones (requests whose stage the marketplace did not
        say match no stage).
        """
        query = select(ReturnRow).options(selectinload(ReturnRow.lines))
        try:
            if status is not None:
                wanted = [status] if isinstance(status, str) else builtins.list(status)
                query = query.where(ReturnRow.status.in_([ReturnStatus(s).value for s in wanted]))
            if kind is not None:
                query = query.where(ReturnRow.kind == ReturnKind(kind).value)
        except ValueError as exc:
            raise ValidationError(str(exc), field="status" if status else "kind") from None
        if stage is not None:
            try:
                query = query.where(ReturnRow.stage == FulfilmentStage(stage).value)
            except ValueError as exc:
                raise ValidationError(str(exc), field="stage") from None
        for column, value in ((ReturnRow.marketplace, marketplace),
                              (ReturnRow.order_external_id, order_id),
                              (ReturnRow.buyer_id, buyer_id)):
            if value is not None:
                query = query.where(column == value)
        query = query.order_by(ReturnRow.updated_at.desc(), ReturnRow.rma_id)
        query = query.limit(limit).offset(offset)
        return self.ctx.run(lambda s: [repo.to_model(r) for r in s.scalars(query)])

    def history(self, rma_id: str) -> builtins.list[repo.AuditEntry]:
        """The request's audit trail, oldest first (who, when, from, to, why).

        Raises:
            NotFoundError: no request has that id.
        """
        def work(session: Session) -> builtins.list[repo.AuditEntry]:
            repo.load_row(session, rma_id)
            return repo.history(session, rma_id)

        return self.ctx.run(work)
