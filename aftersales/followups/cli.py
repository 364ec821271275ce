"""The ``aftersales followups`` commands."""

from __future__ import annotations

import click

__all__ = ["group"]


@click.group("followups")
def group() -> None:
    """Scheduled follow-up visits."""
