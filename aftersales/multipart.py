"""``multipart/form-data`` bodies (RFC 7578) built once, byte for byte predictable.

:class:`~aftersales.http.ApiClient` sends files through this module rather
than through ``requests``' ``files=``: the body is encoded a single time,
so a retry re-sends exactly the same bytes, and a test can pin the whole
wire format by fixing the boundary.

The layout is the one every platform we upload to accepts (the Taobao TOP
SDKs write the same): one part per text field, then one part per file, each
part ``--boundary CRLF``, its headers, an empty line, the content, CRLF;
the body ends with ``--boundary-- CRLF``. Text fields are UTF-8 and carry
no ``Content-Type``; a file part names its ``filename`` and media type.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["FilePart", "encode_multipart", "new_boundary"]

_CRLF = b"\r\n"


@dataclass(frozen=True)
class FilePart:
    """One file to upload.

    Attributes:
        filename: the name sent in ``Content-Disposition`` (no path).
        content: the file's bytes.
        content_type: its media type (``image/jpeg`` …).
    """

    filename: str
    content: bytes = field(repr=False)
    content_type: str = "application/octet-stream"

    def __post_init__(self) -> None:
        for text in (self.filename, self.content_type):
            if any(c in text for c in '"\r\n'):
                raise ValueError("a file name or media type may not hold quotes or line breaks")


def new_boundary() -> str:
    """A fresh random boundary (32 hex digits, never found in a body by chance)."""
    return "aftersales" + secrets.token_hex(16)


def _quoted(name: str) -> str:
    if any(c in name for c in '"\r\n'):
        raise ValueError(f"a form field name may not hold quotes or line breaks: {name!r}")
    return name


def encode_multipart(
    fields: Mapping[str, str],
    files: Mapping[str, FilePart],
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """The body and ``Content-Type`` header of a form with ``fields`` and ``files``.

    Args:
        fields: text fields, sent first, in the mapping's order.
        files: file fields, sent after the text ones, in the mapping's order.
        boundary: the part separator; a random one when ``None``.

    Returns:
        ``(body, content_type)``.

    Raises:
        ValueError: a name holds a quote or line break, or the boundary
            occurs inside a part (only possible with a caller's boundary).
    """
    boundary = boundary or new_boundary()
    marker = b"--" + boundary.encode("ascii")
    chunks: list[bytes] = []
    for name, value in fields.items():
        disposition = f'Content-Disposition: form-data; name="{_quoted(name)}"'
        chunks += [marker, _CRLF, disposition.encode("utf-8"), _CRLF, _CRLF]
        data = str(value).encode("utf-8")
        if marker in data:
            raise ValueError(f"the boundary occurs inside field {name!r}")
        chunks += [data, _CRLF]
    for name, part in files.items():
        disposition = (
            f'Content-Disposition: form-data; name="{_quoted(name)}"; filename="{part.filename}"'
        )
        chunks += [marker, _CRLF, disposition.encode("utf-8"), _CRLF]
        chunks += [f"Content-Type: {part.content_type}".encode("ascii"), _CRLF, _CRLF]
        if marker in part.content:
            raise ValueError(f"the boundary occurs inside file {name!r}")
        chunks += [part.content, _CRLF]
    chunks += [marker, b"--", _CRLF]
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"
