"""A series session's risk breakers on the real local exchange: one guard for the whole series,
so a breaker tripped on one market holds the next market too, until resumed; the emergency stop
flattens the market traded now."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from kalshi_rl.data.ingest.collector import CollectorConfig
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.action_space import Action
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.trading.risk import RiskLimits
from kalshi_rl.trading.series_session import SeriesSession, SeriesSessionConfig
from tests.support.waiting import eventually
from tests.trading_support import scripted_model, tiny_env

pytestmark = pytest.mark.slow


async def test_a_breaker_tripped_on_one_market_holds_the_next_until_resumed_and_flatten_sells_it(
    make_sim, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    engine = open_database(None, tmp_path)
    registry = ModelRegistry(engine)
    env = replace(tiny_env(), series="KXRSK")
    scripted_model(registry, tmp_path / "models", "buyer", Action.BUY_YES, env=env)
    sim = await make_sim(
        markets=1, seed=5, rate=300, series="KXRSK", market_duration_s=3, record_ledger=False
    )
    sim.create_event(duration_s=30)
    first, second = sim.tickers
    session = SeriesSession(
        SeriesSessionConfig(
            model_ref="buyer",
            series="KXRSK",
            collector=CollectorConfig(
                ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
                rest_url=sim.rest_url,
                lake_dir=tmp_path / "lake",
            ),
            starting_balance_dollars=Decimal(10_000),
            # No decision takes under a microsecond: the breaker trips at the 2nd decision.
            risk=RiskLimits(latency_ms=0.001, latency_ticks=2),
        ),
        engine,
    )
    stop = asyncio.Event()
    await session.prepare()
    task = asyncio.create_task(session.run(stop))
    try:
        await eventually(lambda: session.market_ticker == second, "the second market", timeout_s=30)
        actor = session.actor
        assert actor is not None and actor.config.market_ticker == second
        await eventually(lambda: actor.metrics.risk_held >= 3, "the second market held")
        assert actor.metrics.decisions == 0 and session.runs[0].actor.metrics.decisions == 2
        summary = session.summary()
        assert summary["risk_breaker"] == "latency" and summary["risk_trips"] == {"latency": 1}

        assert session.resume() == "latency"
        await eventually(
            lambda: session.guard.counts["latency"] == 2, "trading again, until it tripped again"
        )
        assert actor.metrics.decisions == 2
        ledger = session.client.ledger(second)  # type: ignore[union-attr]
        assert ledger.position_units > 0  # it bought on the second market meanwhile
        done = await session.flatten()
        assert done["market_ticker"] == second and done["position_after"] == "0.00"
        assert ledger.position_units == 0 and session.summary()["risk_breaker"] == "flatten"
    finally:
        stop.set()
        await task
    (episode,) = [e for e in registry.episodes(mode="paper") if e["market_ticker"] == first]
    assert [t["kind"] for t in episode["metadata"]["risk"]["trips"]] == ["latency"]
