"""A received webhook or push body: checked before it is verified, read as strict JSON after.

Every receiver (the marketplaces' webhooks, the tracking providers'
pushes, the sandbox's) takes the body the same way, so none is more
lenient than another:

* :func:`raw_body` before the signature is checked: the body must be the
  raw bytes as received (text would be signed differently: a framework
  decoded it) and at most :data:`MAX_BODY_BYTES`, refused before anything
  hashes it;
* :func:`json_body` after: UTF-8 without a byte order mark (RFC 8259 §8.1),
  no key twice in one object (parsers disagree on which one counts: Python
  keeps the last, others the first), no ``NaN`` or ``Infinity`` (not JSON),
  nesting past the parser refused. Each is a one-line
  :class:`~aftersales.errors.ValidationError` naming the payload and never
  quoting the body.
"""

from __future__ import annotations

import json
from typing import Any

from aftersales.errors import ValidationError

__all__ = ["MAX_BODY_BYTES", "json_body", "raw_body"]

#: The largest body a receiver reads (the platforms' own bodies are far smaller).
MAX_BODY_BYTES = 16 * 1024 * 1024


class _Refused(ValueError):
    """A JSON text the strict reader refuses, with the reason to report."""


def raw_body(body: object, *, payload: str) -> bytes:
    """``body`` as bytes, refused when it is not the raw bytes or is over the limit.

    Raises:
        ValidationError: naming the payload and the field ``body``.
    """
    if isinstance(body, bytearray | memoryview):
        body = bytes(body)
    if not isinstance(body, bytes):
        raise ValidationError("must be the raw body bytes, as received", field="body",
                              payload=payload)
    if len(body) > MAX_BODY_BYTES:
        raise ValidationError(f"larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB",
                              field="body", payload=payload)
    return body


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Refused("a key appears twice in one object")
    return out


def _constant(_name: str) -> Any:
    raise _Refused("NaN and Infinity are not JSON")


def json_body(body: bytes, *, payload: str) -> Any:
    """The JSON value of a verified ``body``, read strictly (see the module).

    Raises:
        ValidationError: naming the payload and what is wrong, never the body.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        raise ValidationError("body starts with a byte order mark; send JSON without one",
                              payload=payload)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("body is not UTF-8", payload=payload) from None
    try:
        return json.loads(text, object_pairs_hook=_unique, parse_constant=_constant)
    except _Refused as exc:
        raise ValidationError(f"body is not JSON: {exc}", payload=payload) from None
    except (ValueError, RecursionError):
        raise ValidationError("body is not JSON", payload=payload) from None
