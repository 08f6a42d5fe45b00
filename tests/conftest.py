"""Shared fixtures: the real captures, a throwaway PostgreSQL database, a lake recorded from the sim."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.data.storage.database import create_db_engine, open_database, parse_database_url
from kalshi_rl.data.storage.migrate import upgrade
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange

pytest_plugins = ["tests.cli_support"]

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


async def record(lake: Path, seconds: float, seed: int = 3) -> list[str]:
    sim = SimExchange(SimConfig(markets=2, seed=seed, rate=400, record_ledger=False))
    await sim.start()
    try:
        collector = Collector(
            CollectorConfig(
                ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
                rest_url=sim.rest_url,
                lake_dir=lake,
                write=WriteQueueConfig(flush_interval_s=0.2),
            )
        )
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await collector.run(stop)
    finally:
        await sim.stop()
    return sim.tickers


@pytest.fixture(scope="session")
def sim_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """(data dir, tickers): about 12 s of two markets, enough for 100 ms ticks."""
    data_dir = tmp_path_factory.mktemp("simdata")
    tickers = asyncio.run(record(data_dir / "lake", 12.0))
    return data_dir, tickers
