"""A provider's words about a number reach the report masked, whatever carries them.

A provider may quote the parcel's recipient and phone in a per-number error
("recipient Alice Wongsakul tel 13812345678 refused"), in an error it raises
that is not a remote one (a payload that failed validation), or in an answer
item no number owns. Each ends up in ``report.unresolved`` / ``reasons`` /
``malformed``, which ``logistics refresh`` prints and ``worker --once``
lists as the tick's failures: the buyer's name (known from the stored
order) and the phone are masked there as in the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from aftersales.errors import AfterSalesError, ValidationError
from aftersales.logistics.tracking import TrackAnswer
from aftersales.models import TrackQuery, TrackResult

from .conftest import ScriptedCarrier
from .test_refresh_names import BUYER, _order_with_parcel

PHONE = "13812345678"
NUMBER = "SF1234567890123"
SAID = f"recipient {BUYER} tel {PHONE} refused"


class PerNumber(ScriptedCarrier):
    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        return [TrackResult(query=q, error=SAID, error_code="invalid") for q in queries]


class Raises(ScriptedCarrier):
    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        raise ValidationError(SAID, payload="track answer")


class Unowned(ScriptedCarrier):
    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        return TrackAnswer(super().track(queries), unowned=(f"item 2: {SAID}",))


@pytest.mark.parametrize("provider", [PerNumber, Raises, Unowned])
def test_the_report_masks_the_buyers_name_and_phone(make_app: Any, provider: Any) -> None:
    app = make_app(provider())
    _order_with_parcel(app, NUMBER)
    report = app.logistics.refresh()
    assert report.failed == 1
    text = repr(report) + "".join(map(str, report.errors.values()))
    assert BUYER not in text
    assert PHONE not in text
    assert "recipient" in text  # the rest of the provider's words are kept


def test_a_look_up_raises_the_masked_error(make_app: Any) -> None:
    app = make_app(Raises())
    _order_with_parcel(app, NUMBER)
    with pytest.raises(AfterSalesError) as caught:
        app.logistics.track(NUMBER)
    assert BUYER not in str(caught.value)
    assert PHONE not in str(caught.value)
