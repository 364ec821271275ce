"""The ``aftersales returns`` commands."""

from __future__ import annotations

import click

__all__ = ["group"]


@click.group("returns")
def group() -> None:
    """Returns, exchanges and refunds."""
