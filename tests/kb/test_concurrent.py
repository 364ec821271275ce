"""Two processes writing the knowledge base at the same instant (deploy hooks, two
workers loading the sample): both succeed, and every entry and its index is there once."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aftersales.app import AfterSales
from aftersales.kb import files
from aftersales.store.tables.kb import KbEntryRow, KbTermRow

RACER = """
import sys, time
from aftersales.app import AfterSales
from aftersales.kb import files
app = AfterSales(sys.argv[1], marketplaces=[], carriers=[], channels=["outbox"], migrate=False)
app.store.engine.connect().close()
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))
print(app.kb.import_file(sys.argv[2]) if sys.argv[2] != "-" else app.kb.load_sample())
app.close()
"""


def _race(url: str, paths: list[str]) -> list[str]:
    start_at = str(time.time() + 4)  # every process imports and connects, then they go together
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-c", RACER, url, path, start_at],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for path in paths]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.strip().splitlines()[-1:]
    return [out for out, _ in outputs]


def _index(url: str) -> tuple[int, int]:
    with AfterSales(url, marketplaces=[], carriers=[], migrate=False) as app, \
            app.store.session() as session:
        return (int(session.scalar(select(func.count()).select_from(KbEntryRow)) or 0),
                int(session.scalar(select(func.count()).select_from(KbTermRow)) or 0))


@pytest.mark.slow
def test_two_imports_at_the_same_instant_both_succeed_with_each_entry_once(
        db_url: str, tmp_path: Path) -> None:
    with AfterSales(db_url, marketplaces=[], carriers=[]) as app:  # migrated, empty
        app.kb.load_sample()
        alone = _index(db_url)
        app.kb.export_file(tmp_path / "kb.csv")
        for entry in app.kb.list():
            app.kb.remove(entry.key, store=entry.store)
    # An empty knowledge base: both add every entry. Then both replace every entry.
    _race(db_url, ["-", "-"])
    assert _index(db_url) == alone
    with AfterSales(db_url, marketplaces=[], carriers=[], migrate=False) as app:
        changed = [e.model_copy(update={"answer_en": (e.answer_en or e.answer_zh) + " (new)"})
                   for e in app.kb.list()]
    files.write_entries(tmp_path / "changed.toml", changed)
    _race(db_url, [str(tmp_path / "changed.toml")] * 2)
    assert _index(db_url)[0] == alone[0]
    with AfterSales(db_url, marketplaces=[], carriers=[], migrate=False) as app:
        assert all(e.answer_en.endswith(" (new)") for e in app.kb.list())


def test_removing_an_entry_while_it_is_replaced_fails_neither(
        db_url: str, at_once: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """The removal did not queue behind the replacement: on PostgreSQL the entry went
    between the replacement's read and its write, which failed ("0 rows matched")."""
    import threading

    from aftersales.kb import repository

    app = AfterSales(db_url, marketplaces=[], carriers=[])  # migrated, empty
    app.kb.add({"key": "gift", "question": "可以礼品包装吗", "answer_zh": "可以"})
    real = repository.indexed_fingerprint
    meet = threading.Barrier(2)

    def read_then_paused(entry: object) -> str:
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=5)  # the entry is read; the removal starts now
        time.sleep(0.5)  # it would commit first unless it must wait for this one
        return real(entry)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "indexed_fingerprint", read_then_paused)

    def removal() -> bool:
        meet.wait(timeout=5)
        return app.kb.remove("gift")

    results, errors = at_once([  # type: ignore[operator]
        lambda: app.kb.add({"key": "gift", "question": "可以礼品包装吗", "answer_zh": "可以的"}),
        removal])
    app.close()
    assert errors == []
    assert len(results) == 2
