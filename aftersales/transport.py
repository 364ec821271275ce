"""The ``requests.Session`` every :class:`~aftersales.http.ApiClient` builds for itself.

requests looks the proxy settings up again on every request: it walks the
whole process environment (``*_proxy`` and ``no_proxy``) for each call. For
an adapter making thousands of calls to one host, as a tracking refresh
does, that walk cost about a third of requests' own CPU per call. This
session does the lookup once per scheme, host and ``no_proxy`` value and
keeps the answer; everything else (CA bundle variables, ``.netrc``,
explicit ``proxies=``) behaves exactly as in ``requests.Session``.

The environment is read when a host is first called: a process that
changes ``HTTPS_PROXY`` later calls :meth:`ApiSession.forget_environment`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

__all__ = ["ApiSession"]

#: requests' own rule for a per-request setting over the session's (untyped in its stubs).
_merge: Callable[[Any, Any], Any] = merge_setting


class ApiSession(requests.Session):
    """A ``requests.Session`` that reads proxy settings from the environment once per host."""

    def __init__(self) -> None:
        super().__init__()
        self._proxies: dict[tuple[str, str, str | None], dict[str, str]] = {}
        self._lock = threading.Lock()

    def forget_environment(self) -> None:
        """Read the proxy variables again at the next call to each host."""
        with self._lock:
            self._proxies.clear()

    def environ_proxies(self, url: str, no_proxy: str | None = None) -> dict[str, str]:
        """The environment's proxies for ``url`` (what requests would find), cached per host."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, no_proxy)
        found = self._proxies.get(key)
        if found is None:
            found = dict(get_environ_proxies(url, no_proxy=no_proxy))
            with self._lock:
                self._proxies[key] = found
        return found

    def merge_environment_settings(
        self,
        url: Any,
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
    ) -> Any:
        """``requests.Session.merge_environment_settings`` with the proxy lookup cached."""
        if not self.trust_env or not isinstance(url, str):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        proxies = dict(proxies) if proxies is not None else {}
        for scheme, proxy in self.environ_proxies(url, proxies.get("no_proxy")).items():
            proxies.setdefault(scheme, proxy)
        if verify is True or verify is None:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            verify = bundle or verify
        return {
            "proxies": _merge(proxies, self.proxies),
            "stream": _merge(stream, self.stream),
            "verify": _merge(verify, self.verify),
            "cert": _merge(cert, self.cert),
        }
