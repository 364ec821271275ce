"""Report files are written whole and readable as any file the user writes.

The text goes to a temporary file beside the target, which is renamed into
place: a reader (or a SIGKILL) never sees half a report under its name. The
temporary file is private while it is written, so the file renamed into
place must get the mode a plain ``open(path, "w")`` gives (the umask's), or
keep the mode of the file it replaces: a report the shop serves or shares
was readable only by its writer.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from aftersales.reports.export import write_whole


@pytest.fixture
def umask_022() -> Iterator[None]:
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_report_gets_the_mode_of_a_plain_write(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "report.html"
    write_whole(path, "<!DOCTYPE html><p>new</p>")
    assert path.read_text(encoding="utf-8") == "<!DOCTYPE html><p>new</p>"
    assert _mode(path) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_replaced_report_keeps_its_mode(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "report.csv"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o664)
    write_whole(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert _mode(path) == 0o664


def test_a_new_report_never_changes_the_process_umask(
        tmp_path: Path, umask_022: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the umask by setting it to 0 and back left a window in which another
    thread of the process (a worker's tick, a web app's request) created its files
    readable and writable by everyone."""
    import aftersales.atomic

    def no_umask(mask: int) -> int:
        raise AssertionError(f"os.umask({mask:o}) called")

    monkeypatch.setattr(aftersales.atomic.os, "umask", no_umask)
    path = tmp_path / "report.html"
    write_whole(path, "<p>new</p>")
    assert _mode(path) == 0o644
