"""One area shape: the same verbs where they mean the same, every returned type exported.

Read from the running app's area facades: each public verb's return
annotation names only types a user can import from ``aftersales`` or the
area's package; ``sync`` takes ``store=None``; every worker tick gives a
:class:`~aftersales.ticks.TickReport`.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import aftersales
from aftersales.app import AfterSales
from aftersales.scheduler import TICKS, as_tick_report, ticks_for
from aftersales.ticks import TickReport

AREAS = ("returns", "logistics", "reviews", "followups")


@pytest.fixture(scope="module")
def shop() -> Iterator[AfterSales]:
    with AfterSales("sqlite://", marketplaces=["sandbox"], carriers=["sandbox"]) as app:
        yield app


def _verbs(facade: object) -> dict[str, Any]:
    return {n: getattr(facade, n) for n in dir(facade)
            if not n.startswith("_") and inspect.ismethod(getattr(facade, n))}


def _types(hint: object) -> Iterator[type]:
    if typing.get_origin(hint) is not None:
        for arg in typing.get_args(hint):
            yield from _types(arg)
    elif isinstance(hint, type):
        yield hint


def _returns(verb: Any) -> object:
    """The verb's return annotation, evaluated in its module (annotations are strings)."""
    annotation = inspect.signature(verb).return_annotation
    if not isinstance(annotation, str):
        return annotation
    module = sys.modules[verb.__func__.__module__]
    return eval(annotation, vars(module))  # our own annotations, read as Python does


def unexported(app: AfterSales) -> list[str]:
    """``area.verb -> Type`` for each returned project type nobody exports."""
    top = set(aftersales.__all__)
    missing = []
    for area in AREAS:
        package = set(getattr(importlib.import_module(f"aftersales.{area}"), "__all__", ()))
        for name, verb in _verbs(getattr(app, area)).items():
            for tp in _types(_returns(verb)):
                own = tp.__module__.startswith("aftersales")
                if own and tp.__name__ not in top | package:
                    missing.append(f"{area}.{name} -> {tp.__name__}")
    return sorted(missing)


def test_every_type_a_verb_returns_is_exported(shop: AfterSales) -> None:
    assert unexported(shop) == []


def test_the_export_check_sees_a_type_nobody_exports(shop: AfterSales,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    returns = importlib.import_module("aftersales.returns")
    monkeypatch.setattr(returns, "__all__", [n for n in returns.__all__ if n != "TimerReport"])
    assert unexported(shop) == ["returns.run_timers -> TimerReport"]


@pytest.mark.parametrize("area", ["returns", "reviews"])
def test_sync_takes_one_store_or_all(shop: AfterSales, area: str) -> None:
    params = list(inspect.signature(getattr(shop, area).sync).parameters.values())
    assert (params[0].name, params[0].default) == ("store", None)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:])  # progress=
    assert getattr(shop, area).sync("sandbox").keys() <= {"sandbox"}


@pytest.mark.parametrize("area", ["returns", "followups", "logistics", "reviews"])
def test_areas_with_records_read_them_with_get_and_list(shop: AfterSales, area: str) -> None:
    facade = getattr(shop, area)
    required = [p.name for p in inspect.signature(facade.get).parameters.values()
                if p.default is inspect.Parameter.empty]
    assert len(required) == 1  # get(id)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY
               for p in inspect.signature(facade.list).parameters.values())
    assert isinstance(facade.list(limit=1), list)


def test_every_tick_method_returns_a_tick_report(shop: AfterSales) -> None:
    """The ticks' own methods say so in their signatures (sync verbs return per-store counts,
    which the worker turns into ``done``)."""
    for tick in TICKS:
        if tick.method == "sync" or tick.area not in AREAS:
            continue  # sync verbs give counts; newer areas' reports are converted
        verb = getattr(getattr(shop, tick.area or ""), tick.method)
        returned = _returns(verb)
        assert isinstance(returned, type), tick.name
        assert issubclass(returned, TickReport), tick.name


def test_every_worker_tick_gives_a_tick_report(shop: AfterSales) -> None:
    ticks = ticks_for(shop)
    assert set(ticks) == {t.name for t in TICKS}
    for name, tick in ticks.items():
        report = tick()
        assert isinstance(report, TickReport), name
        assert report.failed == 0, (name, report.reasons)


def test_a_sync_verbs_counts_and_other_reports_become_tick_reports() -> None:
    assert as_tick_report({"north": 2, "south": 3}) == TickReport(done=5)

    @dataclass
    class Elsewhere:
        checked: int = 4
        skipped: int = 1
        failed: int = 2
        errors: dict[str, str] = field(default_factory=lambda: {"C-1": "down"})

    assert as_tick_report(Elsewhere()) == TickReport(done=4, skipped=1, failed=2,
                                                     reasons={"C-1": "down"})
    report = TickReport()
    report.fail("RMA-1", "the marketplace refused")
    assert (report.failed, report.ok, report.reasons) == (1, False,
                                                           {"RMA-1": "the marketplace refused"})
