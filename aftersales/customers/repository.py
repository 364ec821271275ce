"""Reading one buyer's rows from every area, with a fixed number of queries.

Each kind of row is read with one statement keyed on the buyer (or on the
buyer's order ids), never one statement per order: a buyer with five
hundred orders costs the same number of round trips as a buyer with one.
:data:`QUERIES` is that number; a test holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, raiseload, selectinload

from aftersales.store.tables.cases import CaseRow
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.followups import (
    ContactHoldRow,
    ContactLogRow,
    FollowUpRow,
    OptOutRow,
)
from aftersales.store.tables.returns import RefundRow, ReturnRow
from aftersales.store.tables.reviews import ReviewRow

__all__ = ["CONTACT_LIMIT", "QUERIES", "BuyerRows", "load_rows"]

#: The most recent contacts shown (the log grows with every message).
CONTACT_LIMIT = 200
#: Statements :func:`load_rows` runs, whatever the buyer's history.
QUERIES = 10


@dataclass
class BuyerRows:
    """Every row about one buyer, by kind."""

    orders: Sequence[OrderRow]
    returns: Sequence[ReturnRow]
    refunds: Sequence[RefundRow]
    reviews: Sequence[ReviewRow]
    cases: Sequence[CaseRow]
    follow_ups: Sequence[FollowUpRow]
    contacts: Sequence[ContactLogRow]
    holds: Sequence[ContactHoldRow]
    opt_outs: Sequence[OptOutRow]


def _of_store(query: Select[Any], column: Any, store: str | None) -> Select[Any]:
    return query if store is None else query.where(column == store)


def load_rows(session: Session, buyer_id: str, store: str | None) -> BuyerRows:
    """Every row about ``buyer_id`` (in ``store``, or every store), newest first."""
    orders = session.scalars(_of_store(
        select(OrderRow).where(OrderRow.buyer_id == buyer_id), OrderRow.marketplace, store)
        .order_by(OrderRow.placed_at.desc(), OrderRow.id.desc())).all()
    order_keys = {(o.marketplace, o.external_id) for o in orders}
    order_ids = sorted({o.external_id for o in orders})
    returns = [r for r in session.scalars(_of_store(
        select(ReturnRow).options(selectinload(ReturnRow.lines), raiseload("*")).where(
            or_(ReturnRow.buyer_id == buyer_id,
                ReturnRow.order_external_id.in_(order_ids))), ReturnRow.marketplace, store)
        .order_by(ReturnRow.created_at.desc(), ReturnRow.rma_id))
        if r.buyer_id == buyer_id or (r.marketplace, r.order_external_id) in order_keys]
    # Refunds and reviews name the order, not the buyer: read by order id, then
    # keep those of this buyer's (store, order) pairs.
    refunds = [r for r in session.scalars(
        select(RefundRow).where(RefundRow.order_external_id.in_(order_ids))
        .order_by(RefundRow.created_at.desc(), RefundRow.id.desc()))
        if (r.marketplace, r.order_external_id) in order_keys]
    reviews = [r for r in session.scalars(
        select(ReviewRow).where(ReviewRow.order_external_id.in_(order_ids))
        .order_by(ReviewRow.remote_created_at.desc(), ReviewRow.id.desc()))
        if (r.marketplace, r.order_external_id) in order_keys]
    follow_ups = session.scalars(
        select(FollowUpRow).where(FollowUpRow.buyer_id == buyer_id,
                                  *([or_(FollowUpRow.marketplace.is_(None),
                                         FollowUpRow.marketplace == store)] if store else []))
        .order_by(FollowUpRow.due_at.desc(), FollowUpRow.id.desc())).all()
    contacts = session.scalars(
        select(ContactLogRow).where(ContactLogRow.buyer_id == buyer_id)
        .order_by(ContactLogRow.sent_at.desc(), ContactLogRow.id.desc())
        .limit(CONTACT_LIMIT)).all()
    holds = session.scalars(
        select(ContactHoldRow).where(ContactHoldRow.buyer_id == buyer_id)
        .order_by(ContactHoldRow.opened_at.desc(), ContactHoldRow.id.desc())).all()
    opt_outs = session.scalars(
        select(OptOutRow).where(OptOutRow.buyer_id == buyer_id).order_by(OptOutRow.id)).all()
    return BuyerRows(orders=orders, returns=returns, refunds=refunds, reviews=reviews,
                     cases=_cases(session, buyer_id, store), follow_ups=follow_ups,
                     contacts=contacts, holds=holds, opt_outs=opt_outs)


def _cases(session: Session, buyer_id: str, store: str | None) -> Sequence[CaseRow]:
    """The buyer's complaint cases, newest first."""
    return session.scalars(_of_store(
        select(CaseRow).where(CaseRow.buyer_id == buyer_id), CaseRow.store, store)
        .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())).all()
