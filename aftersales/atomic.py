"""Writing a file whole: a temporary file beside it, renamed into place.

A reader, a crash or a SIGKILL never finds half a file under the final
name: the old file (or none) stays until the new one is complete. The
temporary file is private while it is written (``mkstemp``: mode 0600), so
before the rename it gets the mode of the file it replaces, or for a new
file the mode a plain ``open(path, "w")`` gives (0666 less the umask): a
report or export the shop serves or shares stays readable as before.
Used by the report files and the knowledge-base export.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

__all__ = ["write_whole"]


def _umask() -> int:
    """The process's umask, read without changing it where the system tells it (Linux).

    Setting it to read it (``os.umask(0)`` and back) opens a window in which
    another thread of the process creates its files with no mask at all:
    readable and writable by everyone. That remains the fallback elsewhere.
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o077)  # the strictest mask for the moment it is set
    os.umask(umask)
    return umask


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to a temporary file beside ``path``, then rename it into place.

    Raises:
        OSError: the folder cannot be written; no temporary file is left.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
