"""Evidence (凭证) a shop sends with a refusal or on a request: words and pictures.

Marketplaces want pictures as proof when a shop refuses a request or argues
a dispute (a photo of the returned item, of the parcel, of a chat). The
pictures travel as multipart file parts through
:class:`~aftersales.http.ApiClient` (:mod:`aftersales.multipart`), and every
marketplace checks them the same way before it accepts them: a picture
format, read from the bytes and never from the name, and a size ceiling.
:func:`check_picture` makes those checks before anything is sent, with the
ceiling and the formats of the marketplace at hand.

A refusal reason is chosen by the marketplace's own code among those it
lists for the request (:func:`choose_refusal_reason`), never by guessing
from text.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from aftersales.errors import ValidationError
from aftersales.models import RefusalReason
from aftersales.multipart import FilePart

__all__ = [
    "MAX_PICTURE_BYTES",
    "PICTURE_TYPES",
    "Evidence",
    "check_picture",
    "choose_refusal_reason",
    "picture_type",
]

#: 5 MB (5 × 1024 × 1024 bytes): the ceiling Taobao documents for a refusal
#: proof and the default of :func:`check_picture`.
MAX_PICTURE_BYTES = 5 * 1024 * 1024

#: The media types the marketplaces take for proof pictures.
PICTURE_TYPES: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/gif", "image/bmp"})

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


_NAMES: dict[str, str] = {
    "JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "BMP": "image/bmp"}


def picture_type(content: bytes) -> str | None:
    """The media type of a JPEG, PNG, GIF or BMP picture, read from its bytes, or ``None``."""
    for magic, kind in _SIGNATURES:
        if content.startswith(magic):
            return kind
    return None


def check_picture(
    part: FilePart, *, field: str, payload: str, max_bytes: int = MAX_PICTURE_BYTES,
    types: Collection[str] = PICTURE_TYPES,
) -> FilePart:
    """``part`` with its media type read from its bytes, if it is an accepted picture.

    Raises:
        ValidationError: empty, larger than ``max_bytes``, or not one of
            ``types`` (names ``field`` and ``payload``).
    """
    size = len(part.content)
    if not 0 < size <= max_bytes:
        raise ValidationError(
            f"the picture must hold 1 byte to {_size(max_bytes)}, not {size} bytes",
            field=field, payload=payload)
    kind = picture_type(part.content)
    if kind is None or kind not in types:
        names = [n for n in _NAMES if _NAMES[n] in types]
        listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        raise ValidationError(f"not a {listed} picture", field=field, payload=payload)
    return FilePart(part.filename, part.content, kind)


def _size(count: int) -> str:
    mb, rest = divmod(count, 1024 * 1024)
    return f"{mb} MB" if not rest else f"{count} bytes"


@dataclass(frozen=True)
class Evidence:
    """What a shop sends as proof: a text and pictures (uploaded as multipart).

    Attributes:
        text: the shop's words (shown to the buyer or the platform's staff).
        pictures: picture files, uploaded by the adapter through ``ApiClient``.
        urls: pictures already hosted (on the marketplace's own image store),
            for marketplaces whose evidence fields take links (Douyin).
    """

    text: str = ""
    pictures: tuple[FilePart, ...] = field(default=())
    urls: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.pictures, tuple):
            object.__setattr__(self, "pictures", tuple(self.pictures))
        if not isinstance(self.urls, tuple):
            object.__setattr__(self, "urls", tuple(self.urls))
        for url in self.urls:
            if not str(url).startswith(("https://", "http://")):
                raise ValidationError("an evidence link must be an http(s) URL",
                                      field="urls", payload="evidence")

    def __bool__(self) -> bool:
        return bool(self.text.strip() or self.pictures or self.urls)

    def checked(self, *, payload: str, max_pictures: int, max_bytes: int = MAX_PICTURE_BYTES,
                types: Collection[str] = PICTURE_TYPES) -> Evidence:
        """This evidence with every picture checked (:func:`check_picture`).

        Raises:
            ValidationError: more than ``max_pictures`` pictures, or a bad one
                (``pictures[i]`` names which).
        """
        if len(self.pictures) > max_pictures:
            raise ValidationError(
                f"at most {max_pictures} pictures, not {len(self.pictures)}",
                field="pictures", payload=payload)
        if len(self.pictures) + len(self.urls) > max_pictures:
            raise ValidationError(
                f"at most {max_pictures} pictures, not {len(self.pictures) + len(self.urls)}",
                field="pictures", payload=payload)
        return Evidence(self.text, tuple(
            check_picture(p, field=f"pictures[{i}]", payload=payload, max_bytes=max_bytes,
                          types=types)
            for i, p in enumerate(self.pictures)), self.urls)


def choose_refusal_reason(
    listed: Sequence[RefusalReason], code: str | None, text: str | None = None, *,
    payload: str,
) -> RefusalReason:
    """The listed reason with ``code`` (or, without a code, the one whose text is ``text``).

    Raises:
        ValidationError: no listed reason has that code (or text); the
            message names the codes the marketplace offered.
    """
    for reason in listed:
        if code is not None and reason.code == str(code).strip():
            return reason
        if code is None and text is not None and reason.text.strip() == text.strip():
            return reason
    offered = "; ".join(f"{r.code} {r.text}".strip() for r in listed) or "none"
    raise ValidationError(
        f"choose a refusal reason by its code among those the marketplace lists: {offered}",
        field="reason_code", payload=payload)


def refuse_unsent(adapter: str, *, reason_code: str | None, evidence: Evidence | None) -> None:
    """Raise when a refusal carries a code or evidence ``adapter`` cannot send.

    For marketplaces whose refusal takes neither: the caller learns it
    before anything is sent, instead of the code or pictures being dropped.

    Raises:
        ValidationError: ``reason_code`` or non-empty ``evidence`` was given.
    """
    if reason_code is not None:
        raise ValidationError(f"{adapter} takes no refusal reason code",
                              field="reason_code", payload=f"{adapter} refusal")
    if evidence:
        raise ValidationError(f"{adapter} takes no evidence with a refusal",
                              field="evidence", payload=f"{adapter} refusal")
