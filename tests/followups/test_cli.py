"""``aftersales followups list|schedule|dispatch|metrics``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from aftersales.cli_support import CliState
from aftersales.followups.cli import group

PLANS = """
[plans.hello]
channel = "outbox"
body = "Hi {buyer.id}"
delay = "1h"
"""


def _run(app: Any, args: list[str], *, as_json: bool = False) -> Any:
    state = CliState(None, as_json)
    state._app = app
    return CliRunner().invoke(group, args, obj=state)


def test_schedule_dispatch_list_metrics(app: Any, clock: Any, tmp_path: Path) -> None:
    plans = tmp_path / "plans.toml"
    plans.write_text(PLANS, "utf-8")
    result = _run(app, ["--plans", str(plans), "schedule", "hello", "--buyer", "b1",
                        "--due", clock.now.isoformat()])
    assert result.exit_code == 0, result.output
    assert "scheduled" in result.output
    result = _run(app, ["dispatch"], as_json=True)
    assert json.loads(result.output)["sent"] == 1
    listed = json.loads(_run(app, ["list", "--status", "sent"], as_json=True).output)
    assert [r["buyer_id"] for r in listed] == ["b1"]
    assert "hello" in _run(app, ["list"]).output
    metrics = json.loads(_run(app, ["metrics"], as_json=True).output)
    assert metrics[0]["plan"] == "hello"
    assert metrics[0]["sent"] == 1
    assert "Follow-up metrics" in _run(app, ["metrics"]).output


def test_naive_time_is_a_usage_error(app: Any, tmp_path: Path) -> None:
    plans = tmp_path / "plans.toml"
    plans.write_text(PLANS, "utf-8")
    result = _run(app, ["--plans", str(plans), "schedule", "hello", "--buyer", "b1",
                        "--due", "2024-06-01T10:00"])
    assert result.exit_code == 2
    assert "no time zone" in result.output
    assert app.followups.list() == []


def test_dispatch_shows_progress_per_batch_on_stderr(app: Any, clock: Any,
                                                     tmp_path: Path) -> None:
    plans = tmp_path / "plans.toml"
    plans.write_text(PLANS, "utf-8")
    for buyer in ("b1", "b2", "b3"):
        _run(app, ["--plans", str(plans), "schedule", "hello", "--buyer", buyer,
                   "--due", clock.now.isoformat()])
    app.followups.batch = 2
    result = _run(app, ["dispatch"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "followups dispatch: 2 follow-ups", "followups dispatch: 3 follow-ups"]
    assert "followups dispatch:" not in result.stdout
    quiet = _run(app, ["dispatch"], as_json=True)
    assert quiet.stderr == ""
    assert json.loads(quiet.stdout)["claimed"] == 0


def test_dispatch_exits_1_naming_what_failed(app: Any, clock: Any, recorder: Any,
                                             tmp_path: Path) -> None:
    # Rule: status 1 when the run completed with failures (a scheduled
    # `followups dispatch` in cron must not read 0). Before: the command
    # exited 0 whatever the report counted.
    from aftersales.errors import AuthenticationError

    plans = tmp_path / "plans.toml"
    plans.write_text(PLANS.replace('"outbox"', '"recorder"'), "utf-8")
    scheduled = _run(app, ["--plans", str(plans), "schedule", "hello", "--buyer", "b1",
                           "--due", clock.now.isoformat()])
    assert scheduled.exit_code == 0, scheduled.output
    recorder.fail_with = AuthenticationError("channel token revoked", adapter="recorder",
                                             status=401)
    result = _run(app, ["--plans", str(plans), "dispatch"], as_json=True)
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    # refused credentials fail no follow-up: it is kept, and the run says why it stopped
    assert (data["failed"], data["deferred"]) == (0, 1)
    assert "AuthenticationError" in data["stopped"]
    assert data["reasons"]
