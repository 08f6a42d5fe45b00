"""The Alembic migrations build exactly the schema the SQLAlchemy metadata defines."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from kalshi_rl.data.storage.database import create_db_engine, parse_database_url, sqlite_url
from kalshi_rl.data.storage.migrate import current_revision, head_revision, upgrade
from kalshi_rl.data.storage.schema import ORDERBOOK_TABLES, REGISTRY_TABLES, metadata


def _diff(engine, target: MetaData) -> list[object]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), target)


@pytest.mark.postgres
def test_postgres_migrations_match_the_metadata(pg_url: str) -> None:
    engine = create_db_engine(parse_database_url(pg_url))
    assert upgrade(engine) == head_revision(engine)
    assert _diff(engine, metadata) == []
    assert set(inspect(engine).get_table_names()) >= {t.name for t in (*ORDERBOOK_TABLES, *REGISTRY_TABLES)}


def test_sqlite_holds_the_registry_tables_only(tmp_path: Path) -> None:
    engine = create_db_engine(sqlite_url(tmp_path))
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    registry_only = MetaData()
    for table in REGISTRY_TABLES:
        table.to_metadata(registry_only)
    diffs = [d for d in _diff(engine, registry_only) if not (isinstance(d, tuple) and d[0] == "remove_table")]
    assert diffs == []
    assert not set(inspect(engine).get_table_names()) & {t.name for t in ORDERBOOK_TABLES}


@pytest.mark.postgres
def test_migrations_downgrade_cleanly(pg_url: str) -> None:
    engine = create_db_engine(parse_database_url(pg_url))
    upgrade(engine)
    from alembic import command

    from kalshi_rl.data.storage.migrate import alembic_config

    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}


def _open_after(barrier, database_url: str | None, data_dir: str) -> None:  # type: ignore[no-untyped-def]
    """``open_database`` (SQLite: migrates) or, for PostgreSQL, ``kalshi-rl db upgrade``."""
    from kalshi_rl.data.storage.database import open_database

    barrier.wait()
    if database_url is None:
        open_database(None, Path(data_dir))
    else:
        upgrade(create_db_engine(parse_database_url(database_url)))


def _open_at_once(database_url: str | None, data_dirs: list[Path], processes: int = 3) -> list[int | None]:
    """Exit codes of ``processes`` processes per directory opening it at the same instant."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    codes = []
    for data_dir in data_dirs:
        barrier = context.Barrier(processes)
        workers = [
            context.Process(target=_open_after, args=(barrier, database_url, str(data_dir)))
            for _ in range(processes)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
            codes.append(worker.exitcode)
    return codes


def test_commands_that_start_together_on_a_new_data_dir_all_open_it(tmp_path: Path) -> None:
    """Two ``tune`` workers (or ``train`` beside ``serve``) started at once on a fresh data dir
    both migrate its SQLite file: without a lock both created ``alembic_version`` and one died
    with 'table alembic_version already exists'."""
    dirs = [tmp_path / f"d{i}" for i in range(4)]
    for data_dir in dirs:
        data_dir.mkdir()
    assert _open_at_once(None, dirs) == [0] * 12
    for data_dir in dirs:
        engine = create_db_engine(sqlite_url(data_dir))
        assert current_revision(engine) == head_revision(engine)


@pytest.mark.postgres
def test_db_upgrades_started_together_on_postgres_all_succeed(pg_url: str, tmp_path: Path) -> None:
    """compose's one-shot ``db upgrade`` beside a second one (two replicas, a redeploy)."""
    assert _open_at_once(pg_url, [tmp_path]) == [0] * 3
    engine = create_db_engine(parse_database_url(pg_url))
    assert current_revision(engine) == head_revision(engine)
    engine.dispose()
