"""``logistics refresh``: a job whose every parcel got a fresh answer succeeded.

The primary provider failing is a warning when a later provider answered
for each of its parcels (exit 0, the summary names the failed calls); a
parcel no provider answered is a failure (exit 1), whether its last provider
failed too or only said it knew nothing after the primary failed on it.
"""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from aftersales.cli_support import CliState
from aftersales.errors import TransientError
from aftersales.logistics.cli import refresh

from .conftest import ScriptedCarrier, add_parcels, numbers


def _run(app: Any, *, as_json: bool) -> Any:
    state = CliState(None, as_json)
    state._app = app
    return CliRunner().invoke(refresh, [], obj=state)


def test_a_fallback_that_answers_for_every_parcel_makes_a_successful_job(make_app: Any) -> None:
    app = make_app(ScriptedCarrier("primary", fail=TransientError("down", adapter="primary")),
                   ScriptedCarrier("backup"))
    add_parcels(app, numbers(3))
    result = _run(app, as_json=True)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["outcome"] == "succeeded with warnings"
    assert data["checked"] == 3
    assert data["failed"] == 0
    assert data["failed_calls"] == {"primary": 1}
    assert data["warnings"] == [
        "primary: 1 failed call; its parcels were answered by a later provider"]


def test_the_text_summary_says_the_job_succeeded_with_a_warning(make_app: Any) -> None:
    app = make_app(ScriptedCarrier("primary", fail=TransientError("down", adapter="primary")),
                   ScriptedCarrier("backup"))
    add_parcels(app, numbers(2))
    result = _run(app, as_json=False)
    assert result.exit_code == 0, result.output
    assert "succeeded with warnings" in result.output
    assert "primary: 1 failed call" in result.output


def test_a_parcel_no_provider_answered_makes_a_failed_job(make_app: Any) -> None:
    wanted = numbers(3)
    app = make_app(ScriptedCarrier("primary", fail=TransientError("down", adapter="primary")),
                   ScriptedCarrier("backup", refuse=[wanted[1]]))
    add_parcels(app, wanted)
    result = _run(app, as_json=True)
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["outcome"] == "failed"
    assert data["checked"] == 2
    assert data["failed"] == 1
    # the reason names the fallback's answer and the primary's failure
    assert "backup: unknown number" in data["reasons"][wanted[1]]
    assert "primary" in data["reasons"][wanted[1]].split(";", 1)[1]


def test_every_provider_failing_makes_a_failed_job(make_app: Any) -> None:
    app = make_app(ScriptedCarrier("primary", fail=TransientError("down", adapter="primary")),
                   ScriptedCarrier("backup", fail=TransientError("down", adapter="backup")))
    add_parcels(app, numbers(2))
    result = _run(app, as_json=False)
    assert result.exit_code == 1, result.output
    assert "failed: 2 tracking numbers got no answer from any provider" in result.output


def test_a_clean_job_succeeds_without_warnings(make_app: Any) -> None:
    app = make_app(ScriptedCarrier("primary"))
    add_parcels(app, numbers(2))
    result = _run(app, as_json=True)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["outcome"], data["warnings"]) == ("succeeded", [])
