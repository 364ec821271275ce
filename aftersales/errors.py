"""The exceptions aftersales raises.

Every error the library raises derives from :class:`AfterSalesError`, so a
caller can catch one class at its boundary and still tell the cases apart::

    AfterSalesError
    ├── ConfigurationError            settings missing or contradictory
    ├── AdapterNotFoundError          no installed adapter has that name
    ├── UnsupportedOperationError     the adapter does not declare the capability
    ├── ValidationError               bad input: names the field, row or payload
    │   └── CurrencyMismatchError     money of two currencies combined (also a ValueError)
    │   └── IdempotencyKeyReusedError the same key sent with other values
    ├── InvalidTransitionError        the state machine refuses the change
    ├── NotEligibleError              a policy refuses the request
    ├── NotFoundError                 no such row in the store
    ├── ConcurrentUpdateError         someone else changed the row first
    │   ├── RefundInFlightError       another refund of the request is still pending
    │   └── ActionInFlightError       another action on the request is with its marketplace
    ├── ReplyOutcomeUnknownError      a review reply may have been posted: a person must check
    ├── SignatureError                a push or webhook failed its signature check
    ├── StorageError                  the database failed (wraps SQLAlchemy's error)
    └── RemoteError                   a marketplace or carrier call failed
        ├── AuthenticationError       bad or expired credentials (401/403)
        ├── RateLimitError            throttled; ``retry_after`` says how long to wait
        ├── RemoteNotFoundError       the remote side has no such object (404)
        ├── RemoteRejectedError       the remote side refused the request (400/409/422)
        ├── TransientError            a timeout, a dropped connection or a 5xx
        │   └── ChannelUnavailableError  a channel cannot send anything now
        └── ResponseParseError        the answer was not what the API documents

``retryable`` on each class is the one fact the retry layer in
:mod:`aftersales.http` reads; nothing else decides whether a call is repeated.
Messages never carry secrets or personal data: remote bodies are redacted
before they are attached.
"""

from __future__ import annotations

from aftersales.redact import redact_remote

__all__ = [
    "ActionInFlightError",
    "AdapterNotFoundError",
    "AfterSalesError",
    "AuthenticationError",
    "ChannelUnavailableError",
    "ConcurrentUpdateError",
    "ConfigurationError",
    "CurrencyMismatchError",
    "DatabaseUnavailableError",
    "IdempotencyKeyReusedError",
    "InvalidTransitionError",
    "NotEligibleError",
    "NotFoundError",
    "RateLimitError",
    "RefundInFlightError",
    "RemoteError",
    "RemoteNotFoundError",
    "RemoteRejectedError",
    "ReplyOutcomeUnknownError",
    "ResponseParseError",
    "SignatureError",
    "StorageError",
    "TransientError",
    "UnsupportedOperationError",
    "ValidationError",
]


class AfterSalesError(Exception):
    """Root of every error aftersales raises."""

    retryable: bool = False


class ConfigurationError(AfterSalesError):
    """Settings are missing, malformed or contradict each other."""


class AdapterNotFoundError(AfterSalesError):
    """No installed adapter answers to the requested name.

    Attributes:
        name: the name that was asked for.
        group: the entry-point group searched.
        installed: the names that are installed in that group.
    """

    def __init__(self, name: str, group: str, installed: list[str]) -> None:
        self.name = name
        self.group = group
        self.installed = sorted(installed)
        listing = ", ".join(self.installed) or "none"
        super().__init__(f"no adapter named {name!r} in {group}; installed: {listing}")


class UnsupportedOperationError(AfterSalesError):
    """The adapter does not declare the capability an operation needs."""

    def __init__(self, adapter: str, operation: str) -> None:
        self.adapter = adapter
        self.operation = operation
        super().__init__(f"{adapter} does not support {operation}")


class ValidationError(AfterSalesError):
    """Input was rejected; ``field``, ``row`` or ``payload`` says where.

    Attributes:
        field: the offending field, when one can be named.
        row: the 1-based row number of a bulk file, when the input was a file.
        payload: a short name for the payload (``"shopify return webhook"``).
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        row: int | None = None,
        payload: str | None = None,
    ) -> None:
        self.field = field
        self.row = row
        self.payload = payload
        where = []
        if payload:
            where.append(payload)
        if row is not None:
            where.append(f"row {row}")
        if field:
            where.append(f"field {field!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class CurrencyMismatchError(ValidationError, ValueError):
    """Money of two currencies was added, subtracted or compared.

    Amounts are never converted silently: an order's shop money and its
    buyer's (presentment) money stay apart, and mixing them is a bug at the
    caller. It is a ``ValueError`` too, so pydantic validators report it.
    """


class IdempotencyKeyReusedError(ValidationError):
    """An idempotency key came back with other values than its first use (as stripe refuses).

    Attributes:
        key: the key that was reused.
    """

    def __init__(self, key: str, detail: str) -> None:
        self.key = key
        super().__init__(f"idempotency key {key!r} was first used {detail}; use a new key "
                         "for a different refund", field="idempotency_key")


class InvalidTransitionError(AfterSalesError):
    """The state machine does not allow moving from one status to another."""

    def __init__(self, entity: str, current: str, target: str, detail: str = "") -> None:
        self.entity = entity
        self.current = current
        self.target = target
        msg = f"{entity} cannot move from {current} to {target}"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class NotEligibleError(AfterSalesError):
    """A policy refused the request; ``reasons`` are readable to a customer."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        self.reasons = list(reasons or [])
        super().__init__(message)


class NotFoundError(AfterSalesError):
    """The store holds no row with that identifier."""

    def __init__(self, entity: str, key: object) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key!s} not found")


class ConcurrentUpdateError(AfterSalesError):
    """The row changed between read and write; reload and try again."""

    retryable = True


class RefundInFlightError(ConcurrentUpdateError):
    """Another refund of the request is pending and this call may not take it over.

    It is being paid right now, or its outcome is not known yet, or it was
    asked for with other values. Try again later (or with the same values
    and key, which resumes it).

    Attributes:
        rma_id: the request.
        idempotency_key: the key of the refund in flight.
        amount: its amount, as text (``"120.00 CNY"``).
    """

    def __init__(self, rma_id: str, idempotency_key: str, amount: str, why: str) -> None:
        self.rma_id = rma_id
        self.idempotency_key = idempotency_key
        self.amount = amount
        super().__init__(f"return {rma_id} has refund {idempotency_key!r} of {amount} in "
                         f"flight: {why}")


class ActionInFlightError(ConcurrentUpdateError):
    """Another merchant action on the request is with its marketplace, or its outcome is unknown.

    Raised before anything is sent: the caller never reaches the
    marketplace. Either another caller is sending an action now (try again
    once it is done), or an earlier action's answer was lost and only a
    retry of that same action, or a sync of the store, may settle it.

    Attributes:
        rma_id: the request.
        action: the action in flight (``approve``, ``reject``, ``receive``,
            ``ship_exchange``).
    """

    def __init__(self, rma_id: str, action: str, why: str) -> None:
        self.rma_id = rma_id
        self.action = action
        why = " ".join(why.split())
        super().__init__(f"return {rma_id} has {action} in flight: {why}")


class ReplyOutcomeUnknownError(AfterSalesError):
    """A review reply's earlier attempt may have been posted, and nothing can tell.

    The marketplace takes no idempotency key on replies and offers no way to
    read the review's reply, so sending again could post it twice, publicly.
    Someone must look on the marketplace, then mark the reply sent (it is
    there) or release it (it is not) and reply again. Not retryable: waiting
    does not tell.

    Attributes:
        review_id: the library's review id.
        marketplace: the review's store.
        external_id: the marketplace's review id.
    """

    def __init__(self, review_id: int, marketplace: str, external_id: str, why: str) -> None:
        self.review_id = review_id
        self.marketplace = marketplace
        self.external_id = external_id
        why = " ".join(why.split())  # one line, whatever the lost answer said
        super().__init__(
            f"review {review_id} ({marketplace} {external_id}): {why}; check the reply on "
            f"{marketplace}, then mark it sent (aftersales reviews reply {review_id} "
            "--mark-sent) or release it (--release) and reply again")


class SignatureError(AfterSalesError):
    """A webhook or push notification failed its signature check."""


class StorageError(AfterSalesError):
    """The database failed; the SQLAlchemy error is the ``__cause__``."""


class DatabaseUnavailableError(StorageError):
    """The database cannot be used now (locked past the busy timeout, read-only,
    unreachable, its disk full): a failure of the whole run, not of one item."""


class RemoteError(AfterSalesError):
    """A call to a marketplace or carrier failed.

    Attributes:
        adapter: the adapter name (``"shopify"``).
        status: the HTTP status, or ``None`` when no response arrived.
        code: the provider's own error code, when it gave one.
        request_id: the provider's request id, for its support desk.
        body: a redacted excerpt of the response body.
        sent_nothing: set by an adapter whose write failed in a call it makes
            before the write itself (a state check): nothing was sent, so a
            caller that guards the write against a lost answer may send again.
    """

    sent_nothing: bool = False

    def __init__(
        self,
        message: str,
        *,
        adapter: str = "",
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        body: str | None = None,
    ) -> None:
        self.adapter = adapter
        self.status = status
        self.code = code
        self.request_id = request_id
        # A provider's words may quote the buyer or echo a credential: masked here,
        # so no caller can put them unmasked into a log, a report or a column.
        self.body = redact_remote(body) if body else body
        message = redact_remote(message)
        parts = [p for p in (adapter, f"HTTP {status}" if status else "", code) if p]
        head = f"[{' '.join(parts)}] " if parts else ""
        tail = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{head}{message}{tail}")


class AuthenticationError(RemoteError):
    """Credentials were refused: fix configuration, retrying will not help."""


class RateLimitError(RemoteError):
    """The provider throttled the call; wait ``retry_after`` seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class RemoteNotFoundError(RemoteError):
    """The remote side has no such object."""


class RemoteRejectedError(RemoteError):
    """The remote side understood and refused the request."""


class TransientError(RemoteError):
    """A timeout, dropped connection or server error that may pass."""

    retryable = True


class ChannelUnavailableError(TransientError):
    """A channel cannot send any message now, whatever the message says.

    Its server is unreachable, or it refuses the shop's sender address: a
    fault of the channel or of the shop's configuration, not of the message
    in hand, so the messages are kept for later rather than failed one by
    one. (Refused credentials are an :class:`AuthenticationError`, which a
    dispatcher treats the same way.)
    """


class ResponseParseError(RemoteError):
    """The response did not match what the API documents."""
