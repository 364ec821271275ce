"""AdapterSettings: the base of every adapter's settings model.

Each adapter keeps its credentials and options in a frozen pydantic model
built from the constructor or from the environment. What they all do the
same way lives here, once:

- :meth:`AdapterSettings.from_env` reads one variable per field listed,
  named ``{ADAPTER}_{FIELD}`` (``SHOPIFY_ACCESS_TOKEN``), lets keyword
  overrides win, names missing required variables, and turns pydantic's
  errors into a ``ConfigurationError`` that names the fields but never
  echoes a value (which may be a secret);
- :meth:`AdapterSettings.require` unwraps a credential an operation needs,
  or raises ``ConfigurationError`` naming the variable to set;
- :meth:`AdapterSettings.api_client` builds the adapter's
  :class:`~aftersales.http.ApiClient` from the common fields (``base_url``,
  ``timeout``, ``requests_per_second``), masking every secret the settings hold.

:class:`AdapterClient` is the base of an adapter's thin API client (the
calls it makes, nothing more): it holds the settings and the ``ApiClient``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, Self, TypeVar

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic import ValidationError as PydanticValidationError

from aftersales.envnames import warn_unknown_variables
from aftersales.errors import ConfigurationError, RemoteError
from aftersales.http import ApiClient, ErrorClassifier, RateLimit
from aftersales.times import utc_now

__all__ = ["AdapterClient", "AdapterSettings", "adapter_variables"]

#: What an on/off variable may say, in any case; anything else is refused by name.
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
#: Fields every adapter's settings have and :meth:`AdapterSettings.from_env` reads.
_COMMON_ENV = ("deadline",)


class AdapterSettings(BaseModel):
    """Credentials and options of one adapter, frozen, unknown keys refused.

    A subclass declares its fields and, as class variables:

    Attributes:
        adapter_name: the adapter's name; it starts every error message and,
            upper-cased, every variable name (:meth:`env_var`).
        env_fields: fields :meth:`from_env` reads from the environment.
        env_flags: fields read as on/off (``1``, ``true``, ``yes`` or ``on``
            mean on; ``0``, ``false``, ``no`` or ``off`` mean off; anything
            else is a ``ConfigurationError`` naming the variable, so a typo
            never quietly means off).
        required_from_env: fields :meth:`from_env` must find (in the
            environment or the overrides) before building; read from the
            environment too, without being listed in ``env_fields``.
        env_other: further variables a subclass's own ``from_env`` reads
            by name (Taobao's return address parts).

    A variable under the adapter's prefix that none of these name
    (``SHOPIFY_LOCATON_ID``) is read by nothing: :meth:`from_env` logs one
    WARNING naming it and the closest known one, never its value. Not an
    error: the platform's own tools share the prefix (``SHOPIFY_API_KEY``).

    Secrets are ``SecretStr`` fields: they never show in a repr, and
    :meth:`api_client` masks them in every log line and error.

    Every adapter's settings also have ``deadline`` (``{ADAPTER}_DEADLINE``):
    the seconds one HTTP attempt may take in all, the answer read whole;
    unset, :data:`aftersales.http.DEFAULT_DEADLINE` (or the connect and read
    timeouts together when longer).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    adapter_name: ClassVar[str] = "adapter"
    env_fields: ClassVar[tuple[str, ...]] = ()
    env_flags: ClassVar[frozenset[str]] = frozenset()
    required_from_env: ClassVar[tuple[str, ...]] = ()
    env_other: ClassVar[frozenset[str]] = frozenset()

    deadline: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @classmethod
    def env_var(cls, field: str) -> str:
        """The environment variable of ``field``: ``{ADAPTER_NAME}_{FIELD}``."""
        return f"{cls.adapter_name}_{field}".upper()

    @classmethod
    def env_variables(cls) -> list[str]:
        """Every variable :meth:`from_env` reads (``SHOPIFY_SHOP``, …, ``SHOPIFY_DEADLINE``)."""
        read = dict.fromkeys((*cls.required_from_env, *cls.env_fields, *_COMMON_ENV))
        return [*map(cls.env_var, read), *sorted(cls.env_other)]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Settings from the environment (see :meth:`env_var`); keyword ``overrides`` win.

        A variable under the adapter's prefix that no field reads is logged
        as a WARNING by name (see the class's docstring). An empty variable
        counts as unset, and an override of ``None`` leaves the
        environment's value (or the default) in place.

        Raises:
            ConfigurationError: a required setting is missing, or a value is
                malformed; the message names the variable or field, never its value.
        """
        env = os.environ if environ is None else environ
        read = dict.fromkeys((*cls.required_from_env, *cls.env_fields, *_COMMON_ENV))
        warn_unknown_variables(cls.env_var(""), cls.env_variables(), env,
                               owner=f"the {cls.adapter_name} adapter")
        values: dict[str, Any] = {}
        for field in read:
            raw = env.get(cls.env_var(field))
            if raw:
                values[field] = cls._flag(field, raw) if field in cls.env_flags else raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        missing = [cls.env_var(f) for f in cls.required_from_env if f not in values]
        if missing:
            raise cls.missing_error(missing)
        try:
            return cls(**values)
        except PydanticValidationError as exc:
            # ``from None``: pydantic's own message would echo the offending value.
            errors = exc.errors()
            fields = sorted({".".join(str(p) for p in e["loc"]) or "settings" for e in errors})
            raise ConfigurationError(
                f"{cls.adapter_name}: invalid setting(s) {', '.join(fields)}"
            ) from None

    @classmethod
    def _flag(cls, field: str, raw: str) -> bool:
        word = raw.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ConfigurationError(f"{cls.adapter_name}: {cls.env_var(field)} must be on or off "
                                 "(1, true, yes, on or 0, false, no, off)")

    @classmethod
    def missing_error(cls, variables: list[str]) -> ConfigurationError:
        """The error :meth:`from_env` raises when required ``variables`` are unset."""
        return ConfigurationError(f"{cls.adapter_name}: set {' and '.join(variables)}")

    def require(self, field: str, purpose: str = "") -> str:
        """The value of ``field`` (a ``SecretStr`` unwrapped) for an operation that needs it.

        Args:
            field: the settings field.
            purpose: what it is needed for (``"verify webhooks"``), for the message.

        Raises:
            ConfigurationError: the field is unset; the message names its
                environment variable (the field where it has none).
        """
        value = getattr(self, field)
        if value is None:
            read = (*self.required_from_env, *self.env_fields, *_COMMON_ENV)
            variable = self.env_var(field) if field in read else field
            why = f" to {purpose}" if purpose else ""
            raise ConfigurationError(f"{self.adapter_name} needs {variable}{why}")
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return str(value)

    def secret_values(self) -> list[str]:
        """The values of every ``SecretStr`` field that is set (for masking)."""
        values = (getattr(self, name) for name in type(self).model_fields)
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr)]

    def api_client(
        self,
        *,
        classify_error: ErrorClassifier | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        max_attempts: int = 4,
        pool_size: int = 10,
        redirect_hosts: Iterable[str] = (),
    ) -> ApiClient:
        """The adapter's ``ApiClient``, built from these settings.

        Reads ``base_url`` (a field or property), ``timeout`` (read seconds,
        with a 5 s connect timeout, or a ``(connect, read)`` pair),
        ``deadline`` and, where the settings have it, ``requests_per_second``
        (``None``: no pacing).
        Every ``SecretStr`` value is masked, plus ``secrets``; the other
        arguments go to :class:`~aftersales.http.ApiClient` as they are.
        """
        timeout = getattr(self, "timeout", 30.0)
        if not isinstance(timeout, tuple):
            timeout = (5.0, float(timeout))
        rps = getattr(self, "requests_per_second", None)
        return ApiClient(
            self.adapter_name,
            str(getattr(self, "base_url", "")),
            timeout=timeout,
            max_attempts=max_attempts,
            session=session,
            sleep=sleep,
            headers=headers,
            auth=auth,
            secrets=[*self.secret_values(), *secrets],
            classify_error=classify_error,
            pool_size=pool_size,
            rate_limit=RateLimit(rps) if rps else None,
            redirect_hosts=frozenset(redirect_hosts),
            deadline=self.deadline,
        )


SettingsT = TypeVar("SettingsT", bound=AdapterSettings)


class AdapterClient(Generic[SettingsT]):
    """The base of an adapter's API client: its settings and the ``ApiClient`` they build.

    A subclass adds the provider's calls (through ``self.api``), tunes the
    class variables below, and overrides :meth:`classify` when the API
    reports errors inside a ``200 OK`` body.

    Attributes:
        max_attempts: attempts per call, the first included (unless the
            constructor is given another number).
        pool_size: connections kept per host.
        headers: sent with every request (no credentials: those are per call
            or in the subclass's own set-up).
        redirect_hosts: hosts a redirect may lead to besides the called one
            (none: the ``ApiClient`` refuses a redirect to another host).

    Args:
        settings: the adapter's settings.
        api: a ready ``ApiClient`` (tests and custom transports); it is given
            this client's error classifier and the settings' secrets to mask.
        session: a ready ``requests.Session`` for the ``ApiClient`` built otherwise.
        sleep: how the retry layer waits (tests pass a recorder; ``time.sleep``
            when ``None``).
        max_attempts: overrides the class's ``max_attempts``.
        clock: the current aware time, for what the client signs or stamps
            (``self.clock``); the current UTC time by default.
    """

    max_attempts: ClassVar[int] = 4
    pool_size: ClassVar[int] = 10
    headers: ClassVar[Mapping[str, str]] = {}
    redirect_hosts: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        settings: SettingsT,
        *,
        api: ApiClient | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
        max_attempts: int | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.clock = clock
        if api is not None:
            api.classify_error = self.classify
            for secret in settings.secret_values():
                api.add_secret(secret)
            self.api = api
            return
        self.api = settings.api_client(
            classify_error=self.classify,
            headers=self.headers or None,
            session=session,
            sleep=time.sleep if sleep is None else sleep,
            max_attempts=self.max_attempts if max_attempts is None else max_attempts,
            pool_size=self.pool_size,
            redirect_hosts=self.redirect_hosts,
        )

    def classify(self, response: requests.Response) -> RemoteError | None:
        """The error a response reports in its body, ``None`` when it reports none.

        By default none: the HTTP status decides, as the ``ApiClient`` maps it.
        """
        return None


def adapter_variables() -> list[str]:
    """The variables every installed marketplace and carrier adapter reads (for error hints).

    Loads the installed adapters; one that fails to import is left out.
    """
    from aftersales import registry

    for group in (registry.MARKETPLACES, registry.CARRIERS):
        for kind in registry.available(group):
            with contextlib.suppress(ConfigurationError):
                registry.load(group, kind)
    found: dict[str, None] = {}
    pending: list[type[AdapterSettings]] = list(AdapterSettings.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        found.update(dict.fromkeys(model.env_variables()))
    return sorted(found)
