"""The case state machine: the loop's moves are allowed, everything else refused."""

from __future__ import annotations

import itertools

import pytest

from aftersales.cases.states import TRANSITIONS, CaseStatus, Priority, check_transition
from aftersales.errors import InvalidTransitionError

S = CaseStatus
LOOP = [S.RECEIVED, S.INVESTIGATING, S.PROPOSED, S.AWAITING_CUSTOMER, S.RESOLVED,
        S.FOLLOWING_UP, S.CLOSED]


def test_the_loop_is_allowed_step_by_step() -> None:
    for a, b in itertools.pairwise(LOOP):
        check_transition(a, b, entity="case 1")


@pytest.mark.parametrize("source", [S.RESOLVED, S.FOLLOWING_UP, S.CLOSED])
def test_reopening_from_the_end_of_the_loop(source: CaseStatus) -> None:
    check_transition(source, S.REOPENED, entity="case 1")


def test_every_move_not_listed_is_refused_with_the_allowed_ones_named() -> None:
    refused = 0
    for a in S:
        for b in S:
            if b in TRANSITIONS[a]:
                continue
            with pytest.raises(InvalidTransitionError) as info:
                check_transition(a, b, entity="case 7")
            assert "case 7" in str(info.value)
            assert "\n" not in str(info.value)
            refused += 1
    assert refused > 30
    # nothing leaves closed except a reopening, and nothing skips back to received
    assert TRANSITIONS[S.CLOSED] == {S.REOPENED}
    assert all(S.RECEIVED not in targets for targets in TRANSITIONS.values())


def test_priority_rises_one_step_and_stops_at_urgent() -> None:
    assert Priority.NORMAL.raised() is Priority.HIGH
    assert Priority.URGENT.raised() is Priority.URGENT
