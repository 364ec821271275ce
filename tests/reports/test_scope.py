"""A report's window and store filter: hostile values are one error naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aftersales.app import AfterSales
from aftersales.errors import ValidationError


@pytest.fixture
def app(db_url: str) -> Iterator[AfterSales]:
    with AfterSales(db_url, marketplaces=[], carriers=[], channels=["outbox"]) as instance:
        yield instance


@pytest.mark.parametrize("store", [
    "shop\x00",
    "shop\ud800",  # a bare UnicodeEncodeError
    "s" * 100_000,
])
@pytest.mark.parametrize("section", ["cases", "returns"])
def test_a_store_a_column_cannot_hold_is_refused_by_name(app: AfterSales, store: str,
                                                         section: str) -> None:
    with pytest.raises(ValidationError, match="field 'store'") as raised:
        app.reports.section(section, store=store)
    assert len(str(raised.value)) < 300
    with pytest.raises(ValidationError, match="field 'store'"):
        app.reports.html(store=("sandbox", store))
