"""The time budget of the HTTP calls made inside a block (a refund push under its lease)."""

from __future__ import annotations

import pytest
import responses

from aftersales.call_budget import check_budget, time_budget, wait_within
from aftersales.errors import TransientError
from aftersales.http import ApiClient, may_have_arrived


def test_outside_a_budget_nothing_changes() -> None:
    assert check_budget((5.0, 30.0), "x") == (5.0, 30.0)
    assert wait_within(12.0) == 12.0


def test_a_call_inside_gets_at_most_the_time_left_and_an_inner_budget_never_extends() -> None:
    with time_budget(10):
        connect, read = check_budget((5.0, 30.0), "x")
        assert connect == 5.0
        assert 9 < read <= 10
        with time_budget(60):  # an inner budget cannot outlive the outer one
            assert check_budget((5.0, 30.0), "x")[1] <= 10
        assert wait_within(11.0) == 0.0  # a backoff past the end is not waited
        assert wait_within(1.0) == 1.0


def test_a_spent_budget_sends_nothing_and_is_never_retried() -> None:
    api = ApiClient("x", "https://api.example.com", sleep=lambda _: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, "https://api.example.com/a", json={})
        with time_budget(0), pytest.raises(TransientError, match="time budget") as caught:
            api.get("a")
        assert len(mock.calls) == 0
    assert not caught.value.retryable
    assert not may_have_arrived(caught.value)
