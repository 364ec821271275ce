"""A scan's "in the future" bound is read against the app's clock, not the machine's.

Providers' answers are checked as they are read (a scan more than a day
ahead of now is refused by name); "now" is the app's clock
(``AfterSales(clock=...)``), as for every other time the library keeps, so
a shop replaying a day, or a test running at a set time, reads the same
answers the same way. The refresh's worker threads carry it too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import responses
from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings
from aftersales_kuaidi100.mapping import push_sign

from aftersales.models import ParcelStatus

from .conftest import Clock, add_parcels

CST = timezone(timedelta(hours=8))
NUMBER = "YT9693083639795"


def _answer(at: datetime) -> dict[str, Any]:
    text = at.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")
    return {"message": "ok", "state": "0", "status": "200", "condition": "F00",
            "ischeck": "0", "com": "yuantong", "nu": NUMBER,
            "data": [{"time": text, "ftime": text, "context": "已揽收", "location": ""}]}


def _carrier() -> Kuaidi100Carrier:
    return Kuaidi100Carrier(Kuaidi100Settings(
        key="AbCdEf123456", customer="0123456789ABCDEF0123456789ABCDEF", salt="mysalt"),
        sleep=lambda _s: None)


def test_a_refresh_reads_scan_times_against_the_app_clock(make_app: Any,
                                                          clock: Clock) -> None:
    later = clock
    later.now = datetime.now(UTC) + timedelta(days=30)  # the app runs a month ahead
    app = make_app(_carrier())
    add_parcels(app, [NUMBER], carrier="yto")
    with responses.RequestsMock() as mock:
        mock.post("https://poll.kuaidi100.com/poll/query.do",
                  json=_answer(later.now - timedelta(hours=2)))
        report = app.logistics.refresh()
    assert (report.checked, report.failed) == (1, 0), report.reasons
    [parcel] = app.logistics.list()
    assert parcel.status is ParcelStatus.IN_TRANSIT


def test_a_push_reads_scan_times_against_the_app_clock(make_app: Any, clock: Clock) -> None:
    later = clock
    later.now = datetime.now(UTC) + timedelta(days=30)
    app = make_app(_carrier())
    add_parcels(app, [NUMBER], carrier="yto")
    param = json.dumps({"status": "polling", "message": "",
                        "lastResult": _answer(later.now - timedelta(hours=2))},
                       ensure_ascii=False, separators=(",", ":"))
    body = urlencode({"param": param, "sign": push_sign(param, "mysalt")}).encode()
    assert app.logistics.handle_push("kuaidi100", body, {}) == 1
