"""A tracking provider's batch answer holding one malformed item: the refresh keeps
the batch's good results and reports the bad item as a failure, never drops it.

Answers are 17TRACK's ``gettrackinfo`` (``tests/adapters/seventeentrack/fixtures/
gettrackinfo_response.json``, after the Tracking API v2.2 reference) with one
item broken: one without a ``number`` no asked number owns, so it is an error
of its own (one line naming the payload and the field) beside the others'
results; one with a number but a malformed body is that number's failure.
Either way the refresh counts a failure, ``logistics refresh`` exits 1, and
the good parcels are written.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import responses
from aftersales_seventeentrack import SeventeenTrackCarrier, SeventeenTrackSettings
from click.testing import CliRunner
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.cli import main
from aftersales.store.tables.core import ShipmentRow

from .conftest import add_parcels

INFO = "https://api.17track.net/track/v2.2/gettrackinfo"
FIXTURE = (Path(__file__).parents[1] / "adapters" / "seventeentrack" / "fixtures"
           / "gettrackinfo_response.json")
GOOD, OTHER, LOST = "RR123456789CN", "RR223456789CN", "RR323456789CN"


def _item(number: str | None, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = copy.deepcopy(
        json.loads(FIXTURE.read_text("utf-8"))["data"]["accepted"][0])
    if number is None:
        del item["number"]
    else:
        item["number"] = number
    item.update(changes)
    return item


def _answer(*items: dict[str, Any]) -> dict[str, Any]:
    return {"code": 0, "data": {"accepted": list(items), "rejected": []}}


def _carrier() -> SeventeenTrackCarrier:
    return SeventeenTrackCarrier(SeventeenTrackSettings(token="t", webhook_key="k"))


def _checked(app: AfterSales) -> dict[str, bool]:
    with app.store.session() as session:
        rows = session.execute(select(ShipmentRow.tracking_number,
                                      ShipmentRow.last_checked_at)).all()
    return {number: at is not None for number, at in rows}


def test_an_item_without_a_number_fails_alone_and_is_reported(make_app: Any) -> None:
    app = make_app(_carrier())
    add_parcels(app, [GOOD, OTHER, LOST], carrier="chinapost")
    with responses.RequestsMock() as mock:
        mock.post(INFO, json=_answer(_item(GOOD), _item(None), _item(OTHER)))
        report = app.logistics.refresh()
    assert report.checked == 2  # the batch's good items are kept and written
    assert _checked(app) == {GOOD: True, OTHER: True, LOST: False}  # LOST stays due
    assert report.failed == 1
    assert not report.ok
    assert report.malformed == {"seventeentrack answer item 1": (
        "seventeentrack: 17track gettrackinfo, field 'data.accepted.1.number': "
        "item has no tracking number")}
    assert report.reasons["seventeentrack answer item 1"] == (
        report.malformed["seventeentrack answer item 1"])
    assert report.skipped == 1  # LOST: no answer for it, due again next time
    assert report.failed_calls == {}


def test_a_numbers_malformed_item_is_its_failure(make_app: Any) -> None:
    app = make_app(_carrier())
    add_parcels(app, [GOOD, OTHER], carrier="chinapost")
    with responses.RequestsMock() as mock:
        mock.post(INFO, json=_answer(_item(GOOD), _item(OTHER, track_info="x")))
        report = app.logistics.refresh()
    assert _checked(app) == {GOOD: True, OTHER: False}
    assert report.failed == 1
    assert "field 'data.accepted.1.track_info'" in report.reasons[OTHER]
    assert "\n" not in report.reasons[OTHER]


@pytest.mark.parametrize("broken", ["numberless", "malformed"])
def test_logistics_refresh_exits_1_and_names_the_item(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, broken: str,
) -> None:
    app = AfterSales(sqlite_url, marketplaces=[], carriers=[_carrier()])
    add_parcels(app, [GOOD, OTHER], carrier="chinapost")
    app.close()
    monkeypatch.setenv("AFTERSALES_CARRIERS", "seventeentrack")
    monkeypatch.setenv("SEVENTEENTRACK_TOKEN", "t")
    monkeypatch.delenv("AFTERSALES_MARKETPLACES", raising=False)
    bad = _item(None) if broken == "numberless" else _item(OTHER, track_info="x")
    with responses.RequestsMock() as mock:
        mock.post(INFO, json=_answer(_item(GOOD), bad, *(
            [_item(OTHER)] if broken == "numberless" else [])))
        result = CliRunner().invoke(main, ["--database-url", sqlite_url, "--json",
                                           "logistics", "refresh"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["failed"] == 1
    if broken == "numberless":
        assert data["checked"] == 2
        assert list(data["malformed"].values()) == [
            "seventeentrack: 17track gettrackinfo, field 'data.accepted.1.number': "
            "item has no tracking number"]
    else:
        assert data["checked"] == 1
        assert "data.accepted.1.track_info" in data["unresolved"][OTHER]


def test_logistics_refresh_says_which_item_was_malformed(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = AfterSales(sqlite_url, marketplaces=[], carriers=[_carrier()])
    add_parcels(app, [GOOD, OTHER], carrier="chinapost")
    app.close()
    monkeypatch.setenv("AFTERSALES_CARRIERS", "seventeentrack")
    monkeypatch.setenv("SEVENTEENTRACK_TOKEN", "t")
    monkeypatch.delenv("AFTERSALES_MARKETPLACES", raising=False)
    with responses.RequestsMock() as mock:
        mock.post(INFO, json=_answer(_item(GOOD), _item(None), _item(OTHER)))
        result = CliRunner().invoke(main, ["--database-url", sqlite_url, "logistics",
                                           "refresh"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert ("2 of 2 due parcels checked" in result.stdout)
    assert ("1 malformed answer items: seventeentrack: 17track gettrackinfo, "
            "field 'data.accepted.1.number': item has no tracking number") in result.stdout
