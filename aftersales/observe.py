"""Logs, spans and metrics for work that runs unattended.

Every area logs through its own ``logging`` logger (``aftersales.returns``,
``aftersales.logistics``, ``aftersales.reviews``, ``aftersales.followups``,
``aftersales.sync``, ``aftersales.http``, ``aftersales.outbox``,
``aftersales.worker``), one line per tick, per sync page and per failure,
carrying the store, the counts and the duration. Error texts in those lines
are masked (:func:`aftersales.redact.redact_remote`).

Spans and metrics go through ``opentelemetry-api``, which records nothing
until the application installs an SDK (``opentelemetry-sdk``'s
``TracerProvider`` and ``MeterProvider``). Instruments, all with the
attributes ``area``, ``operation``, ``outcome`` (``ok`` or ``error``) and,
where one applies, ``store``:

================================ ========= =========================================
name                             kind      what
================================ ========= =========================================
``aftersales.operations``        counter   sync, refresh, dispatch, refund, tick … runs
``aftersales.operation.duration`` histogram seconds per run
``aftersales.items``             counter   items a run handled, by ``kind``
``aftersales.http.requests``     counter   provider calls, by ``adapter``, ``method``, ``outcome``
``aftersales.http.duration``     histogram seconds per provider call, retries included
================================ ========= =========================================

Spans are named ``aftersales.<area>.<operation>`` and ``HTTP <METHOD>`` for
provider calls (attributes ``aftersales.adapter``, ``server.address``,
``http.request.method``, ``http.response.status_code``).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from opentelemetry import metrics, trace
from opentelemetry.trace import Status, StatusCode

from aftersales.redact import redact_remote

__all__ = [
    "Operation",
    "counts_of",
    "http_call",
    "log_page",
    "logger",
    "operation",
    "traced",
]

_SCOPE = "aftersales"
_tracer = trace.get_tracer(_SCOPE)
_meter = metrics.get_meter(_SCOPE)
_operations = _meter.create_counter(
    "aftersales.operations", unit="{operation}", description="runs of an operation, by outcome"
)
_durations = _meter.create_histogram(
    "aftersales.operation.duration", unit="s", description="seconds per operation run"
)
_items = _meter.create_counter(
    "aftersales.items", unit="{item}", description="items an operation handled, by kind"
)
_http_requests = _meter.create_counter(
    "aftersales.http.requests", unit="{request}", description="provider calls, by outcome"
)
_http_durations = _meter.create_histogram(
    "aftersales.http.duration", unit="s", description="seconds per provider call"
)

P = ParamSpec("P")
R = TypeVar("R")


def logger(area: str) -> logging.Logger:
    """The logger of one area: ``aftersales.<area>``."""
    return logging.getLogger(f"{_SCOPE}.{area}")


def error_text(exc: BaseException) -> str:
    """``Type: message`` of an exception, masked, for a log line or a span."""
    return redact_remote(f"{type(exc).__name__}: {exc}")[:300]


class Operation:
    """One running operation: the counts it reports and the attributes it carries."""

    __slots__ = ("area", "attributes", "counts", "name")

    def __init__(self, area: str, name: str, attributes: dict[str, str]) -> None:
        self.area = area
        self.name = name
        self.attributes = attributes
        self.counts: dict[str, int] = {}

    def count(self, kind: str, n: int = 1) -> None:
        """Add ``n`` items of ``kind`` (``orders``, ``sent``, ``failed`` …)."""
        self.counts[kind] = self.counts.get(kind, 0) + int(n)

    def counts_from(self, values: Mapping[str, Any]) -> None:
        """Add every integer of ``values`` (a report's fields) as a count."""
        for kind, value in values.items():
            if isinstance(value, int) and not isinstance(value, bool):
                self.count(kind, value)


def _describe(counts: Mapping[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in counts.items()) or "nothing"


@contextmanager
def operation(area: str, name: str, *, store: str | None = None,
              level: int = logging.INFO, quiet: bool = False) -> Iterator[Operation]:
    """Trace, count, time and log one run of an operation.

    On success one line at ``level`` (``sync store=shopify orders=12 in 340 ms``);
    on failure one WARNING line with the masked error, and the error raised
    again. The span's status and the ``outcome`` attribute follow. With
    ``quiet`` the caller writes the line itself (the worker's tick summary).
    """
    attributes = {"area": area, "operation": name}
    if store is not None:
        attributes["store"] = store
    op = Operation(area, name, attributes)
    log = logger(area)
    where = f" store={store}" if store is not None else ""
    started = time.monotonic()
    with _tracer.start_as_current_span(
        f"{_SCOPE}.{area}.{name}",
        attributes={f"aftersales.{k}": v for k, v in attributes.items()},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield op
        except BaseException as exc:
            elapsed = time.monotonic() - started
            text = error_text(exc)
            span.set_status(Status(StatusCode.ERROR, text))
            span.add_event("exception", {"exception.type": type(exc).__name__,
                                         "exception.message": text})
            _record(op, "error", elapsed, span)
            if not quiet:
                log.warning("%s%s failed after %.0f ms: %s", name, where, elapsed * 1000, text)
            raise
        elapsed = time.monotonic() - started
        _record(op, "ok", elapsed, span)
        if not quiet:
            log.log(level, "%s%s %s in %.0f ms", name, where, _describe(op.counts),
                    elapsed * 1000)


def _record(op: Operation, outcome: str, elapsed: float, span: trace.Span) -> None:
    attributes = {**op.attributes, "outcome": outcome}
    _operations.add(1, attributes)
    _durations.record(elapsed, attributes)
    for kind, n in op.counts.items():
        span.set_attribute(f"aftersales.count.{kind}", n)
        if n:
            _items.add(n, {**op.attributes, "kind": kind})
    span.set_attribute("aftersales.outcome", outcome)


def traced(
    area: str,
    name: str,
    *,
    store_arg: str | None = None,
    counts: Callable[[Any], Mapping[str, Any]] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a method so each call runs inside :func:`operation`.

    Args:
        store_arg: the keyword (or first positional after ``self``) naming
            the store, to carry it as the ``store`` attribute.
        counts: maps the method's result to the counts to report; a
            dataclass result is read field by field, a mapping of ints
            counts each value, when this is not given.
    """

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            store = None
            if store_arg is not None:
                found = kwargs.get(store_arg, args[1] if len(args) > 1 else None)
                store = str(found) if found is not None else None
            with operation(area, name, store=store) as op:
                result = fn(*args, **kwargs)
                op.counts_from(counts(result) if counts is not None else _fields(result))
            return result

        return run

    return wrap


def counts_of(result: Any) -> Mapping[str, Any]:
    """The counts a result reports: a dataclass's or a mapping's int values, or an int."""
    return _fields(result)


def _fields(result: Any) -> Mapping[str, Any]:
    if hasattr(result, "__dataclass_fields__"):
        fields = {k: getattr(result, k) for k in result.__dataclass_fields__}
    elif isinstance(result, Mapping):
        fields = dict(result)
    elif isinstance(result, int) and not isinstance(result, bool):
        return {"items": result}
    else:
        return {}
    out: dict[str, int] = {}
    for key, value in fields.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            out[key] = out.get(key, 0) + value
        elif isinstance(value, list | tuple | set) or (
            isinstance(value, Mapping) and not any(isinstance(v, Mapping) for v in value.values())
            and not all(isinstance(v, int) for v in value.values())
        ):
            out[key] = len(value)  # a list of errors, a map of failures: how many
        elif isinstance(value, Mapping):
            for inner in value.values():  # {store: {stream: n}}, or {store: n}
                for k, n in (inner.items() if isinstance(inner, Mapping) else [(key, inner)]):
                    if isinstance(n, int) and not isinstance(n, bool):
                        out[k] = out.get(k, 0) + n
    return out


def log_page(area: str, store: str, stream: str, items: int, changed: int,
             started: float) -> None:
    """Log one synced page: its store, stream, counts and duration (INFO)."""
    logger(area).info(
        "sync page store=%s stream=%s items=%d changed=%d in %.0f ms",
        store, stream, items, changed, (time.monotonic() - started) * 1000,
    )
    _items.add(items, {"area": area, "operation": "sync", "store": store, "kind": stream})


@contextmanager
def http_call(adapter: str, method: str, host: str) -> Iterator[dict[str, Any]]:
    """Span, count and time one provider call (retries included).

    The caller puts the final ``status`` in the yielded dict; an exception
    marks the call ``error`` with its class name as ``error.type``.
    """
    outcome: dict[str, Any] = {}
    attributes = {"aftersales.adapter": adapter, "http.request.method": method,
                  "server.address": host}
    started = time.monotonic()
    with _tracer.start_as_current_span(
        f"HTTP {method}", kind=trace.SpanKind.CLIENT, attributes=attributes,
        record_exception=False, set_status_on_exception=False,
    ) as span:
        result = "ok"
        error_type = ""
        try:
            yield outcome
        except BaseException as exc:
            result = "error"
            error_type = type(exc).__name__
            span.set_status(Status(StatusCode.ERROR, error_text(exc)))
            span.set_attribute("error.type", error_type)
            status = getattr(exc, "status", None)
            if status is not None:
                outcome.setdefault("status", status)
            raise
        finally:
            status = outcome.get("status")
            if status is not None:
                span.set_attribute("http.response.status_code", int(status))
            metric = {"adapter": adapter, "method": method, "outcome": result}
            if error_type:
                metric["error.type"] = error_type
            _http_requests.add(1, metric)
            _http_durations.record(time.monotonic() - started, metric)
