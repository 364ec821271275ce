"""The package's shape, read from its classes and sources: composition, not ladders.

No class in ``aftersales/`` inherits from more than one level of the
project's own classes (the exception tree aside): an area facade holds its
use cases and delegates to them, a use case holds its collaborators. The
classes are read with :mod:`inspect` after importing every module, so a
base reached through an alias or a re-export counts as well.

No unit of work is joined by ambient context: ``contextvars`` carries no
session anywhere in the services.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "aftersales"

#: Modules that run something when imported: the ``python -m aftersales`` entry point, and
#: Alembic's environment and revision scripts (run by Alembic, they declare no classes).
SKIP = ("aftersales.__main__", "aftersales.store.migrations.")


def _module_names(root: Path = PACKAGE) -> list[str]:
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if not name.startswith(SKIP) or name == "aftersales.store.migrations":
            names.append(name)
    return names


def own_classes() -> list[type]:
    """Every class defined in ``aftersales`` (imported from its modules)."""
    found: dict[str, type] = {}
    for name in _module_names():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == name:
                found[f"{name}.{obj.__qualname__}"] = obj
    return list(found.values())


def _own(cls: type) -> bool:
    return cls.__module__.split(".")[0] == "aftersales"


def depth(cls: type) -> int:
    """How many levels of the project's own classes sit above ``cls`` (0: none)."""
    return max((1 + depth(b) for b in cls.__bases__ if _own(b)), default=0)


def ladders(classes: list[type]) -> list[str]:
    """Classes more than one level below a class of the project (exceptions aside)."""
    return sorted(f"{c.__module__}.{c.__qualname__} (depth {depth(c)})" for c in classes
                  if depth(c) > 1 and not issubclass(c, BaseException))


def test_no_class_inherits_more_than_one_level_of_our_own_classes() -> None:
    classes = own_classes()
    assert len(classes) > 100  # the walk really found the package
    assert ladders(classes) == []


def test_the_ladder_check_sees_a_two_level_subclass() -> None:
    from aftersales.interfaces import MarketplaceBase

    class Middle(MarketplaceBase):
        pass

    class Bottom(Middle):
        pass

    for cls in (Middle, Bottom):
        cls.__module__ = "aftersales.example"
        cls.__qualname__ = cls.__name__
    assert ladders([Middle, Bottom]) == ["aftersales.example.Bottom (depth 2)"]


def test_no_session_travels_by_ambient_context() -> None:
    """Every unit of work is opened by its caller and passed; none is joined implicitly.

    A module that keeps a context variable (the TOML source's parse-time data,
    the names to mask in error texts) must not also handle sessions.
    """
    users = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                imported.add(node.module or "")
                imported.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
        if "contextvars" in {m.split(".")[0] for m in imported} and (
                "sqlalchemy.orm.Session" in imported or "aftersales.store.Store" in imported):
            users.append(str(path.relative_to(PACKAGE)))
    assert users == []
