"""Root causes: a canonical, hierarchical pick-list a shop can extend.

Codes are dotted paths (``logistics.damaged_in_transit``), so analysis can
count at any level (every ``logistics.*`` cause, or one of them). Each
cause on a case is marked valid (the complaint was justified) or invalid,
so complaint rates can be measured on justified complaints only.

A shop adds its own causes in its settings (``[cases.causes]``), as
``code = "label"``; a new code must sit under a known parent or be a new
top-level group, and may not redefine a canonical one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from aftersales.errors import ConfigurationError, ValidationError

__all__ = ["CANONICAL", "CRITICAL_CAUSES", "Cause", "CauseCatalog"]

#: The canonical pick-list: code → label. Parents come before their children.
CANONICAL: dict[str, str] = {
    "product": "Product",
    "product.quality": "Product quality",
    "product.description_mismatch": "Description mismatch",
    "product.counterfeit": "Counterfeit",
    "product.safety": "Safety",
    "fulfilment": "Fulfilment",
    "fulfilment.wrong_item": "Wrong item",
    "logistics": "Logistics",
    "logistics.damaged_in_transit": "Damaged in transit",
    "logistics.late_delivery": "Late delivery",
    "logistics.lost_parcel": "Lost parcel",
    "logistics.courier_attitude": "Courier attitude",
    "service": "Service",
    "service.attitude": "Service attitude",
    "service.refund_delay": "Refund delay",
    "policy": "Policy",
    "other": "Other",
}

#: Causes that escalate a case at once (counterfeit or safety).
CRITICAL_CAUSES = frozenset({"product.counterfeit", "product.safety"})

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,30}(\.[a-z][a-z0-9_]{0,30}){0,3}$")


@dataclass(frozen=True, slots=True)
class Cause:
    """One entry of the pick-list."""

    code: str
    label: str

    @property
    def parent(self) -> str | None:
        """The parent's code, or None for a top-level group."""
        return self.code.rsplit(".", 1)[0] if "." in self.code else None

    @property
    def group(self) -> str:
        """The top-level group's code (``logistics`` for ``logistics.lost_parcel``)."""
        return self.code.split(".", 1)[0]


class CauseCatalog:
    """The canonical causes plus a shop's own, looked up and validated by code."""

    def __init__(self, extra: Mapping[str, str] | None = None) -> None:
        self._causes: dict[str, Cause] = {c: Cause(c, label) for c, label in CANONICAL.items()}
        for code, label in sorted((extra or {}).items()):
            if not isinstance(code, str) or not _CODE.match(code):
                raise ConfigurationError(f"cases.causes: {code!r} is not a dotted lower-case code")
            if code in CANONICAL:
                raise ConfigurationError(f"cases.causes: {code!r} is a canonical cause")
            parent = code.rsplit(".", 1)[0] if "." in code else None
            if parent is not None and parent not in self._causes:
                raise ConfigurationError(f"cases.causes: {code!r} has no parent {parent!r}")
            self._causes[code] = Cause(code, str(label)[:120])

    def get(self, code: str) -> Cause:
        """The cause called ``code``.

        Raises:
            ValidationError: unknown code (field ``root_cause``), with the closest ones.
        """
        cause = self._causes.get(code.strip().lower()) if isinstance(code, str) else None
        if cause is None:
            raise ValidationError("unknown root cause; see `aftersales cases causes`",
                                  field="root_cause")
        return cause

    def all(self) -> list[Cause]:
        """Every cause, parents before children."""
        return sorted(self._causes.values(), key=lambda c: c.code)

    def under(self, code: str) -> list[Cause]:
        """``code`` and every cause below it."""
        return [c for c in self.all() if c.code == code or c.code.startswith(code + ".")]
