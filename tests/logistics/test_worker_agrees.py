"""The worker's tracking tick and ``logistics refresh`` count a refresh alike.

A number the provider has no scans for yet ("not found yet") is skipped by
both: the parcel stays due and nothing failed. The worker's summary line
and its exit status say the same as the report the command prints.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from click.testing import CliRunner

from aftersales.errors import TransientError
from aftersales.scheduler import worker_command
from aftersales.store.tables.core import ShipmentRow
from tests.logistics.conftest import ScriptedCarrier, add_parcels


def _tracking_tick(app: Any) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(worker_command, ["--once", "--only", "tracking",
                                                 "--log-format", "json"],
                                obj=SimpleNamespace(app=app))
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (tick,) = [r for r in records if r.get("event") == "tick"]
    return result.exit_code, tick


def test_not_found_yet_is_skipped_by_the_worker_as_by_the_command(make_app: Any) -> None:
    provider = ScriptedCarrier(refuse=["SF0000000000002"])
    app = make_app(provider)
    add_parcels(app, ["SF0000000000001", "SF0000000000002"])
    report = app.logistics.refresh()
    assert (report.done, report.skipped, report.failed) == (1, 1, 0)

    again = make_app(ScriptedCarrier(refuse=["SF0000000000002"]))
    with again.store.session() as session:  # both parcels due once more
        for row in session.query(ShipmentRow):
            row.last_checked_at = None
    code, tick = _tracking_tick(again)
    assert (tick["done"], tick["skipped"], tick["failed"]) == (1, 1, 0)
    assert tick["outcome"] == "ok"
    assert code == 0


def test_a_failed_call_fails_the_worker_as_it_fails_the_command(make_app: Any) -> None:
    app = make_app(ScriptedCarrier(fail=TransientError("provider down")))
    add_parcels(app, ["SF0000000000001"])
    code, tick = _tracking_tick(app)
    assert (tick["done"], tick["skipped"], tick["failed"]) == (0, 0, 1)
    assert tick["outcome"] == "failed"
    assert code == 1
