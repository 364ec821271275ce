"""Carrier detection speed and agreement against the PyPI package ``tracking-numbers``.

Both detectors get the same inputs: synthesised numbers with valid check
digits for UPS, FedEx (12 and 15 digits), USPS (IMpb 22), DHL Express and
UPU S10, the same numbers with a broken check digit, Chinese waybills (SF,
YTO, J&T, JD, ZTO, STO, Yunda) and random noise. Printed: numbers per second
for each and their ratio; agreement on the carriers both know (UPS, FedEx,
USPS, DHL, S10), each way. ``tracking-numbers`` knows no Chinese carrier.

    python benchmarks/detect_carrier.py [--quick] [--count N]
"""

from __future__ import annotations

import argparse
import random
import string
import time
from collections import Counter
from collections.abc import Callable, Sequence

import tracking_numbers  # type: ignore[import-untyped]

from aftersales.logistics import detect_carrier, match_formats
from aftersales.logistics.checksums import mod7, mod10, s10, sum_product

SHARED = {"ups", "fedex", "usps", "dhl", "s10"}
_FEDEX12 = {"weightings": [3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1], "modulo1": 11, "modulo2": 10}


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _check(valid: Callable[[str, str], bool], serial: str) -> str:
    return next(d for d in string.digits if valid(serial, d))


def _ups(rng: random.Random) -> str:
    serial = "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(15))
    return "1Z" + serial + _check(lambda s, d: mod10(s, d, {"odds_multiplier": 2}), serial)


def _fedex12(rng: random.Random) -> str:
    serial = _digits(rng, 11)
    return serial + _check(lambda s, d: sum_product(s, d, _FEDEX12), serial)


def _fedex15(rng: random.Random) -> str:
    serial = _digits(rng, 14)
    return serial + _check(lambda s, d: mod10(s, d, {"odds_multiplier": 3}), serial)


def _usps(rng: random.Random) -> str:
    serial = "94001" + _digits(rng, 16)
    params = {"evens_multiplier": 3, "odds_multiplier": 1, "reverse": True}
    return serial + _check(lambda s, d: mod10(s, d, params), serial)


def _dhl(rng: random.Random) -> str:
    serial = str(rng.randint(1, 9)) + _digits(rng, 8)
    return serial + _check(lambda s, d: mod7(s, d, {}), serial)


def _s10(rng: random.Random) -> str:
    serial = _digits(rng, 8)
    country = rng.choice(["CN", "US", "GB", "DE", "FR", "JP"])
    kind = rng.choice(["RR", "EA", "LX", "CP", "UA"])
    return kind + serial + _check(lambda s, d: s10(s, d, {}), serial) + country


_VALID = [_ups, _fedex12, _fedex15, _usps, _dhl, _s10]


def _break(number: str) -> str:
    # Change the check digit (the last digit; before the country code for S10).
    pos = len(number) - (3 if number[-1].isalpha() else 1)
    digit = str((int(number[pos]) + 1) % 10)
    return number[:pos] + digit + number[pos + 1 :]


def _chinese(rng: random.Random) -> str:
    makers: list[Callable[[], str]] = [
        lambda: "SF" + _digits(rng, 13), lambda: "YT" + _digits(rng, 13),
        lambda: "JT" + _digits(rng, 13), lambda: "JDX" + _digits(rng, 12),
        lambda: "7" + rng.choice("3456") + _digits(rng, 12), lambda: "77" + _digits(rng, 13),
        lambda: rng.choice("34") + _digits(rng, 14), lambda: _digits(rng, 13),
    ]
    return rng.choice(makers)()


def _noise(rng: random.Random) -> str:
    length = rng.randint(4, 30)
    return "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def inputs(count: int, seed: int = 7) -> list[str]:
    """``count`` numbers: 40% valid international, 20% broken, 25% Chinese, 15% noise."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        kind = i % 20
        if kind < 8:
            out.append(rng.choice(_VALID)(rng))
        elif kind < 12:
            out.append(_break(rng.choice(_VALID)(rng)))
        elif kind < 17:
            out.append(_chinese(rng))
        else:
            out.append(_noise(rng))
    return out


def theirs(number: str) -> str | None:
    """tracking-numbers' courier code for a valid match, or ``None``."""
    found = tracking_numbers.get_tracking_number(number)
    return found.courier.code if found is not None else None


def ours(number: str) -> set[str]:
    """Our answer in tracking-numbers' vocabulary: S10 formats count as ``s10``."""
    codes = set()
    for hit in match_formats(number):
        if not hit.check_digit:
            continue  # digits-only shapes without a check digit: not comparable
        codes |= {"s10"} if hit.format_id.startswith("s10") else set(hit.carriers)
    return codes & SHARED


def rate(fn: Callable[[str], object], numbers: Sequence[str], repeat: int = 3) -> float:
    """Best numbers per second over ``repeat`` passes."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for number in numbers:
            fn(number)
        best = min(best, time.perf_counter() - started)
    return len(numbers) / best


def main() -> None:
    """Time both detectors on the same inputs and compare their answers."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="5,000 numbers")
    args = parser.parse_args()
    numbers = inputs(5_000 if args.quick else args.count)
    detect_carrier(numbers[0])  # load and compile the table outside the timing
    ours_rate = rate(detect_carrier, numbers)
    theirs_rate = rate(theirs, numbers)
    print(f"{len(numbers)} numbers (valid and broken UPS/FedEx/USPS/DHL/S10, Chinese, noise)")
    print(f"aftersales.detect_carrier: {ours_rate:,.0f} numbers/s")
    print(f"tracking-numbers 0.1.8:    {theirs_rate:,.0f} numbers/s")
    print(f"ratio: {ours_rate / theirs_rate:.2f}x tracking-numbers' throughput")
    answers = [(theirs(n), ours(n)) for n in numbers]
    they_know = [(t, o) for t, o in answers if t in SHARED]
    we_know = [(t, o) for t, o in answers if o]
    agree_theirs = sum(t in o for t, o in they_know)
    agree_ours = sum(t in o for t, o in we_know)
    print(f"agreement where tracking-numbers names a shared carrier: "
          f"{agree_theirs}/{len(they_know)} = {agree_theirs / max(1, len(they_know)):.1%}")
    print(f"agreement where we name a shared carrier by check digit: "
          f"{agree_ours}/{len(we_know)} = {agree_ours / max(1, len(we_know)):.1%}")
    differ = Counter((t, tuple(sorted(o))) for t, o in answers if (t in SHARED or o)
                     and t not in o)
    for (t, o), n in differ.most_common(6):
        print(f"  differ: tracking-numbers {t or 'none'} vs ours {', '.join(o) or 'none'}: {n}")
    ups = tracking_numbers.get_definition("UPS")
    service_type_only = sum(
        1 for number, (t, o) in zip(numbers, answers, strict=True)
        if t is None and "ups" in o and ups is not None
        and {name for name, _ in ups.test(number).validation_errors} == {"Service Type"}
    )
    print(f"  of which UPS numbers tracking-numbers refuses only for an unlisted service type: "
          f"{service_type_only} (its 2022 data requires a known service type; the 2.0 data, "
          f"whose own valid test numbers include unlisted ones, does not)")
    chinese = sum(1 for n in numbers if detect_carrier(n) and theirs(n) is None)
    print(f"numbers only we attribute (mostly Chinese waybills): {chinese}")


if __name__ == "__main__":
    main()
