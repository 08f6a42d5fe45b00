"""Run the Alembic migrations that create and evolve the schema (``kalshi-rl db upgrade``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

_SCRIPTS = Path(__file__).resolve().parent.parent / "migrations"
_PG_LOCK_KEY = 0x6B72_6C6D  # "krlm": the advisory lock that serialises kalshi-rl migrations


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database behind ``engine`` to ``revision``; return the new revision."""
    config = alembic_config(engine)
    with _sqlite_file_lock(engine), engine.begin() as connection:
        _pg_lock(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return current_revision(engine)


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock on ``<database>.migrate.lock`` while migrating a SQLite file.

    Commands started together on a new data dir (two ``tune`` workers, ``train`` beside
    ``serve``) would otherwise both see no schema and both create it; SQLite runs Alembic's
    DDL outside a transaction, so its own locking does not prevent that.
    """
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl  # POSIX, where kalshi-rl runs (Linux, macOS, its Docker image)

    with open(f"{database}.migrate.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pg_lock(connection: Connection) -> None:
    """Serialise concurrent ``db upgrade`` runs on PostgreSQL (released at commit)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
