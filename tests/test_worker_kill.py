"""SIGKILL mid-tick, then a restart: each follow-up is sent once (real processes, real leases)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

PROBE = Path(__file__).with_name("worker_kill_probe.py")


def _probe(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(PROBE), f"sqlite:///{tmp_path}/w.db",
                             str(tmp_path), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_worker_killed_mid_tick_then_restarted_sends_each_followup_once(
    tmp_path: Path
) -> None:
    setup = _probe(tmp_path, "schedule")
    assert setup.wait(timeout=120) == 0, setup.communicate()
    (tmp_path / "hang").write_text("1")
    first = _probe(tmp_path, "work")
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "started").exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the tick never started"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    assert (tmp_path / "sent").read_text().split() == ["b0"]
    (tmp_path / "hang").unlink()
    time.sleep(2.5)  # the killed worker's leases (2 s) expire
    second = _probe(tmp_path, "work")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "followups: done=2" in out
    assert sorted((tmp_path / "sent").read_text().split()) == ["b0", "b1", "b2"]
    again = _probe(tmp_path, "work")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "followups: nothing due" in out
    assert sorted((tmp_path / "sent").read_text().split()) == ["b0", "b1", "b2"]
