"""The closest known key to a misspelt one in a pydantic model's input, for error texts.

A settings or policy file's typo (``first_respons``) is refused by the
model (``extra="forbid"``); the message is only useful when it also says
what was meant. :func:`closest_field` walks the model along the error's
location (through nested models, and the values of ``dict`` and
``X | None`` fields) to the model that refused the key, and picks the
closest of its fields with :mod:`difflib`. Only field names are shown,
never a value.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

__all__ = ["closest_field", "did_you_mean"]


def _models(annotation: Any) -> list[Any]:
    """The candidates one step inside ``annotation``: itself, a union's members."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _step(annotation: Any, part: Any) -> Any | None:
    """What sits at ``part`` inside a value of ``annotation`` (None: not a model's place)."""
    for kind in _models(annotation):
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(part))
            if field is not None:
                return field.annotation
        elif typing.get_origin(kind) in (dict, typing.Mapping):
            args = typing.get_args(kind)
            if len(args) == 2:
                return args[1]
    return None


def closest_field(model: type[BaseModel], loc: Sequence[Any]) -> str | None:
    """The field closest to ``loc``'s last part among the fields where it was given."""
    if not loc:
        return None
    annotation: Any = model
    for part in loc[:-1]:
        annotation = _step(annotation, part)
        if annotation is None:
            return None
    names = [n for kind in _models(annotation)
             if isinstance(kind, type) and issubclass(kind, BaseModel)
             for n in kind.model_fields]
    near = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    return near[0] if near else None


def did_you_mean(model: type[BaseModel], loc: Sequence[Any]) -> str:
    """``"; did you mean 'x'?"`` for :func:`closest_field`, or ``""`` without one."""
    near = closest_field(model, loc)
    return f"; did you mean {near!r}?" if near else ""
