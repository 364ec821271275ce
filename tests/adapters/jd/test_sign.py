"""The JOS signature: the developer guide's worked example, and every request the fake sees."""

from __future__ import annotations

from aftersales_jd import sign
from aftersales_jd.client import param_json
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import fx, independent_sign

VECTOR = fx("sign_vectors")


def test_the_worked_example_of_the_developer_guide() -> None:
    ex = VECTOR["official"]
    assert VECTOR["_source"]
    assert sign(ex["params"], ex["secret"]) == ex["sign"] == "D70825340F4084360B9362B60DFD7930"


def test_360buy_param_json_is_signed_and_sorts_first() -> None:
    ex = VECTOR["official"]
    changed = dict(ex["params"], **{"360buy_param_json": '{"page":"2"}'})
    assert sign(changed, ex["secret"]) != ex["sign"]
    assert sign(dict(ex["params"], sign="X"), ex["secret"]) == ex["sign"]


def test_the_business_json_has_sorted_keys_and_no_nulls() -> None:
    assert param_json({"pageSize": 2, "applyTimeEnd": "x", "orderId": None,
                       "remark": "同意"}) == '{"applyTimeEnd":"x","pageSize":2,"remark":"同意"}'


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z_0-9]{1,10}", fullmatch=True), _text, min_size=1,
                       max_size=8), _text)
def test_agrees_with_an_independent_signer(params: dict[str, str], secret: str) -> None:
    params.pop("sign", None)
    assert sign(params, secret) == independent_sign(params, secret)
