"""Templates fill placeholders from data and can never reach beyond it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from aftersales.errors import ValidationError
from aftersales.templating import Template, render


class _Order(BaseModel):
    id: str
    total: Decimal

    @property
    def secret(self) -> str:
        return "internal"


def test_fills_plain_and_dotted_fields_from_dicts_and_models() -> None:
    text = render(
        "亲爱的{buyer_name}，订单{order.id}共{order.total}元，评价{review.rating}星",
        {
            "buyer_name": "小王",
            "order": _Order(id="T100", total=Decimal("59.90")),
            "review": {"rating": 2},
        },
    )
    assert text == "亲爱的小王，订单T100共59.90元，评价2星"


def test_double_braces_are_literal() -> None:
    assert render("{{name}} is {name}", {"name": "Ann"}) == "{name} is Ann"


def test_missing_field_names_the_dotted_path() -> None:
    with pytest.raises(ValidationError) as info:
        render("Hi {order.buyer.name}", {"order": {"buyer": {}}}, name="reply 'sorry'")
    assert info.value.field == "order.buyer.name"
    assert "reply 'sorry'" in str(info.value)


def test_none_value_counts_as_missing() -> None:
    with pytest.raises(ValidationError) as info:
        render("Hi {name}", {"name": None})
    assert info.value.field == "name"


@pytest.mark.parametrize(
    "source",
    [
        "{order.__class__}",
        "{order.secret}",
        "{order.model_dump}",
        "{order.__dict__}",
    ],
)
def test_only_declared_model_fields_are_reachable(source: str) -> None:
    order = _Order(id="1", total=Decimal(1))
    with pytest.raises(ValidationError):
        render(source, {"order": order})


@pytest.mark.parametrize(
    "source",
    ["{x!r}", "{x:>10}", "{x[0]}", "{}", "{ }", "{x.}", "{0x}", "a { b", "a } b", "{x()}"],
)
def test_malformed_placeholders_are_refused_at_parse_time(source: str) -> None:
    with pytest.raises(ValidationError):
        Template(source)


def test_container_values_are_refused_instead_of_dumped() -> None:
    with pytest.raises(ValidationError) as info:
        render("{order}", {"order": {"id": "1", "phone": "13800000000"}})
    assert info.value.field == "order"
    assert "13800000000" not in str(info.value)


def test_list_index_segments() -> None:
    assert render("{items.1}", {"items": ["a", "b"]}) == "b"
    with pytest.raises(ValidationError):
        render("{items.5}", {"items": ["a"]})


def test_fields_lists_every_placeholder() -> None:
    assert Template("{a} {b.c} {a}").fields == frozenset({"a", "b.c"})


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_values_are_inserted_verbatim_and_never_rendered_again(value: str) -> None:
    # A buyer's name full of braces cannot pull other fields into the reply.
    assert render("<{v}>", {"v": value, "secret": "S3CRET"}) == f"<{value}>"


@given(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=40))
def test_text_without_braces_renders_unchanged(text: str) -> None:
    assert render(text, {}) == text
