"""One summary line per worker tick: done, skipped, failed and the duration.

Each area's tick returns its own report (a dispatch report, a refresh
report, a sync report …). A log reader, a dashboard or an alert rule wants
the same three numbers from every tick, so :func:`summarize` reads them out
of any report through one small table, and :func:`log_tick` writes the one
line a tick gets: as text, ``tick.followups ok done=3 skipped=1 failed=0 in
12 ms (claimed=4 sent=3 …)``; with ``--log-format json`` the same facts as
fields of the JSON object (``event``, ``tick``, ``outcome``, ``done``,
``skipped``, ``failed``, ``duration_ms``, ``counts``, and ``error`` when the
tick raised).

What counts as what, per tick:

============== ============================== ============================ ===================
tick           done                           skipped                      failed
============== ============================== ============================ ===================
followups      sent                           skipped, cancelled,          failed, retried
                                              deferred, released
tracking       checked                        not found yet, not a         no answer from any
                                              tracking number (due again)  provider, malformed
reviews        reviews with a new version     (none)                       (raises instead)
sync           changed items, every stream    (none)                       streams that failed
return_timers  alerts, reminders, actions     (none)                       failed
refunds        settled                        pending (left for later)     failed
cases          deadlines checked, triggers    skipped                      failed (catch-up)
               caught up (replayed)
============== ============================== ============================ ===================

For the ticks in this table the area's own counts decide; any other
report that has ``done``, ``skipped`` and ``failed`` of its own (a
:class:`~aftersales.ticks.TickReport`, as the sync tick's is) is read as it is.
``outcome`` is ``ok``, ``failed`` (the tick ran but some items failed;
their reasons, item by item, are in ``error``, one line of at most 500
characters) or ``error`` (the tick raised; its masked text is in ``error``). A report
whose ``stopped`` says why the tick stopped early (the follow-ups' channel
failed as a whole: no item failed, the queue was kept) is ``failed``,
with at least one failure and that one line in ``error``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aftersales.observe import counts_of, error_text

__all__ = ["TICK_KINDS", "TickSummary", "log_tick", "summarize", "tick_error"]

#: Per tick: the count kinds that are done, skipped and failed.
TICK_KINDS: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    "followups": (frozenset({"sent"}),
                  frozenset({"skipped", "cancelled", "deferred", "released"}),
                  frozenset({"failed", "retried"})),
    # as ``logistics refresh`` counts (RefreshReport.tally): a number the provider
    # has no scans for yet is skipped, not failed
    "tracking": (frozenset({"checked"}), frozenset({"skipped"}), frozenset({"failed"})),
    "return_timers": (frozenset({"alerts", "reminders", "actions"}), frozenset(),
                      frozenset({"failed"})),
    "refunds": (frozenset({"settled"}), frozenset({"pending"}), frozenset({"failed"})),
    "cases": (frozenset({"checked", "replayed"}), frozenset({"skipped"}),
              frozenset({"failed"})),
}


@dataclass(frozen=True)
class TickSummary:
    """What one tick did, in the three numbers every tick shares, with its own counts."""

    tick: str
    outcome: str
    done: int = 0
    skipped: int = 0
    failed: int = 0
    duration_ms: int = 0
    counts: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None

    def fields(self) -> dict[str, Any]:
        """The summary as log-record fields (``extra=``), ``event`` = ``tick``."""
        out: dict[str, Any] = {"event": "tick", "tick": self.tick, "outcome": self.outcome,
                               "done": self.done, "skipped": self.skipped,
                               "failed": self.failed, "duration_ms": self.duration_ms,
                               "counts": dict(self.counts)}
        if self.error is not None:
            out["error"] = self.error
        return out

    def line(self) -> str:
        """The summary as one line of text."""
        detail = " ".join(f"{k}={v}" for k, v in self.counts.items())
        text = (f"tick.{self.tick} {self.outcome} done={self.done} skipped={self.skipped} "
                f"failed={self.failed} in {self.duration_ms} ms")
        if detail:
            text += f" ({detail})"
        if self.error is not None:
            text += f": {self.error}"
        return text


def tick_error(exc: BaseException) -> str:
    """A tick's error as one masked line: a driver's text spans several (SQL, a hint)."""
    return " ".join(error_text(exc).split())


def summarize(tick: str, result: Any, seconds: float,
              exc: BaseException | None = None) -> TickSummary:
    """The summary of tick ``tick`` that returned ``result`` (or raised ``exc``)."""
    duration = round(seconds * 1000)
    if exc is not None:
        return TickSummary(tick, "error", duration_ms=duration, error=tick_error(exc))
    counts = dict(counts_of(result))
    own = [getattr(result, k, None) for k in ("done", "skipped", "failed")]
    if tick in TICK_KINDS:  # the table first: its kinds are the area's own counts
        kinds = TICK_KINDS[tick]
        done, skipped, failed = (sum(counts.get(k, 0) for k in group) for group in kinds)
    elif all(v is not None for v in own):  # a TickReport (the sync tick's too): as it says
        done, skipped, failed = (_how_many(v) for v in own)
    elif tick == "sync":
        failed = counts.get("errors", 0)
        done = sum(n for k, n in counts.items() if k != "errors")
        skipped = 0
    else:  # reviews ({store: changed}), or a tick this table does not know yet
        failed = counts.get("failed", 0) + counts.get("errors", 0)
        skipped = counts.get("skipped", 0)
        done = sum(n for k, n in counts.items() if k not in ("failed", "errors", "skipped"))
    stopped = getattr(result, "stopped", None)
    if isinstance(stopped, str) and stopped:
        return TickSummary(tick, "failed", done, skipped, max(failed, 1), duration, counts,
                           error=" ".join(stopped.split())[:500])
    if not failed:
        return TickSummary(tick, "ok", done, skipped, failed, duration, counts)
    return TickSummary(tick, "failed", done, skipped, failed, duration, counts,
                       error=_reasons(result))


def _reasons(result: Any) -> str | None:
    """A failed report's ``reasons`` (item: why) as one line of at most 500 characters."""
    reasons = getattr(result, "reasons", None)
    if not isinstance(reasons, Mapping) or not reasons:
        return None
    text = "; ".join(f"{k}: {v}" for k, v in reasons.items())
    return " ".join(text.split())[:500]


def log_tick(log: logging.Logger, summary: TickSummary) -> None:
    """Write the tick's one line: INFO when it went well, WARNING otherwise."""
    level = logging.INFO if summary.outcome == "ok" else logging.WARNING
    log.log(level, "%s", summary.line(), extra=summary.fields())


def _how_many(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return len(value)  # reasons, as a list or a map
    except TypeError:
        return 0
