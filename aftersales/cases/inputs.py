"""Checking free text and names a case stores: what both stores and every channel can hold."""

from __future__ import annotations

from aftersales.errors import ValidationError

__all__ = ["check_unicode", "free_text"]


def check_unicode(text: str, field: str) -> None:
    """Refuse text that is not Unicode (a lone surrogate): no store or channel can take it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("is not valid Unicode (a lone surrogate)", field=field) from None


def free_text(value: object, field: str, limit: int, *, required: bool = True) -> str | None:
    """Free text (a note, a buyer's message) both stores hold, or a ValidationError naming it.

    Several lines are fine; a NUL (PostgreSQL cannot store it, SQLite kept
    it) and a lone surrogate are not, nor more than ``limit`` characters.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("is required", field=field)
        return None if value is None else value
    if not isinstance(value, str):
        raise ValidationError("must be text", field=field)
    if "\x00" in value:
        raise ValidationError("cannot hold a NUL character", field=field)
    check_unicode(value, field)
    if len(value) > limit:
        raise ValidationError(f"at most {limit} characters", field=field)
    return value
