"""What every returns use case shares: the runtime, the shop's rules, and the marketplace.

One :class:`ReturnsContext` is built by the facade
(:class:`~aftersales.returns.service.ReturnsService`) and handed to each use
case, so setting ``app.returns.policy`` changes the policy every use case
reads. Units of work are explicit: :meth:`ReturnsContext.run` opens one for
a use case's public method, and a caller that already holds one (a bulk
batch) calls the use case's session-taking step with it instead; nothing
joins a transaction by ambient context.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session, object_session

from aftersales.errors import ActionInFlightError, ConcurrentUpdateError, ConfigurationError
from aftersales.interfaces import Capability, Marketplace, require
from aftersales.models import ReturnRequest
from aftersales.redact import known_names
from aftersales.returns import action_claim
from aftersales.returns import repository as repo
from aftersales.returns.eligibility import DEFAULT_VALIDATORS, Validator
from aftersales.returns.outcomes import refused
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.remote_lookup import shows_done
from aftersales.store.orders import buyer_names
from aftersales.store.tables.returns import ReturnRow

if TYPE_CHECKING:
    from aftersales.runtime import Runtime

__all__ = ["ReturnsContext", "StockCheck", "expect", "load"]

T = TypeVar("T")

#: ``stock_check(sku, quantity) -> bool``: can the shop send this replacement now?
StockCheck = Callable[[str, int], bool]


class _DryRun(Exception):
    def __init__(self, result: Any) -> None:
        self.result = result


def policy_from(value: object) -> ReturnPolicy:
    """The policy from a setting: a ``ReturnPolicy``, a TOML path, a mapping, or ``None``."""
    if value is None:
        return ReturnPolicy()
    if isinstance(value, ReturnPolicy):
        return value
    if isinstance(value, str | Path):
        return ReturnPolicy.load(value)
    if isinstance(value, dict):
        return ReturnPolicy.from_mapping(value)
    raise ConfigurationError("returns.policy must be a ReturnPolicy, a TOML path or a mapping")


def expect(row: ReturnRow, version: int | None) -> None:
    """Refuse to act on ``row`` unless it is at the ``version`` the caller read (if given).

    Raises:
        ConcurrentUpdateError: someone else changed it first.
    """
    if version is not None and row.version != version:
        raise ConcurrentUpdateError(
            f"return {row.rma_id} is at version {row.version}, not {version}; reload it"
        )


def load(session: Session, rma_id: str, version: int | None = None) -> ReturnRow:
    """The request's row, checked against ``version``.

    Raises:
        NotFoundError: no request has that id.
        ConcurrentUpdateError: it is not at ``version``.
    """
    row = repo.load_row(session, rma_id)
    expect(row, version)
    return row


class ReturnsContext:
    """The runtime, the policy, validators and stock check, units of work and pushes."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        #: The shop's policy (``AfterSales(return_policy=...)``: object, TOML path or dict).
        self.policy: ReturnPolicy = policy_from(runtime.settings.returns.policy)
        #: Eligibility validators, in order; append a function to add a rule.
        self.validators: list[Validator] = list(
            runtime.settings.returns.validators or DEFAULT_VALIDATORS
        )
        #: The backend's stock check for exchange replacements (``None``: always in stock).
        self.stock_check: StockCheck | None = runtime.settings.returns.stock_check

    # ------------------------------------------------------------ units of work

    def run(self, fn: Callable[[Session], T], *, dry_run: bool = False,
            rma_id: str | None = None) -> T:
        """Run ``fn`` in a unit of work of its own; a dry run does everything, then rolls back.

        ``rma_id``: the request the work acts on; when another writer changed
        it first, the :class:`ConcurrentUpdateError` names it and its status now.
        """
        try:
            with self.runtime.unit_of_work() as session:
                result = fn(session)
                if dry_run:
                    raise _DryRun(result)
                return result
        except _DryRun as done:
            result_: T = done.result
            return result_
        except ConcurrentUpdateError as exc:
            if rma_id is None or rma_id in str(exc):
                raise
            raise ConcurrentUpdateError(
                f"return {rma_id} was changed by someone else meanwhile "
                f"(now {self._status_of(rma_id)}); reload and try again") from exc

    def _status_of(self, rma_id: str) -> str:
        """The request's status as stored now (for an error text)."""
        try:
            with self.runtime.unit_of_work() as session:
                return str(repo.load_row(session, rma_id).status)
        except Exception:  # only an error's wording depends on it
            return "unknown"

    # ------------------------------------------------------------ marketplace

    def market(self, name: str, capability: Capability) -> Marketplace:
        """The marketplace called ``name``, which must declare ``capability``.

        Raises:
            ConfigurationError: no marketplace of that name is configured.
            UnsupportedOperationError: it cannot do ``capability``.
        """
        market = self.runtime.marketplaces.get(name)
        if market is None:
            raise ConfigurationError(
                f"marketplace {name!r} is not configured, so it cannot "
                f"{capability.value.replace('_', ' ')}"
            )
        require(market, capability)
        return market

    def reaches_market(self, row: ReturnRow, capability: Capability) -> bool:
        """Whether a local ``capability`` step on ``row`` is told to its marketplace.

        A request made in the shop's own portal (no ``external_id``) is told
        only where the marketplace has no return objects of its own
        (``LIST_RETURNS`` undeclared, as on WooCommerce, whose adapter
        records the step on the order) and declares the operation;
        otherwise the step is the library's alone.
        """
        return self.reaches(row.marketplace, row.external_id, capability)

    def reaches(self, marketplace: str, external_id: str | None,
                capability: Capability) -> bool:
        """:meth:`reaches_market` for a request known by its store and external id."""
        if external_id is not None:
            return True
        local = self.runtime.marketplaces.get(marketplace)
        return not (
            local is None
            or Capability.LIST_RETURNS in local.capabilities
            or capability not in local.capabilities
        )

    def claim(self, row: ReturnRow, action: str, capability: Capability, *,
              dry_run: bool) -> action_claim.ActionClaim | None:
        """Claim ``row`` for ``action`` before its push (see :mod:`.action_claim`).

        Committed in a transaction of its own before anything is sent, so a
        second caller is refused and never calls the marketplace. ``None``
        when nothing will be sent: a dry run, or a step the marketplace does
        not hear (:meth:`reaches_market`).

        Raises:
            ConcurrentUpdateError: the request changed since ``row`` was read.
            ActionInFlightError: another action on it is with the marketplace.
        """
        if dry_run or not self.reaches_market(row, capability):
            return None
        self.market(row.marketplace, capability)  # refused before claiming if it cannot
        return action_claim.take(self.runtime, row.rma_id, action, row.version)

    def push(
        self, row: ReturnRow, capability: Capability,
        call: Callable[[Marketplace, ReturnRequest], object], *, dry_run: bool,
        claim: action_claim.ActionClaim | None = None,
    ) -> None:
        """Send a local action to the marketplace that owns the request.

        Called before the caller's unit of work writes anything, so no
        write transaction is open during the call. A dry run checks the
        capability and sends nothing. With ``claim`` (:meth:`claim`), an
        action already answered is not sent again, one resumed after a lost
        answer is first looked up where the marketplace can say
        (:mod:`~aftersales.returns.remote_lookup`: shown done, it is not
        sent, and the caller writes it as answered), and a failed call
        settles the claim: released after a definite refusal, kept as
        "outcome unknown" otherwise.
        """
        if not self.reaches_market(row, capability):
            return
        market = self.market(row.marketplace, capability)
        if dry_run or (claim is not None and claim.pushed):
            return
        # the buyer's names, masked in whatever the platform's answer quotes
        names = self.buyer_names_of_row(row)
        request = repo.to_model(row)
        try:
            with known_names(*names):
                if claim is not None and claim.attempts > 1 and shows_done(
                        market, row.external_id, claim.action, rma_id=row.rma_id):
                    return  # done there already: the caller's answered() and write follow
                call(market, request)
        except BaseException as exc:
            if claim is not None and (instead := self.failed(claim, exc)) is not None:
                raise instead from exc
            raise
        if claim is not None:
            claim.sent += 1

    def answered(self, claim: action_claim.ActionClaim | None) -> None:
        """Every push of ``claim`` was answered: record it before the local write."""
        if claim is not None:
            action_claim.answered(self.runtime, claim)

    def failed(self, claim: action_claim.ActionClaim,
               exc: BaseException) -> ActionInFlightError | None:
        """Settle ``claim`` after a failed push.

        Released when the marketplace surely did nothing: a definite refusal
        of a first attempt. Anything else keeps it as "outcome unknown"; a
        refusal of a resumed attempt (an earlier answer was lost, so the
        marketplace may be refusing what it already did) comes back as the
        error to raise instead, telling the caller to sync.
        """
        if refused(exc) and claim.sent == 0 and claim.attempts == 1:
            action_claim.release(self.runtime, claim)
            return None
        action_claim.lost(self.runtime, claim, exc)
        if refused(exc) and claim.sent == 0:
            return ActionInFlightError(
                claim.rma_id, claim.action,
                f"the marketplace refused it ({exc}) after an earlier attempt's answer was "
                "lost, so it may have acted already; sync the store (aftersales returns sync) "
                "to settle it, or check the marketplace's console and settle it by hand "
                "(aftersales returns resolve --mark-done or --release)")
        return None

    def buyer_names_of(self, rma_id: str) -> tuple[str, ...]:
        """The buyer's name on the request's stored order (for ``redact.known_names``)."""
        return self.run(lambda s: buyer_names(s, repo.load_row(s, rma_id).order_id))

    def buyer_names_of_row(self, row: ReturnRow) -> tuple[str, ...]:
        """As :meth:`buyer_names_of`, read in the row's own session when it has one."""
        session = object_session(row)
        if session is not None:
            with session.no_autoflush:  # a read before the push must not write
                return buyer_names(session, row.order_id)
        return self.run(lambda s: buyer_names(s, row.order_id))
