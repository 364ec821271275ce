"""The ``aftersales reviews`` commands."""

from __future__ import annotations

import click

__all__ = ["group"]


@click.group("reviews")
def group() -> None:
    """Review sync, classification, alerts, metrics and replies."""
