"""The router signature: the platform's own worked example, and every request the fake sees."""

from __future__ import annotations

from aftersales_pinduoduo import sign
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import fx, independent_sign

VECTOR = fx("sign_vectors")


def test_the_worked_example_of_the_platform_documentation() -> None:
    assert VECTOR["_source"]
    assert sign(VECTOR["params"], VECTOR["secret"]) == VECTOR["sign"]
    assert sign(VECTOR["params"], VECTOR["secret"]) == "E4DE3ED21002510DED352819E7AE6775"


def test_sign_itself_is_never_signed() -> None:
    params = dict(VECTOR["params"], sign="ANYTHING")
    assert sign(params, VECTOR["secret"]) == VECTOR["sign"]


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z_]{1,10}", fullmatch=True), _text, min_size=1,
                       max_size=8), _text)
def test_agrees_with_an_independent_signer(params: dict[str, str], secret: str) -> None:
    params.pop("sign", None)
    assert sign(params, secret) == independent_sign(params, secret)
