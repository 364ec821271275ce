"""AfterSalesSettings: TOML file, environment and keywords; unknown keys refused by name."""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest

from aftersales import AfterSales
from aftersales.config import OTHER_VARIABLES, AfterSalesSettings, configuration_table
from aftersales.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AFTERSALES_CONFIG", raising=False)
    for name in ("DATABASE_URL", "RETURNS_POLICY", "LOGISTICS_TTL", "CHANNELS", "TIMEZONE"):
        monkeypatch.delenv(f"AFTERSALES_{name}", raising=False)


def test_a_misspelt_keyword_is_refused_naming_it_and_the_closest_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        AfterSales(f"sqlite:///{tmp_path}/a.db", return_polcy="p.toml")
    assert str(info.value) == "unknown setting 'return_polcy'; did you mean 'return_policy'?"
    assert not (tmp_path / "a.db").exists()  # refused before anything is built


def test_a_misspelt_key_inside_a_section_keyword_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"'logistics\.ttk'; did you mean 'logistics\.ttl'"):
        AfterSalesSettings.load(logistics={"ttk": 60})


def test_an_unknown_toml_key_is_refused_naming_file_key_and_the_closest_key(
    tmp_path: Path,
) -> None:
    (tmp_path / "aftersales.toml").write_text('[returns]\npolcy = "p.toml"\n')
    with pytest.raises(ConfigurationError) as info:
        AfterSalesSettings.load()
    assert str(info.value) == (
        "aftersales.toml: unknown setting 'returns.polcy'; did you mean 'returns.policy'?"
    )
    (tmp_path / "aftersales.toml").write_text('databse_url = "sqlite://"\n')
    with pytest.raises(ConfigurationError, match="'databse_url'; did you mean 'database_url'"):
        AfterSales()


def test_toml_then_environment_then_keywords(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "conf" / "shop.toml"
    other.parent.mkdir()
    other.write_text(
        'timezone = "Asia/Shanghai"\n'
        "[logistics]\nttl = 120\nmax_in_flight = 2\n"
        "[interval]\nsync = 60\n"
    )
    monkeypatch.setenv("AFTERSALES_CONFIG", str(other))
    settings = AfterSalesSettings.load()
    assert settings.timezone == "Asia/Shanghai"
    assert settings.logistics.ttl == timedelta(seconds=120)
    assert settings.interval.sync == 60
    monkeypatch.setenv("AFTERSALES_LOGISTICS_TTL", "30")
    settings = AfterSalesSettings.load(logistics={"max_in_flight": 8})
    assert settings.logistics.ttl == timedelta(seconds=30)  # the environment beats the file
    assert settings.logistics.max_in_flight == 8  # a keyword beats both
    assert settings.interval.sync == 60  # the file's other keys stay


def test_the_app_reads_its_settings_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "aftersales.toml").write_text(
        f'database_url = "sqlite:///{tmp_path}/from-file.db"\n'
        'marketplaces = ["sandbox"]\n'
        "[sandbox]\nseed = 7\norders = 3\n"
        "[followups]\nbatch = 5\n"
    )
    with AfterSales() as app:
        assert (tmp_path / "from-file.db").exists()
        assert app.followups.batch == 5
        shop = app.marketplace("sandbox")
        assert sum(len(page.items) for page in shop.list_orders(None)) == 3


def test_shortcut_keywords_land_in_their_sections() -> None:
    settings = AfterSalesSettings.load(return_policy="p.toml", followup_batch=7, shop_name="S")
    assert settings.returns.policy == "p.toml"
    assert settings.followups.batch == 7
    assert settings.reviews.shop_name == "S"


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"channels": ["outbox", "pigeon"]}, r"^setting channels \(AFTERSALES_CHANNELS\): "
                                             r"unknown channel 'pigeon'; known: "),
        ({"interval": {"sync": -5}}, r"^setting interval\.sync \(AFTERSALES_INTERVAL_SYNC\): "),
        ({"logistics": {"max_in_flight": 0}}, r"^setting logistics\.max_in_flight "),
        ({"timezone": "Mars/Olympus"}, r"^setting timezone \(AFTERSALES_TIMEZONE\): unknown "),
    ],
)
def test_invalid_values_are_one_line_errors_naming_the_key(
    keywords: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        AfterSalesSettings.load(**keywords)
    assert "\n" not in str(info.value)


def test_an_invalid_variable_names_the_variable_and_never_echoes_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AFTERSALES_CHANNELS", "outbox,pigeon")
    monkeypatch.setenv("AFTERSALES_SMTP_PORT", "hunter2-secret")
    with pytest.raises(ConfigurationError) as info:
        AfterSalesSettings.load(channels=["outbox"])
    assert "AFTERSALES_SMTP_PORT" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_the_readme_table_is_the_one_the_model_generates() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- configuration table: python -m aftersales.config -->\n")
    begin = text.index("\n", start) + 1
    end = text.index("<!-- end of configuration table -->", begin)
    assert text[begin:end] == configuration_table(), "regenerate: python -m aftersales.config"


def test_every_variable_the_library_reads_is_in_the_table() -> None:
    """An ``AFTERSALES_*`` name anywhere in the library's code must be a documented setting."""
    table = configuration_table()
    documented = set(re.findall(r"`(AFTERSALES_[A-Z0-9_]+)`", table)) | OTHER_VARIABLES
    read: dict[str, str] = {}
    for path in (ROOT / "aftersales").rglob("*.py"):
        for name in re.findall(r"AFTERSALES_[A-Z0-9_]+", path.read_text(encoding="utf-8")):
            read.setdefault(name, str(path.relative_to(ROOT)))
    assert "AFTERSALES_DATABASE_URL" in read
    missing = {
        name: where
        for name, where in read.items()
        # a name ending in "_" is a prefix (AFTERSALES_SMTP_): some setting must carry it
        if not (any(d.startswith(name) for d in documented) if name.endswith("_")
                else name in documented)
    }
    assert not missing, f"read but not in the settings model: {missing}"


@pytest.mark.parametrize(
    ("variable", "hint"),
    [
        ("AFTERSALES_DATABSE_URL", "AFTERSALES_DATABASE_URL"),
        ("AFTERSALES_RETURN_POLICY", "AFTERSALES_RETURNS_POLICY"),
        ("aftersales_databse_url", "AFTERSALES_DATABASE_URL"),  # pydantic reads either case
        ("AFTERSALES_SMTP_HOTS", "AFTERSALES_SMTP_HOST"),
    ],
)
def test_a_misspelt_variable_is_refused_by_name_without_its_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, hint: str
) -> None:
    """A typo must not leave the app on the default SQLite file without a word."""
    monkeypatch.setenv(variable, "postgresql://shop:hunter2@db/shop")
    with pytest.raises(ConfigurationError) as info:
        AfterSalesSettings.load()
    text = str(info.value)
    assert text.startswith(f"unknown variable {variable}; did you mean {hint}?")
    assert "hunter2" not in text
    assert "\n" not in text
    with pytest.raises(ConfigurationError, match=f"unknown variable {variable}"):
        AfterSalesSettings()  # built directly, the environment is checked too


def test_a_keyword_only_setting_is_refused_as_a_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_REVIEWS_CLASSIFIER", "mine")
    with pytest.raises(ConfigurationError, match=r"^AFTERSALES_REVIEWS_CLASSIFIER: "
                                                 r"reviews\.classifier is set by keyword only"):
        AfterSalesSettings.load()


def test_nested_and_other_known_variables_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("AFTERSALES_RETURNS_POLICY", "p.toml")
    monkeypatch.setenv("AFTERSALES_LOGISTICS_STUCK_AFTER", '{"sf": 60}')
    monkeypatch.setenv("AFTERSALES_INTERVAL_WEEKLY_REPORT", "0")
    monkeypatch.setenv("AFTERSALES_REQUIRE_POSTGRES", "1")  # the suite's own switches
    monkeypatch.setenv("AFTERSALES_BENCH_ORDERS", "10")
    settings = AfterSalesSettings.load()
    assert settings.database_url == "sqlite:///x.db"
    assert settings.returns.policy == "p.toml"
    assert settings.logistics.stuck_after == {"sf": timedelta(seconds=60)}
    assert settings.interval.weekly_report == 0


def test_the_cli_refuses_a_misspelt_variable_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from aftersales.cli import main

    monkeypatch.setenv("AFTERSALES_DATABSE_URL", f"sqlite:///{tmp_path}/shop.db")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: unknown variable AFTERSALES_DATABSE_URL; did you mean AFTERSALES_DATABASE_URL? "
        "(unset it; the README's configuration table lists the variables)"]
    assert not (tmp_path / "shop.db").exists()
    assert not (tmp_path / "aftersales.db").exists()


def test_every_variable_the_project_reads_is_allowed() -> None:
    """Tests, benchmarks and tools read some ``AFTERSALES_*`` switches: never refused."""
    from aftersales.config import known_variable

    read: dict[str, str] = {}
    for folder in ("aftersales", "adapters", "tests", "benchmarks", "tools"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == Path(__file__):  # its misspellings are on purpose
                continue
            text = path.read_text(encoding="utf-8")
            for name in re.findall(r"(?<![A-Z0-9_])AFTERSALES_[A-Z0-9_]+", text):
                if not name.endswith("_"):  # a prefix in prose (AFTERSALES_SMTP_*)
                    read.setdefault(name, str(path.relative_to(ROOT)))
    refused = {name: where for name, where in read.items() if not known_variable(name)}
    assert not refused, f"read on purpose but refused: {refused}"


def test_a_variable_a_store_names_is_allowed_whatever_its_prefix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``{ env = "AFTERSALES_TMALL_SECRET" }`` is a variable read on purpose."""
    from click.testing import CliRunner

    from aftersales.cli import main

    (tmp_path / "aftersales.toml").write_text(
        '[stores.tmall]\nadapter = "sandbox"\nseed = { env = "AFTERSALES_TMALL_SEED" }\n')
    monkeypatch.setenv("AFTERSALES_TMALL_SEED", "3")
    settings = AfterSalesSettings.load()
    assert settings.stores["tmall"]["seed"] == {"env": "AFTERSALES_TMALL_SEED"}
    result = CliRunner().invoke(main, ["--database-url", f"sqlite:///{tmp_path}/a.db",
                                       "db", "upgrade"])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("AFTERSALES_TMALL_SEDE", "3")  # a misspelling of it is still refused
    with pytest.raises(ConfigurationError, match="unknown variable AFTERSALES_TMALL_SEDE"):
        AfterSalesSettings.load()


def _adapter_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "aftersales.config" and r.levelname == "WARNING"]


@pytest.mark.parametrize(
    ("variable", "hint"),
    [
        ("SHOPIFY_LOCATON_ID", "SHOPIFY_LOCATION_ID"),
        ("shopify_webhook_secert", "SHOPIFY_WEBHOOK_SECRET"),
        ("SHOPIFY_DEADLIN", "SHOPIFY_DEADLINE"),  # the field every adapter has
    ],
)
def test_a_misspelt_adapter_variable_is_a_warning_naming_it_without_its_value(
    caplog: pytest.LogCaptureFixture, variable: str, hint: str
) -> None:
    """``SHOPIFY_*`` is shared with Shopify's own tools: warned, never refused, never echoed."""
    from aftersales_shopify.settings import ShopifySettings

    caplog.set_level(logging.WARNING, logger="aftersales.config")
    env = {"SHOPIFY_SHOP": "demo", "SHOPIFY_ACCESS_TOKEN": "tok", variable: "gid-hunter2"}
    settings = ShopifySettings.from_env(env)
    assert settings.location_id is None  # the misspelt one is read by nothing
    (text,) = _adapter_warnings(caplog)
    assert text.startswith(f"{variable} is read by no setting of the shopify adapter; "
                           f"did you mean {hint}?")
    assert "hunter2" not in text
    assert "\n" not in text


def test_known_adapter_variables_and_other_prefixes_are_not_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from aftersales_shopify.settings import ShopifySettings
    from aftersales_taobao.settings import TaobaoSettings

    caplog.set_level(logging.WARNING, logger="aftersales.config")
    ShopifySettings.from_env({
        "SHOPIFY_SHOP": "demo", "SHOPIFY_ACCESS_TOKEN": "tok", "SHOPIFY_LOCATION_ID": "1",
        "SHOPIFY_DEADLINE": "20", "SHOPIFYCLI_X": "1", "TAOBAO_APP_KEY": "k"})
    TaobaoSettings.from_env({
        "TAOBAO_APP_KEY": "k", "TAOBAO_APP_SECRET": "s", "TAOBAO_SESSION": "x",
        "TAOBAO_TMALL": "1", "TAOBAO_RETURN_NAME": "n", "TAOBAO_RETURN_ADDRESS": "a",
        "TAOBAO_RETURN_POST": "p", "TAOBAO_RETURN_MOBILE": "m"})
    assert _adapter_warnings(caplog) == []


def test_a_misspelt_extra_variable_of_an_adapter_is_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Taobao's return address is read outside the model's fields, by name: still known."""
    from aftersales_taobao.settings import TaobaoSettings

    caplog.set_level(logging.WARNING, logger="aftersales.config")
    TaobaoSettings.from_env({"TAOBAO_APP_KEY": "k", "TAOBAO_APP_SECRET": "s",
                             "TAOBAO_SESSION": "x", "TAOBAO_RETURN_ADRESS": "Hangzhou Rd 1"})
    (text,) = _adapter_warnings(caplog)
    assert text.startswith("TAOBAO_RETURN_ADRESS is read by no setting of the taobao adapter; "
                           "did you mean TAOBAO_RETURN_ADDRESS?")
    assert "Hangzhou" not in text


def test_every_adapter_warns_for_its_own_prefix(caplog: pytest.LogCaptureFixture) -> None:
    """The check lives in the shared base: no marketplace or carrier adapter can miss it."""
    from aftersales import registry
    from aftersales.settings import AdapterSettings

    for group in (registry.MARKETPLACES, registry.CARRIERS):
        for kind in registry.available(group):
            registry.load(group, kind)
    models, pending = [], list(AdapterSettings.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.startswith("aftersales_"):
            models.append(model)
    caplog.set_level(logging.WARNING, logger="aftersales.config")
    for model in models:
        caplog.clear()
        variable = model.env_var("deadlne")
        with contextlib.suppress(ConfigurationError):  # required ones unset: refused after
            model.from_env({variable: "9"})
        assert any(t.startswith(f"{variable} is read by no setting")
                   for t in _adapter_warnings(caplog)), model
    assert {m.adapter_name for m in models} >= {"shopify", "jd", "kuaidi100", "aftership"}


@pytest.mark.parametrize(
    ("variable", "hint"),
    [
        ("AFTERSALES_SHOPIFY_LOCATON_ID", "SHOPIFY_LOCATION_ID"),
        ("AFTERSALES_SHOPIFY_LOCATION_ID", "SHOPIFY_LOCATION_ID"),
        ("AFTERSALES_TAOBAO_APP_KEY", "TAOBAO_APP_KEY"),
        ("AFTERSALES_KUAIDI100_KEY", "KUAIDI100_KEY"),
    ],
)
def test_an_adapter_variable_under_the_library_prefix_points_to_the_adapters_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, hint: str
) -> None:
    """It was refused with a nonsense hint: "did you mean AFTERSALES_CASES_NOTIFY_CHANNEL?"."""
    monkeypatch.setenv(variable, "gid-hunter2")
    with pytest.raises(ConfigurationError) as info:
        AfterSalesSettings.load()
    text = str(info.value)
    assert text.startswith(f"unknown variable {variable}; adapter variables have no "
                           f"AFTERSALES_ prefix: did you mean {hint}?")
    assert "hunter2" not in text


def test_an_unknown_variable_like_no_known_one_gets_no_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shared ``AFTERSALES_`` prefix made any name look like some known variable."""
    monkeypatch.setenv("AFTERSALES_TOTALLY_UNRELATED_THING", "1")
    with pytest.raises(ConfigurationError) as info:
        AfterSalesSettings.load()
    assert str(info.value).startswith("unknown variable AFTERSALES_TOTALLY_UNRELATED_THING "
                                      "(unset it;")


_SHOPIFY_STORE = ('[stores.shopify-us]\nadapter = "shopify"\nshop = "us-shop"\n'
                  'access_token = { env = "SHOP_US_TOKEN" }\n')


def _store_app(tmp_path: Path, text: str) -> AfterSales:
    path = tmp_path / "aftersales.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path}/s.db"\n{text}', encoding="utf-8")
    return AfterSales(config=path)


def test_an_adapter_variable_no_store_reads_is_a_warning_naming_the_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A shop moved from ``marketplaces = ["shopify"]`` to a store table kept
    ``SHOPIFY_LOCATION_ID``: no store reads it (a store reads its table only), so
    refunds quietly stopped restocking."""
    monkeypatch.setenv("SHOP_US_TOKEN", "shpat_hunter2")
    monkeypatch.setenv("SHOPIFY_LOCATION_ID", "gid-4711")
    monkeypatch.setenv("SHOPIFY_LOCATON_ID", "gid-4712")
    caplog.set_level(logging.WARNING, logger="aftersales.config")
    with _store_app(tmp_path, _SHOPIFY_STORE) as app:
        assert app.marketplaces["shopify-us"].settings.location_id is None
    texts = _adapter_warnings(caplog)
    assert texts == [
        "SHOPIFY_LOCATION_ID is read by no store: store shopify-us takes its settings from "
        "its table only (location_id = { env = \"SHOPIFY_LOCATION_ID\" } reads it)",
        "SHOPIFY_LOCATON_ID is read by no setting of the shopify adapter; did you mean "
        "SHOPIFY_LOCATION_ID? (its value is ignored; if another tool reads it, ignore this)",
    ]
    assert not any("gid-" in t or "hunter2" in t for t in texts)


def test_a_variable_a_store_references_or_the_adapter_reads_is_not_warned(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SHOP_US_TOKEN", "shpat_x")
    monkeypatch.setenv("SHOPIFY_LOCATION_ID", "4711")
    caplog.set_level(logging.WARNING, logger="aftersales.config")
    with _store_app(tmp_path, _SHOPIFY_STORE + 'location_id = { env = "SHOPIFY_LOCATION_ID" }\n'
                    ) as app:
        assert app.marketplaces["shopify-us"].settings.location_id == "4711"
    assert _adapter_warnings(caplog) == []


def test_a_bad_sandbox_variable_is_refused_without_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A variable's value is never echoed (another variable's may be a secret)."""
    from aftersales.sandbox import SandboxMarketplace

    monkeypatch.setenv("AFTERSALES_SANDBOX_SEED", "hunter2")
    with pytest.raises(ConfigurationError) as info:
        SandboxMarketplace()
    assert str(info.value) == "AFTERSALES_SANDBOX_SEED must be a whole number (value not shown)"
