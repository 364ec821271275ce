"""A tracking provider refuses a batch larger than its ``batch_size`` by name, before any call.

The check lives once in :class:`aftersales.interfaces.CarrierBase`
(:meth:`check_batch`); AfterShip, 17TRACK and Kuaidi100 each had a copy.
"""

from __future__ import annotations

import pytest
import responses
from aftersales_aftership import AfterShipCarrier
from aftersales_aftership.settings import AfterShipSettings
from aftersales_kuaidi100 import Kuaidi100Carrier
from aftersales_kuaidi100.settings import Kuaidi100Settings
from aftersales_seventeentrack import SeventeenTrackCarrier
from aftersales_seventeentrack.settings import SeventeenTrackSettings

from aftersales.errors import ValidationError
from aftersales.interfaces import CarrierBase
from aftersales.models import TrackQuery


def _carriers() -> list[CarrierBase]:
    return [
        AfterShipCarrier(AfterShipSettings(api_key="k" * 20, webhook_secret="s" * 20),
                         sleep=lambda _s: None),
        SeventeenTrackCarrier(SeventeenTrackSettings(token="t" * 20), sleep=lambda _s: None),
        Kuaidi100Carrier(Kuaidi100Settings(key="k" * 20, customer="C" * 20, salt="s" * 8),
                         sleep=lambda _s: None),
    ]


@pytest.mark.parametrize("carrier", _carriers(), ids=lambda c: c.name)
def test_a_batch_over_the_size_is_refused_by_name_without_a_call(carrier: CarrierBase) -> None:
    queries = [TrackQuery(number=f"SF{n:010d}") for n in range(carrier.batch_size + 1)]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
        with pytest.raises(ValidationError) as info:
            carrier.track(queries)
        assert len(http.calls) == 0
    assert info.value.field == "queries"
    assert info.value.payload == carrier.name
    unit = "number" if carrier.batch_size == 1 else "numbers"
    assert f"at most {carrier.batch_size} {unit} per call" in str(info.value)


def test_the_check_allows_a_full_batch_and_an_empty_one() -> None:
    base = CarrierBase()
    base.batch_size = 3
    base.check_batch([TrackQuery(number="1")] * 3)
    base.check_batch([])
    with pytest.raises(ValidationError, match="at most 3 numbers per call"):
        base.check_batch([TrackQuery(number="1")] * 4)
