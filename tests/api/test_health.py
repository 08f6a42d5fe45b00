"""``GET /rl/health`` and ``GET /rl/ready`` on a real service: real PostgreSQL behind a proxy that
goes away and comes back, and a real local exchange that stops sending."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kalshi_rl.api.health import ReadinessLimits
from kalshi_rl.api.service import ServiceConfig
from kalshi_rl.data.storage.database import create_db_engine, parse_database_url
from kalshi_rl.data.storage.migrate import upgrade
from kalshi_rl.sim.exchange import SimConfig
from tests.api.conftest import TOKEN, LocalExchange, Running, ServeFactory, start_server
from tests.support.pg_proxy import PgProxy
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def readiness(svc: Running) -> tuple[int, dict[str, Any]]:
    response = svc.get("/rl/ready")
    return response.status_code, response.json()


def failing(svc: Running) -> set[str]:
    """The names of the failing checks (empty: ready)."""
    status, body = readiness(svc)
    assert (status == 200) == body["ready"] == (not body["reasons"]), body
    return {c["name"] for c in body["checks"] if not c["ok"]}


def test_health_and_ready_are_open_reads_in_the_openapi_document(serve: ServeFactory) -> None:
    svc = serve(token=TOKEN)
    health = svc.get("/rl/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    wait_until(lambda: not failing(svc), "the service became ready")
    _, body = readiness(svc)
    assert {c["name"] for c in body["checks"]} == {"database", "feed", "books", "sinks", "backlog"}
    paths = svc.get("/rl/openapi.json").json()["paths"]
    for path in ("/rl/health", "/rl/ready"):
        assert "security" not in paths[path]["get"], path
    assert "503" in paths["/rl/ready"]["get"]["responses"]


def test_a_service_without_a_feed_is_ready_on_its_database_alone(serve: ServeFactory) -> None:
    svc = serve(feed=False)
    status, body = readiness(svc)
    assert status == 200 and [c["name"] for c in body["checks"]] == ["database"]


@pytest.mark.postgres
def test_ready_flips_when_postgresql_goes_away_and_when_the_feed_stalls(pg_url: str, tmp_path: Path) -> None:
    migrator = create_db_engine(parse_database_url(pg_url))
    upgrade(migrator)
    migrator.dispose()
    exchange = LocalExchange(SimConfig(markets=1, rate=150, record_ledger=False))
    with PgProxy.in_front_of(pg_url) as proxy:
        config = ServiceConfig(
            data_dir=tmp_path,
            models_dir=tmp_path / "models",
            markets=tuple(exchange.sim.tickers),
            ws_url=exchange.sim.ws_url,
            rest_url=exchange.sim.rest_url,
            database_url=proxy.url(pg_url),
            ready=ReadinessLimits(max_feed_silence_s=1.0, db_timeout_s=3.0),
        )
        svc = start_server(config, exchange)
        try:
            wait_until(lambda: not failing(svc), "ready at first")
            proxy.down()
            assert wait_until(lambda: failing(svc) >= {"database", "sinks"}, "PostgreSQL reported gone")
            _, body = readiness(svc)
            assert any(r.startswith("database: ") for r in body["reasons"]), body
            assert svc.get("/rl/health").status_code == 200  # alive all along
            proxy.up()
            wait_until(lambda: not failing(svc), "ready again once PostgreSQL is back")

            exchange.pause()
            assert wait_until(lambda: failing(svc) == {"feed"}, "the stalled feed reported")
            _, body = readiness(svc)
            assert body["reasons"][0].startswith("feed: no frame for"), body
            exchange.resume()
            wait_until(lambda: not failing(svc), "ready again once the feed moves")
        finally:
            assert not svc.stop()
