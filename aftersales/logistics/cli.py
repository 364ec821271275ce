"""The ``aftersales track`` and ``aftersales logistics …`` commands."""

from __future__ import annotations

from typing import Any

import click

from aftersales.cli_support import (
    CliState,
    clean_text,
    finish,
    output,
    pass_app,
    pass_state,
    steps,
    table,
)
from aftersales.logistics.detect import checked_number, match_formats
from aftersales.models import Tracking

__all__ = ["group", "top_level_commands", "track"]


def _timeline(tracking: Tracking) -> Any:
    from rich.console import Group as RichGroup
    from rich.text import Text

    head = Text.assemble(
        (clean_text(tracking.number), "bold"),
        f"  {tracking.carrier or 'unknown carrier'}  ",
        (tracking.status.value, "bold green" if tracking.status.value == "delivered" else "bold"),
        f" ({tracking.issue.value})" if tracking.issue else "",
        f"  via {tracking.provider}" if tracking.provider else "",
    )
    rows = [
        (("~" if e.time_inferred else "") + e.time.isoformat(timespec="minutes"),
         e.status.value, e.location or "", e.description)
        for e in reversed(tracking.events)
    ]
    title = "events, newest first" + (
        " (~: time zone inferred from the place)" if any(e.time_inferred
                                                        for e in tracking.events) else "")
    events = table(title, ["time", "status", "location", "description"], rows)
    return RichGroup(head, events)


@click.command("track")
@click.argument("number")
@click.option("--carrier", default=None, help="Carrier code (sf, yto, ups, …) when known.")
@click.option("--fresh", is_flag=True, help="Ask the providers even if the stored copy is fresh.")
@pass_app
@pass_state
def track(state: CliState, app: Any, number: str, carrier: str | None, fresh: bool) -> None:
    """Print a parcel's timeline (providers from AFTERSALES_CARRIERS)."""
    tracking = app.logistics.track(number, carrier, fresh=fresh)
    output(state, tracking.model_dump(mode="json"), lambda: _timeline(tracking))


@click.group("logistics")
def group() -> None:
    """Tracking look-ups, refreshes and anomalies."""


@group.command("refresh")
@pass_app
@pass_state
def refresh(state: CliState, app: Any) -> None:
    """Look up every open parcel not checked within the TTL.

    The job succeeded (exit status 0) when every parcel it asked about got
    an answer: a provider whose calls failed is then a warning, its parcels
    answered by a later provider. It failed (exit status 1) when some number
    got no answer from any provider (its calls failed, or it was refused
    after an earlier provider failed on it; the parcels stay due) or an
    answer held a malformed item (named under ``malformed``, or the number's
    reason under ``reasons``). ``outcome`` says which.
    """
    with steps(state, "tracking", every=1.0, unit=" parcels settled") as progress:

        def tick(settled: int, total: int) -> None:
            progress.total = total
            progress.advance(settled)

        report = app.logistics.refresh(progress=tick)
    outcome = ("failed" if report.failed
               else "succeeded with warnings" if report.failed_calls else "succeeded")
    data = {
        "outcome": outcome,
        "due": report.due,
        "checked": report.checked,
        "changed": report.changed,
        "calls": dict(report.calls),
        "failed_calls": dict(report.failed_calls),
        "fallbacks": report.fallbacks,
        "unresolved": report.unresolved,
        "failed": report.failed,
        "reasons": report.reasons,
        "malformed": report.malformed,
        "warnings": report.warnings,
    }
    calls = ", ".join(f"{k}: {v}" for k, v in report.calls.items()) or "none"
    unanswered = len(report.errors)
    output(state, data, lambda: (
        f"{outcome}"
        + (f": {unanswered} tracking numbers got no answer from any provider"
           if unanswered else "")
        + f"; {report.checked} of {report.due} due parcels checked, {report.changed} changed; "
        f"provider calls {calls}; {len(report.unresolved)} unresolved"
        + "".join(f"; warning: {line}" if not report.failed else f"; {line}"
                  for line in report.warnings)
        + _malformed(list(report.malformed.values()))
    ))
    finish(report.failed)


def _malformed(texts: list[str], shown: int = 3) -> str:
    """The first malformed answer items, one line each, and how many more there were."""
    if not texts:
        return ""
    more = f"; and {len(texts) - shown} more malformed" if len(texts) > shown else ""
    return f"; {len(texts)} malformed answer items: " + "; ".join(texts[:shown]) + more


@group.command("anomalies")
@pass_app
@pass_state
def anomalies(state: CliState, app: Any) -> None:
    """List stuck parcels, exceptions, failed attempts and returns to sender."""
    found = app.logistics.anomalies()
    data = [
        {
            "tracking_number": a.tracking_number,
            "carrier": a.carrier,
            "kind": a.kind.value,
            "status": a.status.value,
            "issue": a.issue.value if a.issue else None,
            "since": a.since.isoformat() if a.since else None,
            "direction": a.direction,
            "rma_id": a.rma_id,
        }
        for a in found
    ]
    rows = [(d["tracking_number"], d["carrier"], d["kind"], d["status"], d["issue"], d["since"],
             d["direction"]) for d in data]
    output(state, data, lambda: table(
        f"{len(found)} parcels need attention",
        ["number", "carrier", "kind", "status", "issue", "since", "direction"], rows,
    ))


@group.command("detect")
@click.argument("number")
@pass_state
def detect(state: CliState, number: str) -> None:
    """Which carriers a number may belong to, from its format alone (no network).

    Exit status 2 when NUMBER is not letters and digits (64 at most once
    spacing, dashes, case and full-width forms are folded).
    """
    normal = checked_number(number)
    hits = match_formats(normal)
    data = {
        "number": normal,
        "carriers": list(dict.fromkeys(c for h in hits for c in h.carriers)),
        "formats": [{"id": h.format_id, "name": h.name, "check_digit": h.check_digit}
                    for h in hits],
    }
    rows = [(", ".join(h.carriers), h.name, "yes" if h.check_digit else "no") for h in hits]
    output(state, data, lambda: table(
        f"{data['number']}: most likely first", ["carriers", "format", "check digit"], rows
    ))


#: Commands the top-level ``aftersales`` group adds beside ``logistics``.
top_level_commands = [track]
