"""The one wording of "this variable is read by nothing".

A misspelt variable (the database URL's, the SMTP password's, Shopify's
location id) would otherwise leave a setting on its default without a word.
Two cases, told apart by who owns the prefix:

- ``AFTERSALES_*`` is the library's own: no other tool reads it, so the
  app's settings (:func:`aftersales.config.check_environment`) and the
  settings read on their own (:meth:`aftersales.channels.smtp.SmtpSettings.from_env`)
  refuse an unknown one (:func:`unknown_variable`);
- an adapter's prefix (``SHOPIFY_*``, ``TAOBAO_*``) is shared with the
  platform's own tools (Shopify's CLI and app templates read
  ``SHOPIFY_API_KEY``, ``SHOPIFY_CLI_*``), so refusing would break a shop
  that runs both: :func:`warn_unknown_variables` logs one WARNING line per
  unknown name instead.

Both name the variable and the closest known one, never its value (it may
be a secret). Kept apart from :mod:`aftersales.config`, which imports those
settings models.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping

from aftersales.errors import ConfigurationError

__all__ = ["closest", "unknown_variable", "warn_unknown_variables"]

log = logging.getLogger("aftersales.config")


def _after_shared(a: str, b: str) -> tuple[str, str]:
    """``a`` and ``b`` without the ``_``-separated words they both start with."""
    left, right = a.split("_"), b.split("_")
    while len(left) > 1 and len(right) > 1 and left[0] == right[0]:
        left, right = left[1:], right[1:]
    return "_".join(left), "_".join(right)


def closest(name: str, usable: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known variable most like ``name`` (any case), or None.

    Names are compared after the words they share at the start: every
    library variable begins ``AFTERSALES_`` (every Shopify one ``SHOPIFY_``),
    and that prefix alone made any name look like some known variable (a
    Shopify variable given the library's prefix "meant" the cases' notify
    channel).
    """
    upper = name.upper()
    best, score = None, cutoff
    for known in usable:
        ratio = difflib.SequenceMatcher(None, *_after_shared(upper, known)).ratio()
        if ratio >= score and (best is None or ratio > score):
            best, score = known, ratio
    return best


def _hint(name: str, usable: Iterable[str]) -> str:
    near = closest(name, usable)
    return f"; did you mean {near}?" if near else ""


def unknown_variable(name: str, usable: Iterable[str],
                     adapters: Iterable[str] = ()) -> ConfigurationError:
    """The error for variable ``name``, which no setting reads; ``usable`` are the known ones.

    ``adapters`` are the installed adapters' variables: a library-prefixed
    name that is one of them (or close to one) once the prefix is dropped,
    such as ``SHOPIFY_LOCATION_ID`` given the library's prefix, is pointed to it.
    """
    prefix = "AFTERSALES_"
    if name.upper().startswith(prefix):
        meant = closest(name[len(prefix):], adapters, cutoff=0.8)
        if meant is not None:
            return ConfigurationError(
                f"unknown variable {name}; adapter variables have no {prefix} prefix: "
                f"did you mean {meant}? (unset it; the README's configuration table "
                "lists the variables)")
    hint = _hint(name, usable)
    return ConfigurationError(f"unknown variable {name}{hint} (unset it; the README's "
                              "configuration table lists the variables)")


def warn_unknown_variables(prefix: str, known: Iterable[str], environ: Mapping[str, str], *,
                           owner: str) -> list[str]:
    """Log one WARNING per variable of ``environ`` under ``prefix`` that is not in ``known``.

    The prefix matches in any case (``shopify_location_id`` is not
    ``SHOPIFY_LOCATION_ID`` to the reader, so it is warned); a known name
    must match exactly. Only names are logged, never values.

    Args:
        prefix: the adapter's prefix, ``SHOPIFY_``.
        known: every variable the owner reads.
        environ: the variables to look through.
        owner: who reads them, for the message (``the shopify adapter``).

    Returns:
        The names warned about, sorted.
    """
    usable = sorted(set(known))
    unknown = sorted(name for name in environ
                     if name.upper().startswith(prefix.upper()) and name not in usable)
    for name in unknown:
        log.warning("%s is read by no setting of %s%s (its value is ignored; "
                    "if another tool reads it, ignore this)", name, owner, _hint(name, usable))
    return unknown
