"""Open the relational database: PostgreSQL when DATABASE_URL is set, else an embedded SQLite file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from kalshi_rl.core.errors import StorageError
from kalshi_rl.data.storage.migrate import current_revision, head_revision, upgrade

_EXAMPLE = "postgresql://user@127.0.0.1:5432/dbname"


def parse_database_url(url: str) -> URL:
    """Return a SQLAlchemy URL that uses psycopg 3 for PostgreSQL, or raise a clear error."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(f"DATABASE_URL is not a database URL (expected e.g. {_EXAMPLE})") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise StorageError(f"DATABASE_URL uses {backend!r}; expected PostgreSQL ({_EXAMPLE})")


def redact(url: URL | str) -> str:
    """Return the URL with any password hidden (safe for logs and messages)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql")
    return parsed.render_as_string(hide_password=True)


def libpq_conninfo(url: URL) -> str:
    """Return a libpq URL (for psycopg's COPY connection) from a SQLAlchemy URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_url(data_dir: Path) -> URL:
    return URL.create("sqlite", database=str(data_dir / "kalshi_rl.sqlite"))


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_db_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def check_connection(engine: Engine) -> None:
    """Raise ``StorageError`` with what to fix when the database cannot be reached."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StorageError(
            f"cannot connect to {redact(engine.url)}: {reason} (is the server running and "
            "DATABASE_URL right?)"
        ) from None
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot use {redact(engine.url)}: {exc}") from None


def open_database(database_url: str | None, data_dir: Path) -> Engine:
    """Return a ready engine: PostgreSQL must already be migrated; SQLite is migrated here."""
    url = parse_database_url(database_url) if database_url else sqlite_url(data_dir)
    engine = create_db_engine(url)
    check_connection(engine)
    if url.get_backend_name() == "sqlite":
        upgrade(engine)
        return engine
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        state = "has no kalshi-rl schema" if current is None else f"is at revision {current}"
        raise StorageError(f"{redact(url)} {state} (expected {head}); run `kalshi-rl db upgrade` first")
    return engine
