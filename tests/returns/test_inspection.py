"""Inspection results: validation, restock and write-off counts, failures."""

from __future__ import annotations

import pytest

from aftersales.errors import ValidationError
from aftersales.models import InspectionResult, ReturnLine, ReturnReason
from aftersales.returns.inspection import judge_inspection, normalise_inspection
from aftersales.returns.policy import ReturnPolicy

IR = InspectionResult
LINES = [ReturnLine(order_line_id="L1", quantity=2, reason=ReturnReason.QUALITY_ISSUE),
         ReturnLine(order_line_id="L2", quantity=1, reason=ReturnReason.CHANGED_MIND)]
SKUS = {"L1": "TEE", "L2": "MUG"}


def test_no_inspection_means_all_resellable() -> None:
    assert normalise_inspection(LINES, None) == {"L1": [IR.RESELLABLE] * 2,
                                                 "L2": [IR.RESELLABLE]}


def test_plain_list_only_for_one_line() -> None:
    assert normalise_inspection(LINES[1:], ["damaged"]) == {"L2": [IR.DAMAGED]}
    with pytest.raises(ValidationError, match="per order line"):
        normalise_inspection(LINES, ["damaged"])


@pytest.mark.parametrize(
    ("inspection", "message"),
    [
        ({"L1": ["resellable"], "L2": ["resellable"]}, "1 results for 2 units"),
        ({"L1": ["resellable", "melted"], "L2": ["resellable"]}, "melted"),
        ({"L1": ["resellable"] * 2, "L9": ["resellable"]}, "L9 is not in this request"),
        ({"L1": ["resellable"] * 2}, "no results for line"),
    ],
)
def test_bad_inspections_are_refused(inspection: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as err:
        normalise_inspection(LINES, inspection)
    assert err.value.field == "inspection"


def test_judging_counts_and_fails_on_buyer_damage_wrong_or_missing() -> None:
    policy = ReturnPolicy()
    fine = judge_inspection(LINES, {"L1": [IR.DAMAGED, IR.RESELLABLE], "L2": [IR.RESELLABLE]},
                            policy, SKUS)
    assert (fine.restock, fine.write_off, fine.failed) == ({"TEE": 1, "MUG": 1}, {"TEE": 1},
                                                           False)
    buyer = judge_inspection(LINES, {"L1": [IR.RESELLABLE] * 2, "L2": [IR.DAMAGED]}, policy,
                             SKUS)
    assert buyer.failures == ["MUG came back damaged."]
    wrong = judge_inspection(LINES, {"L1": [IR.WRONG_ITEM, IR.MISSING], "L2": [IR.RESELLABLE]},
                             policy, SKUS)
    assert len(wrong.failures) == 2
    assert wrong.restock == {"MUG": 1}
