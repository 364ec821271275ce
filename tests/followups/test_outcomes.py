"""record_outcome under failure and hostile input: the low-score plan is never lost."""

from __future__ import annotations

from typing import Any

import pytest

from aftersales.errors import StorageError, ValidationError
from aftersales.followups.plans import FollowUpPlan, PlanKind
from aftersales.followups.scheduling import Scheduling
from aftersales.models import FollowUpStatus

SURVEY = FollowUpPlan(name="survey", channel="outbox", body="Hi {buyer.name}",
                      low_score_plan="callback")
CALLBACK = FollowUpPlan(name="callback", kind=PlanKind.CALLBACK, channel="outbox",
                        body="Sorry {buyer.name}")


def _sent(app: Any, clock: Any) -> int:
    app.followups.register(SURVEY, CALLBACK)
    fid = app.followups.schedule("survey", buyer_id="b1", order_id="A-1", due_at=clock.now,
                                 context={"buyer": {"name": "Li"}}).id
    assert app.followups.dispatch_due().sent == 1
    return int(fid)


def test_a_retried_low_score_schedules_the_callback_lost_the_first_time(
    app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The answer commits first, the low-score plan is scheduled after. When
    # that second step failed (the database went away, the process died),
    # the caller's retry with the same answer returned early ("changes
    # nothing") and the buyer who scored 1 never got the call-back.
    fid = _sent(app, clock)
    real = Scheduling.schedule
    failures = [StorageError("database error: connection lost")]

    def flaky(self: Scheduling, *args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Scheduling, "schedule", flaky)  # record_outcome's own call
    with pytest.raises(StorageError):
        app.followups.record_outcome(fid, csat=1, comment="broken")
    assert app.followups.get(fid).status is FollowUpStatus.RESPONDED
    assert app.followups.list(plan="callback") == []
    again = app.followups.record_outcome(fid, csat=1, comment="broken")
    assert again.status is FollowUpStatus.RESPONDED
    (callback,) = app.followups.list(plan="callback")
    assert callback.context["outcome"] == {"csat": 1, "nps": None, "comment": "broken"}
    app.followups.record_outcome(fid, csat=1, comment="broken")  # and only once
    assert len(app.followups.list(plan="callback")) == 1


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"csat": True}, "csat"),
    ({"csat": 2.5}, "csat"),
    ({"csat": "3"}, "csat"),
    ({"nps": 7.0}, "nps"),
    ({"csat": 1, "comment": "bad \udc80"}, "comment"),
    ({"csat": 1, "comment": "nul \x00 here"}, "comment"),
    ({"csat": 1, "comment": 42}, "comment"),
])
def test_bad_answers_are_refused_before_anything_is_written(
    app: Any, clock: Any, kwargs: dict[str, Any], field: str
) -> None:
    # A comment the callback's context cannot hold used to be committed with
    # the answer, and the low-score plan then failed to schedule; a bool or
    # a float passed for a score; a string score raised TypeError.
    fid = _sent(app, clock)
    with pytest.raises(ValidationError, match=f"field '{field}'"):
        app.followups.record_outcome(fid, **kwargs)
    assert app.followups.get(fid).status is FollowUpStatus.SENT
    assert app.followups.list(plan="callback") == []
