"""ApiClient: the one HTTP base every adapter talks through.

It owns everything about a call that is not the marketplace's business:
a pooled ``requests.Session``; connect and read timeouts, always set; a
per-adapter token-bucket rate limit; mapping of HTTP failures onto the
:mod:`aftersales.errors` tree; and the library's single retry layer
(tenacity), which retries only errors marked ``retryable``, honours
``Retry-After``, backs off exponentially with jitter, and never re-sends a
request that may already have reached the server unless the request is
idempotent or carries an idempotency key. urllib3's own retries stay off so
attempts never multiply. Secrets and personal data are masked in every log
line and every error.

Adapters pass ``classify_error`` when their API reports errors inside a
``200 OK`` body (Taobao, Kuaidi100, 17TRACK): it sees every response first.
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from urllib3.util.retry import Retry

from aftersales import http_deadline, observe
from aftersales.call_budget import budget_end, check_budget, wait_within
from aftersales.errors import (
    AfterSalesError,
    AuthenticationError,
    RateLimitError,
    RemoteError,
    RemoteNotFoundError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
)
from aftersales.http_guard import LOOPBACK_HOSTS, follow_redirects
from aftersales.multipart import FilePart, encode_multipart, new_boundary
from aftersales.redact import (
    install_url_log_filter,
    redact_mapping,
    redact_remote,
    redact_text,
    register_secret,
)
from aftersales.transport import ApiSession

__all__ = [
    "DEFAULT_DEADLINE",
    "ApiClient",
    "RateLimit",
    "SendHook",
    "TokenBucket",
    "add_send_hook",
    "body_text",
    "bounded_wait",
    "loads_strict",
    "may_have_arrived",
    "notify_send",
    "parse_retry_after",
]

log = logging.getLogger("aftersales.http")

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-requestid", "x-amzn-requestid")
_MAX_RETRY_AFTER = 300.0
_EXCERPT = 300
#: The largest answer body kept by default, decoded (a gzip answer counts expanded).
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: Seconds one attempt may take in all, answer read whole, unless a client sets its own.
DEFAULT_DEADLINE = 120.0
_CHUNK = 64 * 1024

_E = TypeVar("_E", bound=RemoteError)

#: A callable that may turn a response into an error (or return ``None``).
ErrorClassifier = Callable[[requests.Response], RemoteError | None]


@dataclass(frozen=True)
class RateLimit:
    """At most ``per_second`` calls a second on average, in bursts of ``burst``."""

    per_second: float
    burst: int = 1


class TokenBucket:
    """A thread-safe token bucket; ``acquire`` waits (through ``sleep``) for a token."""

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit.per_second <= 0 or limit.burst < 1:
            raise ValueError("rate limit needs per_second > 0 and burst >= 1")
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(limit.burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting if none is left; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(
                float(self.limit.burst), self._tokens + (now - self._stamp) * self.limit.per_second
            )
            self._stamp = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.limit.per_second
        if wait > 0:
            self._sleep(wait)
        return wait


def body_text(response: requests.Response) -> str:
    """A response body as text, read as UTF-8 when the answer names no charset.

    requests reads a ``text/*`` body without a charset as Latin-1, which
    turns a UTF-8 error quoting a buyer (``张三``) into mojibake that no name
    or address check recognises, while the bytes, and the name, are all
    still there. Providers send UTF-8; a body that is not valid UTF-8 falls
    back to requests' own reading.
    """
    if "charset" not in response.headers.get("Content-Type", "").lower():
        try:
            return (response.content or b"").decode("utf-8")
        except UnicodeDecodeError:
            pass
    return response.text


def bounded_wait(seconds: float | None) -> float | None:
    """A provider's wait hint made safe to sleep on: at most five minutes, never
    negative; ``None`` for no hint, NaN included (a cost figure gone wrong)."""
    if seconds is None or seconds != seconds:  # None or NaN
        return None
    return max(0.0, min(float(seconds), _MAX_RETRY_AFTER))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, _MAX_RETRY_AFTER))


#: ``hook(adapter, method, target)``, called before every call leaves the process.
SendHook = Callable[[str, str, str], None]
_SEND_HOOKS: list[SendHook] = []


def add_send_hook(hook: SendHook) -> Callable[[], None]:
    """Call ``hook`` before every outgoing call; returns the function that removes it.

    A hook may raise to stop the call. The test suite uses one to fail any
    call made while the calling thread holds an open write transaction
    (:func:`aftersales.store.guard.write_open`). Simulated marketplaces call
    :func:`notify_send` too, so the check covers them.
    """
    _SEND_HOOKS.append(hook)
    return lambda: _SEND_HOOKS.remove(hook)


def notify_send(adapter: str, method: str, target: str) -> None:
    """Run the send hooks for one call about to leave (an adapter's or a simulation's)."""
    for hook in tuple(_SEND_HOOKS):
        hook(adapter, method, target)


def _host_of(url: str | None) -> str:
    """The host of ``url`` for an error message ("?" when it has none or is malformed)."""
    try:
        host = (urlsplit(url or "").hostname or "?").lower()
    except ValueError:
        return "?"
    return host if host.isprintable() and not any(c.isspace() for c in host) else "?"


class UnsafeJSONError(ValueError):
    """A body JSON parsers would read differently: NaN or Infinity, a repeated key, a
    lone surrogate."""


#: An escaped UTF-16 surrogate: only then can a parsed string hold a lone one.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
#: A key shown in an error: a plain field name, nothing a provider could put data in.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def _no_constant(name: str) -> Any:
    raise UnsafeJSONError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        shown = f" ({key!r})" if _PLAIN_KEY.fullmatch(key) else ""
        raise UnsafeJSONError(f"a key repeated in one object{shown}")
    return found


def _check_text(value: Any) -> None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise UnsafeJSONError("a lone UTF-16 surrogate in a string") from None
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def loads_strict(content: bytes | str) -> Any:
    """JSON as RFC 8259 has it, refusing what parsers disagree on.

    Python's parser reads ``NaN`` and ``Infinity`` (a money field would be
    a float no Decimal check expects), keeps the last of a repeated key
    (another reader of the same answer may keep the first: two views of
    one refund's amount) and lets ``"\\ud800"`` through as a string no
    database can store. Each is an :class:`UnsafeJSONError`; anything not
    JSON at all is the parser's own ``ValueError`` (``RecursionError``
    when nested past its limit).
    """
    parsed = jsonlib.loads(content, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    raw = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    if _SURROGATE_ESCAPE.search(raw):
        _check_text(parsed)
    return parsed


def may_have_arrived(exc: BaseException) -> bool:
    """Whether a failed call may have reached the provider, and so may have acted.

    False only for failures known to come before the request left (a refused
    connection, a connect timeout, a 429 or other refusal): sending those
    again is safe. Any other failure of a call that changes something (a
    read timeout, a connection dropped after sending) must be checked with
    the provider before the call is sent again.
    """
    return not getattr(exc, "_unsent", False)


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket a streamed answer is read from (``None`` for a test transport's body).

    The connection's, else the one under http.client's reader: with
    ``Connection: close`` the connection lets go of its socket at once.
    """
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if not isinstance(sock, socket.socket):
        reader = getattr(getattr(getattr(response.raw, "_fp", None), "fp", None), "raw", None)
        sock = getattr(reader, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


class ApiClient:
    """HTTP for one adapter.

    Args:
        adapter: the adapter's name, carried by every error.
        base_url: prefix for relative paths.
        timeout: ``(connect, read)`` seconds; never unbounded.
        max_attempts: attempts in all, the first included.
        backoff: base seconds of the exponential backoff (with full jitter).
        backoff_max: the longest single backoff wait.
        rate_limit: calls per second allowed to this provider, if it sets one.
        sleep: how to wait; tests pass a recorder so nothing really sleeps.
        session: a ready ``requests.Session`` (a transport for tests).
        headers: sent with every request (credentials go here or in ``auth``).
        auth: a requests auth object, such as HTTP basic auth.
        secrets: values to mask wherever they might appear in logs or errors.
        classify_error: the adapter's hook for errors reported inside a body.
        pool_size: connections kept per host, for concurrent callers.
        allow_http_hosts: hosts that may be called over plain http (loopback
            only by default; ``"loopback"`` allows any loopback address).
            Every other URL must be https (:mod:`aftersales.http_guard`), and
            credentials never follow a redirect to another origin.
        redirect_hosts: hosts a redirect may lead to besides the called
            host (none by default: a redirect to another host is refused).
        max_response_bytes: the largest answer body read, after decoding
            (a gzip bomb counts expanded); a larger one is a
            ``ResponseParseError``, read no further and never retried.
        deadline: seconds one attempt may take in all, redirects and the
            whole answer included. The read timeout bounds each wait for a
            byte, so a server dripping one byte every few seconds would
            hold a call for ever; past the deadline the answer is dropped
            with a ``TransientError`` naming the host and the deadline.
            Default :data:`DEFAULT_DEADLINE`, or the connect and read
            timeouts together when they are longer.
    """

    def __init__(
        self,
        adapter: str,
        base_url: str = "",
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        max_attempts: int = 4,
        backoff: float = 0.5,
        backoff_max: float = 30.0,
        rate_limit: RateLimit | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        secrets: Iterable[str] = (),
        classify_error: ErrorClassifier | None = None,
        pool_size: int = 10,
        allow_http_hosts: Collection[str] = LOOPBACK_HOSTS,
        redirect_hosts: Collection[str] = (),
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        deadline: float | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be at least 1")
        if deadline is not None and not 0 < deadline < float("inf"):  # NaN too
            raise ValueError("deadline must be a finite number of seconds above 0")
        self.deadline = float(deadline) if deadline is not None else max(
            DEFAULT_DEADLINE, float(sum(timeout)))
        self.max_response_bytes = max_response_bytes
        self.adapter = adapter
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._secrets = [s for s in secrets if s]
        self.allow_http_hosts = frozenset(h.lower() for h in allow_http_hosts)
        self.redirect_hosts = frozenset(h.lower() for h in redirect_hosts)
        register_secret(self, *self._secrets)
        install_url_log_filter()
        self.classify_error = classify_error
        #: makes the boundary of each multipart body (tests pin it to check the wire format)
        self.multipart_boundary: Callable[[], str] = new_boundary
        self.bucket = TokenBucket(rate_limit, sleep=sleep) if rate_limit else None
        self._retryings: dict[tuple[bool, int], Retrying] = {}
        self.session = session or ApiSession()
        no_retries = http_deadline.DeadlineAdapter(
            max_retries=Retry(total=0, raise_on_status=False),
            pool_connections=pool_size,
            pool_maxsize=pool_size,
        )
        self.session.mount("https://", no_retries)
        self.session.mount("http://", no_retries)
        if headers:
            self.session.headers.update(headers)
        if auth is not None:
            self.session.auth = auth

    def add_secret(self, value: str) -> None:
        """Mask ``value`` too (a token obtained after construction)."""
        if value:
            self._secrets.append(value)
            register_secret(self, value)

    # ------------------------------------------------------------------ public calls

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotency_header: str = "Idempotency-Key",
        idempotent: bool | None = None,
        files: Mapping[str, FilePart] | None = None,
    ) -> requests.Response:
        """Send one logical request, retrying what is safe to retry.

        Args:
            method: the HTTP method.
            path: a path under ``base_url``, or an absolute URL.
            files: upload these as ``multipart/form-data``, after the text
                fields in ``data`` (a mapping); the body is encoded once, so
                a retry sends the very same bytes.
            idempotency_key: sent as ``idempotency_header``; makes a POST safe
                to re-send because the server deduplicates it.
            idempotent: override the method's own idempotency (a GraphQL query
                is a POST that changes nothing).

        Returns:
            The successful response (2xx, and not an error by ``classify_error``).

        Raises:
            RemoteError: a subclass describing the failure, after retries.
        """
        method = method.upper()
        url = path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"
        hdrs = dict(headers or {})
        if files:
            if json is not None or not isinstance(data or {}, Mapping):
                raise TypeError("files go with form fields in data=, not with json= or a raw body")
            data, hdrs["Content-Type"] = encode_multipart(
                {k: str(v) for k, v in (data or {}).items()}, files, self.multipart_boundary()
            )
        if idempotency_key:
            hdrs[idempotency_header] = idempotency_key
        safe = idempotent if idempotent is not None else method in _IDEMPOTENT_METHODS
        safe = safe or bool(idempotency_key)

        with observe.http_call(self.adapter, method, _host_of(url)) as outcome:
            try:
                response: requests.Response = self._retrying(safe)(
                    self._send_once, method, url, params, json, data, hdrs
                )
            except RemoteError as exc:
                log.info("%s %s %s failed: %s", self.adapter, method, self.redact_url(url), exc)
                raise
            outcome["status"] = response.status_code
        return response

    def _retrying(self, safe: bool) -> Retrying:
        """The retry policy for safe (or unsafe) requests, built once and shared.

        tenacity keeps a call's state in thread-locals, so one ``Retrying``
        serves every thread; building one per request made a dozen objects
        in reference cycles that only the cycle collector could free.
        """
        key = (safe, self.max_attempts)
        found = self._retryings.get(key)
        if found is None:

            def should_retry(exc: BaseException) -> bool:
                if not getattr(exc, "retryable", False):
                    return False
                return safe or not may_have_arrived(exc)

            found = self._retryings[key] = Retrying(
                stop=stop_after_attempt(self.max_attempts),
                wait=self._wait,
                retry=retry_if_exception(should_retry),
                sleep=self._sleep,
                reraise=True,
                before_sleep=self._log_retry,
            )
        return found

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`request`, then the body parsed as JSON.

        Raises:
            ResponseParseError: the body is not JSON (an HTML error page, a truncated body).
        """
        response = self.request(method, path, **kwargs)
        return self.parse_json(response)

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET and parse JSON."""
        return self.request_json("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        """POST and parse JSON (re-sent only with an idempotency key or ``idempotent=True``)."""
        return self.request_json("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        """PUT and parse JSON."""
        return self.request_json("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        """DELETE and parse JSON."""
        return self.request_json("DELETE", path, **kwargs)

    def parse_json(self, response: requests.Response) -> Any:
        """The response body as JSON (:func:`loads_strict`), or ``ResponseParseError``
        naming the adapter and the host.

        The content type is not looked at: Kuaidi100 and TOP answer JSON as
        ``text/html`` or ``text/javascript``.
        """
        host = _host_of(response.url)
        try:
            return loads_strict(response.content or b"null")
        except UnsafeJSONError as exc:
            raise ResponseParseError(
                f"{host} answered JSON that is not safe to read: {exc}",
                adapter=self.adapter,
                status=response.status_code,
                request_id=self._request_id(response),
            ) from None
        except (ValueError, RecursionError) as exc:  # nested past the parser's limit too
            raise ResponseParseError(
                f"expected JSON from {host}, got {self._content_kind(response)}",
                adapter=self.adapter,
                status=response.status_code,
                request_id=self._request_id(response),
                body=self.excerpt(body_text(response)),
            ) from exc

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def excerpt(self, text: str) -> str:
        """A short, redacted piece of a body, safe for logs and errors."""
        return redact_remote(text[:65536], self._secrets)[:_EXCERPT]

    def redact_url(self, url: str) -> str:
        """The URL with sensitive query parameters and known secrets masked."""
        parts = urlsplit(url)
        if parts.query:
            pairs = [p.split("=", 1) for p in parts.query.split("&") if p]
            query = urlencode(
                redact_mapping({k: (v[0] if v else "") for k, *v in pairs}), safe="*"
            )
            url = urlunsplit(parts._replace(query=query))
        return redact_text(url, self._secrets)

    # ------------------------------------------------------------------ internals

    def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Any,
        headers: dict[str, str],
    ) -> requests.Response:
        timeout = check_budget(self.timeout, self.adapter)  # inside a push: its time left
        if _SEND_HOOKS:
            notify_send(self.adapter, method, url)
        if self.bucket is not None:
            self.bucket.acquire()
        started = time.monotonic()
        end = budget_end(started + self.deadline)
        token = http_deadline.CALL_END.set(end)
        try:
            response = follow_redirects(
                self.session.request,
                self.session,
                method,
                url,
                adapter=self.adapter,
                headers=headers,
                secrets=self._secrets,
                allow_http_hosts=self.allow_http_hosts,
                redirect_hosts=self.redirect_hosts,
                params=params,
                json=json,
                data=data,
                timeout=timeout,
                stream=True,
            )
            self._read_body(response, end)
        except requests.exceptions.RequestException as exc:
            # ``from None``: requests' and urllib3's texts quote the full URL,
            # query secrets included, and a shop's ``log.exception`` prints
            # the whole chain; the kind of failure is all the error keeps.
            if time.monotonic() >= end:  # the watchdog cut the status line or headers short
                raise self._too_slow(_host_of(url)) from None
            raise self._transport_error(exc, url) from None
        finally:
            http_deadline.CALL_END.reset(token)
        if log.isEnabledFor(logging.DEBUG):  # redacting the URL is not free
            log.debug(
                "%s %s %s -> %s in %.0f ms",
                self.adapter,
                method,
                self.redact_url(response.url or url),
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
        error = self._error_for(response)
        if error is not None:
            raise error
        return response

    def _transport_error(
        self, exc: requests.exceptions.RequestException, url: str
    ) -> RemoteError:
        """The library error for a failure of the transport (no answer, or half of one),
        naming the host it came from (the hop's own, after a redirect)."""
        sent = getattr(getattr(exc, "request", None), "url", None)
        host = _host_of(sent if isinstance(sent, str) else url)
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return self._unsent(TransientError(f"{host}: connect timed out", adapter=self.adapter))
        if isinstance(exc, requests.exceptions.Timeout):
            return TransientError(f"{host}: read timed out", adapter=self.adapter)
        if isinstance(exc, requests.exceptions.ConnectionError):
            err = TransientError(f"{host}: connection failed", adapter=self.adapter)
            if "NewConnectionError" in repr(exc) or "Failed to establish" in str(exc):
                err = self._unsent(err)
            return err
        return RemoteError(f"{host}: request failed: {type(exc).__name__}", adapter=self.adapter)

    def _read_body(self, response: requests.Response, end: float) -> None:
        """Read the streamed body into ``response.content``, at most ``max_response_bytes``,
        before ``end`` (a ``time.monotonic`` instant).

        A watchdog (:mod:`aftersales.http_deadline`) shuts the socket down at
        ``end``, whatever the framing and however the bytes trickle in.

        Raises:
            ResponseParseError: the answer is larger (declared or read); the
                connection is closed, the rest never read.
            TransientError: the answer was still arriving at ``end``.
        """
        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        encoded = response.headers.get("Content-Encoding", "identity").strip().lower()
        too_large = declared.isdigit() and encoded == "identity" and int(declared) > limit
        chunks: list[bytes] = []
        size = 0
        held = getattr(response, "_content", False)
        if isinstance(held, bytes) and response.raw is None:
            # built in memory (an in-process transport): the body is all there
            too_large = too_large or len(held) > limit
            if not too_large:
                return
        if not too_large:
            for chunk in self._chunks(response, end):
                size += len(chunk)
                if size > limit:
                    too_large = True
                    break
                chunks.append(chunk)
        if too_large:
            response.close()
            raise ResponseParseError(
                f"{_host_of(response.url)}: answer larger than {limit} bytes; not read",
                adapter=self.adapter,
                status=response.status_code, request_id=self._request_id(response))
        response._content = b"".join(chunks)  # what requests' .content reads
        setattr(response, "_content_consumed", True)  # noqa: B010 - not a typed attribute
        response.close()  # the connection goes back to the pool

    def _chunks(self, response: requests.Response, end: float) -> Iterator[bytes]:
        """The decoded body as it arrives, ended by the deadline watchdog at ``end``."""
        sock = _socket_of(response)
        if sock is None:  # a test transport's own body: nothing to wait on
            yield from response.iter_content(_CHUNK)
            return
        watched = http_deadline.watch(sock, end)
        try:
            for chunk in response.iter_content(_CHUNK):
                if watched.fired:
                    break
                yield chunk
        except requests.exceptions.RequestException:
            if not watched.fired:
                raise
        finally:
            watched.cancel()
        if watched.fired:  # what was read is cut short, whatever the framing said
            response.close()
            raise self._too_slow(_host_of(response.url))

    def _too_slow(self, host: str) -> TransientError:
        return TransientError(
            f"{host}: the answer did not arrive whole within the {self.deadline:g} s "
            "deadline (the server sends too slowly); dropped", adapter=self.adapter)

    def _error_for(self, response: requests.Response) -> RemoteError | None:
        if self.classify_error is not None:
            try:
                error = self.classify_error(response)
            except AfterSalesError:
                raise  # the hook's own verdict
            except (RecursionError, ValueError, TypeError, KeyError, IndexError,
                    AttributeError) as exc:
                # The hook reads every answer first, hostile ones too: JSON
                # nested past the parser's stack, a list where it expects an
                # object. Its failure is the answer's, named, not a traceback.
                raise ResponseParseError(
                    f"{_host_of(response.url)} answered a body the {self.adapter} error check "
                    f"cannot read ({type(exc).__name__})",
                    adapter=self.adapter, status=response.status_code,
                    request_id=self._request_id(response)) from None
            if error is not None:
                if not error.adapter:
                    error.adapter = self.adapter
                if error.body is None:
                    error.body = self.excerpt(body_text(response))
                if error.request_id is None:
                    error.request_id = self._request_id(response)
                if isinstance(error, RateLimitError):
                    self._unsent(error)
                return error
        status = response.status_code
        if status < 400:
            return None
        common: dict[str, Any] = {
            "adapter": self.adapter,
            "status": status,
            "request_id": self._request_id(response),
            "body": self.excerpt(body_text(response)),
        }
        if status in (401, 403):
            return AuthenticationError("credentials were refused", **common)
        if status == 404:
            return RemoteNotFoundError("not found", **common)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return self._unsent(RateLimitError("rate limited", retry_after=retry_after, **common))
        if status in (502, 503, 504):
            return TransientError("server unavailable", **common)
        if status >= 500:
            return RemoteError("server error", **common)
        return RemoteRejectedError("request refused", **common)

    @staticmethod
    def _unsent(error: _E) -> _E:
        # A refusal like 429 or a failed connect means the call did nothing yet.
        error._unsent = True  # type: ignore[attr-defined]
        return error

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            # A provider's hint is bounded like Retry-After: a NaN, a negative or a
            # day-long wait (a GraphQL cost figure gone wrong) never reaches sleep.
            wait = bounded_wait(exc.retry_after)
            if wait is not None:
                return wait_within(wait)
        ceiling = min(self.backoff_max, self.backoff * (2 ** (state.attempt_number - 1)))
        return wait_within(random.uniform(0, ceiling))  # noqa: S311 - jitter, not security

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info(
            "%s: attempt %d failed (%s); retrying",
            self.adapter,
            state.attempt_number,
            redact_text(str(exc), self._secrets),
        )

    @staticmethod
    def _request_id(response: requests.Response) -> str | None:
        for name in _REQUEST_ID_HEADERS:
            value = response.headers.get(name)
            if value:
                return value
        return None

    @staticmethod
    def _content_kind(response: requests.Response) -> str:
        ctype = response.headers.get("Content-Type", "")
        if "html" in ctype or response.text.lstrip()[:1] == "<":
            return "an HTML page"
        return "a body that is not valid JSON"
