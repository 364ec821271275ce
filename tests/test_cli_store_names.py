"""A store name no store has is a usage error (status 2) naming the option, in every area.

Before, ``returns list --store typo`` (and the same filter in cases,
reports, customers) listed nothing and exited 0, as if the store had
nothing; ``followups schedule`` and ``cases open`` wrote rows for a store
that does not exist. A name the database holds rows of (a store since
removed from the configuration) still lists.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from aftersales.cli import main
from aftersales.cli_support import CliState
from aftersales.store.orders import upsert_orders

UNKNOWN = [
    pytest.param(["returns", "list", "--store", "nosuch"], "--store", id="returns-list"),
    pytest.param(["returns", "list", "--marketplace", "nosuch"], "--store",
                 id="returns-list-old-name"),
    pytest.param(["returns", "request", "nosuch", "O-1", "--line", "L1=1", "--reason",
                  "no_reason"], "STORE", id="returns-request"),
    pytest.param(["returns", "sync", "--store", "nosuch"], "--store", id="returns-sync"),
    pytest.param(["reviews", "sync", "--store", "nosuch"], "--store", id="reviews-sync"),
    pytest.param(["reviews", "reply", "R-1", "--template", "thanks", "--store", "nosuch"],
                 "--store", id="reviews-reply"),
    pytest.param(["followups", "schedule", "thanks", "--buyer", "B-1", "--store", "nosuch"],
                 "--store", id="followups-schedule"),
    pytest.param(["cases", "list", "--store", "nosuch"], "--store", id="cases-list"),
    pytest.param(["cases", "open", "--store", "nosuch", "--buyer", "B-1", "--kind",
                  "complaint"], "--store", id="cases-open"),
    pytest.param(["report", "returns", "--store", "nosuch"], "--store", id="report-section"),
    pytest.param(["report", "html", "--store", "nosuch", "-o", "/dev/null"], "--store",
                 id="report-html"),
    pytest.param(["customers", "show", "B-1", "--store", "nosuch"], "--store",
                 id="customers-show"),
]


@pytest.fixture
def cli(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(CliState, "app", property(lambda self: app))
    return CliRunner()


@pytest.mark.parametrize(("args", "option"), UNKNOWN)
def test_an_unknown_store_is_a_usage_error_naming_the_option(
        cli: CliRunner, app: Any, args: list[str], option: str) -> None:
    before = _rows(app)
    result = cli.invoke(main, ["--json", *args])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    error = json.loads(lines[0])["error"]
    assert "nosuch" in error
    assert option in error
    assert result.stdout == ""
    assert _rows(app) == before  # nothing written


def test_a_store_known_only_to_the_database_still_lists(
        cli: CliRunner, app: Any, sandbox: Any) -> None:
    order = next(iter(sandbox.list_orders())).items[0].model_copy(
        update={"marketplace": "retired"})
    with app.store.session() as session:
        upsert_orders(session, [order])
    for args in (["returns", "list", "--store", "retired"],
                 ["customers", "show", order.buyer.external_id, "--store", "retired"],
                 ["report", "returns", "--store", "retired"],
                 ["returns", "list", "--store", next(iter(app.marketplaces))]):
        result = cli.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)


def _rows(app: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from aftersales.store.tables.cases import CaseRow
    from aftersales.store.tables.followups import FollowUpRow
    from aftersales.store.tables.returns import ReturnRow

    with app.store.session() as session:
        return {t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0
                for t in (CaseRow, FollowUpRow, ReturnRow)}
