"""Masking of secrets and personal data before they reach a log or an error.

One place decides what is sensitive, so the HTTP client, the models' reprs
and the error messages all mask the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = [
    "SENSITIVE_KEYS",
    "mask_address",
    "mask_email",
    "mask_phone",
    "redact_mapping",
    "redact_text",
]

#: Lower-case key names whose values are never shown (headers, params, JSON keys).
SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "authorization",
        "x-shopify-access-token",
        "x-shopify-hmac-sha256",
        "x-wc-webhook-signature",
        "aftership-api-key",
        "as-api-key",
        "as-access-key",
        "17token",
        "access_token",
        "accesstoken",
        "api_key",
        "apikey",
        "app_key",
        "app_secret",
        "client_secret",
        "consumer_key",
        "consumer_secret",
        "customer",
        "key",
        "password",
        "secret",
        "session",
        "sign",
        "signature",
        "token",
        "phone",
        "mobile",
        "telephone",
        "email",
        "address",
        "address1",
        "address2",
        "receiver_mobile",
        "receiver_phone",
        "receiver_address",
        "receiver_name",
        "buyer_nick",
        "phone_number",
        "cookie",
        "set-cookie",
    }
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Phone numbers: 7+ digits optionally separated by spaces/dashes, optional +country code.
_PHONE = re.compile(r"(?<![\w])\+?\d[\d\s\-()]{6,}\d(?![\w])")
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}")
_KEYVAL = re.compile(
    r"(?i)(\"?(?:" + "|".join(re.escape(k) for k in sorted(SENSITIVE_KEYS, key=len, reverse=True))
    + r")\"?\s*[=:]\s*)(\"[^\"]*\"|[^&\s,;}]+)"
)
_MASK = "***"


def mask_email(value: str | None) -> str | None:
    """``alice@example.com`` → ``a***@example.com``."""
    if not value:
        return value
    local, _, domain = value.partition("@")
    return f"{local[:1]}{_MASK}@{domain}" if domain else _MASK


def mask_phone(value: str | None) -> str | None:
    """Keep only the last four digits: ``13812345678`` → ``***5678``."""
    if not value:
        return value
    digits = re.sub(r"\D", "", value)
    return f"{_MASK}{digits[-4:]}" if len(digits) > 4 else _MASK


def mask_address(value: str | None) -> str | None:
    """An address is shown only as a mask; its presence is all a log needs."""
    return _MASK if value else value


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask known secret values, ``key=value`` pairs, e-mails, phones and bearer tokens."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _MASK)
    text = _BEARER.sub(lambda m: m.group(1) + " " + _MASK, text)
    text = _KEYVAL.sub(lambda m: m.group(1) + _MASK, text)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)) or _MASK, text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)) or _MASK, text)


def redact_mapping(data: Mapping[str, object]) -> dict[str, object]:
    """A copy of ``data`` with every sensitive key's value masked, recursively."""
    out: dict[str, object] = {}
    for key, value in data.items():
        if key.lower() in SENSITIVE_KEYS:
            out[key] = _MASK
        elif isinstance(value, Mapping):
            out[key] = redact_mapping(value)
        else:
            out[key] = value
    return out
