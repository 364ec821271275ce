"""The ``aftersales logistics`` commands."""

from __future__ import annotations

import click

__all__ = ["group"]


@click.group("logistics")
def group() -> None:
    """Tracking look-ups, refreshes and anomalies."""
