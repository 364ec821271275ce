"""``aftersales reviews sync|alerts|report|reply`` and the demo section."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from click.testing import CliRunner
from rich.console import Console

from aftersales.app import AfterSales
from aftersales.cli_support import CliState
from aftersales.reviews.cli import group
from tests.reviews.conftest import FakeReviewShop


def run(app: AfterSales, args: list[str], *, as_json: bool = False) -> Any:
    state = CliState(None, as_json)
    state._app = app
    return CliRunner().invoke(group, args, obj=state)


def test_sync_alerts_report_and_reply(review_app: AfterSales, shop: FakeReviewShop) -> None:
    shop.put("r1", 1, "假货，和专柜的不一样", at=timedelta(hours=1), sku="A")
    shop.put("r2", 5, "质量很好", at=timedelta(hours=2), sku="A")
    shop.put("r3", 4, "不错", at=timedelta(hours=3), sku="B")
    result = run(review_app, ["sync"], as_json=True)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"fake": 3}

    alerts = json.loads(run(review_app, ["alerts"], as_json=True).output)
    assert {a["rule"] for a in alerts} == {"negative", "counterfeit"}
    only = json.loads(run(review_app, ["alerts", "--rule", "counterfeit"], as_json=True).output)
    assert [(a["rule"], a["severity"]) for a in only] == [("counterfeit", "critical")]
    text = run(review_app, ["alerts", "--min-severity", "critical"]).output
    assert "counterfeit" in text

    report = json.loads(run(review_app, ["report", "--by", "sku"], as_json=True).output)
    assert [(r["key"], r["count"], r["positive_rate"]) for r in report] == [
        ("A", 2, 0.5), ("B", 1, 1.0)
    ]
    table = run(review_app, ["report", "--by", "shop"]).output
    assert "fake" in table
    assert "66.7%" in table

    dry = json.loads(run(review_app, ["reply", "r1", "--template", "sorry", "--dry-run"],
                         as_json=True).output)
    assert dry["status"] == "dry_run"
    assert shop.reply_calls == []
    sent = run(review_app, ["reply", "r1", "--template", "sorry"])
    assert sent.output.startswith("sent")
    again = run(review_app, ["reply", "1", "--template", "sorry"])
    assert again.output.startswith("already_replied")
    assert len(shop.reply_calls) == 1


def test_window_options(review_app: AfterSales, shop: FakeReviewShop) -> None:
    shop.put("old", 1, "很差", at=timedelta(days=1))
    review_app.reviews.sync()
    # The app's clock is 30 days after the review.
    assert json.loads(run(review_app, ["alerts", "--days", "7"], as_json=True).output) == []
    assert json.loads(run(review_app, ["report", "--days", "60"], as_json=True).output)
    bad = run(review_app, ["report", "--since", "2026-03-01"])
    assert bad.exit_code != 0
    assert "time zone" in bad.output
    both = run(review_app, ["report", "--days", "1", "--since", "2026-03-01T00:00:00+00:00"])
    assert both.exit_code != 0


def test_demo_section_shows_alerts_and_the_positive_rate(app: AfterSales, sandbox: Any) -> None:
    from aftersales.reviews.demo import run as demo

    app.sync_orders("sandbox")
    app.reviews.sync()
    console = Console(record=True, width=160)
    demo(app, console)
    text = console.export_text()
    assert "Alerts raised:" in text
    assert "positive rate (好评率)" in text
    assert "asked again: already_replied" in text


def test_sync_shows_progress_per_page_on_stderr(review_app: AfterSales,
                                                shop: FakeReviewShop) -> None:
    for i in range(5):  # pages of two: 2, 2, 1
        shop.put(f"p{i}", 5, "很好", at=timedelta(minutes=i))
    result = run(review_app, ["sync"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "reviews sync: 2 reviews fake", "reviews sync: 4 reviews fake",
        "reviews sync: 5 reviews fake"]
    assert "reviews sync:" not in result.stdout


def test_sync_progress_stays_off_json_output(review_app: AfterSales,
                                             shop: FakeReviewShop) -> None:
    shop.put("p0", 5, "很好")
    result = run(review_app, ["sync"], as_json=True)
    assert result.stderr == ""
    assert json.loads(result.stdout) == {"fake": 1}


def test_sync_progress_callback_gets_each_page(review_app: AfterSales,
                                               shop: FakeReviewShop) -> None:
    for i in range(3):
        shop.put(f"p{i}", 5, "很好", at=timedelta(minutes=i))
    seen: list[tuple[str, int]] = []
    review_app.reviews.sync(progress=lambda name, n: seen.append((name, n)))
    assert seen == [("fake", 2), ("fake", 1)]


def test_sync_whose_alert_channel_failed_is_not_status_0(
        tmp_path: Any, shop: FakeReviewShop) -> None:
    # Rule: a job that failed never exits 0. Before: with the shop's alert
    # channel down, `reviews sync` raised the alerts, could not deliver any,
    # and exited 0 with nothing said; a cron job could miss every alert for
    # weeks. The alerts stay for the next run, which delivers them and exits 0.
    from aftersales.errors import TransientError
    from aftersales.models import Receipt
    from tests.reviews.conftest import T0

    class Pager:
        name = "pager"
        down = True

        def send(self, message: Any) -> Receipt:
            if self.down:
                raise TransientError("pager gateway down", adapter="pager", status=503)
            return Receipt(channel="pager", message_id="p1", accepted_at=T0)

    pager = Pager()
    app = AfterSales(f"sqlite:///{tmp_path}/p.db", marketplaces=[shop], carriers=[],
                     channels=[pager], clock=lambda: T0, migrate=False,
                     review_alert_to="+10000000000")
    app.store.create_all()
    try:
        shop.put("r1", 1, "质量太差")
        failed = run(app, ["sync"], as_json=True)
        assert failed.exit_code == 1, failed.output
        data = json.loads(failed.stdout)
        assert data["fake"] == 1
        assert "pager gateway down" in data["undelivered"]["pager"]
        plain = run(app, ["sync"])
        assert plain.exit_code == 1
        assert "not delivered through pager" in plain.stdout
        from aftersales.scheduler import failures, run_once

        ticked = failures(run_once(app, ["reviews"]))  # the worker's tick says so too
        assert "pager gateway down" in ticked["reviews"], ticked
        pager.down = False
        done = run(app, ["sync"], as_json=True)
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout) == {"fake": 0}
    finally:
        app.close()


def test_json_output_escapes_reordering_and_invisible_characters(
        review_app: AfterSales, shop: FakeReviewShop) -> None:
    # Rule: stored text is shown safely. Before: `--json` printed a review's
    # bidi overrides, zero-width characters and C1 controls raw, so the JSON
    # on a terminal showed "evil" reversed and hid characters; they are now
    # \u escapes, which every JSON reader decodes back to the same text.
    hostile = "\u202eevil\u202c \u200bzero\u2066x\u2069 \x85c1 " + "差" * 10
    shop.put("r1", 1, hostile)
    assert run(review_app, ["sync"]).exit_code == 0
    result = run(review_app, ["alerts"], as_json=True)
    assert result.exit_code == 0, result.output
    for raw in ("\u202e", "\u202c", "\u200b", "\u2066", "\u2069", "\x85"):
        assert raw not in result.stdout
    assert "\\u202e" in result.stdout
    assert "差" in result.stdout  # other text stays readable
    (alert,) = json.loads(result.stdout)
    assert "\u202eevil\u202c \u200bzero" in alert["message"]


def test_a_store_review_id_past_the_databases_integers_is_found_by_the_cli(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    """Digits are first read as the library's id; past 2**63 that crashed
    (``unexpected OverflowError``) before the store's id was tried."""
    shop.put("99999999999999999999", 1, "很差")
    review_app.reviews.sync()
    result = run(review_app, ["reply", "99999999999999999999", "--template", "sorry",
                              "--dry-run"], as_json=True)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "dry_run"


def test_a_dry_run_never_marks_or_releases(review_app: AfterSales,
                                           shop: FakeReviewShop) -> None:
    """``--dry-run`` with ``--mark-sent`` or ``--release`` wrote the mark anyway."""
    shop.put("r1", 1, "很差")
    review_app.reviews.sync()
    for flag in ("--mark-sent", "--release"):
        result = run(review_app, ["reply", "r1", flag, "--dry-run"])
        assert result.exit_code == 2, result.output
        assert "--dry-run" in result.output


def test_a_template_with_mark_sent_or_release_is_a_usage_error(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    """``--release --template sorry`` released and sent nothing, silently
    dropping the template the user expected to go out."""
    shop.put("r1", 1, "很差")
    review_app.reviews.sync()
    for flag in ("--mark-sent", "--release"):
        result = run(review_app, ["reply", "r1", flag, "--template", "sorry"])
        assert result.exit_code == 2, result.output
        assert "--template" in result.output
    assert shop.reply_calls == []


def test_a_days_window_no_calendar_holds_is_a_usage_error(review_app: AfterSales) -> None:
    """They failed as ``unexpected OverflowError`` / ``ValueError``, status 1."""
    for days in ("1e12", "800000", "nan", "inf", "-inf"):
        for command in ("alerts", "report"):
            result = run(review_app, [command, "--days", days])
            assert result.exit_code == 2, (command, days, result.output)
            assert "--days" in result.output
    assert run(review_app, ["report", "--days", "36500"]).exit_code == 0


def test_sync_with_an_alert_channel_not_configured_is_status_2(
    tmp_path: Any, shop: FakeReviewShop
) -> None:
    from tests.reviews.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path}/n.db", shop, review_alert_channels=["nope"])
    shop.put("r1", 1, "质量太差")
    from aftersales.cli_support import exit_code_for

    result = run(app, ["sync"])
    assert result.exception is not None, result.output  # per store, it was status 1
    assert exit_code_for(result.exception) == 2
    assert "'nope'" in str(result.exception)
    app.close()
