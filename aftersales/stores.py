"""Stores from configuration: ``[stores.NAME] adapter = "KIND"`` plus that adapter's settings.

A store is a named instance of a marketplace adapter kind, so a brand can
run a Tmall flagship and a Taobao shop, or Shopify US and EU, in one app::

    [stores.tmall-flagship]
    adapter = "taobao"
    app_key = "12345678"
    app_secret = { env = "TMALL_APP_SECRET" }
    session = { env = "TMALL_SESSION" }
    tmall = true

Every key but ``adapter`` is a field of the adapter's settings model (the
type of its constructor's ``settings=``). Any value may be written as
``{ env = "VARIABLE" }``, read from the environment when the app is built;
a secret (a ``SecretStr`` field) **must** be written that way, so no
credential sits in a file. What goes wrong is a one-line
:class:`~aftersales.errors.ConfigurationError` naming the store and the key
(never a value), raised before anything is written:

- :func:`check_stores` when the settings load: a bad store name, no or an
  unknown ``adapter``, an unknown key (with the closest valid one), a
  secret given in plain text, a malformed ``{ env = ... }``;
- :func:`build_stores` when the app is built: an unset variable, a value
  the adapter's settings refuse.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import os
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic import ValidationError as PydanticValidationError

from aftersales import registry
from aftersales.errors import AdapterNotFoundError, ConfigurationError
from aftersales.interfaces import Marketplace
from aftersales.naming import check_store_name, shown

__all__ = ["ENV_KEY", "build_store", "build_stores", "check_stores", "settings_model",
           "warn_unread_variables"]

_log = logging.getLogger("aftersales.config")

#: The one key of a reference to an environment variable: ``{ env = "VARIABLE" }``.
ENV_KEY = "env"
#: The key naming a store's adapter kind.
_ADAPTER = "adapter"


def settings_model(kind: str) -> type[BaseModel]:
    """The settings model of marketplace adapter ``kind``: its constructor's ``settings=`` type
    (or, for a :class:`~aftersales.adapter_setup.ClientMarketplace`, whose constructor
    is generic, its ``settings_class``).

    Raises:
        ConfigurationError: ``kind`` is not installed, or its constructor
            declares no pydantic settings model.
    """
    try:
        cls = registry.load(registry.MARKETPLACES, kind)
    except AdapterNotFoundError as exc:
        raise ConfigurationError(str(exc)) from None
    declared = getattr(cls, "settings_class", None)
    found = ([declared] if isinstance(declared, type) and issubclass(declared, BaseModel)
             else _models(_settings_annotation(cls)))
    if not found:
        raise ConfigurationError(
            f"adapter {kind!r} takes no settings model, so it cannot be configured as a store")
    return found[0]


def _settings_annotation(cls: Any) -> Any:
    """The resolved annotation of ``cls``'s ``settings`` parameter (``None`` without one).

    Only that one annotation is resolved, in the adapter's module: others
    may name types imported for type checkers only.
    """
    annotation = getattr(cls.__init__, "__annotations__", {}).get("settings")
    if not isinstance(annotation, str):
        return annotation

    def probe() -> None: ...

    probe.__annotations__ = {"settings": annotation}
    try:
        return typing.get_type_hints(probe, globalns=vars(sys.modules[cls.__module__]))["settings"]
    except (NameError, KeyError, SyntaxError, TypeError):
        return None


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside ``annotation`` (``X | None`` gives ``[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    return []


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(arg) for arg in typing.get_args(annotation))


def _is_reference(value: Any) -> bool:
    return isinstance(value, Mapping) and ENV_KEY in value


def _check_reference(where: str, value: Mapping[str, Any]) -> None:
    variable = value.get(ENV_KEY)
    if set(value) != {ENV_KEY} or not isinstance(variable, str) or not variable.strip() \
            or any(c.isspace() or c == "=" or ord(c) < 32 for c in variable):
        raise ConfigurationError(
            f"{where}: write a reference as {{ env = \"VARIABLE\" }} naming one variable")


def _check_fields(where: str, model: type[BaseModel], values: Mapping[str, Any]) -> None:
    fields = model.model_fields
    for key, value in values.items():
        spot = f"{where}.{key}"
        if key not in fields:
            near = difflib.get_close_matches(str(key), [*fields, _ADAPTER], n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigurationError(f"{where}: unknown setting {shown(key)}{hint}")
        if _is_reference(value):
            _check_reference(spot, value)
            continue
        annotation = fields[key].annotation
        if _is_secret(annotation) and value is not None:
            raise ConfigurationError(
                f"{spot}: a secret is never written in the settings; "
                f"give the variable holding it: {key} = {{ env = \"VARIABLE\" }}")
        nested = _models(annotation)
        if nested and isinstance(value, Mapping):
            _check_fields(spot, nested[0], value)


def referenced_variables(stores: Any) -> set[str]:
    """The environment variables the stores' ``{ env = "VARIABLE" }`` references name.

    Unchecked input is walked as it is (anything but a mapping names none).
    """
    found: set[str] = set()
    if not isinstance(stores, Mapping):
        return found
    pending: list[Any] = list(stores.values())
    while pending:
        value = pending.pop()
        if _is_reference(value) and isinstance(value.get(ENV_KEY), str):
            found.add(value[ENV_KEY].strip())
        elif isinstance(value, Mapping):
            pending.extend(value.values())
    return found


def check_stores(stores: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``stores`` (name → table) checked without reading the environment; returns it as dicts.

    Raises:
        ConfigurationError: the first problem, naming ``stores.NAME`` and the key.
    """
    if not isinstance(stores, Mapping):
        raise ConfigurationError("stores: give one table per store, [stores.NAME]")
    out: dict[str, dict[str, Any]] = {}
    for name, table in stores.items():
        check_store_name(name)
        where = f"stores.{name}"
        if not isinstance(table, Mapping):
            raise ConfigurationError(f"{where}: give a table with adapter = \"KIND\"")
        kind = table.get(_ADAPTER)
        if not isinstance(kind, str) or not kind:
            raise ConfigurationError(f"{where}: needs adapter = \"KIND\" (installed: "
                                     f"{', '.join(registry.available(registry.MARKETPLACES))})")
        installed = registry.available(registry.MARKETPLACES)
        if kind not in installed:
            near = difflib.get_close_matches(kind, installed, n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigurationError(f"{where}.adapter: unknown adapter kind {shown(kind)}{hint} "
                                     f"(installed: {', '.join(installed)})")
        values = {k: v for k, v in table.items() if k != _ADAPTER}
        _check_fields(where, settings_model(kind), values)
        out[name] = {_ADAPTER: kind, **values}
    return out


def _resolve(where: str, values: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if _is_reference(value):
            variable = value[ENV_KEY]
            found = environ.get(variable)
            if not found:
                raise ConfigurationError(
                    f"{where}.{key}: environment variable {variable} is not set")
            out[key] = found
        elif isinstance(value, Mapping):
            out[key] = _resolve(f"{where}.{key}", value, environ)
        else:
            out[key] = value
    return out


def build_store(
    name: str, table: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Marketplace:
    """The adapter store ``name`` configures: ``adapter`` built with ``settings=`` and ``name=``.

    Args:
        name: the store's name.
        table: its checked table (see :func:`check_stores`).
        environ: where references are read (default ``os.environ``).

    Raises:
        ConfigurationError: a referenced variable is unset, or the adapter's
            settings refuse a value; the message names the store and the key.
            An adapter that raises while it is built is one too, naming
            the store (:func:`aftersales.registry.build`).
    """
    where = f"stores.{name}"
    kind = str(table[_ADAPTER])
    values = _resolve(where, {k: v for k, v in table.items() if k != _ADAPTER},
                      os.environ if environ is None else environ)
    model = settings_model(kind)
    try:
        settings = model.model_validate(values)
    except PydanticValidationError as exc:
        # ``from None`` and only the message: pydantic's full text would echo the value.
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "settings"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ConfigurationError(f"{where}.{key}: {message}") from None
    cls = registry.load(registry.MARKETPLACES, kind)
    if "name" not in inspect.signature(cls).parameters:
        raise ConfigurationError(f"{where}: adapter {kind!r} takes no name=")
    built: Marketplace = registry.build(where, cls, settings=settings, name=name)
    return built


def build_stores(
    stores: Mapping[str, Mapping[str, Any]], environ: Mapping[str, str] | None = None,
    *, from_env: Iterable[str] = (),
) -> list[Marketplace]:
    """Every configured store's adapter, in configuration order (see :func:`build_store`).

    Then :func:`warn_unread_variables`: ``from_env`` are the kinds also built
    from the environment (the ``marketplaces`` setting), which read their
    variables themselves.
    """
    built = [build_store(name, table, environ) for name, table in stores.items()]
    warn_unread_variables(stores, environ, from_env=from_env)
    return built


def warn_unread_variables(
    stores: Mapping[str, Mapping[str, Any]], environ: Mapping[str, str] | None = None,
    *, from_env: Iterable[str] = (),
) -> list[str]:
    """Log one WARNING per variable under a store kind's prefix that nothing reads.

    A store takes its settings from its table only, so ``SHOPIFY_LOCATION_ID``
    left from a single-shop set-up (``marketplaces = ["shopify"]``) is read
    by nothing once the shop is a ``[stores.NAME]`` table: the warning names
    the store and the ``{ env = ... }`` line that would read it. A name the
    adapter does not know at all (``SHOPIFY_LOCATON_ID``) is warned as
    :meth:`~aftersales.settings.AdapterSettings.from_env` warns it. Names
    only, never values; not an error, as the platform's own tools share
    the prefix. Kinds in ``from_env`` are skipped: their adapter reads
    (and checks) its variables itself.

    Returns:
        The variables warned about.
    """
    from aftersales.envnames import warn_unknown_variables
    from aftersales.settings import AdapterSettings

    env = os.environ if environ is None else environ
    referenced = {v.upper() for v in referenced_variables(stores)}
    skip = {str(k).lower() for k in from_env}
    kinds: dict[str, list[str]] = {}
    for name, table in stores.items():
        kinds.setdefault(str(table[_ADAPTER]), []).append(name)
    warned: list[str] = []
    for kind, names in kinds.items():
        model = settings_model(kind)
        if kind in skip or not issubclass(model, AdapterSettings):
            continue
        prefix, known = model.env_var(""), model.env_variables()
        unread = sorted(n for n in env if n.upper().startswith(prefix.upper())
                        and n.upper() not in referenced)
        who = f"store {names[0]} takes" if len(names) == 1 else (
            f"stores {', '.join(names)} take")
        for variable in (n for n in unread if n in known):
            field = variable[len(prefix):].lower()
            how = (f'{field} = {{ env = "{variable}" }} reads it'
                   if field in model.model_fields else "a { env = ... } reference reads it")
            _log.warning("%s is read by no store: %s its settings from its table only (%s)",
                         variable, who, how)
            warned.append(variable)
        warned += warn_unknown_variables(prefix, [*known, *referenced],
                                         {n: "" for n in unread if n not in known},
                                         owner=f"the {kind} adapter")
    return warned
