"""Spans, metrics and log lines for unattended work, read through the SDK's in-memory exporters."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import responses
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aftersales.errors import TransientError
from aftersales.http import ApiClient


class _Exporter(InMemorySpanExporter):
    """Keeps spans only while a test here is running (the provider outlives it)."""

    active = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self.active:
            return SpanExportResult.SUCCESS
        return super().export(spans)


_EXPORTER = _Exporter()
_READER = InMemoryMetricReader()
_installed: list[bool] = []


@pytest.fixture
def telemetry() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    """The process's SDK providers (installed once: OpenTelemetry allows one per process)."""
    if not _installed:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[_READER]))
        _installed.append(True)
    _EXPORTER.clear()
    _READER.collect()  # start each test from a fresh read
    _EXPORTER.active = True
    yield _EXPORTER, _READER
    _EXPORTER.active = False
    _EXPORTER.clear()


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    out: dict[str, list[Any]] = {}
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out.setdefault(metric.name, []).extend(metric.data.data_points)
    return out


def _attrs(points: list[Any]) -> list[dict[str, Any]]:
    return [dict(p.attributes) for p in points]


def _named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def test_sync_refresh_and_dispatch_leave_spans_metrics_and_log_lines(
    app: Any, telemetry: tuple[InMemorySpanExporter, InMemoryMetricReader],
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter, reader = telemetry
    caplog.set_level(logging.INFO, logger="aftersales")
    report = app.sync()
    refreshed = app.logistics.refresh()
    app.followups.dispatch_due()

    spans = exporter.get_finished_spans()
    (sync,) = _named(spans, "aftersales.sync.sync")
    (orders,) = _named(spans, "aftersales.sync.orders")
    (refresh,) = _named(spans, "aftersales.logistics.refresh")
    (dispatch,) = _named(spans, "aftersales.followups.dispatch")
    assert orders.parent is not None
    assert orders.parent.span_id == sync.context.span_id
    assert orders.attributes is not None
    assert orders.attributes["aftersales.store"] == "sandbox"
    assert sync.attributes is not None
    assert sync.attributes["aftersales.count.orders"] == report.total("orders") > 0
    assert refresh.attributes is not None
    assert refresh.attributes["aftersales.count.checked"] == refreshed.checked > 0
    for span in (sync, orders, refresh, dispatch):
        assert span.attributes is not None
        assert span.attributes["aftersales.outcome"] == "ok"

    points = _points(reader)
    runs = _attrs(points["aftersales.operations"])
    for area, operation in (("sync", "sync"), ("logistics", "refresh"),
                            ("followups", "dispatch")):
        assert {"area": area, "operation": operation, "outcome": "ok"} in runs
    assert {"area": "sync", "operation": "orders", "store": "sandbox", "outcome": "ok"} in runs
    assert "aftersales.operation.duration" in points
    items = {(a["operation"], a["kind"]): p.value for a, p in
             zip(_attrs(points["aftersales.items"]), points["aftersales.items"], strict=True)}
    assert items[("refresh", "checked")] == refreshed.checked

    lines = [(r.name, r.getMessage()) for r in caplog.records]
    assert any(n == "aftersales.sync" and m.startswith("sync page store=sandbox stream=orders")
               for n, m in lines)
    assert any(n == "aftersales.logistics" and m.startswith("refresh ") and " ms" in m
               for n, m in lines)
    assert any(n == "aftersales.followups" and m.startswith("dispatch ") for n, m in lines)


def test_a_failing_operation_is_an_error_span_metric_and_warning(
    app: Any, sandbox: Any, telemetry: tuple[InMemorySpanExporter, InMemoryMetricReader],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    exporter, reader = telemetry

    def down(cursor: Any = None) -> Any:
        raise TransientError("shop down for buyer alice@example.com", adapter="sandbox")

    monkeypatch.setattr(sandbox, "list_orders", down)
    with pytest.raises(TransientError):
        app.sync_orders("sandbox")
    (span,) = _named(exporter.get_finished_spans(), "aftersales.sync.orders")
    assert span.status.status_code is trace.StatusCode.ERROR
    assert "alice@" not in (span.status.description or "")
    runs = _attrs(_points(reader)["aftersales.operations"])
    assert {"area": "sync", "operation": "orders", "store": "sandbox", "outcome": "error"} in runs
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.name == "aftersales.sync"
    assert "store=sandbox" in warning.getMessage()
    assert "alice@" not in warning.getMessage()


def test_provider_calls_are_client_spans_with_their_outcome(
    telemetry: tuple[InMemorySpanExporter, InMemoryMetricReader],
) -> None:
    exporter, reader = telemetry
    client = ApiClient("probe", "https://api.example.test", max_attempts=1)
    with responses.RequestsMock() as mock:
        mock.get("https://api.example.test/ok", json={})
        mock.get("https://api.example.test/gone", status=404)
        client.get("ok")
        with pytest.raises(Exception, match="not found"):
            client.get("gone")
    spans = _named(exporter.get_finished_spans(), "HTTP GET")
    assert [s.attributes["http.response.status_code"] for s in spans if s.attributes] == [200, 404]
    assert spans[0].kind is trace.SpanKind.CLIENT
    calls = _attrs(_points(reader)["aftersales.http.requests"])
    assert {"adapter": "probe", "method": "GET", "outcome": "ok"} in calls
    assert {"adapter": "probe", "method": "GET", "outcome": "error",
            "error.type": "RemoteNotFoundError"} in calls
