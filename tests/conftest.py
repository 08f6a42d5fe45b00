"""Shared fixtures: the real captures, a throwaway PostgreSQL database, a lake recorded from the sim."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from kalshi_rl.data.storage.database import create_db_engine, open_database, parse_database_url
from kalshi_rl.data.storage.migrate import upgrade
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from tests.support import background

pytest_plugins = ["tests.cli_support", "tests.train_only"]

REPO = Path(__file__).resolve().parents[1]
CAPTURES = (REPO / ".." / "shared" / "data" / "kalshi-captures").resolve()
PG_ADMIN_URL = os.environ.get("KALSHI_RL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def real_capture(name: str = "") -> Path:
    """The real Kalshi capture ``name`` (the captures directory if empty), or no test.

    The captures are internal fixtures kept outside the repository. Without them a test is
    skipped on a developer's machine but fails when ``CI`` is set: a CI run that silently
    skips the only real-data tests would prove nothing.
    """
    path = CAPTURES / name
    if not (path.is_file() if name else path.is_dir()):
        message = f"real Kalshi capture not found: {path} (internal fixture, not in the repo)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for this test ({PG_ADMIN_URL}): {exc}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The registry database, once per engine: every test using it runs on SQLite and PostgreSQL.

    PostgreSQL is migrated the way ``kalshi-rl db upgrade`` does it, then opened the way the
    code opens it (``open_database`` refuses a database that is not at the head revision).
    """
    if request.param == "sqlite":
        engine = open_database(None, tmp_path)
    else:
        url = request.getfixturevalue("pg_url")
        migrator = create_db_engine(parse_database_url(url))
        upgrade(migrator)
        migrator.dispose()
        engine = open_database(url, tmp_path)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    name = f"kalshi_rl_test_{uuid.uuid4().hex[:10]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def make_sim() -> AsyncIterator[Callable[..., Awaitable[SimExchange]]]:
    """Start local exchanges for a test (a ``SimConfig``, or its fields as keywords); all are
    stopped afterwards. The one way tests start an in-process exchange."""
    started: list[SimExchange] = []

    async def start(config: SimConfig | None = None, **fields: Any) -> SimExchange:
        sim = SimExchange(config if config is not None else SimConfig(**fields))
        await sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        await sim.stop()


# -- lakes recorded in real time, in the background (tests/support/background.py) -------------

RECORDED_IN_BACKGROUND = {
    "sim_lake": "tests.support.sim_lake",
    "series_lake": "tests.support.series_lake",
    "paper_e2e": "tests.support.paper_e2e",
}
"""Session fixture -> the module that records its data (``python -m MODULE DATA_DIR``)."""


@pytest.hookimpl(trylast=True)  # after the tmp_path plugin's configure
def pytest_configure(config: pytest.Config) -> None:
    """Start the recordings now, so that collection runs during their seconds."""
    background.start(config, RECORDED_IN_BACKGROUND)


@pytest.hookimpl(trylast=True)  # after -k/-m deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    background.cancel_unused(config, items)


def pytest_unconfigure(config: pytest.Config) -> None:
    background.cancel_all(config)


@pytest.fixture(scope="session")
def paper_e2e(pytestconfig: pytest.Config) -> tuple[Path, dict[str, Any]]:
    """(data dir, what each command did): the spec §8 run, collect -> train -> paper for five
    minutes against a ``kalshi-rl sim`` process (tests/support/paper_e2e.py)."""
    from tests.support.paper_e2e import PAPER_SECONDS

    data_dir, run = background.recorded(pytestconfig, "paper_e2e", timeout_s=PAPER_SECONDS + 600)
    return data_dir, dict(run)


@pytest.fixture(scope="session")
def sim_lake(pytestconfig: pytest.Config) -> tuple[Path, list[str]]:
    """(data dir, tickers): 12 s of two markets, recorded by the real collector from the local
    exchange over a real WebSocket (enough for 40-tick episodes of 200 ms ticks). Read only."""
    data_dir, tickers = background.recorded(pytestconfig, "sim_lake")
    return data_dir, list(tickers)
