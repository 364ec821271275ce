"""AdapterSettings: env variables, overrides, missing credentials and the ApiClient it builds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
import requests
import responses
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field, SecretStr

from aftersales.errors import ConfigurationError, RemoteRejectedError
from aftersales.settings import AdapterClient, AdapterSettings

TOKEN = "tok_0123456789abcdef"
HOOK = "whsec_fedcba9876543210"


class ToySettings(AdapterSettings):
    """A provider with a token, a webhook secret, an on/off flag and a pace."""

    adapter_name = "toy"
    env_fields = ("token", "webhook_secret", "shop", "sandbox", "base_url")
    env_flags = frozenset({"sandbox"})

    token: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    shop: str | None = None
    sandbox: bool = False
    base_url: str = "https://api.toy.test/v1"
    page_size: int = Field(default=10, ge=1, le=50)
    requests_per_second: float | None = Field(default=None, gt=0)
    timeout: float = Field(default=30.0, gt=0)


class StrictToySettings(ToySettings):
    """The same provider when the token and shop must be there from the start."""

    required_from_env = ("shop", "token")


class PairTimeoutSettings(AdapterSettings):
    """A provider whose timeout is already a ``(connect, read)`` pair."""

    adapter_name = "pair"
    required_from_env = ("secret",)  # read from the environment without being listed

    secret: SecretStr
    timeout: tuple[float, float] = (2.0, 9.0)

    @property
    def base_url(self) -> str:
        """The root, computed rather than stored."""
        return "https://pair.test/api"


def test_each_variable_is_named_after_the_adapter_and_the_field() -> None:
    assert ToySettings.env_var("webhook_secret") == "TOY_WEBHOOK_SECRET"
    assert PairTimeoutSettings.env_var("secret") == "PAIR_SECRET"


def test_only_listed_and_required_fields_come_from_the_environment() -> None:
    s = ToySettings.from_env({"TOY_PAGE_SIZE": "99", "TOY_SHOP": "acme"})
    assert (s.page_size, s.shop) == (10, "acme")
    assert PairTimeoutSettings.from_env({"PAIR_SECRET": "s"}).require("secret") == "s"
    with pytest.raises(ConfigurationError, match="pair: set PAIR_SECRET"):
        PairTimeoutSettings.from_env({})


def test_from_env_reads_the_mapped_variables() -> None:
    env = {"TOY_TOKEN": TOKEN, "TOY_SHOP": "acme", "TOY_BASE_URL": "https://eu.toy.test",
           "UNRELATED": "x"}
    s = ToySettings.from_env(env)
    assert s.require("token") == TOKEN
    assert (s.shop, s.base_url, s.webhook_secret) == ("acme", "https://eu.toy.test", None)
    assert TOKEN not in repr(s) + str(s)


def test_overrides_win_and_none_or_empty_leave_the_environment() -> None:
    env = {"TOY_TOKEN": TOKEN, "TOY_SHOP": "acme", "TOY_WEBHOOK_SECRET": ""}
    s = ToySettings.from_env(env, shop="other", token=None, page_size=25)
    assert (s.shop, s.require("token"), s.page_size) == ("other", TOKEN, 25)
    assert s.webhook_secret is None  # an empty variable counts as unset


def test_from_env_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOY_SHOP", "from-process")
    assert ToySettings.from_env().shop == "from-process"


@pytest.mark.parametrize(("raw", "on"), [("1", True), ("true", True), (" Yes ", True),
                                         ("TRUE", True), ("0", False), ("no", False),
                                         ("off", False), ("On", True), ("false", False)])
def test_flags_read_as_on_or_off(raw: str, on: bool) -> None:
    assert ToySettings.from_env({"TOY_SANDBOX": raw}).sandbox is on


@pytest.mark.parametrize("raw", ["ture", "enabled", "2", "y es", "oui-secret"])
def test_a_flag_neither_on_nor_off_is_refused_by_name(raw: str) -> None:
    """``TAOBAO_TMALL=ture`` must not quietly mean off (a Tmall shop read as Taobao)."""
    with pytest.raises(ConfigurationError) as info:
        ToySettings.from_env({"TOY_SANDBOX": raw})
    assert str(info.value) == ("toy: TOY_SANDBOX must be on or off "
                               "(1, true, yes, on or 0, false, no, off)")
    assert raw not in str(info.value)


def test_settings_are_frozen_and_refuse_unknown_keys() -> None:
    s = ToySettings()
    with pytest.raises(ValueError):
        s.shop = "x"  # type: ignore[misc]
    with pytest.raises(ConfigurationError, match="nonsense"):
        ToySettings.from_env({}, nonsense=1)


def test_missing_required_variables_are_named_together() -> None:
    with pytest.raises(ConfigurationError, match="toy: set TOY_SHOP and TOY_TOKEN"):
        StrictToySettings.from_env({})
    with pytest.raises(ConfigurationError, match="TOY_TOKEN") as err:
        StrictToySettings.from_env({"TOY_SHOP": "acme", "TOY_WEBHOOK_SECRET": HOOK})
    assert "TOY_SHOP" not in str(err.value)
    assert HOOK not in str(err.value)
    assert StrictToySettings.from_env({}, shop="acme", token=TOKEN).shop == "acme"


def test_an_invalid_value_names_the_field_never_the_value() -> None:
    env = {"TOY_TOKEN": TOKEN, "TOY_SHOP": "acme"}
    with pytest.raises(ConfigurationError, match=r"toy: invalid setting\(s\) page_size") as err:
        ToySettings.from_env(env, page_size=999)
    assert TOKEN not in str(err.value)
    assert "999" not in str(err.value)
    assert err.value.__cause__ is None
    assert err.value.__suppress_context__


@given(st.text(min_size=8, alphabet=st.characters(categories=["L", "N"])))
def test_a_secret_never_shows_in_a_configuration_error(secret: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        StrictToySettings.from_env({"TOY_WEBHOOK_SECRET": secret}, page_size=0)
    assert secret not in str(err.value)


def test_require_unwraps_secrets_and_plain_strings() -> None:
    s = ToySettings(token=TOKEN, shop="acme")
    assert s.require("token") == TOKEN
    assert s.require("shop") == "acme"


def test_require_names_the_variable_and_the_purpose() -> None:
    s = ToySettings(token=TOKEN)
    with pytest.raises(ConfigurationError, match=r"^toy needs TOY_WEBHOOK_SECRET to verify webhooks$"):
        s.require("webhook_secret", "verify webhooks")
    with pytest.raises(ConfigurationError, match=r"^toy needs TOY_SHOP$") as err:
        s.require("shop")
    assert TOKEN not in str(err.value)


def test_secret_values_lists_every_secret_that_is_set() -> None:
    assert ToySettings(token=TOKEN).secret_values() == [TOKEN]
    assert ToySettings(token=TOKEN, webhook_secret=HOOK).secret_values() == [TOKEN, HOOK]
    assert ToySettings().secret_values() == []


def test_api_client_takes_the_common_fields() -> None:
    calls: list[float] = []
    session = requests.Session()
    client = ToySettings(token=TOKEN, timeout=12.5, requests_per_second=3.0).api_client(
        sleep=calls.append, session=session, max_attempts=2, pool_size=16,
        headers={"Accept": "application/json"},
    )
    assert client.adapter == "toy"
    assert client.base_url == "https://api.toy.test/v1"
    assert client.timeout == (5.0, 12.5)
    assert client.max_attempts == 2
    assert client.session is session
    assert session.headers["Accept"] == "application/json"
    assert client.bucket is not None
    assert client.bucket.limit.per_second == 3.0


def test_api_client_without_a_pace_does_not_pace() -> None:
    assert ToySettings().api_client().bucket is None


def test_api_client_keeps_a_timeout_pair_and_a_computed_base_url() -> None:
    client = PairTimeoutSettings(secret="s").api_client()
    assert client.timeout == (2.0, 9.0)
    assert client.base_url == "https://pair.test/api"
    assert client.bucket is None  # these settings have no requests_per_second


def test_api_client_masks_every_secret_and_the_extra_ones(http: responses.RequestsMock) -> None:
    def classify(response: requests.Response) -> Any:
        return None

    http.get("https://api.toy.test/v1/echo", status=400,
             body=f"bad token {TOKEN}, hook {HOOK}, session sess_42")
    client = ToySettings(token=TOKEN, webhook_secret=HOOK).api_client(
        secrets=["sess_42"], classify_error=classify, sleep=lambda _s: None
    )
    assert client.classify_error is classify
    with pytest.raises(RemoteRejectedError) as err:
        client.get("echo")
    shown = str(err.value) + repr(err.value.__dict__)
    for secret in (TOKEN, HOOK, "sess_42"):
        assert secret not in shown


class PlainClient(AdapterClient[ToySettings]):
    """A client of an API whose HTTP status says everything."""


class BodyErrorClient(AdapterClient[ToySettings]):
    """A client of an API that reports errors inside ``200 OK`` bodies."""

    max_attempts = 2
    pool_size = 16
    headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    def classify(self, response: requests.Response) -> Any:
        if response.json().get("error"):
            return RemoteRejectedError("refused in the body", code=response.json()["error"])
        return None


def test_adapter_client_builds_its_api_from_the_settings() -> None:
    settings = ToySettings(token=TOKEN, timeout=7.0)
    client = PlainClient(settings)
    assert client.settings is settings
    assert (client.api.adapter, client.api.timeout, client.api.max_attempts) == (
        "toy", (5.0, 7.0), 4)
    assert client.api.session.headers["Accept"] == "*/*"  # requests' own default, untouched


def test_adapter_client_class_settings_and_a_per_instance_attempt_count() -> None:
    client = BodyErrorClient(ToySettings(), max_attempts=5)
    assert client.api.max_attempts == 5
    assert BodyErrorClient(ToySettings()).api.max_attempts == 2
    assert client.api.session.headers["Accept"] == "application/json"


def test_adapter_client_classify_sees_every_response(http: responses.RequestsMock) -> None:
    http.get("https://api.toy.test/v1/ok", json={"error": None})
    http.get("https://api.toy.test/v1/refused", json={"error": "E42"})
    client = BodyErrorClient(ToySettings(), sleep=lambda _s: None)
    assert client.api.get("ok") == {"error": None}
    with pytest.raises(RemoteRejectedError) as err:
        client.api.get("refused")
    assert (err.value.code, err.value.adapter) == ("E42", "toy")
