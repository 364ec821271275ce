"""The ``aftersales outbox`` commands: list, ack, tail.

::

    aftersales outbox list --topic message --store tmall-flagship --limit 50
    aftersales outbox ack 101 102 103
    aftersales outbox tail --topic event            # JSON lines, each acked once printed
    aftersales outbox tail --follow --lease 120     # keep waiting for new rows

``tail`` claims rows under a lease, so several ``tail`` processes share one
outbox and each row is printed by one of them.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from datetime import timedelta
from types import FrameType
from typing import Any

import click

from aftersales.cli_support import CliState, fail, json_text, output, pass_state, table
from aftersales.outbox import MOST, MOST_LEASE, TOPICS

__all__ = ["group"]

_topic = click.option("--topic", type=click.Choice(TOPICS), default=None,
                      help="message (to buyers), alert (to the shop) or event; default all.")
_store = click.option("--store", default=None, help="Only this store's rows.")


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """Refuse ``nan`` (a range check lets it through: every comparison with it is false)."""
    if not math.isfinite(value):
        raise click.BadParameter("must be a finite number of seconds", ctx, param)
    return value


@click.group("outbox")
def group() -> None:
    """Buyer messages, shop alerts and domain events waiting to be delivered."""


@group.command("list")
@_topic
@_store
@click.option("--limit", type=click.IntRange(min=1, max=MOST), default=50, show_default=True)
@click.option("--after", type=click.IntRange(min=0, max=MOST), default=0,
              help="Only ids above this.")
@pass_state
def list_command(state: CliState, topic: str | None, store: str | None, limit: int,
                 after: int) -> None:
    """List rows not yet delivered, oldest first."""
    entries = state.app.outbox.pending(topic=topic, store=store, limit=limit, after=after)
    output(state, [e.to_dict() for e in entries], lambda: table(
        "pending", ["id", "topic", "event", "aggregate", "store", "created"],
        [(e.id, e.topic, e.event_type, f"{e.aggregate_type}:{e.aggregate_id}", e.store or "",
          e.created_at.isoformat()) for e in entries]))


@group.command("ack")
@click.argument("ids", nargs=-1, required=True, type=click.IntRange(min=1, max=MOST))
@pass_state
def ack_command(state: CliState, ids: tuple[int, ...]) -> None:
    """Mark rows delivered (again is fine); an id no row has: exit 2, nothing acked."""
    outbox = state.app.outbox
    unknown = outbox.unknown(ids)
    if unknown:
        fail(f"outbox ack: no row with id {', '.join(map(str, unknown))}; nothing acked", 2)
    done = outbox.ack(ids)
    requested = len(set(ids))
    already = requested - done
    output(state, {"acked": done, "requested": requested, "already_delivered": already},
           lambda: f"acked {done} of {requested}"
                   + (f" ({already} already delivered)" if already else ""))


@group.command("tail")
@_topic
@_store
@click.option("--batch", type=click.IntRange(min=1, max=MOST), default=100, show_default=True)
@click.option("--lease", type=click.FloatRange(min=1, max=MOST_LEASE.total_seconds()),
              default=60.0, show_default=True, callback=_finite,
              help="Seconds a claimed batch is held (at most 7 days).")
@click.option("--follow", is_flag=True, help="Wait for new rows instead of ending.")
@click.option("--poll", type=click.FloatRange(min=0.05, max=3600), default=1.0,
              show_default=True, callback=_finite,
              help="Seconds between claims when following an empty outbox.")
@pass_state
def tail_command(state: CliState, topic: str | None, store: str | None, batch: int,
                 lease: float, follow: bool, poll: float) -> None:
    """Print rows as JSON lines, claiming them under a lease; each is acked once printed.

    SIGTERM or Ctrl-C ends after the row in hand; the rest of its batch goes
    back. Without ``--follow`` a run cut short so is not a drained outbox:
    exit status 128 + the signal's number (143 for SIGTERM, 130 for Ctrl-C).
    With standard output closed nothing is claimed (exit status 2): each
    print would go nowhere without an error, and every row would be acked.
    """
    if sys.stdout is None:  # what Python leaves when the process started with fd 1 closed
        fail("outbox tail: standard output is closed, so no row could be printed; "
             "nothing was claimed", 2)
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for entry in state.app.outbox.stream(topic=topic, store=store, batch=batch,
                                             lease=timedelta(seconds=lease), follow=follow,
                                             poll=poll, stop=stop.is_set, sleep=stop.wait):
            click.echo(json_text(entry.to_dict()))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received and not follow:  # --follow only ever ends by a signal: that is its stop
        fail(f"outbox tail: stopped by {signal.Signals(received[0]).name} before the outbox "
             "was drained", 128 + received[0])
