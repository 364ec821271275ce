"""Carrier detection: real-format numbers, check digits, Chinese shapes, normalisation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.logistics import detect_carrier
from aftersales.logistics.detect import load_formats, match_formats, normalize_number

VECTORS = json.loads((Path(__file__).parent / "fixtures" / "detect_vectors.json").read_text())
FORMATS = VECTORS["formats"]

VALID = [(fid, v["carrier"], n) for fid, v in FORMATS.items() for n in v["valid"]]
INVALID = [(fid, v["carrier"], n) for fid, v in FORMATS.items() for n in v["invalid"]]


@pytest.mark.parametrize(("format_id", "carrier", "number"), VALID)
def test_valid_test_numbers_are_attributed_to_their_format(
    format_id: str, carrier: str, number: str
) -> None:
    ids = [m.format_id for m in match_formats(number)]
    codes = detect_carrier(number)
    if format_id == "s10":  # the generic S10 row yields to country-specific ones
        assert any(i.startswith("s10") for i in ids)
    else:
        assert format_id in ids
        assert carrier in codes


@pytest.mark.parametrize(("format_id", "carrier", "number"), INVALID)
def test_broken_check_digits_are_not_attributed(format_id: str, carrier: str, number: str) -> None:
    assert format_id not in [m.format_id for m in match_formats(number)]


@pytest.mark.parametrize(
    ("good", "broken", "carrier"),
    [
        ("1Z5R89390357567127", "1Z5R89390357567128", "ups"),
        ("986578788855", "986578788856", "fedex"),
        ("9400111206206406260787", "9400111206206406260788", "usps"),
        ("JJD0099999999", "XJD0099999998", "dhl"),
        ("3318810025", "3318810026", "dhl"),
        ("RB123456785GB", "RB123456786GB", "upu"),
        ("EA123456785CN", "EA123456786CN", "ems"),
        ("RR123456785CN", "RR123456784CN", "chinapost"),
        ("RB123456785US", "RB123456789US", "usps"),
    ],
)
def test_one_changed_digit_drops_the_carrier(good: str, broken: str, carrier: str) -> None:
    assert detect_carrier(good)[0] == carrier
    assert carrier not in detect_carrier(broken)


@pytest.mark.parametrize(
    ("number", "first"),
    [
        ("SF1234567890123", "sf"),
        ("YT9693083639795", "yto"),
        ("YT2229521272164446", "yunexpress"),
        ("JDVA12345678901", "jd"),
        ("JDX123456789012", "jd"),
        ("JT1234567890123", "jtexpress"),
        ("JT123456789012", "jtexpress"),
        ("DPK123456789012", "deppon"),
        ("LP00123456789012", "cainiao"),
        ("73123456789012", "zto"),
        ("773123456789012", "sto"),
        ("431234567890123", "yunda"),
        ("3950055201640", "yunda"),
        ("621234567890123", "cainiao"),
        ("1151234567890", "ems"),
        ("9876543210123", "chinapost"),
    ],
)
def test_chinese_carrier_shapes(number: str, first: str) -> None:
    assert detect_carrier(number)[0] == first


def test_digits_only_chinese_numbers_list_every_candidate() -> None:
    # 13 digits starting 4: Yunda's shape and STO's legacy one both fit; the
    # caller (or Kuaidi100's autonumber) picks.
    assert detect_carrier("4311159956248")[:2] == ["yunda", "sto"]


def test_a_checksummed_format_outranks_a_bare_digit_shape() -> None:
    # 12 digits with a valid FedEx Express check digit: also ZTO/SF legacy shapes.
    codes = detect_carrier("986578788855")
    assert codes[0] == "fedex"
    assert {"zto", "sf", "sto"} <= set(codes)


@pytest.mark.parametrize("number", ["", "   ", "hello", "SF12", "1Z", "ABCDEFGHIJ", "12345"])
def test_nothing_fits_gives_an_empty_list(number: str) -> None:
    assert detect_carrier(number) == []


@pytest.mark.parametrize(
    "typed",
    [
        "sf1234567890123",
        " SF 1234 5678 90123 ",
        "SF-1234-5678-90123",
        "ＳＦ１２３４５６７８９０１２３",
    ],
)
def test_spaces_dashes_case_and_full_width_do_not_matter(typed: str) -> None:
    assert normalize_number(typed) == "SF1234567890123"
    assert detect_carrier(typed) == ["sf"]


def test_the_table_is_consistent() -> None:
    formats = load_formats()
    ids = [f.id for f in formats]
    assert len(ids) == len(set(ids))
    assert [f.priority for f in formats] == sorted((f.priority for f in formats), reverse=True)
    codes = {c for f in formats for c in f.carriers}
    assert {"sf", "jd", "ems", "yto", "zto", "sto", "yunda", "jtexpress", "deppon", "cainiao",
            "ups", "fedex", "usps", "dhl"} <= codes
    assert all(re.fullmatch(r"[a-z0-9]+", c) for c in codes)


@given(st.text(max_size=40))
def test_any_input_gives_unique_lowercase_codes(text: str) -> None:
    codes = detect_carrier(text)
    assert len(codes) == len(set(codes))
    assert all(c == c.lower() for c in codes)


@given(st.from_regex(r"[0-9]{8}", fullmatch=True))
def test_exactly_one_s10_check_digit_fits_each_serial(serial: str) -> None:
    fitting = [d for d in "0123456789" if "chinapost" in detect_carrier(f"RR{serial}{d}CN")]
    assert len(fitting) == 1


@given(st.from_regex(r"1Z[0-9A-Z]{15}", fullmatch=True))
def test_exactly_one_ups_check_digit_fits(stem: str) -> None:
    fitting = [d for d in "0123456789" if "ups" in detect_carrier(stem + d)]
    assert len(fitting) == 1


@given(st.from_regex(r"SF[0-9]{13}", fullmatch=True), st.sampled_from([" ", "-", "  "]))
def test_separators_anywhere_are_ignored(number: str, sep: str) -> None:
    spaced = sep.join(number[i : i + 4] for i in range(0, len(number), 4)).lower()
    assert detect_carrier(spaced) == detect_carrier(number) == ["sf"]


def test_declared_lengths_match_the_patterns() -> None:
    import importlib

    sre = importlib.import_module("re._parser")  # the length prefilter must never hide a match

    for fmt in load_formats():
        assert fmt.length == sre.parse(fmt.pattern.pattern).getwidth(), fmt.id
