"""``app.reports``: the reports facade, delegating to one module per section."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select

from aftersales.errors import ValidationError
from aftersales.reports import cases, followups, logistics, returns, reviews
from aftersales.reports.html import render_report
from aftersales.reports.labels import words
from aftersales.reports.periods import Grain, Scope, check_bounds
from aftersales.reports.rows import ReportTable
from aftersales.reports.weekly import WeeklyOutcome, send_weekly
from aftersales.runtime import Runtime
from aftersales.store.tables.cases import CaseRow
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.followups import FollowUpRow
from aftersales.store.tables.returns import ReturnRow
from aftersales.store.tables.reviews import ReviewRow

__all__ = ["BY", "DEFAULT_DAYS", "SECTIONS", "ReportsService", "trend_grain"]

#: The window a report covers when no ``since`` is given: this many days before ``until``.
DEFAULT_DAYS = 30
#: Every section, in the order the HTML report shows them.
SECTIONS = ("returns", "logistics", "reviews", "followups", "cases")
_DEFAULT_BY = {"returns": "week", "logistics": "carrier", "reviews": "week", "followups": "plan",
               "cases": "kind"}
_COMMON = ("day", "week", "month", "all", "store")
#: What each section can group by (its tables that cannot use a choice use the default).
BY: dict[str, tuple[str, ...]] = {
    "returns": (*_COMMON, "sku", "category", "reason"),
    "logistics": (*_COMMON, "carrier"),
    "reviews": (*_COMMON, "sku"),
    "followups": (*_COMMON, "plan"),
    "cases": (*_COMMON, "kind", "cause"),
}


def trend_grain(scope: Scope) -> Grain:
    """Days for a window up to 31 days, weeks up to half a year, else months."""
    span = scope.until - scope.since
    if span <= timedelta(days=31):
        return "day"
    return "week" if span <= timedelta(days=183) else "month"


class ReportsService:
    """Reports over the store: returns, logistics, reviews and follow-ups, each a list of
    :class:`~aftersales.reports.rows.ReportTable`.

    Every figure is an SQL aggregate (the same on SQLite and PostgreSQL); time
    buckets are days, weeks (Monday first) or months in the shop's zone
    (``runtime.timezone``). Build it from a runtime; the facade gives it the
    returns policy as a callable so the SLA tables use the shop's deadlines.

    Args:
        runtime: the store, clock and shop zone.
        policy: returns the current returns policy (for SLA deadlines); without
            it the SLA tables use the policy defaults (48 h response, 72 h refund).
    """

    def __init__(self, runtime: Runtime, *, policy: Callable[[], Any] | None = None) -> None:
        self.runtime = runtime
        self._policy = policy
        self._known: set[str] = set()

    def scope(self, *, since: datetime | None = None, until: datetime | None = None,
              store: str | tuple[str, ...] | None = None) -> Scope:
        """The window ``[since, until)`` (default: the last 30 days to now) in the shop's zone.

        Raises:
            ValidationError: a naive time, a time before 1900 or after 3000,
                ``until`` not after ``since``, or a store neither configured nor
                named by any stored order, return, review, follow-up or case.
        """
        until = check_bounds(until if until is not None else self.runtime.now(), "until")
        since = check_bounds(since if since is not None else until - timedelta(days=DEFAULT_DAYS),
                             "since")
        if store is not None and not isinstance(store, (str, tuple, list)):
            raise ValidationError("a store's name or a list of them", field="store")
        stores = (store,) if isinstance(store, str) else tuple(store or ())
        scope = Scope(since, until, self.runtime.timezone, stores)
        self._check_stores(stores)
        return scope

    def _check_stores(self, stores: tuple[str, ...]) -> None:
        """Refuse a store that is neither configured nor named by any stored row.

        A misspelt ``--store`` used to give a report of zeros that looked true.
        A store no longer configured still reports its stored history.
        """
        for name in stores:
            if name in self._known or name in self.runtime.marketplaces:
                continue
            if not isinstance(name, str) or not name.strip() or "\x00" in name:
                raise ValidationError("must be a store's name", field="store")
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:  # no column holds it; the driver raised it bare
                raise ValidationError("is not valid Unicode (a lone surrogate)",
                                      field="store") from None
            with self.runtime.store.session() as session:
                found = any(session.scalar(select(exists().where(column == name)))
                            for column in (OrderRow.marketplace, CaseRow.store,
                                           ReviewRow.marketplace, ReturnRow.marketplace,
                                           FollowUpRow.marketplace))
            if not found:
                raise ValidationError(f"no store {name[:80]!r} is configured or has data",
                                      field="store")
            self._known.add(name)

    def _deadlines(self) -> tuple[timedelta | None, timedelta | None]:
        if self._policy is None:
            return timedelta(hours=48), timedelta(hours=72)
        sla = self._policy().sla
        out = []
        for name in ("merchant_response", "merchant_confirmation"):
            deadline = sla.deadline(name)
            out.append(None if deadline is None else deadline.after)
        return out[0], out[1]

    def section(self, name: str, *, since: datetime | None = None,
                until: datetime | None = None, store: str | tuple[str, ...] | None = None,
                by: str | None = None) -> list[ReportTable]:
        """One section's tables (``returns``, ``logistics``, ``reviews``, ``followups``).

        ``by`` is a grain (``day``, ``week``, ``month``), ``all``, or a column the
        section knows (``store``, ``sku``, ``category``, ``reason``, ``carrier``,
        ``plan``); a table that cannot group by it uses the section's default.

        Raises:
            ValidationError: an unknown section or ``by``, or a bad window.
        """
        if name not in SECTIONS:
            raise ValidationError(f"unknown report {name!r}; choose one of "
                                  f"{', '.join(SECTIONS)}", field="report")
        by = by or _DEFAULT_BY[name]
        if by not in BY[name]:
            raise ValidationError(f"the {name} report cannot group by {by!r}; choose one of "
                                  f"{', '.join(BY[name])}", field="by")
        scope = self.scope(since=since, until=until, store=store)
        with self.runtime.store.session() as session:
            if name == "returns":
                response, refund = self._deadlines()
                return returns.section(session, scope, by, response_deadline=response,
                                       refund_deadline=refund)
            module = {"logistics": logistics, "reviews": reviews, "followups": followups,
                      "cases": cases}[name]
            tables: list[ReportTable] = module.section(session, scope, by)
            return tables

    def html_data(self, *, since: datetime | None = None, until: datetime | None = None,
                  store: str | tuple[str, ...] | None = None,
                  ) -> tuple[Scope, dict[str, list[ReportTable]]]:
        """Every table the HTML report draws, by group (see :func:`render_report`)."""
        scope = self.scope(since=since, until=until, store=store)
        grain = trend_grain(scope)

        def tables(name: str, by: str) -> list[ReportTable]:
            return self.section(name, since=scope.since, until=scope.until,
                                store=scope.stores or None, by=by)

        data = {
            "returns": tables("returns", grain),
            "returns_category": [t for t in tables("returns", "category")
                                 if t.name == "return_rate"],
            "logistics": tables("logistics", "carrier"),
            "logistics_trend": tables("logistics", grain),
            "reviews": tables("reviews", grain),
            "followups": tables("followups", "plan"),
            "followups_trend": tables("followups", grain),
            "cases": tables("cases", "kind"),
            "cases_trend": [t for t in tables("cases", grain) if t.name == "volume"],
        }
        return scope, data

    def html(self, *, since: datetime | None = None, until: datetime | None = None,
             store: str | tuple[str, ...] | None = None, lang: str = "en") -> str:
        """The self-contained HTML report (inline SVG charts, A4-printable), as text.

        Raises:
            ValidationError: ``lang`` is neither ``en`` nor ``zh``, or a bad window.
        """
        words(lang)  # refuse a bad language before any query runs
        scope, data = self.html_data(since=since, until=until, store=store)
        return render_report(data, scope=scope, lang=lang, generated=self.runtime.now())

    def send_weekly(self, *, now: datetime | None = None) -> WeeklyOutcome:
        """Send last week's HTML report through ``[reports] weekly_channel`` to ``weekly_to``.

        Once per week (Monday to Monday in the shop's zone); a later run in the
        same week sends nothing. The worker's ``weekly_report`` tick calls this.
        Off (status ``off``) until both settings are set.

        Raises:
            NotFoundError: the channel is not configured.
            RemoteError: the channel refused or failed (the next run tries again).
            ValidationError: ``now`` is naive; nothing is sent.
        """
        settings = self.runtime.settings.reports
        channel = (self.runtime.channel(settings.weekly_channel)
                   if settings.weekly_channel else None)
        return send_weekly(
            self.runtime,
            lambda since, until, lang: self.html(since=since, until=until, lang=lang),
            channel=channel, to=settings.weekly_to, lang=settings.weekly_lang, now=now)

    def returns(self, **options: Any) -> list[ReportTable]:
        """The returns section (see :mod:`aftersales.reports.returns`)."""
        return self.section("returns", **options)

    def logistics(self, **options: Any) -> list[ReportTable]:
        """The logistics section (see :mod:`aftersales.reports.logistics`)."""
        return self.section("logistics", **options)

    def reviews(self, **options: Any) -> list[ReportTable]:
        """The reviews section (see :mod:`aftersales.reports.reviews`)."""
        return self.section("reviews", **options)

    def cases(self, **options: Any) -> list[ReportTable]:
        """The complaint analysis (投诉分析) section (see :mod:`aftersales.reports.cases`)."""
        return self.section("cases", **options)

    def followups(self, **options: Any) -> list[ReportTable]:
        """The follow-ups section (see :mod:`aftersales.reports.followups`)."""
        return self.section("followups", **options)
