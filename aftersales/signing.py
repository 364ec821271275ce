"""Webhook and push signatures computed and checked in one place.

Several providers sign a notification with an HMAC of the raw request body
(Shopify and WooCommerce send base64 of HMAC-SHA256). Adapters call these
helpers instead of each rolling its own, so every check is constant-time and
tolerant of the same header quirks (surrounding whitespace, a missing header,
non-ASCII garbage: ``False``, never an exception).

The Chinese open platforms' routers (Taobao's TOP, Pinduoduo, JD's JOS) sign
each *request* the same way: the parameters sorted by name, written as
``name1value1name2value2``, wrapped in the app secret and hashed with MD5
(:func:`md5_wrapped_sign`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, tzinfo

from aftersales.webhook_body import raw_body
from aftersales.wire import iso_time

__all__ = [
    "body_time",
    "header_bytes",
    "header_text",
    "hexdigest_matches",
    "hmac_sha256",
    "hmac_sha256_base64",
    "md5_wrapped_sign",
    "sorted_pairs",
    "verify_hmac_sha256_base64",
]


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def header_bytes(value: object) -> bytes | None:
    """A received signature or header value as stripped ASCII bytes, ``None`` when unusable.

    Digests are ASCII; anything else is replaced by ``?`` so it compares
    unequal instead of raising: a lone surrogate (a JSON-escaped header in a
    serverless event), bytes from a raw header mapping (read as Latin-1, as
    HTTP defines them), a number or a list. Empty text is ``None``.
    """
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text.encode("ascii", "replace") if text else None


def header_text(value: object) -> str | None:
    """A received header value as text: bytes read as Latin-1 (as HTTP defines
    them), text as it is, anything else (a number, a list) ``None``."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def hmac_sha256(secret: str | bytes, body: bytes) -> bytes:
    """The raw HMAC-SHA256 digest of ``body`` keyed with ``secret`` (UTF-8 when a str)."""
    return hmac.new(_key(secret), body, hashlib.sha256).digest()


def hmac_sha256_base64(secret: str | bytes, body: bytes) -> str:
    """Base64 of the HMAC-SHA256 of ``body``: the value a signing sender puts in its header."""
    return base64.b64encode(hmac_sha256(secret, body)).decode("ascii")


def verify_hmac_sha256_base64(body: bytes, signature: str | None, secret: str | bytes) -> bool:
    """True when ``signature`` is the base64 HMAC-SHA256 of the raw ``body``.

    The canonical base64 text is compared with ``hmac.compare_digest``, so
    the time taken does not depend on where the values differ, and a
    non-canonical spelling of the right digest (different unused padding
    bits) is refused too. A missing or empty signature, or an empty secret,
    is simply ``False``.

    Raises:
        ValidationError: ``body`` is not the raw bytes (text a framework
            decoded), or is over :data:`~aftersales.webhook_body.MAX_BODY_BYTES`.
    """
    body = raw_body(body, payload="webhook")
    given = header_bytes(signature)
    if given is None or not secret:
        return False
    return hmac.compare_digest(given, hmac_sha256_base64(secret, body).encode("ascii"))


def hexdigest_matches(given: str | None, expected: str) -> bool:
    """True when the hex digest ``given`` equals ``expected``, ignoring case.

    For providers that sign with a plain hash of body and secret (17TRACK's
    SHA-256, Kuaidi100's MD5) rather than an HMAC. Constant-time; a missing
    or empty ``given`` is simply ``False``, and so is garbage (see
    :func:`header_bytes`), never an exception.
    """
    raw = header_bytes(given)
    if raw is None or not expected:
        return False
    return hmac.compare_digest(raw.lower(), expected.lower().encode("ascii", "replace"))


def sorted_pairs(params: Mapping[str, str | None]) -> str:
    """``name1value1name2value2…`` over ``params`` sorted by name.

    ``sign`` itself and parameters without a value (``None`` or ``""``) are
    left out, as the routers' own SDKs leave them out before signing.
    """
    return "".join(
        f"{k}{params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, "")
    )


def md5_wrapped_sign(params: Mapping[str, str | None], secret: str) -> str:
    """The router request signature: upper-case hex MD5 of ``secret + pairs + secret``.

    ``pairs`` is :func:`sorted_pairs` of ``params``; the text is UTF-8. TOP
    (``sign_method=md5``), Pinduoduo and JD's JOS all sign this way.
    """
    text = secret + sorted_pairs(params) + secret
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()  # noqa: S324


def body_time(body: bytes, fields: tuple[str, ...], *,
              naive: tzinfo | None = None) -> datetime | None:
    """The latest of ``fields`` (top-level ISO 8601 times) in a JSON ``body``; ``None`` when none.

    For the adapters' ``signed_time``: the body is signed, so a time in it
    is the platform's word. A body that is not a JSON object, or a value
    that is not a time (see :func:`~aftersales.wire.iso_time`; a time
    without an offset only where ``naive`` names its zone) gives no time:
    such a body is remembered for ``keep_untimed`` instead, and its parser
    reports what is wrong with it.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    found = []
    for field in fields:
        try:
            found.append(iso_time(data.get(field), naive=naive))
        except ValueError:
            continue
    return max(found, default=None)
