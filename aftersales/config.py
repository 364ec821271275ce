"""AfterSalesSettings: the library's typed settings, from three places.

Later places win over earlier ones, key by key:

1. an optional TOML file: ``AFTERSALES_CONFIG`` names it, else
   ``aftersales.toml`` in the working folder is read when it exists;
2. ``AFTERSALES_*`` environment variables: a top-level key upper-cased
   (``AFTERSALES_DATABASE_URL``), a section's key after its section
   (``AFTERSALES_RETURNS_POLICY``, ``AFTERSALES_INTERVAL_SYNC``);
3. keyword arguments (``AfterSales(returns={"policy": "policy.toml"})``),
   where the shortcuts in :data:`KEYWORD_SHORTCUTS` (``return_policy=``)
   stand for a key of a section.

Every area has its own section (``returns``, ``logistics``, ``reviews``,
``followups``), as do the worker's tick intervals (``interval``) and the
built-in adapters that take settings (``sandbox``, ``webhook``, ``smtp``).

An unknown key, in a keyword, in the TOML file or as an ``AFTERSALES_*``
variable, is a :class:`~aftersales.errors.ConfigurationError` naming it and
the closest valid key (a misspelt variable would otherwise leave the app on
its defaults without a word); a bad value is one naming the key, never
echoing the value (it may be a secret). :func:`configuration_table` renders the README's table
of every variable from this model, so the two cannot drift apart.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic.config import JsonDict
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from aftersales import registry, stores
from aftersales.channels.smtp import SmtpSettings
from aftersales.channels.webhook import WebhookSettings
from aftersales.envnames import unknown_variable
from aftersales.errors import ConfigurationError
from aftersales.sandbox.settings import SandboxSettings
from aftersales.tomlfile import read_toml

__all__ = [
    "CONFIG_FILE",
    "CONFIG_VARIABLE",
    "KEYWORD_SHORTCUTS",
    "AfterSalesSettings",
    "CasesSettings",
    "FollowUpsSettings",
    "IntervalSettings",
    "LogisticsSettings",
    "ReturnsSettings",
    "ReviewsSettings",
    "SandboxSettings",
    "WebhookSettings",
    "check_environment",
    "configuration_table",
    "known_variable",
]

#: The variable naming the TOML file to read.
CONFIG_VARIABLE = "AFTERSALES_CONFIG"
#: The TOML file read from the working folder when ``AFTERSALES_CONFIG`` is unset.
CONFIG_FILE = "aftersales.toml"
_PREFIX = "AFTERSALES_"
#: ``AFTERSALES_*`` names read on purpose outside the settings model: the test
#: suite's switches and, as a prefix (ending in ``_``), the benchmarks' sizes.
OTHER_VARIABLES: frozenset[str] = frozenset({
    "AFTERSALES_REQUIRE_POSTGRES", "AFTERSALES_REQUIRE_BROWSER",
    "AFTERSALES_RACE_ROUNDS", "AFTERSALES_RACE_UNLOCKED", "AFTERSALES_BENCH_",
})

#: Keyword shortcuts: ``AfterSales(return_policy=...)`` is ``returns={"policy": ...}``.
KEYWORD_SHORTCUTS: Mapping[str, tuple[str, str]] = {
    "return_policy": ("returns", "policy"),
    "return_validators": ("returns", "validators"),
    "stock_check": ("returns", "stock_check"),
    "review_classifier": ("reviews", "classifier"),
    "review_alerts": ("reviews", "alerts"),
    "review_alert_channels": ("reviews", "alert_channels"),
    "review_alert_to": ("reviews", "alert_to"),
    "review_templates": ("reviews", "templates"),
    "shop_name": ("reviews", "shop_name"),
    "plans": ("followups", "plans"),
    "contact_policy": ("followups", "contact_policy"),
    "followup_lease": ("followups", "lease"),
    "followup_batch": ("followups", "batch"),
    "case_policy": ("cases", "policy"),
}

#: Marks a field that only a keyword (a Python object) can set.
_KEYWORD_ONLY: JsonDict = {"keyword_only": True}
#: Marks a field set in the TOML file or by keyword, not by a variable.
_FILE_OR_KEYWORD: JsonDict = {"file_or_keyword": True}


def _names(value: Any) -> Any:
    """``"a, b"`` → ``["a", "b"]`` (variables hold comma-separated names)."""
    if isinstance(value, str):
        return [n.strip().lower() for n in value.split(",") if n.strip()]
    return value


def _seconds(value: Any) -> Any:
    """``"30"`` → 30 seconds (a variable is text; pydantic reads ISO 8601 durations only)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


Names = Annotated[list[str], NoDecode]
Seconds = Annotated[timedelta, BeforeValidator(_seconds)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)


class ReturnsSettings(_Section):
    """``[returns]``: the shop's return policy and the eligibility hooks."""

    policy: Any = Field(
        default=None,
        description="the return policy: a TOML path, a mapping or a ReturnPolicy",
    )
    validators: Any = Field(
        default=None,
        description="eligibility validators, in order (default: the built-in ones)",
        json_schema_extra=_KEYWORD_ONLY,
    )
    stock_check: Any = Field(
        default=None,
        description="stock_check(sku, qty) -> bool for exchange replacements",
        json_schema_extra=_KEYWORD_ONLY,
    )


class LogisticsSettings(_Section):
    """``[logistics]``: how parcels are refreshed and when they count as stuck."""

    ttl: Seconds = Field(
        default=timedelta(hours=1), description="seconds a stored tracking stays fresh"
    )
    max_in_flight: int = Field(default=4, ge=1, description="provider calls in flight at once")
    write_every: int = Field(default=100, ge=1, description="parcels written per transaction")
    claim_every: int = Field(default=200, ge=1, description="parcels claimed per claim")
    stuck_after: dict[str, Seconds] = Field(
        default_factory=dict,
        description="per carrier code, seconds without news before a parcel is stuck",
    )
    receive_returns: bool | None = Field(
        default=None,
        description="a delivered return parcel marks its request received "
        "(unset: the return policy's receive_on_delivery decides)",
    )


class ReviewsSettings(_Section):
    """``[reviews]``: classification, alerts and reply templates."""

    classifier: Any = Field(
        default=None,
        description="the review classifier (default: the lexicon classifier)",
        json_schema_extra=_KEYWORD_ONLY,
    )
    alerts: Any = Field(
        default=None,
        description="alert thresholds, an AlertConfig",
        json_schema_extra=_KEYWORD_ONLY,
    )
    alert_channels: Names | None = Field(
        default=None, description="channels alerts go through (default: every channel)"
    )
    alert_to: str | dict[str, str] = Field(
        default="shop", description="who alerts are addressed to, or one per channel"
    )
    templates: dict[str, str | dict[str, str]] = Field(
        default_factory=dict, description="reply templates by name, added to the built-in ones"
    )
    shop_name: str = Field(default="our shop", description="the shop's name in replies")

    _split = field_validator("alert_channels", mode="before")(classmethod(
        lambda cls, v: _names(v)))


class FollowUpsSettings(_Section):
    """``[followups]``: plans, the contact policy and the dispatcher's claims."""

    plans: Any = Field(
        default=None, description="follow-up plans: a TOML path, TOML text or a mapping"
    )
    contact_policy: Any = Field(
        default=None,
        description="the contact policy, a ContactPolicy",
        json_schema_extra=_KEYWORD_ONLY,
    )
    lease: float = Field(default=300, gt=0, description="seconds a claimed follow-up is held")
    batch: int = Field(default=100, ge=1, description="follow-ups claimed per round")


class ReportsSettings(_Section):
    """``[reports]``: the weekly report the worker sends (off until a channel and recipient)."""

    weekly_channel: str | None = Field(
        default=None, description="channel of the weekly HTML report (smtp, outbox, …)")
    weekly_to: str | None = Field(default=None,
                                  description="its recipient (an e-mail address for smtp)")
    weekly_lang: Literal["en", "zh"] = Field(default="en", description="its labels: en or zh")


class CasesSettings(_Section):
    """``[cases]``: the case policy, the shop's own root causes and the SLA tick."""

    policy: Any = Field(
        default=None, description="the case policy (SLA, hours, escalation): a TOML path or text"
    )
    causes: dict[str, str] = Field(
        default_factory=dict, description="the shop's own root causes, code = label"
    )
    batch: int = Field(default=500, ge=1, description="SLA deadlines handled per transaction")
    notify_channel: str | None = Field(
        default=None, description="channel that tells buyers about proposals (default: first)"
    )


class IntervalSettings(_Section):
    """``[interval]``: seconds between the worker's ticks; 0 turns a tick off."""

    followups: float = Field(default=30, ge=0, description="seconds between follow-up dispatches")
    tracking: float = Field(default=900, ge=0, description="seconds between tracking refreshes")
    reviews: float = Field(default=1800, ge=0, description="seconds between review syncs")
    sync: float = Field(default=600, ge=0, description="seconds between marketplace syncs")
    return_timers: float = Field(default=300, ge=0, description="seconds between SLA timer runs")
    cases: float = Field(default=60, ge=0, description="seconds between case SLA ticks")
    refunds: float = Field(default=120, ge=0,
                           description="seconds between reconciliations of pending refunds")
    weekly_report: float = Field(default=3600, ge=0,
                                 description="seconds between checks for a weekly report due")


class _TomlSource(PydanticBaseSettingsSource):
    """The TOML file's values, read by :meth:`AfterSalesSettings.load`."""

    data: ContextVar[dict[str, Any] | None] = ContextVar("aftersales_toml", default=None)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # pragma: no cover - __call__ does the work

    def __call__(self) -> dict[str, Any]:
        return dict(self.data.get() or {})


class _CheckedEnvSource(PydanticBaseSettingsSource):
    """The environment's values, once :func:`check_environment` has passed."""

    def __init__(self, settings_cls: type[BaseSettings],
                 env: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self.env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # pragma: no cover - __call__ does the work

    #: Variables the stores being loaded name in ``{ env = ... }`` (set by ``load``).
    named: ContextVar[frozenset[str]] = ContextVar("aftersales_named", default=frozenset())

    def __call__(self) -> dict[str, Any]:
        check_environment(also=self.named.get())
        return self.env()


class AfterSalesSettings(BaseSettings):
    """Every setting of the library: top-level keys and one section per area.

    Build it with :meth:`load` (TOML file, environment, keywords) or
    directly with keywords (environment and keywords, no file).
    """

    model_config = SettingsConfigDict(
        env_prefix=_PREFIX,
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
        frozen=True,
        arbitrary_types_allowed=True,
    )

    database_url: str = Field(default="sqlite:///aftersales.db", description="SQLAlchemy URL")
    marketplaces: Names = Field(
        default_factory=list, description="marketplace adapter names, comma-separated"
    )
    carriers: Names = Field(
        default_factory=list, description="tracking providers, in fallback order"
    )
    stores: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description='named stores: `[stores.NAME]` with `adapter = "KIND"` and its settings, '
        'secrets as `{ env = "VARIABLE" }` (see Stores)',
        json_schema_extra=_FILE_OR_KEYWORD,
    )
    channels: Names = Field(
        default_factory=lambda: ["outbox"], description="follow-up and alert channels"
    )
    timezone: str = Field(default="UTC", description="the shop's IANA zone")
    returns: ReturnsSettings = Field(default_factory=ReturnsSettings)
    logistics: LogisticsSettings = Field(default_factory=LogisticsSettings)
    reviews: ReviewsSettings = Field(default_factory=ReviewsSettings)
    followups: FollowUpsSettings = Field(default_factory=FollowUpsSettings)
    reports: ReportsSettings = Field(default_factory=ReportsSettings)
    cases: CasesSettings = Field(default_factory=CasesSettings)
    interval: IntervalSettings = Field(default_factory=IntervalSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)

    _split = field_validator("marketplaces", "carriers", "channels", mode="before")(
        classmethod(lambda cls, v: _names(v)))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value

    @field_validator("stores", mode="before")
    @classmethod
    def _checked_stores(cls, value: Any) -> Any:
        # A ConfigurationError passes through pydantic as it is: it names the store and key.
        return stores.check_stores(value)

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        known = registry.available(registry.CHANNELS)
        unknown = [n for n in value if n not in known]
        if unknown:
            raise ValueError(f"unknown channel {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keywords, then the environment (unknown names refused), then the TOML file."""
        return init_settings, _CheckedEnvSource(settings_cls, env_settings), _TomlSource(
            settings_cls)

    @classmethod
    def load(cls, config: str | Path | None = None, /, **keywords: Any) -> AfterSalesSettings:
        """Settings from the TOML file, the environment and ``keywords``.

        Args:
            config: the TOML file; default ``AFTERSALES_CONFIG``, else
                ``aftersales.toml`` in the working folder when it exists.
            keywords: top-level keys, sections as mappings, or the
                :data:`KEYWORD_SHORTCUTS`; ``None`` values are ignored.

        Raises:
            ConfigurationError: an unknown key (with the closest valid one),
                an unreadable file or an invalid value, naming the key.
        """
        path = _config_path(config)
        data: dict[str, Any] = {}
        if path is not None:
            # Not UTF-8 (a GBK export), nested past the parser's stack or
            # too large: one line naming the file, as a configuration error.
            data = read_toml(path, what="settings", error=ConfigurationError)
            _check_keys(data, where=f"{path}: ")
        given = _expand(keywords)
        named = stores.referenced_variables(data.get("stores")) | stores.referenced_variables(
            given.get("stores"))
        token = _TomlSource.data.set(data)
        named_token = _CheckedEnvSource.named.set(frozenset(named))
        try:
            return cls(**given)
        except PydanticValidationError as exc:
            raise _error(exc) from None
        finally:
            _CheckedEnvSource.named.reset(named_token)
            _TomlSource.data.reset(token)


def _config_path(config: str | Path | None) -> Path | None:
    if config is not None:
        return Path(config)
    named = os.environ.get(CONFIG_VARIABLE)
    if named:
        return Path(named)
    here = Path(CONFIG_FILE)
    return here if here.is_file() else None


def _valid_keys() -> dict[str, BaseModel | None]:
    """Every valid dotted key (``returns.policy``) and top-level key."""
    keys: dict[str, Any] = {}
    for name, info in AfterSalesSettings.model_fields.items():
        section = _section_model(info)
        keys[name] = section
        if section is not None:
            for sub in section.model_fields:
                keys[f"{name}.{sub}"] = None
    return keys


def _section_model(info: FieldInfo) -> Any:
    kind = info.annotation
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _unknown(key: str, candidates: list[str], where: str = "") -> ConfigurationError:
    near = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return ConfigurationError(f"{where}unknown setting {key!r}{hint}")


def _check_keys(data: Mapping[str, Any], *, where: str = "") -> None:
    valid = _valid_keys()
    for key, value in data.items():
        if key not in valid:
            raise _unknown(key, [k for k in valid if "." not in k], where)
        if valid[key] is not None and isinstance(value, Mapping):
            for sub in value:
                dotted = f"{key}.{sub}"
                if dotted not in valid:
                    raise _unknown(dotted, [k for k in valid if k.startswith(f"{key}.")], where)


def _expand(keywords: Mapping[str, Any]) -> dict[str, Any]:
    """Keywords with the shortcuts moved into their sections; unknown keys refused."""
    valid = _valid_keys()
    out: dict[str, Any] = {}
    for key, value in keywords.items():
        if value is None:
            continue
        if key in KEYWORD_SHORTCUTS:
            section, sub = KEYWORD_SHORTCUTS[key]
            current = out.setdefault(section, {})
            if isinstance(current, Mapping):
                out[section] = {**current, sub: value}
            continue
        if key not in valid or "." in key:
            raise _unknown(key, [*KEYWORD_SHORTCUTS, *(k for k in valid if "." not in k)])
        if valid[key] is not None and isinstance(value, Mapping):
            _check_keys({key: value})
            value = {**out.get(key, {}), **value}
        out[key] = value
    return out


def _error(exc: PydanticValidationError) -> ConfigurationError:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "settings"
    if first["type"] == "extra_forbidden":
        return _unknown(key, [k for k in _valid_keys() if k.count(".") == key.count(".")])
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    variable = _variable(key)
    also = f" ({variable})" if variable else ""
    return ConfigurationError(f"setting {key}{also}: {message}")


def _variable(key: str) -> str | None:
    parts = key.split(".")
    if len(parts) > 2:
        return None
    return _PREFIX + "_".join(parts).upper()


def _variables() -> dict[str, str | None]:
    """Every variable of the model: ``None`` for a usable one, else why it is not."""
    names: dict[str, str | None] = {CONFIG_VARIABLE: None}
    for name, info in AfterSalesSettings.model_fields.items():
        if _section_model(info) is not None:
            names[_PREFIX + name.upper()] = None  # a whole section as JSON
    for key, variable, _meaning, _default_text in _rows():
        if variable == "-":
            names[_variable(key) or key] = f"{key} is set in the TOML file or by keyword"
        elif not variable:
            names[_variable(key) or key] = f"{key} is set by keyword only"
        else:
            names[variable] = None
    return names


def known_variable(name: str) -> bool:
    """Whether ``name`` (any case) is an ``AFTERSALES_*`` variable read on purpose."""
    upper = name.upper()
    if any(upper.startswith(o) if o.endswith("_") else upper == o for o in OTHER_VARIABLES):
        return True
    return _variables().get(upper, "unknown") is None


def config_file_variables() -> frozenset[str]:
    """The variables the TOML settings file's stores name (none when it cannot be read).

    For a check made before the settings load (the CLI's): the load itself
    reports an unreadable file.
    """
    try:
        path = _config_path(None)
        if path is None:
            return frozenset()
        data = read_toml(path, what="settings", error=ConfigurationError)
    except (ConfigurationError, OSError):
        return frozenset()
    return frozenset(stores.referenced_variables(data.get("stores")))


def check_environment(environ: Mapping[str, str] | None = None,
                      also: Iterable[str] = ()) -> None:
    """Refuse an ``AFTERSALES_*`` variable that no setting reads (names only, never values).

    pydantic-settings skips a name it does not know, so a misspelt database URL
    variable would leave the app on the default SQLite file without a word.

    Args:
        environ: the variables (default ``os.environ``).
        also: more names read on purpose: those a store's ``{ env = ... }`` names.

    Raises:
        ConfigurationError: the first unknown (or keyword-only) variable, by
            name, with the closest known one.
    """
    env = os.environ if environ is None else environ
    named = {n.upper() for n in also}
    for name in sorted(env):
        if not name.upper().startswith(_PREFIX) or name.upper() in named or known_variable(name):
            continue
        variables = _variables()
        why = variables.get(name.upper())
        if why is not None:
            raise ConfigurationError(f"{name}: {why}; unset the variable")
        usable = [*(v for v, reason in variables.items() if reason is None), *sorted(named)]
        from aftersales.settings import adapter_variables

        raise unknown_variable(name, usable, adapter_variables())


def _rows() -> Iterator[tuple[str, str, str, str]]:
    """(key, variable, meaning, default) for every setting, in model order."""
    yield ("", CONFIG_VARIABLE, "the TOML settings file", f"`{CONFIG_FILE}` if present")
    for name, info in AfterSalesSettings.model_fields.items():
        section = _section_model(info)
        fields = section.model_fields.items() if section is not None else [(None, info)]
        for sub, field in fields:
            key = name if sub is None else f"{name}.{sub}"
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            variable = "" if extra.get("keyword_only") else _variable(key) or ""
            if extra.get("file_or_keyword"):
                variable = "-"
            yield key, variable, field.description or "", _default(field)


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, timedelta):
        value = f"{value.total_seconds():g}"
    elif isinstance(value, list):
        value = ",".join(value)
    return f"`{value}`"


def configuration_table() -> str:
    """The README's configuration table (markdown), generated from the model."""
    lines = ["| key (TOML, keyword) | variable | meaning | default |", "| --- | --- | --- | --- |"]
    for key, variable, meaning, default in _rows():
        var = "TOML or keyword" if variable == "-" else f"`{variable}`" if variable else (
            "keyword only")
        lines.append(f"| {f'`{key}`' if key else ''} | {var} | {meaning} | {default} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - regenerates the README's table
    print(configuration_table(), end="")
