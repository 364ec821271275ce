"""Regenerate the initial migration from the tables (before the first release only).

Until aftersales ships a release there is one migration, ``0001_initial``,
and it is rebuilt from the models so that it always matches them; a test
checks that it does. After the first release, add revisions instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from aftersales.store import Store

VERSIONS = Path(__file__).resolve().parents[1] / "aftersales" / "store" / "migrations" / "versions"


def main() -> None:
    """Write versions/0001_initial.py from the current metadata."""
    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/empty.db")
        cfg = store.alembic_config()
        command.revision(cfg, message="initial", autogenerate=True, rev_id="0001")
        store.dispose()
    for new in VERSIONS.glob("0001_*.py"):
        new.rename(VERSIONS / "0001_initial.py")
    print("wrote", VERSIONS / "0001_initial.py")


if __name__ == "__main__":
    main()
