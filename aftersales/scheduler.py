"""The worker: APScheduler 3 ticks that run each area's due work.

APScheduler only drives the ticks; the due work itself lives in tables
(follow-ups, parcels to refresh, SLA timers), claimed under leases, so any
number of workers can run side by side and a million follow-ups are a
million rows, not a million jobs. Each tick calls one area's own method,
and only when that area has it:

=============== =========================== =================
tick            calls                       default interval
=============== =========================== =================
followups       ``app.followups.dispatch_due``   30 s
tracking        ``app.logistics.refresh``        15 min
reviews         ``app.reviews.sync``             30 min
sync            ``app.sync``                     10 min
return_timers   ``app.returns.run_timers``        5 min
refunds         ``app.returns.reconcile_refunds`` 2 min
weekly_report   ``app.reports.send_weekly``      1 h
cases           ``app.cases.tick``                1 min
=============== =========================== =================

Intervals come from ``intervals=`` / ``--interval NAME=SECONDS``, else from
the app's ``interval`` settings (``AFTERSALES_INTERVAL_<NAME>`` or
``[interval]`` in ``aftersales.toml``, seconds); 0 turns a tick off.

``aftersales worker`` runs a :class:`BlockingScheduler`; ``--once`` runs
every tick once and exits (for cron). SIGTERM (or SIGINT) lets the follow-up
tick finish the row in hand, puts the rest of its claimed batch back in the
pool, waits for running ticks, and exits. :func:`build_scheduler` gives a
backend a configured :class:`BackgroundScheduler` to embed instead
(``app.scheduler()``); nothing starts until the caller starts it.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any, Protocol

import click
from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_SCHEDULER_STARTED,
    JobSubmissionEvent,
    SchedulerEvent,
)
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from aftersales import observe
from aftersales.config import AfterSalesSettings, IntervalSettings
from aftersales.errors import ConfigurationError
from aftersales.interfaces import Capability
from aftersales.logconfig import LEVELS, configure_logging
from aftersales.ticks import StoresReport, TickReport, per_store
from aftersales.worker_summary import log_tick, summarize, tick_error


class TickHost(Protocol):
    """What the worker needs of the app: its settings; each tick's area is an attribute.

    The facade (:class:`~aftersales.app.AfterSales`) is one. Typed this way,
    this module never imports the facade, which builds schedulers itself.
    """

    @property
    def settings(self) -> AfterSalesSettings:
        """The app's settings (the worker reads ``interval``)."""

log = logging.getLogger("aftersales.scheduler")
worker_log = observe.logger("worker")

__all__ = [
    "DEFAULT_INTERVALS",
    "MAX_INTERVAL",
    "REPEAT_WINDOW",
    "TICKS",
    "Tick",
    "TickHost",
    "as_tick_report",
    "build_scheduler",
    "check_shared_database",
    "failures",
    "resolve_intervals",
    "run_once",
    "run_worker",
    "ticks_for",
    "worker_command",
]


@dataclass(frozen=True)
class Tick:
    """One kind of periodic work: the area attribute on the app and its method."""

    name: str
    area: str | None  # None: the method is on the app itself
    method: str
    default_interval: float


TICKS: tuple[Tick, ...] = (
    Tick("followups", "followups", "dispatch_due", 30),
    Tick("tracking", "logistics", "refresh", 900),
    Tick("reviews", "reviews", "sync", 1800),
    Tick("sync", None, "sync", 600),
    Tick("return_timers", "returns", "run_timers", 300),
    Tick("refunds", "returns", "reconcile_refunds", 120),
    Tick("weekly_report", "reports", "send_weekly", 3600),
    Tick("cases", "cases", "tick", 60),
)
DEFAULT_INTERVALS: dict[str, float] = {t.name: t.default_interval for t in TICKS}
#: The longest interval a tick may have, in seconds (365 days). Much longer
#: ones overflow the scheduler's clock arithmetic; 0 turns a tick off instead.
MAX_INTERVAL = 365 * 24 * 3600
#: Seconds in which the stop signal repeated is the same stop, not a second one.
REPEAT_WINDOW = 1.0


def resolve_intervals(
    intervals: Mapping[str, float] | None = None, configured: IntervalSettings | None = None
) -> dict[str, float]:
    """Seconds per tick: ``configured`` settings (else the environment's), then ``intervals``.

    Raises:
        ConfigurationError: an unknown tick name, or an interval that is
            negative, not a number, or over :data:`MAX_INTERVAL`.
    """
    if configured is None:
        configured = AfterSalesSettings.load().interval
    out = {name: float(getattr(configured, name)) for name in DEFAULT_INTERVALS}
    for name, value in (intervals or {}).items():
        if name not in out:
            raise ConfigurationError(f"unknown tick {name!r}; ticks: {', '.join(out)}")
        out[name] = float(value)
    bad = [n for n, v in out.items() if not math.isfinite(v) or v < 0]
    if bad:
        raise ConfigurationError(f"intervals cannot be negative or infinite: {', '.join(bad)}")
    long = [n for n, v in out.items() if v > MAX_INTERVAL]
    if long:
        raise ConfigurationError(f"intervals are at most {MAX_INTERVAL} seconds: "
                                 f"{', '.join(long)}")
    return out


def ticks_for(app: TickHost, only: Sequence[str] = ()) -> dict[str, Callable[[], Any]]:
    """The ticks this app can run (its area has the method), by name, in order."""
    out: dict[str, Callable[[], Any]] = {}
    for tick in TICKS:
        if only and tick.name not in only:
            continue
        try:
            target: Any = app if tick.area is None else getattr(app, tick.area, None)
        except ImportError as exc:
            # A tick whose area cannot load fails each run, named; skipped
            # silently, `worker --once` would exit 0 having done nothing.
            log.warning("tick %s fails: its area failed to import: %s", tick.name, exc)
            out[tick.name] = _observed(tick.name, _raising(exc))
            continue
        method = getattr(target, tick.method, None) if target is not None else None
        if callable(method):
            out[tick.name] = _observed(tick.name, _store_by_store(app, tick, method))
    return out


def _raising(exc: ImportError) -> Callable[[], Any]:
    def tick() -> Any:
        raise ImportError(f"its area failed to import: {exc}")

    return tick


#: Ticks that pull from each store in turn, with the capability a store needs.
_PER_STORE: dict[str, Capability] = {"reviews": Capability.LIST_REVIEWS}


def _store_by_store(app: TickHost, tick: Tick, method: Callable[..., Any]) -> Callable[[], Any]:
    """``method`` called once per store, so one failing store does not stop the others.

    ``app.reviews.sync()`` stops at the first store that raises; run store
    by store, each failure is named in the tick's reasons and the stores
    after it are still synced; alerts a channel refused are failures of the
    tick too (named ``alerts via CHANNEL``). An app without a
    ``marketplaces`` mapping (a test double) gets ``method`` as it is.
    """
    capability = _PER_STORE.get(tick.name)
    markets = getattr(app, "marketplaces", None)
    if capability is None or not isinstance(markets, Mapping):
        return method

    def run() -> StoresReport:
        names = [n for n, m in markets.items() if capability in getattr(m, "capabilities", ())]
        report = per_store(names, lambda name: int(method(name).get(name, 0)))
        # alerts raised but refused by a channel: kept for the next run, a failure of this one
        area = getattr(app, tick.area, None) if tick.area else None
        undelivered = getattr(area, "delivery_failures", None)
        if callable(undelivered):
            for channel, what in undelivered().items():
                report.fail(f"alerts via {channel}", what)
        return report

    return run


def as_tick_report(result: object) -> TickReport:
    """A tick's result as a :class:`~aftersales.ticks.TickReport`.

    The four areas' tick methods return one (or a one-level subclass); a
    sync verb's per-store counts (``app.reviews.sync``) become ``done``; any
    other report keeps its ``skipped`` and ``failed`` counts and its
    ``errors`` as reasons, and its other counts become ``done``.
    """
    if isinstance(result, TickReport):
        return result
    if isinstance(result, Mapping):
        fields: dict[str, Any] = dict(result)
    elif hasattr(result, "__dataclass_fields__"):
        fields = {k: getattr(result, k) for k in result.__dataclass_fields__}
    else:
        return TickReport()

    def count(value: object) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    errors = fields.get("errors")
    reasons = ({str(k): str(v) for k, v in errors.items()} if isinstance(errors, Mapping)
               else {str(i): str(e) for i, e in enumerate(errors)}
               if isinstance(errors, list | tuple) else {})
    return TickReport(
        done=sum(count(v) for k, v in fields.items() if k not in ("skipped", "failed")),
        skipped=count(fields.get("skipped")), failed=count(fields.get("failed")),
        reasons=reasons)


def _observed(name: str, method: Callable[[], Any]) -> Callable[[], TickReport]:
    """``method`` run as the worker's tick ``name``: one span, metric and summary line a run."""

    @functools.wraps(method)
    def tick() -> TickReport:
        started = time.monotonic()
        try:
            with observe.operation("worker", f"tick.{name}", quiet=True) as op:
                result = as_tick_report(method())
                op.counts_from(observe.counts_of(result))
        except BaseException as exc:
            log_tick(worker_log, summarize(name, None, time.monotonic() - started, exc))
            raise
        log_tick(worker_log, summarize(name, result, time.monotonic() - started))
        return result

    return tick


def build_scheduler(
    app: TickHost,
    *,
    blocking: bool = False,
    intervals: Mapping[str, float] | None = None,
    only: Sequence[str] = (),
    last: dict[str, Any] | None = None,
) -> BaseScheduler:
    """A scheduler with one interval job per available tick; not started.

    Each job runs at most one instance at a time and coalesces missed runs,
    and the first run is due at once. A run due while the tick's previous
    run is still going is skipped and logged (``aftersales.worker``,
    ``event`` = ``tick_skipped``), never started beside it.

    Args:
        app: the app whose areas the ticks call.
        blocking: a :class:`BlockingScheduler` (the worker) instead of a
            :class:`BackgroundScheduler` (a backend embedding it).
        intervals: seconds per tick name; 0 leaves a tick out.
        only: run only these ticks.
        last: when given, each tick's latest result is kept here by name (a
            tick that raised as ``"error: "`` and its masked text, as
            :func:`run_once` reports it) and a failing tick does not raise
            into APScheduler, whose executor would log its traceback: its
            one summary line has said what failed.
    """
    check_shared_database(app)
    seconds = resolve_intervals(intervals, app.settings.interval)
    scheduler: BaseScheduler = (BlockingScheduler if blocking else BackgroundScheduler)(
        timezone=UTC
    )
    now = datetime.now(UTC)
    for name, fn in ticks_for(app, only).items():
        if seconds[name] <= 0:
            continue
        job = fn if last is None else _kept(name, fn, last)
        scheduler.add_job(job, "interval", seconds=seconds[name], id=name, name=name,
                          max_instances=1, coalesce=True, next_run_time=now,
                          misfire_grace_time=None)
    scheduler.add_listener(_report_overrun, EVENT_JOB_MAX_INSTANCES)
    return scheduler


def check_shared_database(app: TickHost) -> None:
    """Refuse to schedule ticks on a database their threads cannot share.

    The scheduler runs each tick on a thread of its pool, and each thread
    gets its own connection: an in-memory SQLite database is private to
    one, so every tick met an empty database ("no such table") for as long
    as the worker ran. ``--once`` runs in the calling thread and is not
    refused.

    Raises:
        ConfigurationError: the app's store is an in-memory SQLite database.
    """
    store = getattr(app, "store", None)
    if getattr(store, "in_memory", False):
        raise ConfigurationError(
            "the worker's ticks run on threads of their own, and an in-memory SQLite "
            "database is private to one connection: give a database file "
            "(sqlite:///aftersales.db), or run --once")


def _kept(name: str, fn: Callable[[], TickReport], last: dict[str, Any]) -> Callable[[], Any]:
    """``fn`` whose latest result (or masked error) is kept in ``last[name]``; never raises."""

    @functools.wraps(fn)
    def tick() -> Any:
        try:
            last[name] = fn()
        except Exception as exc:  # logged by _observed; the next run may succeed
            last[name] = f"error: {tick_error(exc)}"
        return last[name]

    return tick


def _report_overrun(event: JobSubmissionEvent) -> None:
    """A run skipped because the tick's previous run is still going, in the worker's words."""
    worker_log.warning("tick.%s skipped: its previous run is still running", event.job_id,
                       extra={"event": "tick_skipped", "tick": event.job_id})


def run_once(app: TickHost, only: Sequence[str] = (),
             stop: threading.Event | None = None,
             intervals: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Run each available tick once, in order; returns each tick's result.

    A tick that raises is reported as the error's type and masked text (no
    buyer e-mail, phone or secret) and the others still run. With
    ``intervals`` (seconds per tick name), a tick whose interval is 0 is
    turned off and left out, as the running worker leaves it out.
    """
    results: dict[str, Any] = {}
    for name, fn in ticks_for(app, only).items():
        if intervals is not None and intervals.get(name, 1) <= 0:
            continue
        if stop is not None and stop.is_set():
            # A stopped run is not a clean one: the ticks left out are failures.
            results[name] = "error: not run: the worker was stopped"
            continue
        try:
            results[name] = fn()
        except Exception as exc:  # one area's failure must not stop the others
            results[name] = f"error: {tick_error(exc)}"  # masked: it is printed
    return results


def run_worker(
    app: TickHost,
    *,
    once: bool = False,
    intervals: Mapping[str, float] | None = None,
    only: Sequence[str] = (),
    received: list[int] | None = None,
    ready: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run the worker in this thread until SIGTERM/SIGINT, or once with ``once``.

    On SIGTERM the follow-up tick finishes the row in hand and releases the
    rest of its claimed batch; running ticks are waited for before return.
    Returns each tick's result (:func:`run_once`'s); run until stopped, each
    tick's latest one, so a worker stopped while a tick was failing (the
    database gone) says so (:func:`failures`).
    A second signal ends the process at once (status 128 + the signal),
    abandoning the running ticks to their leases' expiry; the same signal
    again within :data:`REPEAT_WINDOW` seconds counts as the first. Signal
    handlers are installed only on the main thread (Python allows nothing else);
    elsewhere, stop it with ``app.followups.request_stop()`` and the
    scheduler's ``shutdown()``.

    A signal that lands after the handlers are in but before the scheduler
    runs is kept: the scheduler is shut down as it starts, before any tick
    (a shutdown from the handler would have met a scheduler not yet running,
    and the signal would have been lost).

    Args:
        received: each signal that stopped the worker is appended here.
        ready: called once the signal handlers are in, before the scheduler
            starts or the single run begins (a readiness notice to a
            supervisor; the tests send their signal into this window).
    """
    stop = threading.Event()
    last: dict[str, Any] = {}
    scheduler = None if once else build_scheduler(app, blocking=True, intervals=intervals,
                                                  only=only, last=last)
    stopper: list[threading.Thread] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        """Stop after the row in hand; shut the scheduler down from another thread.

        A second signal abandons the running ticks: a tick hung on a call
        would otherwise keep the worker until SIGKILL. The process ends at
        once (128 + the signal), as a kill would; what the ticks held under
        lease is taken again when the leases expire. The same signal again
        within :data:`REPEAT_WINDOW` is the first one delivered twice
        (``timeout`` sends it to the process and to its process group), not
        a second request.
        """
        if stop.is_set():
            if signum == signals[0] and time.monotonic() - first_at[0] < REPEAT_WINDOW:
                return  # the same stop delivered twice (`timeout` signals process and group)
            worker_log.warning("worker: second %s: abandoning the running ticks; their "
                               "leases expire", signal.Signals(signum).name)
            os._exit(128 + signum)
        stop.set()
        first_at.append(time.monotonic())
        signals.append(signum)
        if received is not None:
            received.append(signum)
        followups = app.__dict__.get("followups")  # only if the area was started
        if followups is not None:
            followups.request_stop()
        # Not running yet: the stop is only the flag, which started() acts on.
        if scheduler is not None and scheduler.running and not stopper:
            # shutdown(wait=True) waits for running ticks: not from inside a handler.
            thread = threading.Thread(target=_shut_down, args=(scheduler, signum),
                                      name="aftersales-worker-stop")
            stopper.append(thread)
            thread.start()

    def started(_event: SchedulerEvent) -> None:
        """Shut down a scheduler a signal stopped before it ran: no tick has started.

        Called inside ``scheduler.start()``, in this thread, once the
        scheduler is running and before it looks for due jobs; the handler
        runs in this thread too, so the two never interleave.
        """
        if stop.is_set() and not stopper and scheduler is not None:
            worker_log.info("worker: %s received before the first tick; stopping",
                            signal.Signals(signals[0]).name)
            scheduler.shutdown(wait=False)

    signals: list[int] = []
    first_at: list[float] = []
    if scheduler is not None:
        scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():  # handlers live there only
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if ready is not None:
            ready()
        if once:
            return run_once(app, only, stop, resolve_intervals(intervals, app.settings.interval))
        assert scheduler is not None
        scheduler.start()
        for thread in stopper:
            thread.join()
        worker_log.info("worker stopped")
        return dict(last)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _shut_down(scheduler: BaseScheduler, signum: int) -> None:
    # Logging here, not in the signal handler, which may interrupt a log call.
    worker_log.info("worker: %s received; waiting for running ticks",
                    signal.Signals(signum).name)
    scheduler.shutdown(wait=True)


def _parse_interval(values: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for value in values:
        name, sep, seconds = value.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=SECONDS, got {value!r}",
                                     param_hint="--interval")
        name = name.strip()
        if name not in DEFAULT_INTERVALS:
            raise click.BadParameter(f"unknown tick {name!r}; ticks: "
                                     f"{', '.join(DEFAULT_INTERVALS)}", param_hint="--interval")
        try:
            out[name] = float(seconds)
        except ValueError:
            raise click.BadParameter(f"{seconds!r} is not a number of seconds",
                                     param_hint="--interval") from None
        if not math.isfinite(out[name]) or out[name] < 0:
            raise click.BadParameter(f"{name!r}: {seconds.strip()!r} is not 0 or a positive "
                                     "number of seconds", param_hint="--interval")
        if out[name] > MAX_INTERVAL:
            raise click.BadParameter(f"{name!r}: {seconds.strip()!r} is over a year; "
                                     f"intervals are at most {MAX_INTERVAL} seconds",
                                     param_hint="--interval")
    return out


def failures(results: Mapping[str, Any]) -> dict[str, str]:
    """The ticks of a :func:`run_once` that failed, with what failed.

    A tick failed when it raised, or when its :class:`~aftersales.ticks.TickReport`
    counts failed items or gives reasons (a retryable failure left for the
    next tick has a reason too).
    """
    out: dict[str, str] = {}
    for name, result in results.items():
        if isinstance(result, str) and result.startswith("error: "):
            out[name] = result[len("error: "):]
            continue
        if not isinstance(result, TickReport) or result.ok:
            continue
        reasons = [f"{k}: {v}" for k, v in result.reasons.items()]
        text = "; ".join(reasons[:5]) + (f" and {len(reasons) - 5} more"
                                         if len(reasons) > 5 else "")
        out[name] = text or f"{result.failed} failed"
    return out


@click.command("worker")
@click.option("--once", is_flag=True,
              help="Run every tick once and exit (for cron): status 1 if any tick failed.")
@click.option("--interval", "interval", multiple=True, metavar="NAME=SECONDS",
              help="Override a tick's interval; 0 turns it off. Repeatable.")
@click.option("--only", multiple=True, type=click.Choice([t.name for t in TICKS]),
              help="Run only these ticks. Repeatable.")
@click.option("--log-level", type=click.Choice(LEVELS, case_sensitive=False),
              default="INFO", show_default=True,
              help="Log lines at this level and above go to stderr, masked.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Plain text, or one JSON object a line.  [default: json with --json, "
                   "else text]")
@click.pass_context
def worker_command(ctx: click.Context, once: bool, interval: Sequence[str],
                   only: Sequence[str], log_level: str, log_format: str | None) -> None:
    """Run follow-up dispatch, tracking refresh, review and marketplace sync, SLA timers.

    SIGTERM (or Ctrl-C) lets the ticks running finish, prints each tick's
    latest result and exits: status 1 when a tick's latest run failed (the
    database was gone when the worker stopped), else 0; a failing tick is
    one summary line a run, never a traceback, and runs again at its next
    interval. With ``--once``, each tick not turned off (interval 0) runs
    once: exit status 0 when every tick succeeded and 1 when any failed
    (each failure is printed); a bad interval or setting, or every tick
    asked for turned off, is status 2; stopped by a signal, 128 + its number
    (143 for SIGTERM, 130 for Ctrl-C), the ticks not run named as failed.
    A second signal abandons the running ticks (a hung call) and exits at
    once with 128 + its number; the same signal repeated within a second is
    the first one delivered twice (``timeout`` does so), not a second.
    """
    intervals = _parse_interval(interval)
    resolve_intervals(intervals)  # bad names and values are refused before any work
    as_json = bool(getattr(ctx.obj, "as_json", False))
    # The app (its database opened and migrated) before the log handler: a
    # database that cannot be reached is then the one error line, not the
    # migration's INFO lines and then the error.
    app = getattr(ctx.obj, "app", None)
    if app is None:
        # The facade is the caller's to build (``aftersales worker`` does):
        # this module must not import it, since the facade builds schedulers.
        raise click.UsageError("no app to run: use `aftersales worker`")
    root, level_before = logging.getLogger(), logging.getLogger().level
    # With --json every line on stderr is JSON too: the log lines by default.
    handler = configure_logging(log_level, log_format or ("json" if as_json else "text"))

    def restore() -> None:  # a process embedding the command gets its logging back
        root.removeHandler(handler)
        root.setLevel(level_before)

    ctx.call_on_close(restore)
    if not once:
        check_shared_database(app)
    seconds = resolve_intervals(intervals, app.settings.interval)
    available = [name for name in ticks_for(app, only) if seconds[name] > 0]
    if not available and ticks_for(app, only):
        # Idle until stopped (or, once, a run that did nothing) would look like a worker.
        raise click.BadParameter("every tick asked for is turned off (interval 0)",
                                 param_hint="--interval / [interval]")
    started = f"worker {'once' if once else 'started'}: ticks {', '.join(available) or 'none'}"
    if as_json:
        worker_log.info(started)
    else:
        click.echo(started, err=True)
    received: list[int] = []
    results = run_worker(app, once=once, intervals=intervals, only=only, received=received)
    failed = failures(results)
    if as_json:
        click.echo(json.dumps({"ticks": {n: _summary(r) for n, r in results.items()},
                               "failed": failed}, ensure_ascii=False, indent=2))
    else:
        for name, result in results.items():
            click.echo(f"{name}: {_summary(result)}")
        if failed:
            click.echo(f"{len(failed)} of {len(results)} ticks failed: {', '.join(failed)}",
                       err=True)
    if once and received:
        # Cron must not read a run cut short as a clean one, even when every
        # tick that ran succeeded.
        signum = received[0]
        stopped = f"worker once: stopped by {signal.Signals(signum).name}"
        click.echo(json.dumps({"error": stopped, "type": "Stopped", "exit_code": 128 + signum})
                   if as_json else stopped, err=True)
        ctx.exit(128 + signum)
    if failed:
        ctx.exit(1)


def _summary(result: Any) -> str:
    if hasattr(result, "__dataclass_fields__"):
        parts = []
        for key in result.__dataclass_fields__:
            value = getattr(result, key)
            if isinstance(value, int) and not isinstance(value, bool) and value:
                parts.append(f"{key}={value}")
            elif isinstance(value, Mapping) and value:
                total = sum(_count(v) for v in value.values())
                parts.append(f"{key}={total}" if key != "reasons" else f"reasons={len(value)}")
        return ", ".join(parts) or "nothing due"
    return str(result)


def _count(value: Any) -> int:
    """Items a value counts: an int is a count; a text (an error by name) is one item."""
    if isinstance(value, Mapping):
        return sum(_count(v) for v in value.values())
    if isinstance(value, str):
        return 1
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
