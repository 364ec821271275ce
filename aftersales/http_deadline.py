"""A total deadline for reading an answer, whatever pace the server keeps.

A socket's read timeout bounds each wait for the next byte, not the call:
a server sending one byte every few seconds (a slow-drip answer, by fault
or on purpose) never trips it and holds the calling thread for hours. No
read loop can enforce a total time on its own either, because one read of
a chunked body may wait for many bytes (a chunk-size line is read byte by
byte up to 64 KiB).

So one daemon thread, shared by every client in the process, keeps the
deadlines of the answers being read and shuts down the socket of any that
passes its own: the blocked read returns at once, and the caller, seeing
:attr:`Watch.fired`, reports the deadline instead of a truncated body. The
thread costs nothing while no answer is being read; a forked child starts
its own on first use.

The status line and headers are read before requests hands the answer
back, so :class:`DeadlineAdapter` watches that part too: its connections
read the call's deadline from :data:`CALL_END`, which the client sets
around each attempt. (Through a proxy, urllib3's proxy pools are used and
only the body is watched.)
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import os
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["CALL_END", "DeadlineAdapter", "Watch", "watch"]

#: The :func:`time.monotonic` instant the current call must end by (``None``: no deadline).
CALL_END: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "aftersales_http_call_end", default=None)


class Watch:
    """One answer being read against a deadline; :meth:`cancel` when done."""

    __slots__ = ("end", "fired", "live", "sock")

    def __init__(self, sock: socket.socket, end: float) -> None:
        self.sock = sock
        self.end = end
        self.live = True
        #: True once the deadline passed and the socket was shut down.
        self.fired = False

    def cancel(self) -> None:
        """Stop watching (the answer was read, or failed on its own)."""
        self.live = False


class _Watchdog:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        #: the instant the thread sleeps until (it is woken only for an earlier one)
        self._until = float("inf")

    def watch(self, sock: socket.socket, end: float) -> Watch:
        entry = Watch(sock, end)
        with self._wake:
            while self._heap and not self._heap[0][2].live:  # answers read since: forget them
                heapq.heappop(self._heap)
            heapq.heappush(self._heap, (end, next(self._order), entry))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="aftersales-http-deadline", daemon=True)
                self._thread.start()
            elif end < self._until:
                self._wake.notify()  # an earlier deadline than the one slept toward
        return entry

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and not self._heap[0][2].live:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._until = float("inf")
                    self._wake.wait(60.0)
                    continue
                end, _, entry = self._heap[0]
                left = end - time.monotonic()
                if left > 0:
                    self._until = end
                    self._wake.wait(min(left, 3600.0))
                    continue
                heapq.heappop(self._heap)
            if entry.live:
                entry.fired = True
                # socket.socket's own shutdown, also for an SSLSocket: its override
                # would drop the TLS state under the reading thread. OSError: the
                # socket was closed meanwhile, so the read has ended anyway.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(entry.sock, socket.SHUT_RDWR)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]  # a forked child: no thread, fresh lock


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.reset)


def watch(sock: socket.socket, end: float) -> Watch:
    """Shut ``sock`` down for reading and writing if it is still watched at ``end``
    (a :func:`time.monotonic` instant)."""
    return _WATCHDOG.watch(sock, end)


def _read_head(conn: Any, read: Any) -> Any:
    end = CALL_END.get()
    sock = conn.sock
    if end is None or not isinstance(sock, socket.socket):
        return read()
    watched = watch(sock, end)
    try:
        answer = read()
    finally:
        watched.cancel()
    if watched.fired:
        # http.client reads the shut socket's end as the end of the headers:
        # what it returns is cut short, not an answer.
        raise TimeoutError("the call's deadline passed while its headers were read")
    return answer


class _HTTPConnection(HTTPConnection):
    def getresponse(self) -> Any:
        return _read_head(self, super().getresponse)


class _HTTPSConnection(HTTPSConnection):
    def getresponse(self) -> Any:
        return _read_head(self, super().getresponse)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections read the status line and headers
    under the call's deadline (:data:`CALL_END`) too."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """requests' pool manager, its pools making watched connections."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
