"""Masking of secrets and personal data."""

from __future__ import annotations

from aftersales.errors import RemoteError, ValidationError
from aftersales.redact import mask_email, mask_phone, redact_mapping, redact_text


def test_text_is_scrubbed_of_contacts_and_secrets() -> None:
    text = (
        "buyer alice.w@example.com phone +86 138-1234-5678 token=abcdef123456 "
        'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig {"app_secret": "s3cr3t!"}'
    )
    out = redact_text(text, secrets=["s3cr3t!"])
    for leaked in ("alice.w@", "1234-5678", "abcdef123456", "eyJhbGci", "s3cr3t!"):
        assert leaked not in out
    assert "***5678" in out


def test_mapping_masks_sensitive_keys_recursively() -> None:
    data = {"order": "o1", "receiver": {"phone": "13800001111", "city": "杭州"}, "sign": "ABC"}
    assert redact_mapping(data) == {"order": "o1", "receiver": {"phone": "***", "city": "杭州"}, "sign": "***"}


def test_masks() -> None:
    assert mask_email("bob@example.com") == "b***@example.com"
    assert mask_phone("138 0000 1111") == "***1111"
    assert mask_phone("12") == "***"


def test_errors_say_where() -> None:
    err = ValidationError("not a number", row=7, field="amount", payload="bulk file")
    assert str(err) == "bulk file, row 7, field 'amount': not a number"
    remote = RemoteError("refused", adapter="taobao", status=200, code="isv.invalid-parameter", request_id="r9")
    assert str(remote) == "[taobao HTTP 200 isv.invalid-parameter] refused (request id r9)"
