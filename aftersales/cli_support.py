"""What every ``aftersales`` command shares: the app, output modes, progress and errors.

Exit statuses, the same for every command (what cron and CI read):

- ``0``: everything asked for was done;
- ``1``: the run completed with failures (a tick raised, rows were in error,
  a marketplace failed to sync, the remote side refused); the output names them;
- ``2``: the input or configuration cannot be used (a bad option, file,
  setting or id); nothing was written.

Errors are one line on stderr (``error: ...``), or one JSON object
(``{"error": ..., "type": ..., "exit_code": ...}``) when ``--json`` is on.
Everything printed for a terminal passes :func:`clean_text`, so stored text
(a buyer's note) cannot carry escape codes to the screen.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn, TypeVar, cast

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aftersales.errors import (
    AdapterNotFoundError,
    AfterSalesError,
    ConfigurationError,
    NotFoundError,
    RemoteNotFoundError,
    ValidationError,
)
from aftersales.redact import environment_secrets, redact_text

__all__ = [
    "EXIT_FAILURES",
    "EXIT_OK",
    "EXIT_UNUSABLE",
    "CliState",
    "ErrorsAsLines",
    "Steps",
    "add_json_option",
    "aware_datetime",
    "clean_text",
    "exit_code_for",
    "fail",
    "finish",
    "finish_stores",
    "json_text",
    "known_store",
    "output",
    "pass_app",
    "pass_state",
    "steps",
    "stored_stores",
    "stores_with",
    "table",
]

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_UNUSABLE = 2

#: Errors that mean "this input or configuration cannot be used" (exit 2).
_UNUSABLE: tuple[type[AfterSalesError], ...] = (
    ConfigurationError, ValidationError, AdapterNotFoundError, NotFoundError,
    RemoteNotFoundError)

# C0 and C1 controls but newline, DEL, and the invisible reordering marks that
# can make shown text differ from the stored text.
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def json_text(data: Any, *, indent: int | None = None) -> str:
    """``data`` as JSON for a terminal or a pipe: non-ASCII text stays readable,
    but bidi controls, zero-width characters and C1 controls are ``\\u`` escapes.

    Such characters would reorder or hide what a terminal shows; escaped,
    every JSON reader still decodes the same text. They can only be inside
    strings, so escaping them keeps the document valid.
    """
    text = json.dumps(data, default=str, ensure_ascii=False, indent=indent)
    return _CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def clean_text(value: object) -> str:
    """``str(value)`` safe for a terminal: control characters and escape codes removed.

    A tab becomes a space; a newline stays.
    """
    return _CONTROLS.sub(lambda m: " " if m.group() == "\t" else "", str(value))


def exit_code_for(exc: BaseException) -> int:
    """The exit status for an error: 2 for unusable input or configuration, else 1."""
    return EXIT_UNUSABLE if isinstance(exc, _UNUSABLE) else EXIT_FAILURES


class CliState:
    """Options of the top-level command, and the app built from them on first use."""

    def __init__(self, database_url: str | None, as_json: bool) -> None:
        self.database_url = database_url
        self.as_json = as_json
        out = Console(stderr=False, highlight=False)
        # Piped output is read by programs: never cut a table to 80 columns.
        self.console = out if out.is_terminal else Console(highlight=False, width=10_000)
        self.err = Console(stderr=True, highlight=False)
        self._app: Any = None

    @property
    def app(self) -> Any:
        """The :class:`~aftersales.app.AfterSales` for this invocation."""
        if self._app is None:
            from aftersales.app import AfterSales

            self._app = AfterSales(self.database_url)
        return self._app


pass_state = click.make_pass_decorator(CliState)


def pass_app(fn: F) -> F:
    """Give the command the app as its first argument."""

    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        state = ctx.find_object(CliState)
        assert state is not None
        return ctx.invoke(fn, state.app, *args, **kwargs)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return cast(F, wrapper)


def aware_datetime(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> datetime | None:
    """Parse an ISO 8601 time that carries a zone (a click option callback)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{clean_text(value)!r} is not an ISO 8601 time (e.g. 2026-01-05T10:00+00:00)"
        ) from None
    if parsed.tzinfo is None:
        raise click.BadParameter(f"{clean_text(value)!r} has no time zone (add +00:00 or Z)")
    return parsed


def _one_line(message: str) -> str:
    return " ".join(clean_text(message).split())


def _emit_error(message: str, code: int, as_json: bool, kind: str = "error") -> NoReturn:
    text = _one_line(message)
    if as_json:
        click.echo(json.dumps({"error": text, "type": kind, "exit_code": code},
                              ensure_ascii=False), err=True)
    else:
        click.echo(f"error: {text}", err=True)
    sys.exit(code)


def _json_on() -> bool:
    ctx = click.get_current_context(silent=True)
    state = ctx.find_object(CliState) if ctx is not None else None
    return bool(state is not None and state.as_json)


def fail(message: str, code: int = EXIT_FAILURES) -> NoReturn:
    """Print a one-line error to stderr (JSON with ``--json``) and exit with ``code``."""
    _emit_error(message, code, _json_on())


def finish(failures: int) -> None:
    """End the command with status 1 when it completed with ``failures`` (else 0)."""
    if failures:
        click.get_current_context().exit(EXIT_FAILURES)


def known_store(app: Any, store: str | None, *, option: str = "--store",
                stored: Callable[[], Iterable[str]] | None = None,
                labels: bool = False) -> str | None:
    """``store`` when it names a configured store, or one ``stored`` finds in the database.

    A filter naming no store (a typo) listed nothing and exited 0, as if
    the store had nothing; a command acting for a store wrote rows no
    store would ever match. ``stored`` gives the store names the area's
    rows hold (a store since removed from the configuration still lists).
    ``labels``: with no store configured at all, the names are the shop's
    own labels (complaint cases taken by phone) and any passes. ``None``
    passes through.

    Raises:
        click.BadParameter: an unknown name (status 2), naming ``option``.
    """
    from aftersales.naming import shown

    if store is None:
        return None
    configured = list(app.marketplaces)
    if labels and not configured:
        return store
    if store in configured or (stored is not None and store in set(stored())):
        return store
    known = ", ".join(shown(n) for n in configured) or "none"
    raise click.BadParameter(f"no store {shown(store)} (configured: {known[:200]})",
                             param_hint=f"'{option}'")


def stored_stores(app: Any, *columns: Any) -> Callable[[], list[str]]:
    """For :func:`known_store`: the distinct store names held in ``columns``."""
    from sqlalchemy import select

    def names() -> list[str]:
        with app.store.session() as session:
            return [str(n) for column in columns
                    for n in session.scalars(select(column).distinct()) if n is not None]

    return names


def stores_with(app: Any, capability: Any, store: str | None = None) -> list[str]:
    """The configured stores that declare ``capability`` (only ``store`` when given).

    Raises:
        click.UsageError: no marketplace is configured at all, or none of
            them (or not ``store``) can do ``capability`` (a cron job
            syncing nothing must not look like one that synced).
        NotFoundError: ``store`` is not a configured store (status 2).
    """
    from aftersales.naming import shown

    if not app.marketplaces:
        raise click.UsageError(
            "no marketplaces configured; set AFTERSALES_MARKETPLACES=sandbox,… or [stores.NAME]")
    known_store(app, store)
    names = [name for name, market in app.marketplaces.items()
             if (store is None or name == store) and capability in market.capabilities]
    if not names:
        what = str(getattr(capability, "value", capability)).replace("_", " ")
        if store is not None:
            raise click.UsageError(f"store {shown(store)} cannot {what}")
        configured = ", ".join(shown(n) for n in app.marketplaces)
        raise click.UsageError(f"no configured store can {what} (configured: {configured[:200]})")
    return names


def finish_stores(state: CliState, report: Any, title: str, columns: Sequence[str],
                  *, undelivered: Mapping[str, str] | None = None) -> None:
    """Print a per-store sync's counts and failures; status 1 when a store failed.

    ``report`` is a :class:`~aftersales.ticks.StoresReport`. With ``--json``
    the document is the counts by store, plus ``reasons`` (store → error)
    when any failed. ``undelivered`` (channel → what failed) names what the
    sync raised but could not deliver: it is in the document as
    ``undelivered``, printed under the table, and makes the status 1 too.
    """
    data: dict[str, Any] = dict(report.counts)
    if report.reasons:
        data["reasons"] = dict(report.reasons)
    if undelivered:
        data["undelivered"] = dict(undelivered)
    rows = [*sorted(report.counts.items()),
            *((name, f"failed: {reason}") for name, reason in report.reasons.items())]
    suffix = f"; {report.failed} store(s) failed: {', '.join(report.reasons)}" \
        if report.reasons else ""

    def render() -> Any:
        shown = table(title + suffix, columns, rows)
        if not undelivered:
            return shown
        from rich.console import Group

        return Group(shown, *(Text(clean_text(f"not delivered through {name}: {what}"))
                              for name, what in undelivered.items()))

    output(state, data, render)
    finish(report.failed + len(undelivered or {}))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A rich table with ``columns`` and ``rows``, every value shown whole.

    Values are plain text (never rich markup) with control characters
    removed; a column too wide folds onto further lines instead of being cut.
    """
    t = Table(title=clean_text(title), title_justify="left")
    cells = [["" if v is None else clean_text(v) for v in row] for row in rows]
    for i, column in enumerate(columns):
        widest = max((len(r[i]) for r in cells if i < len(r)), default=0)
        # The first column is an id: kept on one line, whole.
        t.add_column(column, overflow="fold", no_wrap=i == 0,
                     min_width=min(widest, 60) if i == 0 else None)
    for row in cells:
        t.add_row(*(Text(v) for v in row))
    return t


def output(state: CliState, data: Any, render: Callable[[], Any] | None = None) -> None:
    """Print ``data`` as JSON with ``--json``, else what ``render()`` returns (or ``data``).

    Text is printed as it is (no rich markup), without control characters.
    """
    if state.as_json:
        click.echo(json_text(data, indent=2))
        return
    shown = render() if render is not None else data
    if isinstance(shown, str | int | float | dict | list):
        shown = Text(clean_text(shown))
    state.console.print(shown)


class Steps:
    """Progress of a long command: a bar on a terminal, a plain line per step elsewhere.

    Call :meth:`advance` after each step; ``total`` (if known) sizes the bar.
    Lines go to stderr; with ``--json`` there are none, so a program reading
    the output sees only the JSON document.
    """

    def __init__(self, state: CliState, label: str, total: int | None = None,
                 *, every: float = 0.0, unit: str = "") -> None:
        self.label = label
        self.unit = unit
        self.total = total
        self.done = 0
        self._state = state
        self._every = every
        self._last = 0.0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Steps:
        if self._state.err.is_terminal and not self._state.as_json:
            from rich.progress import BarColumn, Progress, TextColumn

            self._bar = Progress(TextColumn(clean_text(self.label)), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"),
                                 TextColumn("{task.description}"),
                                 console=self._state.err, transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task("", total=self.total)
        return self

    def advance(self, count: int = 1, detail: str = "", *, completed: int | None = None) -> None:
        """Count ``count`` more done (or set ``completed``) and show ``detail``."""
        self.done = completed if completed is not None else self.done + count
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, description=clean_text(detail))
            return
        if self._state.as_json:
            return
        now = time.monotonic()
        if self._every and now - self._last < self._every:
            return
        self._last = now
        of = f"/{self.total}" if self.total is not None else ""
        extra = f" {clean_text(detail)}" if detail else ""
        click.echo(f"{clean_text(self.label)}: {self.done}{of}{self.unit}{extra}", err=True)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


@contextmanager
def steps(state: CliState, label: str, total: int | None = None,
          *, every: float = 0.0, unit: str = "") -> Iterator[Steps]:
    """A :class:`Steps` for the ``with`` block."""
    with Steps(state, label, total, every=every, unit=unit) as progress:
        yield progress


def _set_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    state = ctx.find_object(CliState)
    if value and state is not None:
        state.as_json = True


def add_json_option(command: click.Command) -> None:
    """Accept ``--json`` on ``command`` and, for a group, on every command under it."""
    if not any("--json" in getattr(p, "opts", ()) for p in command.params):
        command.params.append(click.Option(
            ["--json"], is_flag=True, expose_value=False, callback=_set_json,
            help="Machine-readable JSON output (errors too)."))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_json_option(sub)


def _json_in(args: Sequence[str]) -> bool:
    head = list(args)
    if "--" in head:
        head = head[: head.index("--")]
    return "--json" in head


def _log_to_stderr(as_json: bool) -> Callable[[], None]:
    """Give a command run as a program a masked stderr log handler; returns its undo.

    Without one, Python prints WARNING records through ``logging.lastResort``:
    unmasked, and as plain text among the JSON lines of ``--json``. The
    handler masks every line (:class:`~aftersales.redact.RedactingFilter`)
    and writes one JSON object a line with ``--json``; WARNING and above, as
    before (``aftersales worker --log-level`` chooses its own). A process
    that configured logging itself (a backend, a test run) keeps its own.
    """
    import logging

    from aftersales.logconfig import JsonFormatter
    from aftersales.redact import RedactingFilter

    root = logging.getLogger()
    if root.handlers:
        return lambda: None
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.WARNING)
    handler.set_name("aftersales")
    root.addHandler(handler)
    return lambda: root.removeHandler(handler)


class ErrorsAsLines(click.Group):
    """A group whose every error is one line (JSON with ``--json``) with its exit status.

    Library errors: 2 for unusable input or configuration, else 1 (see
    :func:`exit_code_for`); usage errors: 2; anything unexpected: 1, one
    line naming the exception.
    """

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """Run the command; turn every error into one line and an exit status."""
        argv = list(sys.argv[1:] if args is None else args)
        as_json = _json_in(argv)
        restore = _log_to_stderr(as_json)
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False,
                                  **extra)
        except click.exceptions.Abort:
            _emit_error("aborted", 130, as_json, "Abort")
        except click.ClickException as exc:
            _emit_error(exc.format_message(), EXIT_UNUSABLE, as_json, type(exc).__name__)
        except click.exceptions.Exit as exc:  # pragma: no cover - click returns it
            result = exc.exit_code
        finally:
            restore()
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else EXIT_OK)

    def invoke(self, ctx: click.Context) -> Any:
        """Invoke the subcommand, mapping library and unexpected errors to exit statuses."""
        try:
            return super().invoke(ctx)
        except AfterSalesError as exc:
            fail(str(exc), exit_code_for(exc))
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            # the environment's credentials too: an error raised before any client
            # registered its own may quote one bare
            shown = redact_text(str(exc), environment_secrets())[:300]
            fail(f"unexpected {type(exc).__name__}: {shown}")
        return None
