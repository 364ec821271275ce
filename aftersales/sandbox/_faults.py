"""Deterministic fault injection for the sandbox's calls.

``Faults(rate_limit=0.1, timeout=0.05, server_error=0.05, seed=1)`` makes
about one call in ten raise :class:`~aftersales.errors.RateLimitError`, one in
twenty a timeout and one in twenty an HTTP 503, always the same calls for the
same seed, so retry and fallback paths can be tested and benchmarked.
``lost_reply`` makes a write happen and then fail as if the reply timed out,
which is what idempotency keys exist for.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from aftersales.errors import RateLimitError, TransientError

__all__ = ["FaultInjector", "Faults"]


@dataclass(frozen=True)
class Faults:
    """How often sandbox calls fail, and how.

    Attributes:
        rate_limit: share of calls refused with ``RateLimitError``.
        timeout: share of calls failing with a timeout ``TransientError`` (no status).
        server_error: share of calls failing with a ``TransientError`` of status 503.
        lost_reply: share of writes that take effect but then time out.
        retry_after: seconds the rate-limit errors ask the caller to wait.
        seed: seeds the fault stream (the same seed fails the same calls).
    """

    rate_limit: float = 0.0
    timeout: float = 0.0
    server_error: float = 0.0
    lost_reply: float = 0.0
    retry_after: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        rates = (self.rate_limit, self.timeout, self.server_error, self.lost_reply)
        if any(r < 0 or r > 1 for r in rates):
            raise ValueError("fault rates must be between 0 and 1")
        if self.rate_limit + self.timeout + self.server_error > 1:
            raise ValueError("rate_limit + timeout + server_error must not exceed 1")


class FaultInjector:
    """Draws, call by call, whether a fault strikes; counts what it injected."""

    def __init__(self, faults: Faults | None, adapter: str) -> None:
        self.faults = faults
        self.adapter = adapter
        self._rng = random.Random(faults.seed if faults else 0)  # noqa: S311 - simulation
        #: how many faults of each kind were raised ("rate_limit", "timeout", ...).
        self.injected: Counter[str] = Counter()

    def before(self, operation: str) -> None:
        """Maybe fail ``operation`` before it has any effect."""
        f = self.faults
        if f is None:
            return
        x = self._rng.random()
        if x < f.rate_limit:
            self.injected["rate_limit"] += 1
            raise RateLimitError(
                f"sandbox throttled {operation}",
                retry_after=f.retry_after,
                adapter=self.adapter,
                status=429,
                code="rate_limited",
            )
        x -= f.rate_limit
        if x < f.timeout:
            self.injected["timeout"] += 1
            raise TransientError(f"sandbox {operation} timed out", adapter=self.adapter)
        x -= f.timeout
        if x < f.server_error:
            self.injected["server_error"] += 1
            raise TransientError(
                f"sandbox {operation} failed", adapter=self.adapter, status=503, code="unavailable"
            )

    def after_write(self, operation: str) -> None:
        """Maybe lose the reply of a write that already took effect."""
        f = self.faults
        if f is None or f.lost_reply <= 0:
            return
        if self._rng.random() < f.lost_reply:
            self.injected["lost_reply"] += 1
            raise TransientError(
                f"sandbox {operation} reply timed out after the change was made",
                adapter=self.adapter,
            )
