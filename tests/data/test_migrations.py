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
