"""The conformance checks themselves, as plain functions.

Each function raises :class:`AssertionError` with a message that says what
the adapter got wrong; the pytest base classes in
:mod:`aftersales.testing.marketplace` and :mod:`aftersales.testing.carrier`
call them, and a project that does not use pytest can call them directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import Enum
from itertools import islice
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from aftersales.errors import (
    RemoteRejectedError,
    SignatureError,
    UnsupportedOperationError,
    ValidationError,
)
from aftersales.interfaces import Capability, Carrier, Marketplace
from aftersales.models import (
    Money,
    Order,
    Page,
    ParcelStatus,
    PlatformDeadline,
    Receipt,
    Refund,
    RefusalReason,
    ReturnRequest,
    Shipment,
    Tracking,
    TrackQuery,
    TrackResult,
)
from aftersales.returns.remote_lookup import DONE_WHEN
from aftersales.testing.samples import CarrierSamples, MarketplaceSamples

__all__ = [
    "CARRIER_CAPABILITIES",
    "LISTINGS",
    "MARKETPLACE_CAPABILITIES",
    "check_capability_declared",
    "check_capability_undeclared",
    "check_push",
    "check_resume",
    "check_round_trip",
    "check_status_mapping",
    "check_track_batch",
    "drain",
    "invoke",
]

E = TypeVar("E", bound=Enum)

#: Every capability a marketplace adapter may declare.
MARKETPLACE_CAPABILITIES: tuple[Capability, ...] = (
    Capability.LIST_ORDERS,
    Capability.GET_ORDER,
    Capability.LIST_RETURNS,
    Capability.GET_RETURN,
    Capability.APPROVE_RETURN,
    Capability.REJECT_RETURN,
    Capability.CONFIRM_RETURN_RECEIVED,
    Capability.REFUND,
    Capability.SHIP_EXCHANGE,
    Capability.LIST_REVIEWS,
    Capability.REPLY_REVIEW,
    Capability.MESSAGE_BUYER,
    Capability.LIST_SHIPMENTS,
    Capability.LIST_REFUSAL_REASONS,
    Capability.SUBMIT_EVIDENCE,
    Capability.EXTEND_DEADLINE,
)
#: Every capability a carrier (tracking provider) adapter may declare.
CARRIER_CAPABILITIES: tuple[Capability, ...] = (
    Capability.DETECT_CARRIER,
    Capability.TRACK,
    Capability.PUSH,
)
#: The incremental listings, by the capability that declares each.
LISTINGS: dict[Capability, str] = {
    Capability.LIST_ORDERS: "list_orders",
    Capability.LIST_RETURNS: "list_returns",
    Capability.LIST_REVIEWS: "list_reviews",
}
#: Safety stop: a listing that yields more pages than this is treated as endless.
MAX_PAGES = 200


def drain(pages: Iterable[Page[Any]], *, limit: int = MAX_PAGES) -> list[Page[Any]]:
    """All pages of a listing, failing on a listing that never ends."""
    got = list(islice(iter(pages), limit + 1))
    assert len(got) <= limit, f"listing yielded more than {limit} pages; does it ever end?"
    for page in got:
        assert isinstance(page, Page), f"listing yielded {type(page).__name__}, not a Page"
    return got


# ------------------------------------------------------------------ status tables


def check_status_mapping(
    raw_statuses: Sequence[str],
    mapper: Callable[[str], E],
    target: type[E],
    *,
    what: str = "status",
) -> dict[str, E]:
    """Every documented raw status maps to a member of ``target``.

    Args:
        raw_statuses: the statuses the marketplace or provider documents.
        mapper: the adapter's mapping (raises or returns ``None`` for unknowns).
        target: :class:`~aftersales.models.ReturnStatus` or
            :class:`~aftersales.models.ParcelStatus`.

    Returns:
        The mapping that was checked, raw status to canonical one.
    """
    assert raw_statuses, (
        f"the adapter documents no raw {what}es; list every value the API can send "
        "(raw_return_statuses / raw_parcel_statuses)"
    )
    dupes = [raw for raw, n in Counter(raw_statuses).items() if n > 1]
    assert not dupes, f"raw {what}es listed twice: {dupes}"
    out: dict[str, E] = {}
    failures: list[str] = []
    for raw in raw_statuses:
        try:
            mapped = mapper(raw)
        except Exception as exc:
            failures.append(f"{raw!r} raised {type(exc).__name__}: {exc}")
            continue
        if not isinstance(mapped, target):
            failures.append(f"{raw!r} -> {mapped!r} is not a {target.__name__}")
            continue
        out[raw] = mapped
    assert not failures, f"unmapped {what}es:\n  " + "\n  ".join(failures)
    return out


# ------------------------------------------------------------------ capabilities


def _marketplace_call(adapter: Marketplace, cap: Capability, s: MarketplaceSamples) -> Any:
    if cap in LISTINGS:
        return drain(getattr(adapter, LISTINGS[cap])(None))
    if cap is Capability.GET_ORDER:
        return adapter.get_order(s.order_id)
    if cap is Capability.GET_RETURN:
        return getattr(adapter, "get_return")(s.return_request.external_id or "")  # noqa: B009
    if cap is Capability.APPROVE_RETURN:
        return adapter.approve_return(s.return_request)
    if cap is Capability.REJECT_RETURN:
        return _reject(adapter, s)
    if cap is Capability.CONFIRM_RETURN_RECEIVED:
        return adapter.confirm_return_received(s.return_request)
    if cap is Capability.REFUND:
        return adapter.refund(s.refund, s.return_request)
    if cap is Capability.SHIP_EXCHANGE:
        return adapter.ship_exchange(s.return_request, s.shipment)
    if cap is Capability.REPLY_REVIEW:
        return adapter.reply_review(s.review, "Thank you", idempotency_key="conformance-reply")
    if cap is Capability.MESSAGE_BUYER:
        return adapter.send_message(s.message)
    if cap is Capability.LIST_SHIPMENTS:
        return adapter.list_shipments(s.order_id)
    if cap is Capability.LIST_REFUSAL_REASONS:
        return adapter.refusal_reasons(s.return_request)
    if cap is Capability.SUBMIT_EVIDENCE:
        return adapter.submit_evidence(s.return_request, s.evidence)
    if cap is Capability.EXTEND_DEADLINE:
        return adapter.extend_deadline(s.return_request, s.extension)
    raise AssertionError(f"{cap.value} is not a marketplace capability")


def _reject(adapter: Marketplace, s: MarketplaceSamples) -> Any:
    """A refusal; where the marketplace lists reasons, by the first one's code (with
    the sample evidence when that reason wants pictures), as such marketplaces require."""
    if Capability.LIST_REFUSAL_REASONS not in adapter.capabilities:
        return adapter.reject_return(s.return_request, reason="conformance check")
    listed = adapter.refusal_reasons(s.return_request)
    if not listed:
        return adapter.reject_return(s.return_request, reason="conformance check")
    first = listed[0]
    return adapter.reject_return(
        s.return_request, reason=first.text or "conformance check", reason_code=first.code,
        evidence=s.evidence if first.needs_evidence else None)


def _carrier_call(adapter: Carrier, cap: Capability, s: CarrierSamples) -> Any:
    if cap is Capability.DETECT_CARRIER:
        return adapter.detect(s.number)
    if cap is Capability.TRACK:
        return adapter.track([TrackQuery(number=s.number, carrier=s.carrier)])
    if cap is Capability.PUSH:
        return adapter.parse_push(*s.push)
    raise AssertionError(f"{cap.value} is not a carrier capability")


def invoke(adapter: Any, cap: Capability, samples: MarketplaceSamples | CarrierSamples) -> Any:
    """Call the operation behind ``cap`` on ``adapter`` with sample arguments.

    Listings are drained, since a generator runs nothing until iterated.
    """
    if cap in CARRIER_CAPABILITIES:
        assert isinstance(samples, CarrierSamples), "carrier operations need CarrierSamples"
        return _carrier_call(adapter, cap, samples)
    assert isinstance(samples, MarketplaceSamples), "marketplace operations need MarketplaceSamples"
    return _marketplace_call(adapter, cap, samples)


_RESULT_TYPES: dict[Capability, type | None] = {
    Capability.GET_ORDER: Order,
    Capability.GET_RETURN: ReturnRequest,
    Capability.REFUND: Refund,
    Capability.SHIP_EXCHANGE: Shipment,
    Capability.REPLY_REVIEW: str,
    Capability.MESSAGE_BUYER: Receipt,
    Capability.APPROVE_RETURN: type(None),
    Capability.REJECT_RETURN: type(None),
    Capability.CONFIRM_RETURN_RECEIVED: type(None),
    Capability.SUBMIT_EVIDENCE: type(None),
    Capability.EXTEND_DEADLINE: PlatformDeadline,
}


def check_capability_declared(
    adapter: Any, cap: Capability, samples: MarketplaceSamples | CarrierSamples
) -> Any:
    """A declared capability works: the call returns what the interface promises.

    Returns:
        What the operation returned (drained pages for a listing).
    """
    assert cap in adapter.capabilities, f"{cap.value} is not declared"
    try:
        result = invoke(adapter, cap, samples)
    except UnsupportedOperationError as exc:
        raise AssertionError(
            f"{adapter.name} declares {cap.value} but raised UnsupportedOperationError: {exc}"
        ) from exc
    expected = _RESULT_TYPES.get(cap)
    if expected is not None:
        assert isinstance(result, expected), (
            f"{cap.value} returned {type(result).__name__}, expected {expected.__name__}"
        )
    if cap is Capability.REFUND and isinstance(samples, MarketplaceSamples):
        assert result.external_id, "refund() must return the refund with external_id set"
        _same_amount(samples.refund.amount, result.amount)
    if cap is Capability.APPROVE_RETURN and isinstance(samples, MarketplaceSamples):
        _approve_again(adapter, samples.return_request)
    if cap is Capability.REPLY_REVIEW:
        assert result, "reply_review() must return the reply's id"
    if cap is Capability.GET_ORDER and isinstance(samples, MarketplaceSamples):
        _request_in_order_currency(samples.return_request, result)
    if cap is Capability.GET_RETURN and isinstance(samples, MarketplaceSamples):
        assert result.external_id == samples.return_request.external_id, (
            "get_return() must return the request it was asked for")
    if cap is Capability.LIST_SHIPMENTS:
        assert isinstance(result, list), "list_shipments() must return a list"
        assert all(isinstance(x, Shipment) for x in result), "list_shipments(): not Shipments"
    if cap is Capability.LIST_REFUSAL_REASONS:
        assert isinstance(result, list), "refusal_reasons() must return a list"
        assert all(isinstance(x, RefusalReason) for x in result), (
            "refusal_reasons(): not RefusalReasons")
    if cap is Capability.DETECT_CARRIER:
        assert isinstance(result, list), "detect() must return a list of carrier codes"
        assert all(isinstance(c, str) and c == c.lower() for c in result), (
            f"detect() must return lowercase carrier codes, got {result!r}"
        )
    if cap is Capability.TRACK and isinstance(samples, CarrierSamples):
        _one_per_query([TrackQuery(number=samples.number, carrier=samples.carrier)], result)
    if cap is Capability.PUSH:
        assert isinstance(result, list), "parse_push() must return a list of Trackings"
        assert all(isinstance(t, Tracking) for t in result), "parse_push(): not Trackings"
    return result


def _request_in_order_currency(request: ReturnRequest, order: Order) -> None:
    """A listed return request asks its money in its order's currency (the buyer's)."""
    asked = request.requested_amount
    if asked is None or request.order_id != order.external_id:
        return
    assert asked.currency == order.currency, (
        f"ReturnRequest {request.external_id} asks {asked.currency} but its order "
        f"{order.external_id} is in {order.currency}"
    )


def _same_amount(asked: Money, paid: Money) -> None:
    """The refund handed back pays what was asked, in its currency (not fen, not another
    currency): the core books what ``refund()`` returns."""
    problem = (f"refund() returned {paid.amount} {paid.currency} but was asked "
               f"{asked.amount} {asked.currency}")
    assert paid.currency == asked.currency, problem
    assert paid.amount == asked.amount, problem


def _approve_again(adapter: Any, request: ReturnRequest) -> None:
    """A second identical approval succeeds, or the adapter can tell it was done.

    The core sends an approval whose answer was lost again. A platform may
    refuse a decision it already took; then the core first asks
    ``get_return`` (:mod:`aftersales.returns.remote_lookup`), so that must be
    declared and show the request approved. Anything else leaves a done
    approval looking failed.
    """
    try:
        adapter.approve_return(request)
    except Exception as exc:
        refused = (f"a second identical approve_return({request.external_id}) raised "
                   f"{type(exc).__name__}: {exc}")
        if Capability.GET_RETURN not in adapter.capabilities:
            raise AssertionError(
                f"{refused}; make the approval idempotent, or declare get_return so a "
                "resent approval can be checked first"
            ) from exc
        now = adapter.get_return(request.external_id or "")
        assert now.status in DONE_WHEN["approve"], (
            f"{refused}, and get_return() shows it {now.status.value}, not approved; "
            "get_return() must read the request as it stands now"
        )


def check_capability_undeclared(
    adapter: Any, cap: Capability, samples: MarketplaceSamples | CarrierSamples
) -> None:
    """An undeclared capability raises ``UnsupportedOperationError`` naming the adapter."""
    assert cap not in adapter.capabilities, f"{cap.value} is declared"
    try:
        invoke(adapter, cap, samples)
    except UnsupportedOperationError as exc:
        if exc.adapter != adapter.name:
            raise AssertionError(
                f"UnsupportedOperationError names {exc.adapter!r}, not the adapter "
                f"{adapter.name!r}"
            ) from exc
        return
    except Exception as exc:
        raise AssertionError(
            f"{adapter.name} does not declare {cap.value}, so it must raise "
            f"UnsupportedOperationError, but raised {type(exc).__name__}: {exc}"
        ) from exc
    raise AssertionError(
        f"{adapter.name} does not declare {cap.value} but the call succeeded; "
        "declare the capability or raise UnsupportedOperationError"
    )


# ------------------------------------------------------------------ listings


def _key(item: Any) -> str:
    ident = getattr(item, "external_id", None)
    assert ident, f"listed {type(item).__name__} has no external_id: {item!r}"
    return f"{type(item).__name__}:{ident}"


def check_resume(
    listing: Callable[[str | None], Iterator[Page[Any]]],
    *,
    min_pages: int = 3,
    name: str = "listing",
    max_page_size: int | None = None,
) -> list[Any]:
    """A listing resumed from any page's cursor misses and repeats nothing.

    Lists everything from the start, then resumes from every page's cursor
    and compares what comes back with what followed that page.

    Args:
        listing: e.g. ``adapter.list_returns``.
        min_pages: how many pages with items the fixture must serve, so the
            check means something.
        max_page_size: the most items a page may hold (the adapter's documented
            page size); ``None`` leaves sizes unchecked.

    Returns:
        Every item of the full listing, in order.
    """
    pages = drain(listing(None))
    items = [item for page in pages for item in page.items]
    keys = [_key(item) for item in items]
    repeated = sorted(k for k, n in Counter(keys).items() if n > 1)
    assert not repeated, f"{name} repeats items in one run: {repeated}"
    if max_page_size is not None:
        oversized = [(i, len(p.items)) for i, p in enumerate(pages)
                     if len(p.items) > max_page_size]
        assert not oversized, (
            f"{name} pages over the documented size {max_page_size} "
            f"(page, items): {oversized}"
        )
    filled = sum(1 for page in pages if page.items)
    assert filled >= min_pages, (
        f"{name} served {filled} page(s) with items; serve at least {min_pages} "
        "so resuming from a cursor is really tested"
    )
    seen = 0
    for index, page in enumerate(pages):
        seen += len(page.items)
        assert page.cursor, f"{name} page {index} has no cursor to resume from"
        resumed = [_key(item) for p in drain(listing(page.cursor)) for item in p.items]
        expected = keys[seen:]
        missing = [k for k in expected if k not in resumed]
        extra = [k for k in resumed if k not in expected]
        problem = f"{name} resumed after page {index}: missing {missing}, repeated {extra}"
        assert not missing, problem
        assert not extra, problem
        assert len(resumed) == len(expected), problem + " (an item came back twice)"
    return items


def check_round_trip(items: Iterable[BaseModel], *, adapter_name: str | None = None) -> int:
    """Each model validates again from its own dump, as a dict and as JSON.

    Returns:
        How many items were checked.
    """
    count = 0
    for item in items:
        assert isinstance(item, BaseModel), f"{type(item).__name__} is not a core model"
        cls = type(item)
        label = f"{cls.__name__} {getattr(item, 'external_id', None) or ''}".rstrip()
        try:
            again = cls.model_validate(item.model_dump(warnings=False))
        except PydanticValidationError as exc:
            raise AssertionError(
                f"{label} does not validate (built with model_construct or mutated "
                f"without validation?): {_pydantic_fields(exc)}"
            ) from None
        assert again == item, f"{cls.__name__} changes through model_dump(): {item!r}"
        from_json = cls.model_validate_json(item.model_dump_json())
        assert from_json == item, f"{cls.__name__} changes through JSON: {item!r}"
        amounts = list(_money_fields(item))
        negative = [path for path, money in amounts if money.amount < 0]
        assert not negative, f"{label}: {', '.join(negative)} is negative"
        _one_currency(label, amounts)
        market = getattr(item, "marketplace", None)
        if adapter_name is not None and market is not None:
            assert market == adapter_name, (
                f"{cls.__name__}.marketplace is {market!r}, expected {adapter_name!r}"
            )
        count += 1
    return count


def _one_currency(label: str, amounts: Sequence[tuple[str, Money]]) -> None:
    """Every amount of one model is in one currency: the buyer's. Only ``shop_*``
    fields (an order's total in the shop's own currency) may differ."""
    buyer = [(path, money.currency) for path, money in amounts
             if not path.startswith("shop_")]
    currencies = sorted({currency for _, currency in buyer})
    assert len(currencies) <= 1, (
        f"{label} mixes currencies {currencies}: "
        + ", ".join(f"{path} {currency}" for path, currency in buyer)
    )


def _pydantic_fields(exc: PydanticValidationError) -> str:
    """Each failing field with pydantic's reason, on one line."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )


def _money_fields(value: Any, path: str = "") -> Iterator[tuple[str, Money]]:
    """Every Money inside a model, with its field path (``lines[0].amount``)."""
    if isinstance(value, Money):
        yield path, value
    elif isinstance(value, BaseModel):
        for name, field in value.__dict__.items():
            yield from _money_fields(field, f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, entry in enumerate(value):
            yield from _money_fields(entry, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, entry in value.items():
            yield from _money_fields(entry, f"{path}[{key!r}]")


def listed_models(result: Any) -> list[BaseModel]:
    """The core models inside what an operation returned (pages, lists, one model)."""
    if isinstance(result, BaseModel) and not isinstance(result, Page):
        return [result]
    out: list[BaseModel] = []
    if isinstance(result, list):
        for entry in result:
            if isinstance(entry, Page):
                out.extend(entry.items)
            elif isinstance(entry, BaseModel):
                out.append(entry)
    return out


# ------------------------------------------------------------------ carriers


def check_track_batch(carrier: Carrier, queries: Sequence[TrackQuery]) -> list[TrackResult]:
    """``track`` answers one result per query for a full batch, and never drops numbers.

    ``queries`` must hold at least ``batch_size + 1`` queries: the first
    ``batch_size`` go in one call; then all of them go in, and the adapter
    must either refuse the over-sized batch (``ValidationError`` before any
    call, or the provider's ``RemoteRejectedError``) or still answer every
    query. Silently dropping numbers fails.
    """
    size = carrier.batch_size
    assert isinstance(size, int), f"batch_size must be an int: {size!r}"
    assert size >= 1, f"batch_size must be positive: {size!r}"
    assert len(queries) > size, f"give at least batch_size + 1 = {size + 1} queries"
    batch = list(queries[:size])
    results = carrier.track(batch)
    _one_per_query(batch, results)
    try:
        more = carrier.track(list(queries))
    except (ValidationError, RemoteRejectedError):
        return results
    _one_per_query(list(queries), more)
    return results


def _one_per_query(queries: Sequence[TrackQuery], results: Sequence[TrackResult]) -> None:
    assert isinstance(results, list), "track() must return a list"
    assert len(results) == len(queries), (
        f"track() got {len(queries)} queries and returned {len(results)} results"
    )
    asked = Counter(q.number for q in queries)
    answered = Counter(r.query.number for r in results)
    assert asked == answered, f"track() answered {dict(answered)} for {dict(asked)}"
    order = [r.query.number for r in results]
    assert order == [q.number for q in queries], (
        f"track() answered out of order: {order} for {[q.number for q in queries]}"
    )
    for result in results:
        assert isinstance(result, TrackResult), f"track() returned {type(result).__name__}"
        assert (result.tracking is None) != (result.error is None), (
            f"result for {result.query.number} must carry a tracking or an error, not both"
        )
        if result.tracking is not None:
            assert isinstance(result.tracking.status, ParcelStatus)


def check_push(
    carrier: Carrier,
    good: tuple[bytes, Mapping[str, str]],
    bad: tuple[bytes, Mapping[str, str]],
    missing: tuple[bytes, Mapping[str, str]],
) -> list[Tracking]:
    """A correctly signed push parses; a bad or missing signature raises ``SignatureError``."""
    parsed = carrier.parse_push(*good)
    assert isinstance(parsed, list), "parse_push() must return a list"
    assert parsed, "a good push must parse into at least one tracking"
    assert all(isinstance(t, Tracking) for t in parsed), "parse_push() must return Trackings"
    for label, (body, headers) in (("bad", bad), ("missing", missing)):
        try:
            carrier.parse_push(body, headers)
        except SignatureError:
            continue
        except Exception as exc:
            raise AssertionError(
                f"a push with a {label} signature raised {type(exc).__name__}, "
                "not SignatureError"
            ) from exc
        raise AssertionError(f"a push with a {label} signature was accepted")
    return parsed

