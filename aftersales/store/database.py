"""The store: one engine, short transactions, SQLAlchemy errors wrapped at the edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from aftersales.errors import (
    ConcurrentUpdateError,
    ConfigurationError,
    DatabaseUnavailableError,
    StorageError,
)
from aftersales.redact import redact_text
from aftersales.store import guard
from aftersales.store.nul import install_nul_free_text, nul_free_json_dumps
from aftersales.store.tables import Base

__all__ = ["MIGRATION_LOCK", "Store", "migration_lock"]

#: The PostgreSQL advisory lock key the migrations run under (``aftersal`` in ASCII).
MIGRATION_LOCK = 0x6166746572736C

_MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is kept on purpose: reads run outside a
    # write transaction and a write begins one, so a write checks the version
    # column against the latest commit and a lost race is a ConcurrentUpdateError
    # instead of a stale-snapshot failure. Writers queue on busy_timeout.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Hold the lock migrations run under, on ``connection``, for the block.

    PostgreSQL: a session advisory lock (other processes wait for it; the
    lock ends with the block, or with the connection if the process dies).
    SQLite: ``BEGIN IMMEDIATE``, the database's write lock, which the
    migration's own transaction then commits; other processes wait on the
    busy timeout. Other databases: no lock.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()
        try:
            yield
        finally:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
    elif dialect == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.rollback()  # a no-op once the migration committed
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        yield


#: The first bytes of every SQLite database file.
_SQLITE_HEADER = b"SQLite format 3\x00"


#: libpq's ``sslmode`` values (a typo there otherwise fails every connection).
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _check_libpq_options(engine: Engine) -> None:
    """Refuse a PostgreSQL URL whose libpq options cannot work, as configuration (status 2).

    An unknown option (``?sslmod=require``) or an ``sslmode`` libpq does not
    know fails every connection, and did so first as a "migration failed"
    storage error (status 1), which reads like an outage, not a typo.
    Names the option, never the URL (it may hold the password).
    """
    import psycopg
    from psycopg.conninfo import make_conninfo

    _, options = engine.dialect.create_connect_args(engine.url)
    try:
        # the driver's own arguments (an adapters ``context``) are not libpq's
        make_conninfo("", **{k: v for k, v in options.items() if isinstance(v, str | int)})
    except psycopg.ProgrammingError as exc:
        raise ConfigurationError(f"database url: {redact_text(str(exc))[:200]}") from None
    sslmode = options.get("sslmode")
    if sslmode is not None and sslmode not in _SSLMODES:
        raise ConfigurationError(f"database url: sslmode must be one of {', '.join(_SSLMODES)}")


def _check_sqlite_file(engine: Engine) -> None:
    """Refuse a SQLite file that cannot be a database, as configuration (status 2).

    A folder, a file in a folder that does not exist, or a file that is not
    SQLite's would otherwise fail later as a "migration failed" storage
    error, which reads like a failed run rather than a wrong setting.
    """
    url = engine.url
    name = url.database
    if not name or name == ":memory:" or url.query.get("uri") or name.startswith("file:"):
        return
    path = Path(name)
    if path.is_dir():
        raise ConfigurationError(f"database url names a folder, not a file: {name[:200]}")
    if not path.parent.is_dir():
        raise ConfigurationError(f"database url: the folder of {name[:200]} does not exist")
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return  # a new database
    except OSError as exc:
        raise ConfigurationError(f"database url: cannot read {name[:200]}: {exc.strerror}") \
            from None
    if head and head != _SQLITE_HEADER:
        raise ConfigurationError(f"database url: {name[:200]} is not a SQLite database")


def _refuse_unopenable(engine: Engine, exc: BaseException) -> None:
    """Refuse a SQLite file that cannot be opened or created, naming it (status 2).

    A folder that takes no new file (read-only, not ours) passes
    :func:`_check_sqlite_file` and fails at the first connection, where
    SQLite's "unable to open database file" names no file and read like a
    failed migration.
    """
    message = driver_message(exc)
    if engine.dialect.name == "sqlite" and message == "unable to open database file":
        name = engine.url.database or ""
        raise ConfigurationError(f"database url: cannot open or create {name[:200]}: "
                                 f"{message}") from None


def _refuse_unknown_revision(connection: Connection, known: set[str]) -> None:
    """Refuse a database another, newer aftersales migrated, saying so.

    Alembic's own words ("Can't locate revision identified by '0099'") do
    not tell a shop that the schema is ahead of the installed version.
    """
    from alembic.runtime.migration import MigrationContext

    current = MigrationContext.configure(connection).get_current_heads()
    ahead = sorted(r for r in current if r not in known)
    if ahead:
        raise ConfigurationError(
            f"the database is at schema revision {', '.join(ahead)[:80]}, which this "
            f"aftersales does not know (newest: {max(known)}): a newer aftersales migrated "
            "it; run that version, or upgrade this one")


def _refuse_going_back(connection: Connection, script: Any, revision: str) -> None:
    """Refuse an upgrade to a revision the database is already past, saying so.

    Alembic does nothing then, and ``db upgrade --revision 0002`` on a
    database at 0003 would report "database at 0002": the schema is not
    taken back (there is no downgrade command), and it must not look so.
    """
    from alembic.runtime.migration import MigrationContext

    if revision in ("head", "heads"):
        return
    current = MigrationContext.configure(connection).get_current_heads()
    if revision in current:
        return
    past = {r.revision for head in current for r in script.iterate_revisions(head, "base")}
    if revision in past:
        raise ConfigurationError(
            f"the database is at schema revision {', '.join(current)[:80]}, past "
            f"{revision[:80]}; upgrades never take a schema back")


def driver_message(exc: BaseException) -> str:
    """The database's own words for a failure, fit for an error text: the
    driver's first line, masked and cut to 300 characters.

    The SQL statement, its parameters and PostgreSQL's ``DETAIL`` lines
    (``Failing row contains (…)``, ``Key (…)=(…)``) are left out: they hold
    the row's values, which may be a buyer's name, phone or address.
    """
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return redact_text(first)[:300]


#: libpq's connection settings the store sets unless the URL or ``connect_args``
#: give them. Without them a server that accepts the connection and never answers
#: (a hung proxy, a stopped VM behind a live load balancer) holds the caller
#: forever, and a connection a firewall dropped silently makes the next query (or
#: the pool's ping) wait for the kernel's retransmissions, about 15 minutes.
SERVER_TIMEOUTS: dict[str, int] = {
    "connect_timeout": 10,  # seconds to a usable connection, login included
    "keepalives": 1,
    "keepalives_idle": 60,  # seconds idle before the first probe
    "keepalives_interval": 10,
    "keepalives_count": 5,
    "tcp_user_timeout": 60_000,  # ms sent data may stay unacknowledged
}


#: The PostgreSQL drivers that take libpq's settings.
_LIBPQ_DRIVERS = ("psycopg", "psycopg2")


def server_timeouts(url: str, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` with :data:`SERVER_TIMEOUTS` added where neither it nor ``url`` sets one."""
    query = make_url(url).query
    return {**{k: v for k, v in SERVER_TIMEOUTS.items() if k not in query}, **given}


class Store:
    """The database behind an :class:`~aftersales.app.AfterSales`.

    Args:
        url: a SQLAlchemy URL; ``sqlite:///aftersales.db`` is the embedded
            default, ``postgresql+psycopg://…`` the scale-out one.
        echo: log SQL through SQLAlchemy's own logger (off by default).
        engine_options: passed to :func:`~sqlalchemy.create_engine`. On a
            server database ``pool_pre_ping`` is on unless given: a pooled
            connection a server restart closed is replaced as it is taken,
            instead of failing the operation that took it; and libpq's
            :data:`SERVER_TIMEOUTS` are set unless the URL or ``connect_args``
            give them, so an unanswering server or a silently dropped
            connection fails in seconds instead of holding the caller.

    Every unit of work runs in :meth:`session`, which commits on success and
    rolls back on any error, so nothing is ever half-written.
    """

    def __init__(self, url: str, *, echo: bool = False, **engine_options: Any) -> None:
        if not url or "://" not in url:
            raise ConfigurationError("database url must look like sqlite:///file.db")
        if "\x00" in url or "%00" in url:
            raise ConfigurationError("database url contains a NUL character")
        self.url = url
        if url.startswith(("postgresql", "postgres")):
            engine_options.setdefault("json_serializer", nul_free_json_dumps)
        # A failed statement's text would otherwise quote its parameters (a
        # buyer's name, phone, address) into the error, its cause and the logs.
        engine_options.setdefault("hide_parameters", True)
        if not url.startswith("sqlite"):
            # A server restart (or a proxy's idle cut) closes every pooled
            # connection; tested at checkout, a dead one is replaced before
            # the operation uses it, instead of failing that operation (a
            # worker tick, a CLI call). SQLite's file connections never go
            # stale, so it pays nothing.
            engine_options.setdefault("pool_pre_ping", True)
        try:
            if make_url(url).get_driver_name() in _LIBPQ_DRIVERS:
                engine_options["connect_args"] = server_timeouts(
                    url, engine_options.get("connect_args") or {})
            self.engine: Engine = create_engine(url, echo=echo, **engine_options)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise ConfigurationError(f"cannot use database url: {redact_text(str(exc))}") from exc
        if self.engine.dialect.name == "sqlite":
            _check_sqlite_file(self.engine)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.engine.dialect.driver == "psycopg":
            _check_libpq_options(self.engine)
            event.listen(self.engine, "connect", install_nul_free_text)
        guard.watch(self.engine)  # write_open() can tell a push made inside a write
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @property
    def in_memory(self) -> bool:
        """True for an in-memory SQLite database private to the connection that made it.

        Every thread of a pool gets its own, empty one, so work spread over
        threads (the worker's scheduler) cannot use it. A shared-cache one
        (``file:name?mode=memory&cache=shared``) is shared, so not this.
        """
        if not self.is_sqlite:
            return False
        url = self.engine.url
        name = url.database or ""
        if "cache=shared" in name or url.query.get("cache") == "shared":
            return False
        return name in ("", ":memory:") or "mode=memory" in name or \
            url.query.get("mode") == "memory"

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded SQLite backend (one writer at a time)."""
        return self.dialect == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: commit when the block ends, roll back on any error.

        Raises:
            ConcurrentUpdateError: an optimistic-lock check failed.
            DatabaseUnavailableError: the database cannot be used now (locked,
                read-only, unreachable, full): a StorageError too.
            StorageError: any other database failure, in the driver's first line
                (not chained: the driver's error repeats the failing row's values).
        """
        session = self._sessions()
        try:
            yield session
            session.commit()
        except StaleDataError as exc:
            session.rollback()
            raise ConcurrentUpdateError(
                "the row was changed by someone else; reload and try again"
            ) from exc
        except IntegrityError as exc:
            session.rollback()
            raise StorageError(f"integrity error: {driver_message(exc)}") from None
        except OperationalError as exc:
            session.rollback()
            raise DatabaseUnavailableError(f"database error: {driver_message(exc)}") from None
        except SQLAlchemyError as exc:
            session.rollback()
            raise StorageError(f"database error: {driver_message(exc)}") from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def upgrade(self, revision: str = "head") -> None:
        """Apply the packaged Alembic migrations up to ``revision``, under a lock.

        Any number of processes may start at once on one database: each
        takes the migration lock (a session advisory lock on PostgreSQL,
        the write lock on SQLite) before reading the schema version, so one
        migrates and the others then find the schema current. A database
        already at the head is seen so without the lock: a process starting
        while another holds a write transaction (SQLite's one writer) does not
        wait for it.

        Raises:
            ConfigurationError: ``revision`` is not a known revision.
            StorageError: the database failed.
        """
        from alembic import command
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        cfg = self.alembic_config()
        script = ScriptDirectory.from_config(cfg)
        known = {s.revision for s in script.walk_revisions()}
        if revision not in known | {"head", "heads"}:
            raise ConfigurationError(
                f"unknown revision {revision[:80]!r}; known: head, {', '.join(sorted(known))}")
        try:
            if revision in ("head", "heads") and self._at(set(script.get_heads())):
                return
            with self.engine.connect() as connection, migration_lock(connection):
                _refuse_unknown_revision(connection, known)
                _refuse_going_back(connection, script, revision)
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, revision)
        except CommandError as exc:
            raise ConfigurationError(
                f"cannot upgrade to revision {revision[:80]!r}: {redact_text(str(exc))[:200]}"
            ) from None
        except (SQLAlchemyError, OperationalError) as exc:
            _refuse_unopenable(self.engine, exc)
            raise StorageError(f"migration failed: {driver_message(exc)}") from None

    def _at(self, heads: set[str]) -> bool:
        """Whether the database's schema version is ``heads`` (a read; no lock taken)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return False
            return set(MigrationContext.configure(connection).get_current_heads()) == heads

    def alembic_config(self) -> Any:
        """The Alembic configuration for this store's database."""
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        cfg.set_main_option("path_separator", "os")
        cfg.attributes["engine"] = self.engine
        return cfg

    def create_all(self) -> None:
        """Create every table straight from the models (tests and throwaway databases)."""
        Base.metadata.create_all(self.engine)

    def table_names(self) -> list[str]:
        """The tables that exist in the database now."""
        return sorted(inspect(self.engine).get_table_names())

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
