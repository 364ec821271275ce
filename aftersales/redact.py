"""Masking of secrets and personal data before they reach a log or an error.

One place decides what is sensitive, so the HTTP client, the models' reprs
and the error messages all mask the same way.

Remote error texts get the strictest treatment (:func:`redact_remote`): a
JSON body is walked, nested objects and lists included, and every value
under a secret or personal key (names, phones, e-mails, addresses, tokens)
is masked before the text is scanned for the patterns :func:`redact_text`
knows. :class:`RedactingFilter` applies the same masking to log records, for
an application that wants it on its own handlers; the library puts it on the
loggers whose lines may carry a request URL (``urllib3.connectionpool``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import unquote_plus

__all__ = [
    "PERSONAL_KEYS",
    "SENSITIVE_KEYS",
    "RedactingFilter",
    "decode_escapes",
    "environment_secrets",
    "install_url_log_filter",
    "known_names",
    "mask_address",
    "mask_email",
    "mask_names",
    "mask_phone",
    "redact_mapping",
    "redact_remote",
    "redact_text",
    "redact_value",
    "register_secret",
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

#: Lower-case keys whose values in a *remote* body are personal data (on top of
#: :data:`SENSITIVE_KEYS`): names and the parts of an address.
PERSONAL_KEYS: frozenset[str] = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "firstname",
        "lastname",
        "full_name",
        "fullname",
        "buyer_name",
        "customer_name",
        "contact_name",
        "nickname",
        "nick",
        "street",
        "street1",
        "street2",
        "address_1",
        "address_2",
        "addr",
        "city",
        "district",
        "province",
        "state",
        "zip",
        "postcode",
        "post_code",
        "postal_code",
        "receiver",
        "receiver_state",
        "receiver_city",
        "receiver_district",
        "receiver_town",
        "receiver_zip",
        "billing",
        "shipping_address",
        "billing_address",
        "default_address",
        "tel",
        "mobile_phone",
        "id_card",
        "ip",
        "ip_address",
        "session_key",
        "refresh_token",
    }
)

# Starting only where a run of address characters starts: tried at every position
# of a long run (100 kB of letters in a hostile body), the pattern took quadratic time.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Phone numbers by their real shapes, so an order id, a tracking number or an
# amount stays readable (a bare run of digits is not a phone):
# * a Chinese mobile: 11 digits starting 13-19, optionally +86/0086 before
#   it and split 3-4-4;
# * an international number written with ``+`` (E.164), 8 to 15 digits,
#   in groups or not;
# * a North American number written ``(415) 555-0199`` or ``415-555-0199``;
# * a national number with its trunk 0, written in groups: ``0571-88888888``,
#   ``(010) 1234 5678``, ``020 7946 0958``, ``01 23 45 67 89`` (9 to 12 digits).
# Not after a word character, a minus sign, a dot or a plus (an error code, a
# decimal, part of a longer id); not before a word character or more digits.
_PHONE = re.compile(
    r"(?<![\w\-.+])(?:"
    r"(?P<cn>(?:(?:\+|00)86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2})"
    r"|(?P<intl>\+[1-9]\d{0,3}(?:[\s.-]?\(?\d{1,6}\)?){1,6})"
    r"|(?P<nanp>(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4})"
    r"|(?P<trunk>\(?0\d{1,4}\)?(?:[\s.-]\d{2,8}){1,4})"
    r")(?![\w-]|[.,]?\d)"
)
_PHONE_DIGITS = {"cn": (11, 15), "intl": (8, 15), "nanp": (10, 10), "trunk": (9, 12)}
# Any number right after a word that says it is one: "phone 5550199", "电话：88886666".
_CUED_PHONE = re.compile(
    r"((?i:\b(?:tel|phone|mobile|cell|whatsapp)\b)\.?[\s:#]*|(?:电话|手机号?|联系方式)[\s:：#]*)"
    r"(\+?\d[\d\s\-()]{4,}\d)(?!\w)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}")
_KEYVAL = re.compile(
    r"(?i)(\"?(?:" + "|".join(re.escape(k) for k in sorted(SENSITIVE_KEYS, key=len, reverse=True))
    + r")\"?\s*[=:]\s*)(\"[^\"]*\"|[^&\s,;}]+)"
)
_PERSONAL_KEYVAL = re.compile(
    r"(?i)(\"(?:" + "|".join(re.escape(k) for k in sorted(PERSONAL_KEYS, key=len, reverse=True))
    + r")\"\s*:\s*)(\"(?:[^\"\\\\]|\\\\.)*\"|[^,}\]]+)"
)
# A street address in free text: a house number and a street word (English),
# or a Chinese address down to the road or the house number.
_STREET = re.compile(
    r"(?i)\b\d{1,6}[a-z]?\s+(?:[\w.'-]+\s+){0,4}"
    r"(?:st|street|rd|road|ave|avenue|blvd|boulevard|lane|ln|dr|drive|way|ct|court|pl|place"
    r"|terrace|ter|plaza|square|sq|highway|hwy|parkway|pkwy|circle|cir|trail|alley|row)\b\.?"
    # (bounded runs: unbounded ones backtracked in quadratic time over a long CJK text)
    r"|[\u4e00-\u9fff]{2,24}(?:省|市|区|县|镇)[\u4e00-\u9fff0-9\-]{0,40}(?:路|街|道|巷|弄|号|室)"
    r"[0-9\-]{0,12}"
    # a street and house number without the city before it: 幸福路88号3栋502室
    r"|[\u4e00-\u9fff]{1,12}(?:路|街|道|巷|弄)\d+(?:-\d+)?号[\u4e00-\u9fff0-9\-]*"
)
# A name in free text, recognised by the word before it: "customer Alice Wong".
# "ms" after a number is milliseconds ("failed after 143 ms: RemoteError: ..."),
# not "Ms.": the error's type after it is no name.
_CUED_NAME = re.compile(
    r"((?i:(?<!\d\s)\b(?:customer|buyer|recipient|receiver|consignee|name|contact|dear|mr|mrs|ms)"
    r"\.?:?\s+))"
    r"((?:[A-Z][\w'-]+)(?:\s+[A-Z][\w'-]+){0,2})"
    # a Chinese name after a Chinese cue, or after an English one ("buyer 张三")
    r"|((?:收货人|收件人|买家|联系人|姓名"
    r"|(?i:\b(?:customer|buyer|recipient|receiver|consignee|name|contact)\b))[:：]?\s*)"
    r"([\u4e00-\u9fff·]{2,4})"
    # a Latin-script name after a Chinese cue ("收货人：Alice Wong")
    r"|((?:收货人|收件人|买家|联系人|姓名)[:：]?\s*)((?:[A-Z][\w'-]+)(?:\s+[A-Z][\w'-]+){0,2})"
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


# The names of the people the work in hand concerns (see known_names).
_known_names: ContextVar[tuple[str, ...]] = ContextVar("aftersales_known_names", default=())
_CJK = re.compile(r"[\u3400-\u9fff]")
_HONORIFICS = ("先生", "女士", "小姐", "老师")


#: The longest name :func:`known_names` masks (characters).
MAX_KNOWN_NAME = 100


@contextmanager
def known_names(*names: str | None) -> Iterator[None]:
    """Mask these people's names in every text redacted inside the block.

    A name in free text has no shape a pattern can tell from a product, a
    town or a word: "Alice Wong says the parcel never came" names Alice only
    because we know Alice is the buyer. Code that acts for one order (a
    refund push, for instance) opens this block with the buyer's name from
    the order, so any error text, log line or stored error written meanwhile
    masks it, whether the marketplace quoted it whole or in part. Nested
    blocks add to the outer names. Blank and one-letter names are ignored, and
    so is one longer than :data:`MAX_KNOWN_NAME`: no person's name is, and
    each of its words would become a pattern run over every text.
    """
    kept = tuple(n.strip() for n in names
                 if n and 2 <= len(n.strip()) <= MAX_KNOWN_NAME)
    token = _known_names.set(_known_names.get() + kept)
    try:
        yield
    finally:
        _known_names.reset(token)


def mask_names(text: str, names: Iterable[str]) -> str:
    """Mask each of ``names`` in ``text``: whole, and by its parts.

    A Latin-script name is masked whole (any case, any spacing) and by each
    word of three letters or more as a whole word, as written or in capitals
    (``Wong`` and ``WONG``, not the ``wong`` inside another word). A Chinese
    name is masked whole, by its given name when that has two characters or
    more (``小明`` of ``王小明``) and as surname plus honorific (``王先生``,
    ``王女士``).
    """
    variants: set[str] = set()
    words: set[str] = set()
    for name in names:
        name = " ".join(name.split())
        if len(name) < 2:
            continue
        variants.add(name)
        if _CJK.search(name):
            if len(name) >= 3 and " " not in name:
                variants.add(name[1:])
            variants.update(name[0] + h for h in _HONORIFICS)
        else:
            parts = [w for w in re.split(r"[\s,.]+", name) if len(w) >= 3]
            # as written and in capitals (a shipping label's WONG); not in lower
            # case, where a part may be an everyday word ("Will", "Rose")
            words.update(parts + [w.upper() for w in parts])
    for variant in sorted(variants, key=len, reverse=True):
        pattern = r"\s+".join(re.escape(part) for part in variant.split(" "))
        if not _CJK.search(variant):
            pattern = rf"(?<!\w){pattern}(?!\w)"
        text = re.sub(pattern, _MASK, text, flags=re.IGNORECASE)
    for word in sorted(words, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", _MASK, text)
    return text


# A word holding a percent-escape (a form or query value: alice%40example.com,
# %E5%BC%A0%E4%B8%89), and a run of JSON \\uXXXX escapes (a body that failed to parse).
_PERCENT_WORD = re.compile(r"[^\s\"'<>]*%[0-9A-Fa-f]{2}[^\s\"'<>]*")
_U_ESCAPES = re.compile(r"(?:\\u[0-9A-Fa-f]{4})+")


def decode_escapes(text: str) -> str:
    """``text`` with URL percent-escapes and JSON ``\\uXXXX`` escapes decoded.

    A provider's error may quote the request it refused (a form body, a URL)
    or be JSON that failed to parse, so a buyer's e-mail can arrive as
    ``alice%40example.com`` and a name as ``\\u5f20\\u4e09``: no pattern and no
    known name matches those spellings until they are decoded. A piece that
    does not decode to printable text (invalid UTF-8, a control character
    such as ``%0A``) is left as it is, so decoding cannot forge a log line.
    """
    if "%" in text:
        text = _PERCENT_WORD.sub(_unpercent, text)
    if "\\u" in text:
        text = _U_ESCAPES.sub(_unescape, text)
    return text


def _unpercent(match: re.Match[str]) -> str:
    word = match.group(0)
    decoded = unquote_plus(word, errors="strict") if _utf8(word) else word
    return decoded if decoded.isprintable() else word


def _utf8(word: str) -> bool:
    try:
        unquote_plus(word, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def _unescape(match: re.Match[str]) -> str:
    try:
        decoded = json.loads(f'"{match.group(0)}"')
    except ValueError:
        return match.group(0)
    return decoded if isinstance(decoded, str) and decoded.isprintable() else match.group(0)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask known secret values, ``key=value`` pairs, e-mails, phones and bearer tokens.

    URL- and JSON-escaped pieces are decoded first (:func:`decode_escapes`).
    Names are masked only where something tells they are names: the
    :func:`known_names` in effect here (and, in :func:`redact_remote`, a
    personal key or a cue word such as "customer").
    """
    text = decode_escapes(text)
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret and len(secret) >= 4:
            text = text.replace(secret, _MASK)
    text = _BEARER.sub(lambda m: m.group(1) + " " + _MASK, text)
    text = _KEYVAL.sub(lambda m: m.group(1) + _MASK, text)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)) or _MASK, text)
    text = _CUED_PHONE.sub(lambda m: m.group(1) + (mask_phone(m.group(2)) or _MASK), text)
    text = _PHONE.sub(_phone, text)
    text = mask_names(text, _known_names.get())
    return _registry_mask(text)


def _phone(match: re.Match[str]) -> str:
    shape = match.lastgroup or ""
    digits = sum(c.isdigit() for c in match.group(0))
    low, high = _PHONE_DIGITS[shape]
    if not low <= digits <= high:
        return match.group(0)
    return mask_phone(match.group(0)) or _MASK


def redact_value(value: object, secrets: Iterable[str] = ()) -> object:
    """A copy of a decoded JSON value with secrets and personal data masked, at any depth.

    Values under a key of :data:`SENSITIVE_KEYS` or :data:`PERSONAL_KEYS`
    become ``"***"``; every other string is passed through :func:`redact_text`.
    """
    secrets = list(secrets)
    if isinstance(value, Mapping):
        return {
            k: _MASK if str(k).lower() in _ALL_KEYS else redact_value(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v, secrets) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value


def redact_remote(text: str, secrets: Iterable[str] = ()) -> str:
    """A provider's error text (a body or a message quoting one) made safe to show.

    A JSON body is decoded and masked structurally (:func:`redact_value`);
    any text, JSON or not, then loses quoted personal keys' values, street
    addresses and everything :func:`redact_text` masks.
    """
    secrets = list(secrets)
    text = decode_escapes(text)
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            decoded = json.loads(stripped)
        except (ValueError, RecursionError):  # nested past the parser's limit too
            pass
        else:
            found: list[str] = []
            _personal_values(decoded, found)
            text = json.dumps(redact_value(decoded, secrets), ensure_ascii=False)
            secrets += found  # the same name or street quoted again in a message
    text = _PERSONAL_KEYVAL.sub(lambda m: m.group(1) + '"' + _MASK + '"', text)
    text = _STREET.sub(_MASK, text)
    text = _CUED_NAME.sub(lambda m: (m.group(1) or m.group(3) or m.group(5)) + _MASK, text)
    return redact_text(text, secrets)


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


_ALL_KEYS = SENSITIVE_KEYS | PERSONAL_KEYS


def _personal_values(value: object, out: list[str], masked: bool = False,
                     name: bool = False) -> None:
    # Every string at or under a sensitive or personal key; a name's words too,
    # since a message may quote the surname alone.
    if isinstance(value, Mapping):
        for k, v in value.items():
            key = str(k).lower()
            _personal_values(v, out, masked or key in _ALL_KEYS,
                             name or "name" in key or "nick" in key)
    elif isinstance(value, list | tuple):
        for v in value:
            _personal_values(v, out, masked, name)
    elif masked and isinstance(value, str) and len(value) >= 3:
        out.append(value)
        if name:
            out.extend(w for w in value.split() if len(w) >= 4)

# Secret values the process holds (every ApiClient registers its credentials),
# masked in every text redact_text sees, so a log line or an error built far
# from the client that knows the secret still cannot show it.
_registered: weakref.WeakKeyDictionary[object, tuple[str, ...]] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def register_secret(owner: object, *values: str) -> None:
    """Mask ``values`` in every redacted text for as long as ``owner`` lives."""
    kept = tuple(v for v in values if v and len(v) >= 4)
    if not kept:
        return
    with _registry_lock:
        _registered[owner] = _registered.get(owner, ()) + kept


#: Words in an environment variable's name that say its value is a credential.
SECRET_WORDS = ("TOKEN", "SECRET", "KEY", "PASSWORD", "PASSWD", "SESSION", "CREDENTIAL")


def environment_secrets() -> list[str]:
    """Values of the environment variables whose names say they hold a credential.

    For texts made before any client registered its credentials (an adapter
    failing while it is built, an unexpected error in a command): the
    value is masked even where it is quoted bare, with no ``key=`` before it.
    """
    return [value for name, value in os.environ.items()
            if any(word in name.upper() for word in SECRET_WORDS)]


def _registry_mask(text: str) -> str:
    with _registry_lock:
        values = [v for vs in _registered.values() for v in vs]
    for value in sorted(set(values), key=len, reverse=True):
        if value in text:
            text = text.replace(value, _MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets and personal data in every record it sees.

    The record's message is formatted once, masked with :func:`redact_remote`
    (registered secrets included) and stored back with no arguments; the
    exception text, if any, is masked too. Attach it to a handler to cover
    every logger behind it::

        handler.addFilter(RedactingFilter())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave the record to logging's own report
            return True
        record.msg = redact_remote(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_remote(record.exc_text)
        return True


_URL_LOGGERS = ("urllib3.connectionpool",)
_installed = False


def install_url_log_filter() -> None:
    """Put a :class:`RedactingFilter` on the loggers that print request URLs.

    urllib3 logs every request line at DEBUG, query string included; a
    provider that authenticates by query parameters would show its key there.
    The filter sits on the logger itself, so it holds whatever handlers the
    application configures. Idempotent.
    """
    global _installed
    if _installed:
        return
    for name in _URL_LOGGERS:
        logging.getLogger(name).addFilter(RedactingFilter())
    _installed = True
