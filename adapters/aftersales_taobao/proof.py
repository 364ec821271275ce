"""The checks TOP makes on an uploaded picture, made before the upload.

taobao.rp.returngoods.refuse documents ``refuse_proof`` as "拒绝退货凭证图片，
必须图片格式，大小不能超过5M" (a picture, at most 5 MB); the TOP picture
formats are JPEG, PNG, GIF and BMP. Those are the core's defaults
(:mod:`aftersales.evidence`, shared by every marketplace that takes proof
pictures); this module names them for Taobao.
"""

from __future__ import annotations

from aftersales.evidence import MAX_PICTURE_BYTES, check_picture, picture_type

__all__ = ["MAX_PROOF_BYTES", "check_picture", "picture_type"]

#: 5 MB, the documented ceiling of ``refuse_proof`` (read as 5 × 1024 × 1024 bytes).
MAX_PROOF_BYTES = MAX_PICTURE_BYTES
