"""ReviewsService: review sync, classification, alerts, metrics and replies (``app.reviews``).

A shop's rating (好评率) is its livelihood: a bad review left unseen for a day
costs sales, and a wave of them on one SKU is often the first sign of a
quality problem. The service watches every configured marketplace that
declares ``LIST_REVIEWS``::

    app = AfterSales(marketplaces=["judgeme"], review_alerts=AlertConfig(spike_threshold=3))
    app.reviews.sync()                         # new, edited, appended (追评), replied
    for alert in app.reviews.alerts(undelivered=True): ...
    app.reviews.metrics(since=week_ago, by="sku")
    app.reviews.reply(42, template="sorry", dry_run=True)

Settings read (section ``reviews``; ``AfterSales(..., review_classifier=...)``):

* ``review_classifier``: a :class:`~aftersales.reviews.classify.Classifier`
  (default: :func:`~aftersales.reviews.blended.default_classifier`, the
  packaged text model blended with the bilingual lexicons);
* ``review_alerts``: an :class:`~aftersales.reviews.alerts.AlertConfig`
  (spike threshold K and window, switched-on rules);
* ``review_alert_channels``: channel names alerts go to (default: every
  configured channel); ``review_alert_to``: the address, or a dict of
  address per channel name (default ``"shop"``, which suits the outbox);
* ``review_templates``: reply templates by name, added to ``thanks`` and
  ``sorry``; ``shop_name``: the ``{shop}`` of the templates.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from aftersales import observe
from aftersales.errors import ConfigurationError, ValidationError
from aftersales.interfaces import Capability, require
from aftersales.reviews._delivery import deliver_alerts
from aftersales.reviews._record import record_page
from aftersales.reviews.alerts import AlertConfig, AlertRule
from aftersales.reviews.blended import default_classifier
from aftersales.reviews.classify import Classifier, Severity
from aftersales.reviews.metrics import GroupBy, ReviewMetrics, compute_metrics
from aftersales.reviews.records import StoredReview, check_limit, get_review, list_reviews
from aftersales.reviews.replies import (
    DEFAULT_TEMPLATES,
    ReplyResult,
    mark_reply_sent,
    release_reply,
    send_reply,
)
from aftersales.store.cursors import get_cursor, set_cursor
from aftersales.store.locking import one_writer
from aftersales.store.tables.reviews import ReviewAlertRow
from aftersales.times import aware

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aftersales.runtime import Runtime

__all__ = ["Alert", "ReviewsService"]

STREAM = "reviews"


@dataclass(frozen=True)
class Alert:
    """A stored review alert, as callers see it.

    Attributes:
        id: the alert's id.
        rule: ``negative``, ``counterfeit``, ``rating_drop`` or ``spike``.
        subject: the review it is about (``"marketplace:external_id"``).
        severity: how urgent.
        message: one line for a person (personal data masked).
        review_id: the library's id of the review.
        occurred_at: when the review version that raised it appeared.
        created_at: when the alert was raised.
        delivered_at: when every alert channel had it, or ``None``.
    """

    id: int
    rule: AlertRule
    subject: str
    severity: Severity
    message: str
    marketplace: str | None
    sku: str | None
    review_id: int | None
    occurred_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    data: dict[str, Any]

    @property
    def event(self) -> str:
        """The event name it was emitted as (``review.negative``, …)."""
        return self.rule.event


def _alert(row: ReviewAlertRow) -> Alert:
    return Alert(
        id=row.id,
        rule=AlertRule(row.rule),
        subject=row.subject,
        severity=Severity(row.severity),
        message=row.message,
        marketplace=row.marketplace,
        sku=row.sku,
        review_id=row.review_id,
        occurred_at=row.occurred_at,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        data=dict(row.data or {}),
    )


class ReviewsService:
    """Review sync, classification, alerts, metrics and replies; reached as ``app.reviews``.

    Attributes:
        classifier: what reads each review (replace it to plug in your own).
        alert_config: the alert thresholds and switched-on rules.
        templates: reply templates by name.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        options = runtime.settings.reviews
        self.classifier: Classifier = options.classifier or default_classifier()
        config = options.alerts or AlertConfig()
        if not isinstance(config, AlertConfig):
            raise ConfigurationError("reviews.alerts must be an AlertConfig")
        self.alert_config: AlertConfig = config
        self.templates: dict[str, str | Mapping[str, str]] = {
            **DEFAULT_TEMPLATES,
            **options.templates,
        }
        self.shop_name: str = options.shop_name
        self._alert_channels: list[str] | None = options.alert_channels
        self.alert_to: str | Mapping[str, str] = options.alert_to

    # ------------------------------------------------------------------ sync

    def sync(self, store: str | None = None, *,
             progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
        """Pull the reviews created or changed since each store's cursor.

        New reviews, edits, appended reviews (追评) and replies each add a
        version; a review whose content did not change adds nothing, so a
        re-sync writes nothing new and raises no alert twice. Each page is
        written with its cursor in one transaction: an interrupted sync
        resumes after the last page it finished. Alerts raised are then
        delivered through the alert channels.

        Args:
            store: sync only this one (default: every store that declares
                ``LIST_REVIEWS``).
            progress: called as ``progress(store, count)`` after each
                page, with the number of reviews the page held.

        Returns:
            Reviews with a new version, per marketplace.

        Raises:
            NotFoundError: ``store`` is not configured here.
            UnsupportedOperationError: ``store`` cannot list reviews.
            ConfigurationError: ``review_alert_channels`` names a channel that
                is not configured (before anything is synced).
            RemoteError: a marketplace failed after the retry layer gave up;
                pages before the failure stay synced.
        """
        if store is not None:  # named: it must be there and list reviews
            require(self.runtime.marketplace(store), Capability.LIST_REVIEWS)
        self.check_alert_channels()
        counts: dict[str, int] = {}
        for name, market in self.runtime.marketplaces.items():
            if store is not None and name != store:
                continue
            if Capability.LIST_REVIEWS not in market.capabilities:
                continue
            counts[name] = self._sync_one(name, progress)
        self.deliver_alerts()
        return counts

    @observe.traced("reviews", "sync", store_arg="name", counts=lambda n: {"changed": n})
    def _sync_one(self, name: str,
                  progress: Callable[[str, int], None] | None = None) -> int:
        market = self.runtime.marketplace(name)
        with self.runtime.unit_of_work() as session:
            cursor = get_cursor(session, name, STREAM)
        changed = 0
        started = time.monotonic()
        for page in market.list_reviews(cursor):
            with self.runtime.unit_of_work() as session:
                # Two workers syncing this marketplace at once write a page at a
                # time each; the second then finds the first's reviews stored.
                one_writer(session, f"reviews.sync:{name}")
                result = record_page(
                    session,
                    name,
                    page.items,
                    classifier=self.classifier,
                    config=self.alert_config,
                    now=self.runtime.now(),
                    emit=self._emit,
                )
                if page.cursor is not None:
                    set_cursor(session, name, STREAM, page.cursor)
            changed += result.changed
            observe.log_page("reviews", name, "reviews", len(page.items), result.changed, started)
            started = time.monotonic()
            if progress is not None:
                progress(name, len(page.items))
        return changed

    def _emit(self, session: Session, events: list[tuple[str, dict[str, Any], str]]) -> None:
        self.runtime.events.emit_many(session, events)

    # ------------------------------------------------------------------ alerts

    @property
    def alert_channels(self) -> list[str]:
        """The channels alerts go to (default: every configured channel)."""
        if self._alert_channels is not None:
            return list(self._alert_channels)
        return list(self.runtime.channels)

    def check_alert_channels(self) -> None:
        """Refuse alert channels that are not configured, before a sync raises
        alerts no delivery could ever send.

        Raises:
            ConfigurationError: names each unknown channel and the configured ones.
        """
        if self._alert_channels is None:
            return
        known = self.runtime.channels
        missing = [name for name in self._alert_channels if name not in known]
        if missing:
            raise ConfigurationError(
                "reviews.alert_channels: no channel "
                f"{', '.join(repr(name) for name in missing)} is configured "
                f"(configured: {', '.join(known) or 'none'})")

    def deliver_alerts(self) -> int:
        """Send undelivered alerts through :attr:`alert_channels`; returns how many went.

        A channel that fails keeps its alerts for the next call (``attempts``
        and ``last_error`` say why); the sync never fails because of it.
        """
        channels = self.alert_channels
        if not channels:
            return 0
        return deliver_alerts(self.runtime, channels=channels, to=self.alert_to)

    def delivery_failures(self) -> dict[str, str]:
        """Channels that failed the alerts still waiting for them: channel → what failed.

        Each value counts the alerts and gives the latest error, e.g.
        ``"2 alert(s): pager down"``; empty when no waiting alert has failed.
        """
        found: dict[str, tuple[int, str]] = {}
        with self.runtime.unit_of_work() as session:
            rows = session.execute(
                select(ReviewAlertRow.last_error)
                .where(ReviewAlertRow.delivered_at.is_(None),
                       ReviewAlertRow.last_error.is_not(None))
                .order_by(ReviewAlertRow.id))
            for (error,) in rows:
                channel, _, what = str(error).partition(": ")
                count, _ = found.get(channel, (0, ""))
                found[channel] = (count + 1, what)
        return {channel: f"{count} alert(s): {what}" for channel, (count, what)
                in found.items()}

    def alerts(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        rule: AlertRule | str | None = None,
        sku: str | None = None,
        min_severity: Severity | None = None,
        undelivered: bool = False,
        limit: int = 100,
    ) -> list[Alert]:
        """Stored alerts, newest first, filtered.

        Args:
            since, until: the window on ``occurred_at`` (``[since, until)``).
            rule: one rule (``"negative"``, ``AlertRule.SPIKE``, …).
            sku: alerts about one SKU.
            min_severity: at least this severe.
            undelivered: only alerts some channel does not have yet.
            limit: at most this many.

        Raises:
            ValidationError: an unknown rule, a naive time, an empty window
                (``until`` not after ``since``) or a limit not from 1 to 2**63 - 1.
        """
        check_limit(limit)
        aware(since, "since")
        aware(until, "until")
        if since is not None and until is not None and since >= until:
            raise ValidationError("must be after since", field="until")
        query = select(ReviewAlertRow)
        if rule is not None:
            try:
                query = query.where(ReviewAlertRow.rule == AlertRule(rule).value)
            except ValueError:
                raise ValidationError(f"unknown rule {rule!r}", field="rule") from None
        if since is not None:
            query = query.where(ReviewAlertRow.occurred_at >= since)
        if until is not None:
            query = query.where(ReviewAlertRow.occurred_at < until)
        if sku is not None:
            query = query.where(ReviewAlertRow.sku == sku)
        if min_severity is not None:
            query = query.where(ReviewAlertRow.severity >= int(min_severity))
        if undelivered:
            query = query.where(ReviewAlertRow.delivered_at.is_(None))
        query = query.order_by(ReviewAlertRow.occurred_at.desc(), ReviewAlertRow.id.desc())
        with self.runtime.unit_of_work() as session:
            return [_alert(row) for row in session.scalars(query.limit(limit))]

    # ------------------------------------------------------------------ records

    def get(self, review_id: int) -> StoredReview:
        """One stored review.

        Raises:
            NotFoundError: no such review.
        """
        with self.runtime.unit_of_work() as session:
            return get_review(session, review_id)

    def list(
        self, *, store: str | None = None, sentiment: str | None = None,
        sku: str | None = None, max_rating: int | None = None, replied: bool | None = None,
        since: datetime | None = None, limit: int = 50,
    ) -> builtins.list[StoredReview]:
        """Stored reviews, newest first, by store, sentiment, SKU, rating, reply or date.

        Raises:
            ValidationError: ``since`` is naive, or a limit, rating (1–5) or
                sentiment no review can have (named).
        """
        aware(since, "since")
        with self.runtime.unit_of_work() as session:
            return list_reviews(session, store=store, sentiment=sentiment, sku=sku,
                                max_rating=max_rating, replied=replied, since=since,
                                limit=limit)

    # ------------------------------------------------------------------ metrics

    def metrics(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        by: GroupBy = "sku",
    ) -> builtins.list[ReviewMetrics]:
        """Count, average rating, positive rate (好评率), negative rate and top negative
        topics of the reviews written in ``[since, until)``, per SKU or per shop.

        Raises:
            ValidationError: ``by`` is not ``"sku"`` or ``"shop"``, or a bad window.
        """
        with self.runtime.unit_of_work() as session:
            return compute_metrics(session, since=since, until=until, by=by)

    # ------------------------------------------------------------------ replies

    def reply(
        self,
        review_id: int | str,
        *,
        template: str,
        marketplace: str | None = None,
        context: Mapping[str, Any] | None = None,
        dry_run: bool = False,
    ) -> ReplyResult:
        """Post the shop's public reply to a review, at most once per review.

        Args:
            review_id: the library's review id, or the marketplace's review id
                (with ``marketplace=`` when two marketplaces share it).
            template: a template name (``thanks``, ``sorry`` or one of
                ``review_templates``) or the template text itself, with
                ``{author}``, ``{shop}``, ``{sku}``, ``{rating}``,
                ``{order_id}`` and ``{review.body}``-style fields; no code runs.
            context: more fields for the template (override the built-in ones).
            dry_run: render and return the text; send and write nothing.

        Returns:
            ``sent``; or ``already_replied`` when the review already has a reply
            (from here or the marketplace's back office): nothing is sent twice.

        Raises:
            NotFoundError: no such review.
            UnsupportedOperationError: the marketplace cannot reply to reviews.
            ValidationError: the template is malformed or needs a missing field.
            RemoteError: the marketplace failed; after a timeout the next call
                re-sends with the same idempotency key where the marketplace
                dedupes by key, or asks it for the review's reply where it can.
            ReplyOutcomeUnknownError: an earlier attempt may have been posted
                and the marketplace can neither dedupe nor tell: check it, then
                :meth:`mark_reply_sent` or :meth:`release_reply`.
        """
        return send_reply(
            self.runtime,
            review_id,
            template=template,
            templates=self.templates,
            shop=self.shop_name,
            marketplace=marketplace,
            context=context,
            dry_run=dry_run,
        )

    def mark_reply_sent(
        self, review_id: int | str, *, marketplace: str | None = None,
        remote_id: str | None = None,
    ) -> ReplyResult:
        """Record an unfinished reply as sent, once someone has seen it on the marketplace.

        The review counts as replied (``review.replied`` is emitted once) and
        :meth:`reply` answers ``already_replied``.

        Raises:
            NotFoundError: no such review.
            InvalidTransitionError: the review has no unfinished reply.
        """
        return mark_reply_sent(self.runtime, review_id, marketplace=marketplace,
                               remote_id=remote_id)

    def release_reply(
        self, review_id: int | str, *, marketplace: str | None = None
    ) -> ReplyResult:
        """Drop an unfinished reply, once someone has seen it is not on the marketplace.

        The next :meth:`reply` renders its template and posts it, once.

        Raises:
            NotFoundError: no such review.
            InvalidTransitionError: the review has no unfinished reply.
        """
        return release_reply(self.runtime, review_id, marketplace=marketplace)
