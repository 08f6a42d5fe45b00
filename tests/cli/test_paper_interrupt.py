"""``kalshi-rl paper``'s Ctrl-C on the real local exchange: once stops (the position is left as it
is), twice within the window flattens it through the paper client first. The presses are real
SIGINTs to this process, handled by the command's own loop code (``_run``)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from kalshi_rl.cli.paper import _run
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.action_space import Action
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from tests.cli_support import invoke_cli
from tests.support.waiting import eventually
from tests.trading_support import scripted_model, sim_paper_session

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("presses", [1, 2])
async def test_ctrl_c_stops_and_twice_flattens_first(tmp_path: Path, presses: int) -> None:
    engine = open_database(None, tmp_path)
    registry = ModelRegistry(engine)
    model = scripted_model(registry, tmp_path / "models", "buyer", Action.BUY_YES)
    sim = SimExchange(SimConfig(markets=1, seed=3, rate=200, record_ledger=False))
    await sim.start()
    session = sim_paper_session(sim, "buyer", engine, tmp_path / "lake")
    run = asyncio.create_task(_run(session, 60.0, False))
    try:
        await eventually(lambda: session.actor is not None and session.actor.metrics.orders >= 2)
        assert session.client is not None
        ledger = session.client.ledger(sim.tickers[0])
        await eventually(lambda: ledger.position_units > 0)
        for _ in range(presses):
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.sleep(0.1)
        summary = await asyncio.wait_for(run, 30)
    finally:
        await sim.stop()
    (episode,) = registry.episodes(model.id, mode="paper")
    kinds = [trip["kind"] for trip in episode["metadata"]["risk"]["trips"]]
    if presses == 1:
        assert summary["position_units"] > 0 and kinds == ["stop"]
    else:
        assert summary["position_units"] == 0 and kinds == ["stop", "flatten"]
    assert episode["final_position"]["position_units"] == summary["position_units"]
    assert summary["risk_trips"] == dict.fromkeys(kinds, 1)


@pytest.mark.parametrize(
    ("flag", "limit"),
    [
        ("--max-loss-episode", "max_loss_episode"),
        ("--stale-ticks", "stale_ticks"),
        ("--slow-ticks", "latency_ticks"),
        ("--rollback-loss", "rollback_loss"),
    ],
)
def test_a_risk_limit_that_makes_no_sense_is_refused_in_one_line(flag: str, limit: str) -> None:
    result = invoke_cli("paper", "--model", "nobody", flag, "0")
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert f"risk limit {limit} must be > 0" in line
