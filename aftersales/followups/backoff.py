"""The retry schedule of a follow-up whose send failed for a passing reason.

A transient failure (a timeout, a 5xx, an SMTP 4xx) puts the follow-up back
in the pool for a later attempt; the wait grows geometrically up to a cap,
and after ``max_attempts`` sends the follow-up ends ``failed`` with the
reason. A small jitter, derived from the follow-up's key rather than from a
random source, spreads retries of a burst of failures over time while keeping
every schedule reproducible in tests.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RetryPolicy"]


class RetryPolicy(BaseModel):
    """How often and how late a failed send is tried again.

    Attributes:
        max_attempts: sends in all, the first one included; after the last
            failed one the follow-up ends ``failed``.
        initial: the wait after the first failure.
        factor: how much each further wait grows.
        max_delay: no wait is longer than this.
        jitter: the fraction (0 to 1) by which a wait may be shortened,
            chosen from the key so the same follow-up always waits the same.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=5, ge=1, le=100)
    initial: timedelta = timedelta(minutes=1)
    factor: float = Field(default=2.0, ge=1.0, le=100.0)
    max_delay: timedelta = timedelta(hours=6)
    jitter: float = Field(default=0.1, ge=0.0, lt=1.0)

    def delay(self, attempt: int, key: str = "") -> timedelta:
        """The wait after failed send number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        base = self.initial.total_seconds() * self.factor ** min(attempt - 1, 64)
        seconds = min(base, self.max_delay.total_seconds())
        if self.jitter and key:
            digest = hashlib.sha256(f"{key}:{attempt}".encode()).digest()
            fraction = int.from_bytes(digest[:4], "big") / 2**32
            seconds *= 1.0 - self.jitter * fraction
        return timedelta(seconds=round(seconds, 3))

    def exhausted(self, attempts: int) -> bool:
        """True when ``attempts`` sends have been made and no more are allowed."""
        return attempts >= self.max_attempts

    def next_attempt(self, now: datetime, attempts: int, key: str = "") -> datetime | None:
        """When to try again after ``attempts`` failed sends, or ``None`` to give up."""
        if self.exhausted(attempts):
            return None
        return now + self.delay(attempts, key)

    def schedule(self, key: str = "") -> list[timedelta]:
        """Every wait between attempts, in order (``max_attempts - 1`` of them)."""
        return [self.delay(n, key) for n in range(1, self.max_attempts)]
