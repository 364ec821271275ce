"""Adapters are found through entry points only, and every built-in one is registered."""

from __future__ import annotations

import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from aftersales import registry
from aftersales.errors import AdapterNotFoundError, ConfigurationError

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> dict[str, dict[str, str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(data["project"]["entry-points"])


def test_every_adapter_package_has_an_entry_point() -> None:
    targets = {
        value.split(":")[0].split(".")[0]
        for group in _declared().values()
        for value in group.values()
    }
    packages = {p.name for p in (ROOT / "adapters").iterdir() if p.name.startswith("aftersales_")}
    assert packages, "no adapter packages found"
    missing = packages - targets
    assert not missing, f"adapter packages without an entry point: {sorted(missing)}"


def test_every_declared_entry_point_is_installed() -> None:
    for group, names in _declared().items():
        assert set(names) <= set(registry.available(group)), group


def test_an_installed_entry_point_is_discovered_and_loaded() -> None:
    assert "sandbox" in registry.available(registry.MARKETPLACES)
    cls = registry.load(registry.MARKETPLACES, "sandbox")
    assert cls.__name__ == "SandboxMarketplace"
    assert registry.load(registry.MARKETPLACES, " Sandbox ") is cls


def test_a_third_party_entry_point_is_an_equal(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint(
        name="acme", value="aftersales.interfaces:MarketplaceBase", group=registry.MARKETPLACES
    )
    real = registry.entry_points

    def fake(group: str) -> list[EntryPoint]:
        return (
            [*real(group=group), ep] if group == registry.MARKETPLACES else list(real(group=group))
        )

    monkeypatch.setattr(registry, "entry_points", fake)
    assert "acme" in registry.available(registry.MARKETPLACES)
    assert registry.create(registry.MARKETPLACES, "acme").name == "marketplace"


def test_an_unknown_name_lists_what_is_installed() -> None:
    with pytest.raises(AdapterNotFoundError) as info:
        registry.load(registry.MARKETPLACES, "amazonz")
    assert info.value.name == "amazonz"
    assert "sandbox" in info.value.installed
    assert "installed:" in str(info.value)
    assert "sandbox" in str(info.value)


def test_an_entry_point_that_fails_to_import_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ep = EntryPoint(name="broken", value="aftersales_does_not_exist:Nope", group=registry.CARRIERS)
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep])
    with pytest.raises(ConfigurationError, match="broken"):
        registry.load(registry.CARRIERS, "broken")
