"""The refresh engine: batching per provider, bounded concurrency, fallback.

Numbers are grouped into batches of each provider's ``batch_size`` and sent
to a thread pool whose size caps the calls in flight. The groups are pulled
from an iterator only as calls need them (a few batches ahead of the pool),
so a refresh of a million parcels never holds a million of them: the
service claims due parcels in chunks as the iterator is read. Results come
back to the calling thread, which writes them (so SQLite's single writer is
never contended) while the next calls are still on the wire. A batch that
fails as a whole, or a number a provider refuses or cannot serve, moves on
to the next provider in the configured order; a number no provider could
track is reported, not raised. An answer item that is malformed counts as a
failure: its number's (when no later provider tracks it), or, when the item
has no number, its own one-line error in ``RefreshReport.malformed`` while
the batch's other numbers keep their results. Only the last batch of each
provider may be part-filled: N numbers cost ``ceil(N / batch_size)`` calls.
"""

from __future__ import annotations

import contextvars
import logging
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aftersales.errors import AfterSalesError, RemoteError, ResponseParseError
from aftersales.interfaces import Capability, Carrier
from aftersales.logistics.detect import normalize_number
from aftersales.logistics.tracking import TrackAnswer
from aftersales.models import Tracking, TrackQuery, TrackResult
from aftersales.redact import known_names, redact_remote
from aftersales.ticks import TickReport

__all__ = ["Group", "RefreshReport", "Refresher", "serves"]

log = logging.getLogger("aftersales.logistics")


#: One number to look up: ``(number, carrier, parcels)``, where ``parcels``
#: are what the sink needs to write the answer (a refresh passes the stored
#: rows that carry the number; the engine only counts them). A plain tuple:
#: a refresh holds thousands from claim to write, and only exact tuples of
#: plain values escape Python's cycle collector (see
#: :mod:`aftersales.logistics.snapshot`).
Group = tuple[str, str | None, tuple[Any, ...]]


@dataclass
class RefreshReport(TickReport):
    """What one refresh did (a :class:`~aftersales.ticks.TickReport`, see :meth:`tally`).

    Attributes:
        due: parcels that were due (open and not checked within the TTL).
        checked: parcels that got a fresh tracking.
        changed: parcels whose status moved.
        calls: provider calls made, per provider.
        failed_calls: calls that failed as a whole, per provider.
        fallbacks: numbers handed to a later provider.
        unresolved: numbers no provider could track, with the last reason.
        errors: unresolved numbers that failed (their call failed, or their
            item in the answer was malformed, or a call failed on them and
            no later provider tracked them), each with its error.
        malformed: answer items no number owns (no readable tracking number),
            one line each naming the provider, payload and field, keyed
            ``"<provider> answer item <n>"``; each is a failure.
    """

    due: int = 0
    checked: int = 0
    changed: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    failed_calls: Counter[str] = field(default_factory=Counter)
    fallbacks: int = 0
    unresolved: dict[str, str] = field(default_factory=dict)
    errors: dict[str, AfterSalesError] = field(default_factory=dict, repr=False)
    malformed: dict[str, str] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        """One line per provider whose calls failed as a whole. When nothing failed
        (:meth:`tally` run), a later provider answered for every parcel of those calls:
        the refresh succeeded, and the lines are its warnings."""
        lines = []
        for provider, count in self.failed_calls.items():
            calls = "1 failed call" if count == 1 else f"{count} failed calls"
            answered = "its parcels were" if count == 1 else "their parcels were"
            lines.append(f"{provider}: {calls}" if self.failed
                         else f"{provider}: {calls}; {answered} answered by a later provider")
        return lines

    @property
    def total_calls(self) -> int:
        """Provider calls over every provider."""
        return sum(self.calls.values())

    def tally(self) -> RefreshReport:
        """Fill the tick's shared counts: checked parcels are ``done``; numbers no
        provider answered (a call failed on them and no later provider tracked
        them, or their answer item was malformed), and answer items no number
        owns, are ``failed`` (with the reason); other unresolved numbers (not a
        tracking number, not found yet) are ``skipped``, due again later.

        A call that failed while a later provider tracked each of its numbers
        fails nothing: the refresh got a fresh answer for every parcel (see
        :attr:`warnings`)."""
        self.done = self.checked
        self.failed = len(self.errors) + len(self.malformed)
        self.skipped = len(self.unresolved) - len(self.errors)
        self.reasons = {n: self.unresolved.get(n, str(e)) for n, e in self.errors.items()}
        self.reasons.update(self.malformed)
        return self


def serves(provider: Carrier, carrier: str | None) -> bool:
    """Whether ``provider`` tracks numbers of ``carrier`` (``None``: unknown carrier)."""
    if Capability.TRACK not in provider.capabilities:
        return False
    return provider.carriers is None or (carrier is not None and carrier in provider.carriers)


#: A fresh tracking as the sink wants it (see ``Refresher``'s ``prepare``).
P = TypeVar("P")

#: Per number of a batch, the prepared tracking, or why there is none and whether
#: that is a malformed item of the answer; and the answer's items no number owns
#: (see :class:`~aftersales.logistics.tracking.TrackAnswer`). Or the call's error.
_Outcome = tuple[list[tuple[P | None, str, bool]], tuple[str, ...]] | AfterSalesError


def _call(
    provider: Carrier, batch: Sequence[Group], prepare: Callable[[Tracking], P],
    names: Sequence[str], phones: Sequence[str | None],
) -> _Outcome[P]:
    """One provider call, in a worker thread, with ``names`` (the batch's buyers)
    masked in whatever the provider's words become: log lines, errors, reasons.
    ``phones`` are the numbers' phone suffixes (see ``Refresher``), in order."""
    with known_names(*names):
        return _ask(provider, batch, prepare, phones)


def _ask(
    provider: Carrier, batch: Sequence[Group], prepare: Callable[[Tracking], P],
    phones: Sequence[str | None],
) -> _Outcome[P]:
    queries = [TrackQuery(number=number, carrier=carrier, phone_suffix=phone)
               for (number, carrier, _), phone in zip(batch, phones, strict=True)]
    try:
        results = provider.track(queries)
    except AfterSalesError as exc:
        # Its text may quote the recipient (a payload that failed validation says
        # what it read): masked here, where the batch's buyers' names are known.
        # A RemoteError masked its own; the report, the CLI and the worker print it.
        exc.args = (redact_remote(str(exc)),)
        return exc
    except Exception as exc:
        # A bug in one adapter must not stop the refresh: its numbers fall
        # back like any failed call. Only the type is kept, in the report and
        # in the log: the message may quote the checkpoint text the adapter
        # choked on (a recipient's name, a courier's phone, an address), and
        # a shop's own log handler has no redacting filter. The frames say
        # where it happened; they hold source lines, not values.
        where = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
        log.error("%s.track failed unexpectedly: %s (message withheld)\n%s",
                  provider.name, type(exc).__name__, where)
        return RemoteError(f"unexpected {type(exc).__name__}", adapter=provider.name)
    # Prepared here, in the worker, so the models die with the call rather
    # than wait for the main thread (see aftersales.logistics.snapshot).
    unowned = results.unowned if isinstance(results, TrackAnswer) else ()
    # A provider's per-number words ("recipient … tel … refused") are masked as its
    # errors are: they become the report's reasons, printed by the CLI and the worker.
    return [
        _outcome(query, r, prepare) for query, r in zip(queries, results, strict=True)
    ] if len(results) == len(queries) else [], tuple(redact_remote(text) for text in unowned)


def _outcome(
    query: TrackQuery, result: TrackResult, prepare: Callable[[Tracking], P],
) -> tuple[P | None, str, bool]:
    """One number's prepared tracking, or why there is none and whether the answer
    was malformed. A tracking about another number than its place in the batch
    asked (an adapter that answered out of order or let another parcel's item
    through) is malformed, never written onto the asked parcel: checked here, in
    the core, whatever the adapter checked (its carrier is the adapter's to
    judge, :func:`~aftersales.logistics.tracking.foreign_answer`: the asked one
    may only be detected from the number's shape)."""
    tracking = result.tracking
    if tracking is not None:
        if normalize_number(tracking.number) == query.number:
            return prepare(tracking), "", False
        return None, "the answer names another tracking number than was asked", True
    return (None, redact_remote(result.error) if result.error else "no tracking",
            result.error_code == "invalid")


class Refresher(Generic[P]):
    """Runs one refresh over ``providers`` (in fallback order).

    Args:
        providers: the tracking providers, first choice first.
        max_in_flight: the most provider calls running at once.
        prepare: turns each fresh tracking into what ``sink`` takes, in the
            worker right after its call (a refresh passes
            :func:`~aftersales.logistics.snapshot.snapshot`: the models die
            young and only plain tuples wait for the write).
        sink: writes results; returns how many parcels changed.
        progress: called with the number of parcels settled after each batch.
        write_every: results are handed to ``sink`` once this many numbers
            are waiting (and at the end): fewer, larger transactions.
        names: the names to mask while a batch is asked (its parcels' buyers,
            :func:`~aftersales.redact.known_names`), read when the call is sent.
        phone: a number's ``phone_suffix`` for its query (SF Express shows a
            waybill's scans only to who knows the phone's last four digits).

    Each call runs in a copy of the context that sent it, so the names and
    settings in effect for the caller (``known_names`` blocks, for one) hold
    in the worker thread too.
    """

    def __init__(
        self,
        providers: Sequence[Carrier],
        *,
        max_in_flight: int,
        prepare: Callable[[Tracking], P],
        sink: Callable[[list[tuple[Group, P]]], int],
        progress: Callable[[int], None] | None = None,
        write_every: int = 1,
        names: Callable[[Sequence[Group]], Sequence[str]] | None = None,
        phone: Callable[[Group], str | None] | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.providers = list(providers)
        self.max_in_flight = max_in_flight
        self.prepare = prepare
        self.sink = sink
        self.progress = progress
        self.write_every = max(1, write_every)
        self.names = names
        self.phone = phone
        self._waiting: list[tuple[Group, P]] = []
        self._exhausted = False
        self._order: dict[tuple[str | None, int], int | None] = {}
        # Numbers a call failed on and no later provider has answered yet, with
        # that failure: theirs if no provider tracks them in the end.
        self._failed_over: dict[str, AfterSalesError] = {}

    def _next(self, group: Group, after: int) -> int | None:
        """The next provider after ``after`` that serves the group's carrier (looked up once)."""
        _, carrier, _ = group
        key = (carrier, after)
        if key not in self._order:
            self._order[key] = next(
                (index for index in range(after + 1, len(self.providers))
                 if serves(self.providers[index], carrier)),
                None,
            )
        return self._order[key]

    def run(self, groups: Iterable[Group], report: RefreshReport | None = None) -> RefreshReport:
        """Look every group up; returns the report (also filled in place).

        ``groups`` is read lazily, a few batches ahead of the calls in flight.
        """
        report = report or RefreshReport()
        source = iter(groups)
        self._exhausted = False
        self._failed_over = {}
        buffers: dict[int, list[Group]] = {i: [] for i in range(len(self.providers))}
        inflight: dict[Future[_Outcome[P]], tuple[int, list[Group]]] = {}
        pool = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="aftersales-track")
        try:
            self._fill(source, pool, buffers, inflight, report)
            while inflight:
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for future in done:
                    index, batch = inflight.pop(future)
                    self._settle(index, batch, future.result(), buffers, report)
                # Send the next calls before writing, so the write overlaps the wait.
                self._fill(source, pool, buffers, inflight, report)
                if len(self._waiting) >= self.write_every:
                    self._flush(report)
            self._flush(report)
        finally:
            # On an error (a failed write, a bug in an adapter) the queued calls
            # are dropped rather than sent; the parcels stay due.
            pool.shutdown(wait=True, cancel_futures=True)
        return report

    def _fill(
        self,
        source: Iterator[Group],
        pool: ThreadPoolExecutor,
        buffers: dict[int, list[Group]],
        inflight: dict[Future[_Outcome[P]], tuple[int, list[Group]]],
        report: RefreshReport,
    ) -> None:
        """Pull groups until a few calls wait behind those in flight, and submit them."""
        ahead = 2 * self.max_in_flight
        while not self._exhausted and len(inflight) < ahead:
            group = next(source, None)
            if group is None:
                self._exhausted = True
                break
            index = self._route(group, -1, buffers, report,
                                "no configured provider serves this carrier")
            if index is not None and len(buffers[index]) >= self.providers[index].batch_size:
                self._submit(pool, buffers, inflight, report)
        self._submit(pool, buffers, inflight, report)

    def _flush(self, report: RefreshReport) -> None:
        if self._waiting:
            found, self._waiting = self._waiting, []
            report.changed += self.sink(found)
            report.checked += sum(len(parcels) for (_, _, parcels), _ in found)

    def _route(
        self,
        group: Group,
        after: int,
        buffers: dict[int, list[Group]],
        report: RefreshReport,
        reason: str,
        error: AfterSalesError | None = None,
    ) -> int | None:
        """Buffer ``group`` for the next provider that serves it; returns that provider's index.

        With none left the number is reported unresolved (``None``).
        """
        index = self._next(group, after)
        if index is None:
            number, _carrier, parcels = group
            earlier = self._failed_over.pop(number, None)
            if error is None and earlier is not None:
                # a later provider said it knows nothing; an earlier one failed on it
                error = earlier
                reason = f"{reason}; after a failed call: {earlier}"
            report.unresolved[number] = reason
            if error is not None:
                report.errors[number] = error
            if self.progress is not None:
                self.progress(max(1, len(parcels)))
            return None
        if after >= 0:
            report.fallbacks += 1
        buffers[index].append(group)
        return index

    def _submit(
        self,
        pool: ThreadPoolExecutor,
        buffers: dict[int, list[Group]],
        inflight: dict[Future[_Outcome[P]], tuple[int, list[Group]]],
        report: RefreshReport,
    ) -> None:
        for index in sorted(buffers):
            buffer = buffers[index]
            size = max(1, self.providers[index].batch_size)
            # A part-filled batch waits while more numbers may come: from the
            # source, or from an earlier provider (including a call submitted
            # just now) handing numbers on.
            flush = self._exhausted and not any(busy < index for busy, _ in inflight.values())
            while len(buffer) >= size or (flush and buffer):
                batch, buffer[:] = buffer[:size], buffer[size:]
                provider = self.providers[index]
                report.calls[provider.name] += 1
                names = self.names(batch) if self.names is not None else ()
                phones = [self.phone(group) if self.phone is not None else None
                          for group in batch]
                # A worker thread starts with an empty context: the call gets a copy of
                # this one (known_names in effect for the caller, among others).
                context = contextvars.copy_context()
                call = pool.submit(context.run, _call, provider, batch, self.prepare, names,
                                   phones)
                inflight[call] = (index, batch)

    def _settle(
        self,
        index: int,
        batch: list[Group],
        outcome: _Outcome[P],
        buffers: dict[int, list[Group]],
        report: RefreshReport,
    ) -> None:
        provider = self.providers[index]
        if isinstance(outcome, AfterSalesError) or len(outcome[0]) != len(batch):
            report.failed_calls[provider.name] += 1
            mismatch = "answer did not match the batch"
            error = outcome if isinstance(outcome, AfterSalesError) else ResponseParseError(
                mismatch, adapter=provider.name)
            reason = f"{provider.name}: {error if outcome is error else mismatch}"
            for group in batch:
                self._failed_over.setdefault(group[0], error)
                self._route(group, index, buffers, report, reason, error)
            return
        results, unowned = outcome
        for text in unowned:
            # No number owns the item: it is reported on its own, never dropped unseen.
            report.malformed[f"{provider.name} answer item {len(report.malformed) + 1}"] = (
                f"{provider.name}: {text}")
        found: list[tuple[Group, P]] = []
        for group, (prepared, why, malformed) in zip(batch, results, strict=True):
            if prepared is not None:
                found.append((group, prepared))
                if self._failed_over:
                    self._failed_over.pop(group[0], None)
            else:
                reason = f"{provider.name}: {why}"
                # A malformed item is a failure when no later provider tracks the number.
                bad = ResponseParseError(why, adapter=provider.name) if malformed else None
                self._route(group, index, buffers, report, reason, bad)
        if found:
            self._waiting.extend(found)
            if self.progress is not None:
                self.progress(sum(max(1, len(parcels)) for (_, _, parcels), _ in found))
