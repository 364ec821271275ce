"""Every kb test runs with the write-transaction guard on (tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_call_inside_a_write(no_call_inside_a_write: list[str]) -> list[str]:
    """Fail any marketplace call made while a write transaction is open."""
    return no_call_inside_a_write
