"""The state machine: every allowed move, every refused one, and the paths."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.errors import InvalidTransitionError
from aftersales.models import ReturnKind, ReturnStatus
from aftersales.returns import lifecycle
from aftersales.returns.lifecycle import (
    TRANSITIONS,
    allowed_next,
    can_transition,
    check_transition,
    is_final,
    path_between,
)

S = ReturnStatus
K = ReturnKind

ALLOWED = sorted(
    {(kind, row.source, row.target) for row in TRANSITIONS for kind in row.kinds},
    key=str,
)
REFUSED = [
    (kind, a, b)
    for kind, a, b in itertools.product(ReturnKind, ReturnStatus, ReturnStatus)
    if (kind, a, b) not in set(ALLOWED)
]


@pytest.mark.parametrize(("kind", "source", "target"), ALLOWED)
def test_every_allowed_transition_passes(
    kind: ReturnKind, source: ReturnStatus, target: ReturnStatus
) -> None:
    assert check_transition(kind, source, target) is target
    assert target in allowed_next(kind, source)


@pytest.mark.parametrize(("kind", "source", "target"), REFUSED)
def test_every_other_transition_is_refused(
    kind: ReturnKind, source: ReturnStatus, target: ReturnStatus
) -> None:
    assert not can_transition(kind, source, target)
    with pytest.raises(InvalidTransitionError) as err:
        check_transition(kind, source, target, entity="RMA-1")
    assert err.value.current == source.value
    assert err.value.target == target.value
    assert "RMA-1" in str(err.value)


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (K.REFUND_ONLY, [S.REQUESTED, S.APPROVED, S.REFUNDED, S.CLOSED]),
        (K.RETURN, [S.REQUESTED, S.APPROVED, S.RETURN_SHIPPED, S.RECEIVED, S.REFUNDED, S.CLOSED]),
        (K.EXCHANGE,
         [S.REQUESTED, S.APPROVED, S.RETURN_SHIPPED, S.RECEIVED, S.EXCHANGE_SHIPPED, S.CLOSED]),
    ],
)
def test_the_three_documented_paths(kind: ReturnKind, path: list[ReturnStatus]) -> None:
    for a, b in itertools.pairwise(path):
        check_transition(kind, a, b)
    assert path_between(kind, path[0], path[-2]) == path[1:-1]


def test_refund_only_never_travels_goods() -> None:
    for status in (S.RETURN_SHIPPED, S.RECEIVED, S.EXCHANGE_SHIPPED):
        assert not can_transition(K.REFUND_ONLY, S.APPROVED, status)


def test_return_cannot_ship_an_exchange_and_exchange_skips_refund_only_shortcut() -> None:
    assert not can_transition(K.RETURN, S.RECEIVED, S.EXCHANGE_SHIPPED)
    assert not can_transition(K.EXCHANGE, S.APPROVED, S.REFUNDED)


@pytest.mark.parametrize("kind", list(ReturnKind))
def test_rejected_reopens_on_a_revised_request(kind: ReturnKind) -> None:
    assert check_transition(kind, S.REJECTED, S.REQUESTED) is S.REQUESTED


@pytest.mark.parametrize("kind", [K.RETURN, K.EXCHANGE])
def test_inspection_failure_rejects_a_received_request(kind: ReturnKind) -> None:
    assert can_transition(kind, S.RECEIVED, S.REJECTED)


@pytest.mark.parametrize("kind", list(ReturnKind))
def test_cancel_only_from_early_states(kind: ReturnKind) -> None:
    can_cancel = {s for s in ReturnStatus if can_transition(kind, s, S.CANCELLED)}
    assert can_cancel == {S.REQUESTED, S.APPROVED}


@pytest.mark.parametrize("status", [S.CLOSED, S.CANCELLED])
def test_final_states_have_no_way_out(status: ReturnStatus) -> None:
    assert is_final(status)
    for kind in ReturnKind:
        assert allowed_next(kind, status) == frozenset()
        with pytest.raises(InvalidTransitionError, match="is final"):
            check_transition(kind, status, S.REQUESTED)


def test_refusal_tells_what_is_possible() -> None:
    with pytest.raises(InvalidTransitionError, match="can only: approve, cancel, reject"):
        check_transition(K.RETURN, S.REQUESTED, S.RECEIVED)


def test_path_between_gives_none_when_unreachable() -> None:
    assert path_between(K.RETURN, S.CLOSED, S.REQUESTED) is None
    assert path_between(K.RETURN, S.APPROVED, S.APPROVED) == []


def test_every_status_is_reachable_from_requested_for_some_kind() -> None:
    reachable = {
        s for kind in ReturnKind for s in ReturnStatus
        if s is S.REQUESTED or path_between(kind, S.REQUESTED, s) is not None
    }
    assert reachable == set(ReturnStatus)


def test_every_kind_can_always_reach_an_end() -> None:
    # No dead ends: from every reachable status some final status is reachable.
    for kind in ReturnKind:
        for status in ReturnStatus:
            if status is not S.REQUESTED and path_between(kind, S.REQUESTED, status) is None:
                continue
            assert is_final(status) or any(
                path_between(kind, status, end) is not None for end in lifecycle.FINAL
            ), (kind, status)


@given(
    kind=st.sampled_from(list(ReturnKind)),
    attempts=st.lists(st.sampled_from(list(ReturnStatus)), max_size=40),
)
def test_any_sequence_of_actions_stays_inside_the_machine(
    kind: ReturnKind, attempts: list[ReturnStatus]
) -> None:
    status = S.REQUESTED
    visited = [status]
    for target in attempts:
        try:
            status = check_transition(kind, status, target)
        except InvalidTransitionError:
            assert not can_transition(kind, status, target)
            continue
        visited.append(status)
    for a, b in itertools.pairwise(visited):
        assert can_transition(kind, a, b)
    # Wherever the walk ended, the machine knows a way there from the start.
    assert status is S.REQUESTED or path_between(kind, S.REQUESTED, status) is not None


@given(
    kind=st.sampled_from(list(ReturnKind)),
    a=st.sampled_from(list(ReturnStatus)),
    b=st.sampled_from(list(ReturnStatus)),
)
def test_path_between_only_uses_allowed_steps(
    kind: ReturnKind, a: ReturnStatus, b: ReturnStatus
) -> None:
    path = path_between(kind, a, b)
    if path is None:
        return
    for x, y in itertools.pairwise([a, *path]):
        assert can_transition(kind, x, y)
    assert ([a, *path])[-1] is b
