"""Hostile tracking numbers and carrier codes through ``track``, the CLI and a refresh.

A number is letters and digits once spacing, dashes and full-width forms
are folded (``normalize_number``), 64 at most; a carrier is a code or a
courier name the name table knows. Anything else is refused by the
field's name before any provider is asked, never echoed back.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from click.testing import CliRunner

from aftersales.cli import main
from aftersales.errors import ValidationError

from .conftest import ScriptedCarrier, add_parcels

HOSTILE_NUMBERS = [
    "\x00",
    "SF\x001234567890",
    "SF1234567890\u200b",  # a zero-width space copied along from a web page
    "Ｓ" * 65,
    "9" * 100_000,
    "СФ1234567890",  # Cyrillic letters that look like SF
    "SF'; DROP TABLE shipments;--",
    "顺丰1234567890",
    "\ud800",
]


@pytest.mark.parametrize("number", HOSTILE_NUMBERS)
def test_track_refuses_a_hostile_number_by_name_before_any_call(make_app: Any,
                                                                number: str) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    with pytest.raises(ValidationError) as caught:
        app.logistics.track(number, fresh=True)
    assert caught.value.field == "number"
    assert "\n" not in str(caught.value)
    assert number.strip() not in str(caught.value)
    assert provider.calls == 0


@pytest.mark.parametrize(("typed", "asked"), [
    (" ｓｆ 1234-5678-9012 ", "SF123456789012"),
    ("sf.1234.5678.9012", "SF123456789012"),
    ("1z5r 8939 0357 5671 27", "1Z5R89390357567127"),
])
def test_track_folds_spacing_case_and_full_width(make_app: Any, typed: str, asked: str) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    assert app.logistics.track(typed).number == asked
    assert provider.numbers == [asked]


@pytest.mark.parametrize("carrier", ["\x00", "sf\x00", "x" * 1000, "<script>", "sf;rm -rf",
                                     "快递员电话13800138000"])
def test_track_refuses_a_hostile_carrier_by_name(make_app: Any, carrier: str) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    with pytest.raises(ValidationError) as caught:
        app.logistics.track("SF1234567890", carrier, fresh=True)
    assert caught.value.field == "carrier"
    assert carrier not in str(caught.value)
    assert provider.calls == 0


@pytest.mark.parametrize(("given", "code"), [("ＳＦ", "sf"), (" SF ", "sf"), ("SF Express", "sf"),
                                             ("顺丰速运", "sf"), ("zto", "zto"), ("Yun-Express", "yunexpress")])
def test_track_reads_a_carrier_code_or_name(make_app: Any, given: str, code: str | None) -> None:
    class Asked(ScriptedCarrier):
        def track(self, queries: Any) -> Any:
            self.asked = [q.carrier for q in queries]
            return super().track(queries)

    provider = Asked()
    app = make_app(provider)
    app.logistics.track("1234567890", given)
    assert provider.asked == [code]


def test_the_cli_refuses_a_hostile_number_in_one_line(sqlite_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_CARRIERS", "sandbox")
    monkeypatch.delenv("AFTERSALES_MARKETPLACES", raising=False)
    for args in (["track", "SF\x00123"], ["track", "9" * 5000],
                 ["track", "SF1234567890", "--carrier", "s\x00f"]):
        result = CliRunner().invoke(main, ["--database-url", sqlite_url, *args])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert "9" * 100 not in result.output


def test_a_refresh_sends_no_hostile_stored_number_to_a_provider(make_app: Any) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    add_parcels(app, ["SF\x001234567890", "SF1234567890\u200b", "SF1234567890"])
    report = app.logistics.refresh()
    assert provider.numbers == ["SF1234567890"]
    assert report.checked == 1
    assert sorted(report.unresolved.values()) == ["not a tracking number"] * 2


@pytest.mark.parametrize(("call", "field"), [
    (lambda app: app.logistics.anomalies(now=datetime(2026, 3, 5)), "now"),
    (lambda app: app.logistics.list(since=datetime(2026, 3, 1)), "since"),
    (lambda app: app.logistics.list(status="lost-in-space"), "status"),
    (lambda app: app.logistics.list(direction="sideways"), "direction"),
    (lambda app: app.logistics.list(limit=0), "limit"),
    (lambda app: app.logistics.list(limit=-1), "limit"),
])
def test_reads_refuse_a_bad_argument_by_name(make_app: Any, call: Any, field: str) -> None:
    app = make_app(ScriptedCarrier())
    add_parcels(app, ["SF1234567890"])
    with pytest.raises(ValidationError) as caught:
        call(app)
    assert caught.value.field == field


def test_anomalies_take_an_aware_now_in_any_zone(make_app: Any) -> None:
    from .conftest import T0

    app = make_app(ScriptedCarrier())
    add_parcels(app, ["SF1234567890"])  # shipped at T0, no scan since; sf: stuck after 2 days
    shanghai = timezone(timedelta(hours=8))
    assert app.logistics.anomalies(now=(T0 + timedelta(days=2)).astimezone(shanghai)) == []
    [found] = app.logistics.anomalies(now=(T0 + timedelta(days=2, seconds=1)).astimezone(shanghai))
    assert found.kind.value == "stuck"


@pytest.mark.parametrize("number", ["", "   ", "SF\x00123", "9" * 5000, "hello world!"])
def test_detect_refuses_what_is_no_tracking_number(sqlite_url: str, number: str) -> None:
    result = CliRunner().invoke(main, ["--database-url", sqlite_url, "--json", "logistics",
                                       "detect", number])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "number" in result.output
    assert "9" * 100 not in result.output
