"""Masking of secrets and personal data."""

from __future__ import annotations

import pytest

from aftersales.errors import RemoteError, ValidationError
from aftersales.redact import (
    _EMAIL,
    _STREET,
    decode_escapes,
    known_names,
    mask_email,
    mask_names,
    mask_phone,
    redact_mapping,
    redact_remote,
    redact_text,
)


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


PHONES = [
    "13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+8613812345678",
    "008613812345678", "+1 415 555 0199", "+14155550199", "+44 20 7946 0958",
    "(415) 555-0199", "415-555-0199", "415.555.0199", "0571-88888888", "(010) 1234 5678",
    "020 7946 0958", "01 23 45 67 89",
]
NOT_PHONES = [  # order ids, tracking numbers, dates, amounts, codes
    "4023456789012345678", "1001", "#1001", "450789469", "5801234567890", "SF1234567890123",
    "773012345678901", "1Z999AA10123456784", "YT2012345678901234", "9400111899223856928499",
    "2024-06-01", "01-02-2024", "1234567.89", "-40012345", "12345678", "123456789012",
    "20240601123045",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_shapes_are_masked_keeping_the_last_four(phone: str) -> None:
    out = redact_text(f"reach the buyer at {phone} today")
    digits = "".join(c for c in phone if c.isdigit())
    assert out == f"reach the buyer at ***{digits[-4:]} today"


@pytest.mark.parametrize("value", NOT_PHONES)
def test_ids_tracking_numbers_dates_and_amounts_stay_readable(value: str) -> None:
    text = f"order {value} could not be refunded"
    assert redact_text(text) == text


@pytest.mark.parametrize("text", ["phone 5550199", "Tel: 8888 6666", "电话：88886666",
                                  "手机号 5550199"])
def test_a_number_after_a_phone_word_is_masked_whatever_its_shape(text: str) -> None:
    assert redact_text(text).endswith("***" + text[-4:])


def test_known_names_are_masked_whole_and_in_parts_only_inside_the_block() -> None:
    text = "Alice Wong says Wong never got it; ALICE  WONG; Wongsakul; 王小明说小明没收到，王先生"
    assert redact_text(text) == text  # no cue, no key: nothing says these are names
    with known_names("Alice Wong", "王小明"), known_names(None, " "):
        out = redact_text(text)
    assert out == "*** says *** never got it; ***; Wongsakul; ***说***没收到，***"
    assert redact_text(text) == text
    assert mask_names("Jo met Jo", ["Jo"]) == "*** met ***"


@pytest.mark.parametrize("text", ["x" * 200 + "@example.com", "a.b" * 100 + "@example.com"])
def test_an_email_is_only_tried_where_its_run_of_letters_starts(text: str) -> None:
    """Tried at every position of a long run, the e-mail pattern took quadratic time: a
    100 kB run of letters in a provider's answer cost minutes of CPU to mask."""
    assert _EMAIL.match(text, 1) is None
    assert _EMAIL.match(text, 0) is not None
    assert redact_remote("send to " + text).endswith("@example.com")


def test_a_chinese_address_pattern_has_bounded_runs() -> None:
    """Unbounded runs of CJK characters backtracked in quadratic time over a long text."""
    assert "]{2,}" not in _STREET.pattern
    assert "]*(" not in _STREET.pattern
    assert redact_remote("北京市朝阳区建国路88号") == "***"


def test_milliseconds_before_an_error_type_are_no_name_cue() -> None:
    # The worker's and every area's failure line reads "failed after 143 ms:
    # RemoteError: ..."; "ms" there was taken for "Ms." and the error's type
    # masked as a name ("***: [HTTP 500] ..."), hiding what failed.
    line = "sync store=north failed after 143 ms: RemoteError: [HTTP 500] upstream down"
    assert redact_remote(line) == line
    assert redact_remote("Dear Ms Alice Wong, your parcel") == "Dear ***, your parcel"
    assert redact_remote("Ms: Alice") == "Ms: ***"


def test_url_and_json_escapes_are_decoded_before_masking() -> None:
    # A provider quoting the form it refused, or JSON that failed to parse.
    text = r"bad q=alice.wong%40example.com&mobile2=%2B86+138+1234+5678 name=\u5f20\u4e09"
    with known_names("张三"):
        out = redact_text(text)
    assert out == "bad q=a***@example.com&mobile2=***5678 name=***"


def test_decoding_never_makes_a_control_character_or_breaks_bad_escapes() -> None:
    assert decode_escapes("a%0Ab%0D%0Ac") == "a%0Ab%0D%0Ac"  # no forged log line
    assert decode_escapes(r"x\u000ay") == r"x\u000ay"
    assert decode_escapes("100% sure, %ZZ, %E5%BC") == "100% sure, %ZZ, %E5%BC"
    assert decode_escapes("%E5%BC%A0%E4%B8%89") == "张三"


def test_names_after_a_cue_in_the_other_script() -> None:
    assert redact_remote("buyer 张三 asked") == "buyer *** asked"
    assert redact_remote("收货人：Alicia Wongsakul 电话") == "收货人：*** 电话"
    assert redact_remote("买家 Alice") == "买家 ***"


def test_a_known_name_part_is_masked_in_capitals_too() -> None:
    with known_names("Alicia Wongsakul"):
        assert redact_text("to WONGSAKUL, A. / Alicia") == "to ***, A. / ***"
    with known_names("Will Rose"):  # lower case stays: everyday words
        assert redact_text("we will ship the rose; ROSE, Will") == "we will ship the rose; ***, ***"
