"""What every ``aftersales`` command shares: the app, output modes and errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import click
from rich.console import Console
from rich.table import Table

from aftersales.errors import AfterSalesError

__all__ = ["CliState", "aware_datetime", "fail", "output", "pass_app", "pass_state", "table"]

F = TypeVar("F", bound=Callable[..., Any])


class CliState:
    """Options of the top-level command, and the app built from them on first use."""

    def __init__(self, database_url: str | None, as_json: bool) -> None:
        self.database_url = database_url
        self.as_json = as_json
        self.console = Console(stderr=False, highlight=False)
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
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no time zone (add +00:00 or Z)")
    return parsed


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error to stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A rich table with ``columns`` and ``rows`` (values shown with ``str``)."""
    t = Table(title=title, title_justify="left")
    for column in columns:
        t.add_column(column)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    return t


def output(state: CliState, data: Any, render: Callable[[], Any] | None = None) -> None:
    """Print ``data`` as JSON with ``--json``, else what ``render()`` returns (or ``data``)."""
    if state.as_json:
        click.echo(json.dumps(data, default=str, ensure_ascii=False, indent=2))
    else:
        state.console.print(render() if render is not None else data)


class ErrorsAsLines(click.Group):
    """A group that turns library errors into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AfterSalesError as exc:
            fail(str(exc))
        return None
