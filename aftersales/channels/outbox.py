"""The ``outbox`` channel: messages written to the outbox table the backend reads.

The shop's backend reads the outbox (``app.outbox``, topic ``message`` for
buyers, ``alert`` for messages to the shop's staff) and delivers each
message its own way: an app push, an in-app inbox, an SMS gateway. Rows are
keyed ``message:<idempotency key>`` (a key too long for the column by its
digest), so writing the same message twice leaves one row and returns the
first receipt.

The channel is *transactional*: :meth:`OutboxChannel.send_in` writes in the
caller's transaction, so the follow-up service marks a follow-up sent and
writes its message in one commit. A crash can therefore neither lose a
sent message nor send one twice.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from aftersales.errors import ConfigurationError, StorageError, TransientError
from aftersales.interfaces import ChannelBase
from aftersales.models import Message, Receipt
from aftersales.outbox import message_fields
from aftersales.store.tables.core import OutboxRow

if TYPE_CHECKING:
    from aftersales.runtime import Runtime
    from aftersales.store import Store

__all__ = ["TOPIC", "OutboxChannel"]

#: The outbox topic of buyer messages.
TOPIC = "message"


#: The outbox key column's width.
_KEY_WIDTH = 200


def outbox_key(message: Message) -> str:
    """The outbox row key of ``message``: ``message:<idempotency key>``.

    A key too long for the column with the prefix (a follow-up key may be
    200 characters) is stored as ``message:sha256:<hex digest of the key>``,
    the same for the same key; the payload keeps the key as given.
    """
    key = f"{TOPIC}:{message.idempotency_key}"
    if len(key) <= _KEY_WIDTH:
        return key
    digest = hashlib.sha256(message.idempotency_key.encode("utf-8", "surrogatepass"))
    return f"{TOPIC}:sha256:{digest.hexdigest()}"


def _payload(message: Message) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "to": message.to,
        "subject": message.subject,
        "body": message.body,
        "idempotency_key": message.idempotency_key,
        "buyer_id": message.buyer_id,
        "order_id": message.order_id,
        "metadata": message.metadata,
    }
    if message.attachments:
        payload["attachments"] = [a.model_dump() for a in message.attachments]
    return payload


class OutboxChannel(ChannelBase):
    """Writes each message as an outbox row.

    Args:
        store: the store whose ``outbox`` table the backend reads. Built
            from the runtime with :meth:`for_runtime` when named in configuration.
        name: the channel's name (default ``outbox``).
    """

    name = "outbox"
    #: The follow-up service calls :meth:`send_in` inside its own transaction.
    transactional = True

    def __init__(self, store: Store | None = None, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.store = store

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> OutboxChannel:
        """The channel writing to ``runtime``'s store."""
        return cls(runtime.store)

    def send_in(self, session: Session, message: Message) -> Receipt:
        """Write ``message`` in ``session``'s transaction; a repeated key writes nothing.

        Returns:
            The receipt of the row holding the message (the first one's,
            on a repeat).
        """
        key = outbox_key(message)
        payload = _payload(message)
        now = datetime.now(UTC)
        dialect = session.get_bind().dialect.name
        values = {"key": key, "payload": payload, "created_at": now, **message_fields(payload)}
        if dialect in ("postgresql", "sqlite"):
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            session.execute(
                insert(OutboxRow).values(**values).on_conflict_do_nothing(index_elements=["key"])
            )
        elif session.scalar(select(OutboxRow.id).where(OutboxRow.key == key)) is None:
            session.add(OutboxRow(**values))
            session.flush()
        row = session.execute(
            select(OutboxRow.id, OutboxRow.created_at).where(OutboxRow.key == key)
        ).one()
        return Receipt(channel=self.name, message_id=f"outbox:{row.id}", accepted_at=row.created_at)

    def send_many_in(self, session: Session, messages: list[Message]) -> list[Receipt]:
        """:meth:`send_in` for many messages in two statements; receipts in order."""
        if not messages:
            return []
        dialect = session.get_bind().dialect.name
        if dialect not in ("postgresql", "sqlite"):
            return [self.send_in(session, m) for m in messages]
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        now = datetime.now(UTC)
        session.execute(
            insert(OutboxRow).on_conflict_do_nothing(index_elements=["key"]),
            [{"key": outbox_key(m), "payload": p, "created_at": now, **message_fields(p)}
             for m in messages for p in (_payload(m),)],
        )
        keys = [outbox_key(m) for m in messages]
        found = {r.key: r for r in session.execute(
            select(OutboxRow.key, OutboxRow.id, OutboxRow.created_at)
            .where(OutboxRow.key.in_(keys)))}
        return [Receipt(channel=self.name, message_id=f"outbox:{found[k].id}",
                        accepted_at=found[k].created_at) for k in keys]

    def send(self, message: Message) -> Receipt:
        """Write ``message`` in a transaction of its own.

        Raises:
            ConfigurationError: the channel was built without a store.
            TransientError: the database failed (the write may succeed later).
        """
        if self.store is None:
            raise ConfigurationError("the outbox channel needs a store (OutboxChannel(app.store))")
        try:
            with self.store.session() as session:
                return self.send_in(session, message)
        except StorageError as exc:
            raise TransientError("the outbox write failed", adapter=self.name) from exc
