"""Signed webhook bodies handled once, replays refused: the receiver's record.

Shopify and WooCommerce sign a webhook's raw body and nothing else. Their
delivery ids (``X-Shopify-Webhook-Id``, ``X-Shopify-Event-Id``,
``X-WC-Webhook-Delivery-ID``) and topics travel in headers the signature
does not cover: whoever captured one signed delivery can send its body
again with a fresh delivery id, and a receiver that drops repeats by that
id does the work again. So a receiver dedupes on what *is* signed:

1. verify the signature (the adapter's ``verify_webhook`` / ``parse_*``);
2. :meth:`WebhookReceipts.claim` the body: a digest of the platform, the
   store and the exact body bytes is recorded in ``webhook_receipts``;
3. do the work only when the claim is :attr:`Outcome.NEW`, then
   :meth:`~WebhookReceipts.finish` it with the answer repeats get, or
   :meth:`~WebhookReceipts.release` it when the work failed, so the
   platform's retry is handled (:meth:`WebhookReceipts.run` does 3).

A body whose signed time (Shopify's ``updated_at``, WooCommerce's
``date_modified_gmt``: the adapters' ``signed_time``) is older than
``max_age`` is :attr:`Outcome.STALE` and never handled: its record may be
gone. A body's record is kept until that age passes (plus a margin for
clocks that disagree), or ``keep_untimed`` for a body with no signed time
(Shopify's ``returns/*`` bodies, WooCommerce's ``order.deleted``), and
then deleted by later claims (each receiver purges at most once a minute:
a purge is a write), so the table stays bounded.

The claim is one ``INSERT … ON CONFLICT DO NOTHING``: of two processes
receiving the same body at the same instant, one inserts and handles, the
other sees :attr:`Outcome.IN_PROGRESS` (or :attr:`Outcome.DUPLICATE`
once done). A claim whose holder died (SIGKILL) is taken over once its
``lease`` ran out.

Two different events whose bodies are byte for byte the same (a return
closed, reopened and closed again, with a status-only body) are one body
here: the second is answered as a duplicate inside the window. The
receivers built on this treat a webhook as a doorbell and pull what
changed, so the pull after any later webhook, or the scheduled sync,
brings the change in.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from aftersales.errors import AfterSalesError, ValidationError
from aftersales.store import Store
from aftersales.store.tables.core import WebhookReceiptRow

__all__ = [
    "CLOCK_MARGIN",
    "DEFAULT_KEEP_UNTIMED",
    "DEFAULT_LEASE",
    "DEFAULT_MAX_AGE",
    "Claim",
    "Outcome",
    "WebhookReceipts",
    "receipt_key",
]

#: A body whose signed time is older than this is stale. Shopify retries a
#: failed delivery for up to 4 hours (48 in older documentation); a shop's
#: WordPress may send WooCommerce's queued deliveries hours late.
DEFAULT_MAX_AGE = timedelta(hours=48)
#: How long the record of a body without a signed time is kept.
DEFAULT_KEEP_UNTIMED = timedelta(days=30)
#: How long a claim is held before another receiver may take it over.
DEFAULT_LEASE = timedelta(minutes=5)
#: Added to every record's life, for receivers whose clocks disagree a little.
CLOCK_MARGIN = timedelta(minutes=10)
#: Expired records deleted per purge at most (older ones go with later purges).
PURGE_BATCH = 500
#: A receiver purges from its claims at most this often (a purge is a write).
PURGE_EVERY = timedelta(minutes=1)

class Outcome(StrEnum):
    """What a claim found."""

    NEW = "new"                  # first time: do the work, then finish or release
    DUPLICATE = "duplicate"      # handled before: answer with the first result
    IN_PROGRESS = "in_progress"  # another receiver is handling it now
    STALE = "stale"              # its signed time is past the replay window


@dataclass(frozen=True)
class Claim:
    """One body's claim.

    Attributes:
        outcome: what the claim found.
        key: the record's key (a digest; names nothing of the body).
        token: the holder's token (only for :attr:`Outcome.NEW`).
        result: the first receiver's result (only for :attr:`Outcome.DUPLICATE`).
    """

    outcome: Outcome
    key: str
    token: str | None = None
    result: dict[str, Any] | None = None

    @property
    def new(self) -> bool:
        """Whether this receiver should do the work."""
        return self.outcome is Outcome.NEW


def _name(value: object, field: str) -> str:
    if (not isinstance(value, str) or not value or len(value) > 120
            or not value.isprintable() or any(0xD800 <= ord(c) <= 0xDFFF for c in value)):
        raise ValidationError("must be 1-120 printable characters", field=field)
    return value


def receipt_key(platform: str, store: str, body: bytes) -> str:
    """The record's key: SHA-256 over the platform, the store and the body's own SHA-256.

    No header takes part: none is signed. The store is the configured
    store's name, not the sender's shop header, for the same reason.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise ValidationError("must be the raw body bytes", field="body")
    inner = hashlib.sha256(bytes(body)).digest()
    outer = hashlib.sha256(b"aftersales-webhook\x00" + _name(platform, "platform").encode()
                           + b"\x00" + _name(store, "store").encode() + b"\x00" + inner)
    return outer.hexdigest()


class WebhookReceipts:
    """The record of signed webhook bodies received, in ``store``'s ``webhook_receipts``.

    Args:
        store: the database (``app.store``).
        clock: the current time, aware (``app.now``); the machine's by default.
        max_age: a body signed earlier than this is :attr:`Outcome.STALE`.
        keep_untimed: how long a body without a signed time is remembered.
        lease: how long a claim is held before another receiver may take it.

    Raises:
        ValidationError: a window that is not a positive ``timedelta``.
    """

    def __init__(self, store: Store, *, clock: Callable[[], datetime] | None = None,
                 max_age: timedelta = DEFAULT_MAX_AGE,
                 keep_untimed: timedelta = DEFAULT_KEEP_UNTIMED,
                 lease: timedelta = DEFAULT_LEASE) -> None:
        for field, value in (("max_age", max_age), ("keep_untimed", keep_untimed),
                             ("lease", lease)):
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise ValidationError("must be a positive timedelta", field=field)
        self.store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        self.max_age = max_age
        self.keep_untimed = keep_untimed
        self.lease = lease
        self._purged_at: datetime | None = None

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValidationError("the clock gave a naive time", field="clock")
        return now.astimezone(UTC)

    def claim(self, platform: str, store: str, body: bytes, *,
              signed_at: datetime | None = None) -> Claim:
        """Claim a verified body; only a :attr:`Outcome.NEW` claim does the work.

        Call it after the signature was checked, never before: an unsigned
        body must not reach the record.

        Args:
            platform: ``shopify``, ``woocommerce``, ….
            store: the configured store's name.
            body: the raw body, exactly as signed.
            signed_at: the time the signed body states, when it states one.

        Raises:
            ValidationError: a bad platform, store or body, or a naive ``signed_at``.
            StorageError: the database failed.
        """
        key = receipt_key(platform, store, body)
        if signed_at is not None and (not isinstance(signed_at, datetime)
                                      or signed_at.tzinfo is None):
            raise ValidationError("must be an aware datetime", field="signed_at")
        now = self._now()
        if signed_at is not None and signed_at < now - self.max_age:
            return Claim(Outcome.STALE, key)
        if signed_at is None:
            expires = now + self.keep_untimed + CLOCK_MARGIN
        else:
            # a time past the untimed life (a sender's clock far ahead) counts as that
            signed = min(signed_at.astimezone(UTC), now + self.keep_untimed)
            expires = max(signed + self.max_age, now) + CLOCK_MARGIN
        last = self._purged_at
        if last is None or not last <= now < last + PURGE_EVERY:
            self._purged_at = now
            self.purge(now=now)
        for _ in range(3):
            claim = self._claim_once(key, platform, now, expires)
            if claim is not None:
                return claim
        return Claim(Outcome.IN_PROGRESS, key)  # claimed and released over and over

    def _claim_once(self, key: str, platform: str, now: datetime,
                    expires: datetime) -> Claim | None:
        token = secrets.token_hex(16)
        fresh = {"status": "handling", "token": token, "received_at": now,
                 "lease_until": now + self.lease, "expires_at": expires, "result": None}
        table = WebhookReceiptRow
        with self.store.session() as session:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else \
                sqlite_insert
            won = session.execute(
                insert(table).values(key=key, platform=platform, **fresh)
                .on_conflict_do_nothing(index_elements=["key"]).returning(table.key)).first()
            if won is None:
                # a holder that died (lease over), or a record past its life
                won = session.execute(
                    update(table).where(table.key == key, or_(
                        and_(table.status == "handling", table.lease_until < now),
                        table.expires_at < now)).values(**fresh).returning(table.key)).first()
            if won is not None:
                return Claim(Outcome.NEW, key, token=token)
            row = session.execute(select(table.status, table.result)
                                  .where(table.key == key)).first()
        if row is None:
            return None  # released between the two statements: try again
        if row.status == "done":
            return Claim(Outcome.DUPLICATE, key, result=row.result)
        return Claim(Outcome.IN_PROGRESS, key)

    def finish(self, claim: Claim, result: dict[str, Any] | None = None) -> bool:
        """Mark a :attr:`Outcome.NEW` claim done; repeats are answered with ``result``.

        Returns:
            False when the claim was lost meanwhile (its lease ran out and
            another receiver took it over).
        """
        table = WebhookReceiptRow
        with self.store.session() as session:
            done = session.execute(
                update(table).where(table.key == claim.key, table.token == claim.token,
                                    table.status == "handling")
                .values(status="done", result=result, lease_until=None))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def release(self, claim: Claim) -> None:
        """Give a :attr:`Outcome.NEW` claim back after failed work: the next delivery handles it."""
        table = WebhookReceiptRow
        with self.store.session() as session:
            session.execute(delete(table).where(
                table.key == claim.key, table.token == claim.token, table.status == "handling"))

    def run(self, platform: str, store: str, body: bytes,
            work: Callable[[], dict[str, Any] | None], *,
            signed_at: datetime | None = None) -> tuple[Claim, dict[str, Any] | None]:
        """Claim the body and, when it is new, run ``work`` once and record its result.

        Returns:
            The claim and ``work``'s result (the first result for a
            duplicate; ``None`` when in progress or stale).

        Raises:
            Whatever ``work`` raised, after releasing the claim.
        """
        claim = self.claim(platform, store, body, signed_at=signed_at)
        if not claim.new:
            return claim, claim.result
        try:
            result = work()
        except BaseException:
            with contextlib.suppress(AfterSalesError):  # else the lease runs out
                self.release(claim)
            raise
        self.finish(claim, result)
        return claim, result

    def purge(self, *, now: datetime | None = None, limit: int = PURGE_BATCH) -> int:
        """Delete up to ``limit`` records past their life; how many were deleted.

        Rows another transaction is deleting are skipped on PostgreSQL
        (``SKIP LOCKED``), so concurrent purges never wait on each other.
        """
        when = now if now is not None else self._now()
        table = WebhookReceiptRow
        with self.store.session() as session:
            doomed = (select(table.key).where(table.expires_at < when)
                      .order_by(table.expires_at).limit(limit)
                      .with_for_update(skip_locked=True))
            gone = session.execute(delete(table).where(table.key.in_(doomed.scalar_subquery())))
            return int(gone.rowcount)  # type: ignore[attr-defined]

