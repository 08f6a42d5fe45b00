"""Fixtures for end-to-end runs against the real local exchange over a real WebSocket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kalshi_rl.sim.exchange import SimConfig, SimExchange


@pytest.fixture
async def make_sim() -> AsyncIterator:  # type: ignore[type-arg]
    """Start local exchanges for a test; all are stopped afterwards."""
    started: list[SimExchange] = []

    async def start(config: SimConfig) -> SimExchange:
        sim = SimExchange(config)
        await sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        await sim.stop()
