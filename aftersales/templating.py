"""Safe message templates: ``{placeholder}`` fields filled from data, nothing executed.

Replies to reviews and follow-up messages are written by shop staff, so a
template must never be able to run code or reach into Python objects. This
module understands exactly one construct::

    亲爱的{buyer_name}，您的订单{order.id}已签收。{{不是字段}}

* ``{name}`` is replaced by ``context["name"]``;
* ``{order.id}`` walks dotted keys: each step is a mapping key or a declared
  pydantic field, never an arbitrary attribute (``{order.__class__}`` fails);
* ``{{`` and ``}}`` are literal braces;
* format specs and conversions (``{x:>10}``, ``{x!r}``) are refused, so a
  template cannot call ``__format__`` on anything it finds.

Values are inserted with ``str()`` and never rendered again, so a buyer
whose name is ``"{secret}"`` cannot pull another field into the output. A
missing field raises :class:`~aftersales.errors.ValidationError` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from aftersales.errors import ValidationError

__all__ = ["Template", "render"]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_FIELD = re.compile(rf"{_NAME}(?:\.(?:{_NAME}|\d+))*\Z")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_MISSING = object()


@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _Field:
    path: tuple[str, ...]

    @property
    def name(self) -> str:
        return ".".join(self.path)


class Template:
    """A parsed template; parse once, render many times.

    Args:
        text: the template source.
        name: a short name for error messages (``"reply template 'sorry'"``).

    Raises:
        ValidationError: the template has an unbalanced brace, an empty or
            malformed placeholder, or a format spec / conversion.
    """

    def __init__(self, text: str, *, name: str = "template") -> None:
        self.text = text
        self.name = name
        self._parts: tuple[_Literal | _Field, ...] = tuple(self._parse(text))

    def _parse(self, text: str) -> Iterable[_Literal | _Field]:
        pos = 0
        for match in _TOKEN.finditer(text):
            if match.start() > pos:
                yield _Literal(text[pos : match.start()])
            token = match.group(0)
            if token in ("{{", "}}"):
                yield _Literal(token[0])
            elif token in ("{", "}"):
                raise ValidationError(
                    f"unbalanced {token!r} at character {match.start()}; "
                    "write {{ or }} for a literal brace",
                    payload=self.name,
                )
            else:
                yield _Field(self._field(match.group(1).strip(), match.start()))
            pos = match.end()
        if pos < len(text):
            yield _Literal(text[pos:])

    def _field(self, body: str, at: int) -> tuple[str, ...]:
        if not _FIELD.match(body):
            raise ValidationError(
                f"placeholder {{{body}}} at character {at} is not a field name "
                "(letters, digits, _ and dots only; no format specs or conversions)",
                payload=self.name,
            )
        return tuple(body.split("."))

    @property
    def fields(self) -> frozenset[str]:
        """The dotted names of every placeholder, for validating a template up front."""
        return frozenset(p.name for p in self._parts if isinstance(p, _Field))

    def render(self, context: Mapping[str, Any]) -> str:
        """Fill every placeholder from ``context``.

        Raises:
            ValidationError: a placeholder has no value in ``context``; the
                error's ``field`` is the dotted name.
        """
        out: list[str] = []
        for part in self._parts:
            if isinstance(part, _Literal):
                out.append(part.text)
                continue
            value = _resolve(context, part.path)
            if value is _MISSING or value is None:
                raise ValidationError(
                    "the template needs this field but the data has no value for it",
                    field=part.name,
                    payload=self.name,
                )
            if isinstance(value, (Mapping, list, tuple, set, frozenset, BaseModel)):
                # A container would leak every field it holds; name one field instead.
                raise ValidationError(
                    f"a placeholder must name a single value, not a {type(value).__name__}",
                    field=part.name,
                    payload=self.name,
                )
            out.append(value if isinstance(value, str) else str(value))
        return "".join(out)

    def __repr__(self) -> str:
        return f"Template({self.name!r}, fields={sorted(self.fields)!r})"


def _resolve(value: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        value = _step(value, step)
        if value is _MISSING:
            return _MISSING
    return value


def _step(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        if key.isdigit() and int(key) in value:
            return value[int(key)]
        return _MISSING
    if isinstance(value, BaseModel):
        # Only declared fields: no properties, methods or dunder attributes.
        if key in type(value).model_fields:
            return getattr(value, key)
        return _MISSING
    if isinstance(value, (list, tuple)) and key.isdigit():
        index = int(key)
        return value[index] if index < len(value) else _MISSING
    return _MISSING


def render(template: str, context: Mapping[str, Any], *, name: str = "template") -> str:
    """Parse and fill ``template`` in one call; see :class:`Template`.

    Raises:
        ValidationError: the template is malformed or a field is missing.
    """
    return Template(template, name=name).render(context)
