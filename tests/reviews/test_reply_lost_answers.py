"""Replies whose answer was lost, on marketplaces without an idempotency key on replies.

Judge.me (``POST /replies``) takes no key and documents no way to read a
review's reply: after a timeout or a 5xx the reply may be on the widget, so
it is never posted again until someone has looked and marked it sent or
released it. A marketplace that can read the review's reply is asked instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from click.testing import CliRunner

from aftersales.app import AfterSales
from aftersales.errors import (
    InvalidTransitionError,
    RemoteError,
    RemoteRejectedError,
    ReplyOutcomeUnknownError,
    TransientError,
)
from aftersales.models import Review
from tests.adapters.judgeme.test_adapter import BASE, adapter, serve_all, serve_state
from tests.reviews.conftest import FakeReviewShop, make_app

REVIEW = "465077606"  # the one-star review of Judge.me's listing fixture


def _posts(http: responses.RequestsMock) -> int:
    return sum(1 for c in http.calls if c.request.method == "POST")


def _lost_by_timeout(http: responses.RequestsMock) -> None:
    # Judge.me took the reply, then the answer never came back.
    http.add("POST", f"{BASE}/replies", body=requests.exceptions.ReadTimeout("read timed out"))


def _lost_by_500(http: responses.RequestsMock) -> None:
    http.add("POST", f"{BASE}/replies", status=500, json={"error": "internal"})


@pytest.fixture
def judgeme_app(http: responses.RequestsMock, tmp_path: Path) -> AfterSales:
    serve_all(http)
    app = AfterSales(f"sqlite:///{tmp_path}/j.db", marketplaces=[adapter()], carriers=[],
                     channels=["outbox"], migrate=False)
    app.store.create_all()
    app.reviews.sync()
    serve_state(http, REVIEW)
    return app


@pytest.mark.parametrize("lose", [_lost_by_timeout, _lost_by_500], ids=["timeout", "http500"])
def test_a_lost_judgeme_reply_is_not_posted_again(
    judgeme_app: AfterSales, http: responses.RequestsMock,
    lose: Callable[[responses.RequestsMock], None],
) -> None:
    lose(http)
    with pytest.raises(RemoteError):  # a timeout or a 5xx: the outcome is unknown
        judgeme_app.reviews.reply(REVIEW, template="sorry")
    assert _posts(http) == 1
    with pytest.raises(ReplyOutcomeUnknownError) as info:
        judgeme_app.reviews.reply(REVIEW, template="sorry")
    assert _posts(http) == 1  # the retry posted nothing: the first may be on the widget
    message = str(info.value)
    assert "\n" not in message
    assert f"judgeme {REVIEW}" in message
    assert "--mark-sent" in message
    assert "--release" in message
    assert info.value.external_id == REVIEW
    judgeme_app.close()


def test_after_mark_sent_the_review_counts_as_replied(
    judgeme_app: AfterSales, http: responses.RequestsMock
) -> None:
    seen: list[Any] = []
    judgeme_app.on("review.replied", seen.append)
    _lost_by_timeout(http)
    with pytest.raises(RemoteError):  # a timeout or a 5xx: the outcome is unknown
        judgeme_app.reviews.reply(REVIEW, template="sorry")
    marked = judgeme_app.reviews.mark_reply_sent(REVIEW)
    assert marked.status == "marked_sent"
    again = judgeme_app.reviews.reply(REVIEW, template="thanks")
    assert (again.status, again.text) == ("already_replied", marked.text)
    assert _posts(http) == 1
    assert len(seen) == 1
    with pytest.raises(InvalidTransitionError):
        judgeme_app.reviews.release_reply(REVIEW)  # a reply that was sent stays sent
    judgeme_app.close()


def test_after_release_the_next_reply_posts_once(
    judgeme_app: AfterSales, http: responses.RequestsMock
) -> None:
    _lost_by_500(http)
    with pytest.raises(RemoteError):  # a timeout or a 5xx: the outcome is unknown
        judgeme_app.reviews.reply(REVIEW, template="sorry")
    assert judgeme_app.reviews.release_reply(REVIEW).status == "released"
    http.replace("POST", f"{BASE}/replies", json={"reply": {"id": 78}})
    result = judgeme_app.reviews.reply(REVIEW, template="sorry")
    assert (result.status, result.remote_id) == ("sent", "78")
    assert judgeme_app.reviews.reply(REVIEW, template="sorry").status == "already_replied"
    assert _posts(http) == 2  # the lost one and the released one's single retry
    judgeme_app.close()


def test_the_cli_marks_sent_or_releases(
    judgeme_app: AfterSales, http: responses.RequestsMock
) -> None:
    from aftersales.cli_support import CliState
    from aftersales.reviews.cli import group

    _lost_by_timeout(http)
    with pytest.raises(RemoteError):  # a timeout or a 5xx: the outcome is unknown
        judgeme_app.reviews.reply(REVIEW, template="sorry")
    state = CliState(None, as_json=False)
    state._app = judgeme_app
    runner = CliRunner()
    both = runner.invoke(group, ["reply", REVIEW, "--mark-sent", "--release"], obj=state)
    assert both.exit_code == 2
    done = runner.invoke(group, ["reply", REVIEW, "--release"], obj=state)
    assert done.exit_code == 0, done.output
    assert "released" in done.output
    assert _posts(http) == 1
    judgeme_app.close()


class _LookupShop(FakeReviewShop):
    """No key on replies, but the review's reply can be read."""

    reply_idempotent = False

    def __init__(self) -> None:
        super().__init__()
        self.on_marketplace: str | None = None
        self.lookups = 0

    def find_reply(self, review: Review) -> str | None:
        self.lookups += 1
        return self.on_marketplace


def test_a_marketplace_that_can_tell_is_asked_instead_of_posting_twice(tmp_path: Path) -> None:
    shop = _LookupShop()
    app = make_app(f"sqlite:///{tmp_path}/l.db", shop)
    shop.put("r1", 1, "很差")
    shop.put("r2", 1, "很差")
    app.reviews.sync()
    seen: list[Any] = []
    app.on("review.replied", seen.append)
    shop.reply_error = TransientError("read timed out", adapter="fake")
    for rid in ("r1", "r2"):
        with pytest.raises(TransientError):
            app.reviews.reply(rid, template="sorry")
    shop.reply_error = None
    shop.on_marketplace = "R-found"  # r1's reply did get through
    found = app.reviews.reply("r1", template="sorry")
    assert (found.status, found.remote_id) == ("already_replied", "R-found")
    assert app.reviews.reply("r1", template="sorry").status == "already_replied"
    shop.on_marketplace = None  # r2's did not: it goes, once
    assert app.reviews.reply("r2", template="sorry").status == "sent"
    assert [c[0] for c in shop.reply_calls] == ["r1", "r2", "r2"]
    assert shop.lookups == 2
    assert [e.payload["external_id"] for e in seen] == ["r1", "r2"]
    app.close()


class _SlowShop(FakeReviewShop):
    """No key on replies; while a reply is in flight, ``during`` runs (another process)."""

    reply_idempotent = False

    def __init__(self) -> None:
        super().__init__()
        self.during: Callable[[], None] | None = None

    def reply_review(self, review: Review, text: str, *, idempotency_key: str) -> str:
        if self.during is not None:
            during, self.during = self.during, None
            during()
        return super().reply_review(review, text, idempotency_key=idempotency_key)


def test_two_processes_at_once_post_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/p.db"
    shop = _SlowShop()
    first = make_app(url, shop)
    shop.put("r1", 1, "很差")
    first.reviews.sync()
    other = AfterSales(url, marketplaces=[shop], carriers=[], channels=["outbox"],
                       migrate=False)
    outcome: list[BaseException] = []

    def second() -> None:
        try:
            other.reviews.reply("r1", template="sorry")
        except ReplyOutcomeUnknownError as exc:
            outcome.append(exc)

    shop.during = second
    assert first.reviews.reply("r1", template="sorry").status == "sent"
    assert len(outcome) == 1  # the second saw the first one's claim in flight
    assert len(shop.reply_calls) == 1
    assert other.reviews.reply("r1", template="sorry").status == "already_replied"
    other.close()
    first.close()


@pytest.mark.parametrize("status", [500, 404])
def test_a_failed_state_check_posted_nothing_so_the_next_reply_posts_once(
    http: responses.RequestsMock, tmp_path: Path, status: int,
) -> None:
    """Judge.me's state check (``GET /reviews/{id}``) failing comes before the
    POST: nothing can be on the widget, so no person has to settle it."""
    serve_all(http)
    app = AfterSales(f"sqlite:///{tmp_path}/j.db", marketplaces=[adapter()], carriers=[],
                     channels=["outbox"], migrate=False)
    app.store.create_all()
    app.reviews.sync()
    http.add("GET", f"{BASE}/reviews/{REVIEW}", status=status, json={"error": "down"})
    with pytest.raises(RemoteError):
        app.reviews.reply(REVIEW, template="sorry")
    assert _posts(http) == 0
    http.replace("GET", f"{BASE}/reviews/{REVIEW}", status=200,
                 json={"review": {"id": int(REVIEW), "curated": "ok", "hidden": False,
                                  "rating": 1, "created_at": "2022-05-12T04:38:32+00:00"}})
    http.add("POST", f"{BASE}/replies", json={"reply": {"id": 91}})
    result = app.reviews.reply(REVIEW, template="sorry")
    assert (result.status, result.remote_id) == ("sent", "91")
    assert _posts(http) == 1
    app.close()


_KILLED_MID_POST = """
import os, signal, sys
from tests.reviews.conftest import make_app
from tests.reviews.test_reply_lost_answers import _LookupShop

class Killed(_LookupShop):
    def reply_review(self, review, text, *, idempotency_key):
        super().reply_review(review, text, idempotency_key=idempotency_key)
        os.kill(os.getpid(), signal.SIGKILL)  # posted; killed before the record

shop = Killed()
shop.put("r1", 1, "很差")
app = make_app(sys.argv[1], shop)
app.reviews.sync()
app.reviews.reply("r1", template="sorry")
"""


@pytest.mark.parametrize("there", [True, False], ids=["posted", "not-posted"])
def test_a_reply_killed_mid_post_is_settled_by_asking_the_marketplace(
    tmp_path: Path, there: bool,
) -> None:
    """SIGKILL between the post and its record left a claim with no error, read
    as "another attempt is sending" for ever, though the marketplace can say
    whether the reply is there. Once the claim is older than any call could
    take (STALE_CLAIM), the marketplace is asked."""
    import os
    import signal
    import subprocess
    import sys

    from aftersales.reviews.replies import STALE_CLAIM
    from tests.reviews.conftest import T0

    url = f"sqlite:///{tmp_path}/k.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([".", "adapters"])}
    child = subprocess.run([sys.executable, "-c", _KILLED_MID_POST, url], env=env,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    shop = _LookupShop()
    shop.put("r1", 1, "很差")
    shop.on_marketplace = "R-1" if there else None
    soon = make_app(url, shop)  # the same minute: it may still be in flight
    with pytest.raises(ReplyOutcomeUnknownError):
        soon.reviews.reply("r1", template="sorry")
    soon.close()
    later = make_app(url, shop,
                     clock=lambda: T0 + timedelta(days=30) + STALE_CLAIM + timedelta(seconds=1))
    result = later.reviews.reply("r1", template="sorry")
    if there:
        assert (result.status, result.remote_id) == ("already_replied", "R-1")
        assert shop.reply_calls == []
    else:
        assert result.status == "sent"
        assert len(shop.reply_calls) == 1
    assert later.reviews.reply("r1", template="sorry").status == "already_replied"
    assert shop.lookups == 1
    later.close()


class _HeldShop(FakeReviewShop):
    """No key on replies; ``reply_review`` signals it started, then waits to be let go."""

    reply_idempotent = False

    def __init__(self) -> None:
        super().__init__()
        import threading

        self.started = threading.Event()
        self.go = threading.Event()

    def reply_review(self, review: Review, text: str, *, idempotency_key: str) -> str:
        self.started.set()
        assert self.go.wait(30)
        return super().reply_review(review, text, idempotency_key=idempotency_key)


def test_losing_the_race_for_the_claim_never_says_already_replied_while_in_flight(
    tmp_path: Path,
) -> None:
    """Two attempts at once, the second reading no claim and then losing the
    insert: it answered ``already_replied`` while the first was still posting;
    the first was then refused, and no reply existed."""
    import threading

    url = f"sqlite:///{tmp_path}/race.db"
    shop = _HeldShop()
    first = make_app(url, shop)
    shop.put("r1", 1, "很差")
    first.reviews.sync()
    second = AfterSales(url, marketplaces=[shop], carriers=[], channels=["outbox"],
                        migrate=False)
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            first.reviews.reply("r1", template="sorry")
        except BaseException as exc:  # the refusal below
            outcome.append(exc)

    class Late(Mapping[str, Any]):
        """The second's template fields: read after its claim check, before its insert."""

        def keys(self) -> Any:
            thread.start()
            assert shop.started.wait(30)  # the first has claimed and is posting
            return {}.keys()

        def __getitem__(self, key: str) -> Any:
            raise KeyError(key)

        def __iter__(self) -> Any:
            return iter(())

        def __len__(self) -> int:
            return 0

        def __bool__(self) -> bool:  # read, not skipped as empty
            return True

    thread = threading.Thread(target=attempt)
    shop.reply_error = RemoteRejectedError("too long", adapter="fake", status=422)
    try:
        with pytest.raises(ReplyOutcomeUnknownError, match="another attempt"):
            second.reviews.reply("r1", template="sorry", context=Late())
    finally:
        shop.go.set()
        thread.join(30)
    assert [type(e) for e in outcome] == [RemoteRejectedError]
    second.close()
    first.close()


def test_a_reply_the_platform_answers_404_posted_nothing_and_holds_nothing(
    judgeme_app: AfterSales, http: responses.RequestsMock,
) -> None:
    """``POST /replies`` answering 404 (the review is gone) left the claim
    "sending" with its error: every later reply asked a person to check a
    reply that could not exist."""
    http.add("POST", f"{BASE}/replies", status=404, json={"error": "not found"})
    with pytest.raises(RemoteError):
        judgeme_app.reviews.reply(REVIEW, template="sorry")
    http.replace("POST", f"{BASE}/replies", json={"reply": {"id": 92}})
    result = judgeme_app.reviews.reply(REVIEW, template="sorry")
    assert (result.status, result.remote_id) == ("sent", "92")
    assert _posts(http) == 2
    judgeme_app.close()
