"""What a warehouse inspection means: restock, write off, or reject the return (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aftersales.errors import ValidationError
from aftersales.models import InspectionResult, ReturnLine
from aftersales.returns.policy import Payer, ReturnPolicy

__all__ = ["InspectionOutcome", "judge_inspection", "normalise_inspection"]

IR = InspectionResult


@dataclass(frozen=True)
class InspectionOutcome:
    """Per SKU: units to put back on the shelf and units to write off; failures in words."""

    restock: dict[str, int]
    write_off: dict[str, int]
    failures: list[str]

    @property
    def failed(self) -> bool:
        """True when the inspection should reject the return."""
        return bool(self.failures)


def normalise_inspection(
    lines: Sequence[ReturnLine],
    inspection: Mapping[str, Sequence[InspectionResult | str]] | Sequence[InspectionResult | str]
    | None,
) -> dict[str, list[InspectionResult]]:
    """One result per returned unit, keyed by order line id.

    ``None`` means every unit is resellable; a plain list is accepted for a
    request of one line.

    Raises:
        ValidationError: a line is unknown, a result is not a known value, or
            the number of results differs from the units returned.
    """
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.order_line_id] = wanted.get(line.order_line_id, 0) + line.quantity
    if inspection is None:
        return {lid: [IR.RESELLABLE] * qty for lid, qty in wanted.items()}
    if not isinstance(inspection, Mapping):
        if len(wanted) != 1:
            raise ValidationError("give results per order line for a request of several lines",
                                  field="inspection")
        inspection = {next(iter(wanted)): inspection}
    out: dict[str, list[InspectionResult]] = {}
    for lid, results in inspection.items():
        if lid not in wanted:
            raise ValidationError(f"line {lid} is not in this request", field="inspection")
        try:
            parsed = [IR(r) for r in results]
        except ValueError as exc:
            raise ValidationError(f"line {lid}: {exc}", field="inspection") from None
        if len(parsed) != wanted[lid]:
            raise ValidationError(
                f"line {lid}: {len(parsed)} results for {wanted[lid]} units returned",
                field="inspection",
            )
        out[lid] = parsed
    missing = set(wanted) - set(out)
    if missing:
        raise ValidationError(f"no results for line(s) {', '.join(sorted(missing))}",
                              field="inspection")
    return out


def judge_inspection(
    lines: Sequence[ReturnLine],
    results: Mapping[str, Sequence[InspectionResult]],
    policy: ReturnPolicy,
    skus: Mapping[str, str],
) -> InspectionOutcome:
    """Decide what the results mean.

    Resellable units are restocked and damaged ones written off. The return
    fails when a unit is a wrong item or missing, or when a unit came back
    damaged although the buyer's own reason (not a fault of the shop) was
    given: the buyer is answerable for that damage.

    Args:
        skus: order line id → SKU, for the restock and write-off hooks.
    """
    restock: dict[str, int] = {}
    write_off: dict[str, int] = {}
    failures: list[str] = []
    reasons = {line.order_line_id: line.reason for line in lines}
    for lid, units in results.items():
        sku = skus.get(lid, lid)
        for result in units:
            if result is IR.RESELLABLE:
                restock[sku] = restock.get(sku, 0) + 1
            elif result is IR.DAMAGED:
                write_off[sku] = write_off.get(sku, 0) + 1
        if IR.WRONG_ITEM in units:
            failures.append(f"The parcel for {sku} held a different item.")
        if IR.MISSING in units:
            failures.append(f"The parcel for {sku} did not contain the item.")
        if IR.DAMAGED in units and policy.payer_for(reasons[lid]) is Payer.BUYER:
            failures.append(f"{sku} came back damaged.")
    return InspectionOutcome(restock, write_off, failures)
