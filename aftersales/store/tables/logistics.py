"""Tables of the logistics area beyond the core's shipments and tracking events."""

from __future__ import annotations

__all__: list[str] = []
