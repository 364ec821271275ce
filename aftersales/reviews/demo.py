"""The reviews part of ``aftersales demo``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from aftersales.app import AfterSales

__all__ = ["run"]


def run(app: AfterSales, console: Console) -> None:
    """Show this area at work on the sandbox."""
