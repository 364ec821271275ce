"""The one wording of "this ``AFTERSALES_*`` variable is read by nothing".

A misspelt variable (the database URL's, the SMTP password's) would
otherwise leave a setting on its default without a word. The app's
settings (:func:`aftersales.config.check_environment`) and the settings
read on their own (:meth:`aftersales.channels.smtp.SmtpSettings.from_env`)
refuse one the same way, naming it and the closest known variable, never
its value. Kept apart from :mod:`aftersales.config`, which imports those
settings models.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from aftersales.errors import ConfigurationError

__all__ = ["unknown_variable"]


def unknown_variable(name: str, usable: Iterable[str]) -> ConfigurationError:
    """The error for variable ``name``, which no setting reads; ``usable`` are the known ones."""
    near = difflib.get_close_matches(name.upper(), list(usable), n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]}?" if near else ""
    return ConfigurationError(f"unknown variable {name}{hint} (unset it; the README's "
                              "configuration table lists the variables)")
