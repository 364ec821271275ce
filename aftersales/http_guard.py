"""Where a provider call may go, and what it may carry there.

Three rules, kept apart from :mod:`aftersales.http` so they can be read alone:

* **https only.** Every URL a client calls is ``https://``; plain ``http://``
  is refused before anything is sent, except to hosts the client was
  explicitly told to allow (loopback by default, for local test servers).
  A URL with a user name or password in it is refused too: any logger
  printing the URL would print the credential.
* **A redirect never leaves the host.** Redirects are followed here, one
  hop at a time, instead of inside requests. A hop to another host is
  refused, with or without credentials on the call, naming the call's host
  and the target host (never the target's path or query, which may hold a
  token): a marketplace or carrier API has no business sending the shop's
  data to a host the shop never configured (SSRF). An adapter that must
  follow one names the hosts it trusts (``redirect_hosts``).
* **Credentials never follow a redirect to another origin.** A hop to
  another scheme or port, or to a host the adapter allows, drops every credential header
  (``Authorization``, ``X-Shopify-Access-Token``, ``17token``,
  ``as-api-key``, cookies, any header holding one of the client's secrets)
  and the session's ``auth``; a hop from https to http is refused outright,
  and so is a 307/308 hop to another origin whose body (sent along, as
  those codes demand) holds one of the client's secrets: the routers'
  signed forms carry the shop's ``access_token``.
"""

from __future__ import annotations

import ipaddress
import json as jsonlib
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit

import requests

from aftersales.errors import ConfigurationError, RemoteError, RemoteRejectedError
from aftersales.redact import SENSITIVE_KEYS

__all__ = [
    "CREDENTIAL_HEADERS",
    "LOOPBACK_HOSTS",
    "MAX_REDIRECTS",
    "check_url",
    "follow_redirects",
    "same_origin",
]

#: Header names (lower case) that carry a credential, on top of :data:`SENSITIVE_KEYS`.
CREDENTIAL_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "x-api-token",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "x-shopify-access-token",
        "17token",
        "as-api-key",
        "aftership-api-key",
        "as-access-key",
    }
) | SENSITIVE_KEYS

#: Hosts allowed over plain http unless a client says otherwise.
LOOPBACK_HOSTS: frozenset[str] = frozenset({"localhost", "127.0.0.1", "::1"})

#: Hops followed before a call fails.
MAX_REDIRECTS = 5

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _usable_host(host: str) -> bool:
    """A host name fit to connect to and to print: no space, control or URL syntax."""
    return bool(host) and host.isprintable() and not any(
        c.isspace() or c in '<>"{}|\\^`%/?#@' for c in host)


def _host(url: str) -> str:
    """The URL's host, lower case; "" when it has none or none fit to print."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # a malformed IPv6 literal
        return ""
    return host if _usable_host(host) else ""


def _allowed_http(host: str, allow_http_hosts: Collection[str]) -> bool:
    if host in allow_http_hosts:
        return True
    if "loopback" in allow_http_hosts:
        try:
            return host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return False


def check_url(url: str, adapter: str, allow_http_hosts: Collection[str] = LOOPBACK_HOSTS) -> None:
    """Refuse a URL that is not https (outside the allowed hosts) or that holds a credential.

    Raises:
        ConfigurationError: naming the adapter and the scheme or the problem,
            never the URL's credential.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - read for its ValueError (not a number, past 65535)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise ConfigurationError(
            f"{adapter}: a malformed URL (its host or port cannot be read); check its setting"
        ) from None
    scheme = parts.scheme.lower()
    if parts.username or parts.password:
        raise ConfigurationError(
            f"{adapter}: a URL must not hold a user name or password; pass credentials as settings"
        )
    if scheme in ("https", "http") and not _usable_host(host):
        raise ConfigurationError(
            f"{adapter}: a URL without a usable host (none, or one with spaces or control "
            "characters); check its setting")
    if scheme == "https":
        return
    if scheme == "http" and _allowed_http(host, allow_http_hosts):
        return
    raise ConfigurationError(
        f"{adapter}: refusing {scheme or 'a relative'}:// URL to "
        f"{host if _usable_host(host) else '?'}; provider calls must use https"
    )


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port."""
    pa, pb = urlsplit(a), urlsplit(b)

    def port(p: Any) -> int | None:
        return p.port or {"https": 443, "http": 80}.get(p.scheme.lower())

    return (pa.scheme.lower(), (pa.hostname or "").lower(), port(pa)) == (
        pb.scheme.lower(),
        (pb.hostname or "").lower(),
        port(pb),
    )


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    # Overrides the session's auth (and .netrc) for a hop to another origin.
    return request


def _credential_names(
    session: requests.Session, headers: Mapping[str, str], secrets: Iterable[str]
) -> list[str]:
    values = [s for s in secrets if s and len(s) >= 4]
    names = []
    for name, value in [*session.headers.items(), *headers.items()]:
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value or "")
        if name.lower() in CREDENTIAL_HEADERS or any(v in text for v in values):
            names.append(name)
    return names


def _body_text(kwargs: Mapping[str, Any]) -> str:
    """The request body a hop would re-send, as text to look for secrets in."""
    parts: list[str] = []
    for name in ("data", "json", "files"):
        value = kwargs.get(name)
        if value is None:
            continue
        if isinstance(value, bytes):
            parts.append(value.decode("latin-1"))
        elif isinstance(value, str):
            parts.append(value)
        else:
            parts.append(jsonlib.dumps(value, default=str, ensure_ascii=False))
    text = "\n".join(parts)
    return f"{text}\n{unquote_plus(text)}"  # a form the caller encoded itself


def follow_redirects(
    send: Callable[..., requests.Response],
    session: requests.Session,
    method: str,
    url: str,
    *,
    adapter: str,
    headers: Mapping[str, str],
    secrets: Iterable[str] = (),
    allow_http_hosts: Collection[str] = LOOPBACK_HOSTS,
    redirect_hosts: Collection[str] = (),
    **kwargs: Any,
) -> requests.Response:
    """Send a request through ``send`` (``session.request``-like), following redirects safely.

    ``send`` is called with ``allow_redirects=False`` for every hop. A hop
    stays on the first URL's host (any port) or goes to one of
    ``redirect_hosts``; a hop to another origin goes without credential
    headers and without ``auth``; 303 (and 301/302 after a POST) turn into
    a body-less GET, as browsers and requests do.

    Raises:
        ConfigurationError: the first URL is not https (see :func:`check_url`).
        RemoteRejectedError: a redirect to another host (outside
            ``redirect_hosts``), to plain http or with a credential in its
            URL, or a 307/308 to another origin with a secret in its body.
        RemoteError: more than :data:`MAX_REDIRECTS` hops.
    """
    check_url(url, adapter, allow_http_hosts)
    first = url
    home = _host(url)
    trusted = {home, *(h.lower() for h in redirect_hosts)}
    hdrs: dict[str, Any] = dict(headers)
    history: list[requests.Response] = []
    secrets = list(secrets)
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = send(method, url, headers=hdrs, allow_redirects=False, **kwargs)
        except ValueError as exc:
            if isinstance(exc, requests.exceptions.RequestException):
                raise
            # requests parses a redirect's Location even when not following it
            # (``Response.next``): a malformed one (``http://[::1``, a port past
            # 65535) is a bare ValueError out of the send.
            raise RemoteRejectedError(
                f"{_host(url) or '?'} answered with a malformed redirect Location; refused",
                adapter=adapter) from None
        location = response.headers.get("Location")
        if response.status_code not in _REDIRECTS or not location:
            response.history = history
            return response
        history.append(response)
        response.close()
        try:
            target = urljoin(url, location)
            urlsplit(target).port  # noqa: B018 - parsed for its ValueError (port past 65535)
        except ValueError:
            raise RemoteRejectedError(
                f"redirected ({response.status_code}) from {home or '?'} to a malformed "
                "Location; refused", adapter=adapter, status=response.status_code) from None
        try:
            check_url(target, adapter, allow_http_hosts)
        except ConfigurationError:
            raise RemoteRejectedError(
                f"redirected to a {urlsplit(target).scheme or 'relative'}:// URL on "
                f"{_host(target) or '?'}; refused",
                adapter=adapter,
                status=response.status_code,
            ) from None
        status = response.status_code
        if _host(target) not in trusted:
            raise RemoteRejectedError(
                f"redirected ({status}) from {home or '?'} to another host, "
                f"{_host(target) or '?'}; refused", adapter=adapter, status=status)
        if method != "HEAD" and (status in (302, 303) or (status == 301 and method == "POST")):
            method = "GET"
            for body in ("json", "data", "files"):
                kwargs.pop(body, None)
            hdrs = {k: v for k, v in hdrs.items() if k.lower() != "content-type"}
        kwargs.pop("params", None)  # the Location is the whole next URL
        if not same_origin(first, target):
            values = [v for v in secrets if v and len(v) >= 4]
            text = _body_text(kwargs) if values else ""
            if any(v in text for v in values):
                raise RemoteRejectedError(
                    f"redirected ({status}) to {_host(target) or '?'} with a credential in "
                    "the body; refused", adapter=adapter, status=status)
            for name in _credential_names(session, hdrs, secrets):
                hdrs[name] = None  # requests drops a header merged as None
            kwargs["auth"] = _no_auth
        url = target
    raise RemoteError(f"more than {MAX_REDIRECTS} redirects", adapter=adapter)
