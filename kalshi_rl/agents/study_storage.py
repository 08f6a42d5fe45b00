"""Where Optuna keeps studies: the project's own database, beside the model registry.

Optuna's ``RDBStorage`` creates its own tables (``studies``, ``trials``, ``trial_params``,
``trial_heartbeats``, ...) and versions them with Alembic -- in a table named
``alembic_version``, the name our schema's Alembic history uses too. Sharing one namespace
would let each history take the other's revision for its own (``kalshi-rl db upgrade`` would
find a revision it does not know, Optuna a schema it calls incompatible), so they are kept
apart:

- PostgreSQL (``DATABASE_URL``): the same database, in a schema of its own, ``optuna``
  (its connections' ``search_path`` is that schema alone). ``kalshi-rl db upgrade`` only
  ever sees ``public``; any number of workers on any number of machines share the studies.
- SQLite (the default): SQLite has no schemas, so the studies live in a file beside the
  registry's: ``kalshi_rl.sqlite`` -> ``kalshi_rl.optuna.sqlite``.

The first use creates Optuna's tables; two workers starting at once on an empty database
would race to create them (and to create the same study), so that setup runs under a lock
shared by every worker: a PostgreSQL advisory lock, or an ``flock`` on a file beside the
SQLite one.
"""

from __future__ import annotations

import contextlib
import fcntl
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import CreateSchema

from kalshi_rl.core.errors import ConfigError, StorageError
from kalshi_rl.data.storage.database import (
    check_connection,
    create_db_engine,
    parse_database_url,
    redact,
    sqlite_url,
)

if TYPE_CHECKING:
    import optuna
    from optuna.storages import RDBStorage
    from optuna.trial import FrozenTrial

SCHEMA = "optuna"
_ADVISORY_LOCK = 0x6B72_6C74_756E_65  # "krltune": one key for every kalshi-rl tune worker

StaleTrialCallback = Callable[["optuna.Study", "FrozenTrial"], None]


class StudyStorage:
    """The studies' storage for one registry database (see the module docstring)."""

    def __init__(self, database_url: str | None, data_dir: Path) -> None:
        registry = parse_database_url(database_url) if database_url else sqlite_url(data_dir)
        self.postgres = registry.get_backend_name() == "postgresql"
        if self.postgres:
            self.url = registry
        else:
            if not registry.database or registry.database == ":memory:":
                raise ConfigError("tune keeps its studies beside the registry: it needs a SQLite file")
            path = Path(registry.database)
            self.url = URL.create("sqlite", database=str(path.with_name(f"{path.stem}.optuna{path.suffix}")))

    def describe(self) -> str:
        """Where the studies are, password hidden (for messages)."""
        where = redact(self.url)
        return f"{where} (schema {SCHEMA})" if self.postgres else where

    def exists(self) -> bool:
        """Whether any study was ever stored here (reading must not create Optuna's tables)."""
        if not self.postgres:
            return Path(str(self.url.database)).is_file()
        engine = create_db_engine(self.url)
        try:
            check_connection(engine)
            with engine.connect() as connection:
                found = connection.execute(
                    text(
                        "SELECT 1 FROM information_schema.tables WHERE table_schema = :s AND table_name = 'studies'"
                    ),
                    {"s": SCHEMA},
                ).first()
            return found is not None
        finally:
            engine.dispose()

    @contextlib.contextmanager
    def setup_lock(self) -> Iterator[None]:
        """Hold the lock every worker takes to create tables and studies (module docstring)."""
        if self.postgres:
            engine = create_db_engine(self.url)
            try:
                check_connection(engine)
                with engine.connect() as connection:
                    connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                    # A session lock: the server drops it when this connection ends, however it ends.
                    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK})
                    try:
                        connection.execute(CreateSchema(SCHEMA, if_not_exists=True))
                        yield
                    finally:
                        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK})
            finally:
                engine.dispose()
            return
        path = Path(str(self.url.database))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(f"{path.name}.lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed, or the holder dies
            yield

    def open(
        self, heartbeat_seconds: int | None = None, on_stale_trial: StaleTrialCallback | None = None
    ) -> RDBStorage:
        """Optuna's storage here; with a heartbeat, a trial whose worker stopped beating for two
        intervals is marked failed by the next worker to start a trial (``on_stale_trial`` then
        runs for it). Call under ``setup_lock`` when the tables may not exist yet."""
        import optuna
        from optuna.exceptions import ExperimentalWarning
        from optuna.storages import RDBStorage

        # The CLI reports every trial itself, a failed one with its reason: Optuna's own warning
        # would add a traceback to each (a stopped worker's trial is "failed" by design).
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        if self.postgres:
            connect_args: dict[str, object] = {"options": f"-c search_path={SCHEMA}", "connect_timeout": 5}
            engine_kwargs: dict[str, object] = {"connect_args": connect_args, "pool_pre_ping": True}
        else:  # several local workers share the file: wait for its lock rather than fail
            engine_kwargs = {"connect_args": {"timeout": 60}}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)  # the heartbeat is "experimental"
                return RDBStorage(
                    self.url.render_as_string(hide_password=False),
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_seconds,
                    heartbeat_stale_trial_callback=on_stale_trial if heartbeat_seconds else None,
                )
        except RuntimeError as exc:  # Optuna's "no longer compatible with the table schema"
            raise StorageError(f"cannot use the studies at {self.describe()}: {exc}") from None
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise StorageError(f"cannot open the studies at {self.describe()}: {reason}") from None
