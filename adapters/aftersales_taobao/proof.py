"""The checks TOP makes on an uploaded picture, made before the upload.

taobao.rp.returngoods.refuse documents ``refuse_proof`` as "拒绝退货凭证图片，
必须图片格式，大小不能超过5M" (a picture, at most 5 MB); the TOP picture
formats are JPEG, PNG, GIF and BMP. The type is read from the bytes, never
from the name.
"""

from __future__ import annotations

from aftersales.errors import ValidationError
from aftersales.multipart import FilePart

__all__ = ["MAX_PROOF_BYTES", "check_picture", "picture_type"]

#: 5 MB, the documented ceiling of ``refuse_proof`` (read as 5 × 1024 × 1024 bytes).
MAX_PROOF_BYTES = 5 * 1024 * 1024

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


def picture_type(content: bytes) -> str | None:
    """The media type of a JPEG, PNG, GIF or BMP picture, or ``None``."""
    for magic, kind in _SIGNATURES:
        if content.startswith(magic):
            return kind
    return None


def check_picture(part: FilePart, *, field: str, payload: str) -> FilePart:
    """``part`` with its media type read from its bytes, if it is a picture of at most 5 MB.

    Raises:
        ValidationError: empty, too large or not a picture (names ``field``).
    """
    size = len(part.content)
    if not 0 < size <= MAX_PROOF_BYTES:
        raise ValidationError(
            f"the picture must hold 1 byte to 5 MB, not {size} bytes", field=field, payload=payload
        )
    kind = picture_type(part.content)
    if kind is None:
        raise ValidationError(
            "not a JPEG, PNG, GIF or BMP picture", field=field, payload=payload
        )
    return FilePart(part.filename, part.content, kind)
