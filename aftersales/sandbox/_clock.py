"""The sandbox's simulated clock and its seeded random streams.

Nothing in the sandbox reads the wall clock or the global ``random`` state:
every value comes from a :class:`random.Random` seeded by the sandbox seed and
the item it describes, and every time from a :class:`SandboxClock`, so the
same seed and the same sequence of calls give the same data on any machine.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

__all__ = ["DEFAULT_START", "SandboxClock", "rng"]

#: Where every sandbox clock starts unless told otherwise (a Monday, UTC).
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)


def rng(*parts: object) -> random.Random:
    """A random stream fixed by ``parts`` (the seed, a kind, an index).

    Seeding with a string hashes it with SHA-512, so the stream is the same
    in every process whatever ``PYTHONHASHSEED`` says.
    """
    return random.Random(":".join(str(p) for p in parts))  # noqa: S311 - simulation, not crypto


class SandboxClock:
    """Simulated time shared by a sandbox marketplace and carrier.

    ``start`` is fixed (``DEFAULT_START`` unless given) and ``now`` moves only
    when :meth:`advance` or :meth:`tick` is called, so tests decide when
    parcels get delivered and buyers act. Share one clock between a
    :class:`~aftersales.sandbox.SandboxMarketplace` and a
    :class:`~aftersales.sandbox.SandboxCarrier` so both see the same moment.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or DEFAULT_START
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("the sandbox start must be timezone-aware")
        self.start: datetime = start.astimezone(UTC)
        self.now: datetime = self.start

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        """Move ``now`` forward and return it; moving backwards is refused."""
        step = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if step < timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        self.now = self.now + step
        return self.now

    def tick(self) -> datetime:
        """Advance one second and return the new ``now``.

        Every action on the sandbox takes one simulated second, so its
        ``updated_at`` is later than anything a listing has shown before and
        a cursor taken before the action never skips it.
        """
        return self.advance(seconds=1)

    def __repr__(self) -> str:
        return f"SandboxClock(start={self.start.isoformat()}, now={self.now.isoformat()})"
