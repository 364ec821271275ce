"""DEBUG logging of a refresh whose provider fails: no recipient's data in any record.

A provider's own bug raises whatever it raises, its message quoting the
checkpoint text it choked on, which often holds the recipient's name, a
courier's phone or an address. The refresh logs the failure with the
error's type and where it happened, never its message, on any handler
(the shop's own, without the library's redacting filter).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from .conftest import ScriptedCarrier, add_parcels, numbers

SECRET = "收件人张三 电话13800138000 深圳市南山区科技园路1号"


class Broken(ScriptedCarrier):
    def track(self, queries: Any) -> Any:
        raise ValueError(f"cannot read checkpoint {SECRET!r}")


def test_a_provider_bug_is_logged_without_its_message(make_app: Any,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(Broken("broken"), ScriptedCarrier("backup"))
    add_parcels(app, numbers(2))
    with caplog.at_level(logging.DEBUG):
        report = app.logistics.refresh()
    assert report.checked == 2  # the numbers fell back to the next provider
    text = caplog.text + "".join(
        logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info)
    assert "broken.track failed unexpectedly" in text
    assert "ValueError" in text
    assert "test_refresh_logs.py" in text  # where it happened is kept
    for part in ("张三", "13800138000", "科技园路"):
        assert part not in text


def test_the_report_names_the_bug_by_type_only(make_app: Any) -> None:
    app = make_app(Broken("broken"))
    add_parcels(app, numbers(1))
    report = app.logistics.refresh()
    assert report.reasons == {numbers(1)[0]: "broken: [broken] unexpected ValueError"}
    assert "张三" not in repr(report)
