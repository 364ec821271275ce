"""Bulk create rows without an ``idempotency_key``: one request per order line.

A create row without a key is keyed by its content (store, order, line,
quantity, kind, reason), so the same file run again is already applied. A
shop that fixes a typo in a reason or a quantity and runs the file again
made a new row, though: a second request for another unit of the same
line, which policy could approve and refund. :func:`check` refuses such a
row when the order line already has a request that came from a bulk row
(its key starts ``h:`` or ``k:``) under another key; requests made by hand,
by a portal or by sync do not count. Two requests for one line through bulk
files take an ``idempotency_key`` each.

Limit: the check reads before the request is made, so two processes
running two differently edited copies at the same instant may both pass
it; the request's own eligibility check (what is left to return on the
line) still holds then.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from aftersales.errors import ValidationError
from aftersales.returns.bulk_refunds import BULK_KEY_PREFIXES
from aftersales.returns.bulk_rows import BulkRow
from aftersales.store.keys import stored_key
from aftersales.store.tables.returns import ReturnLineRow, ReturnRow

__all__ = ["check"]


def check(session: Session, row: BulkRow) -> None:
    """Refuse a keyless create row whose order line has a request from another bulk row.

    Raises:
        ValidationError: naming the row, the order line and the request.
    """
    if row.keyed or row.action != "create":
        return
    line = row.sku or ""
    earlier = session.scalar(
        select(ReturnRow.rma_id).join(ReturnLineRow, ReturnLineRow.rma_id == ReturnRow.rma_id)
        .where(ReturnRow.marketplace == row.marketplace,
               ReturnRow.order_external_id == row.order_id,
               or_(ReturnLineRow.order_line_external_id == line, ReturnLineRow.sku == line),
               ReturnRow.idempotency_key != stored_key(row.key),
               or_(*(ReturnRow.idempotency_key.startswith(p, autoescape=True)
                     for p in BULK_KEY_PREFIXES)))
        .order_by(ReturnRow.created_at).limit(1))
    if earlier is None:
        return
    raise ValidationError(
        f"order {row.order_id} line {line} already has return {earlier} from a bulk row; "
        "nothing was created. A create row without an idempotency_key opens one request per "
        "order line: to open another, give the row an idempotency_key of its own",
        field="idempotency_key", row=row.number)
