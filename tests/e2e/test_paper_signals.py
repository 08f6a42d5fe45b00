"""SIGTERM to a running ``kalshi-rl paper`` (as a service manager stops it): it stops cleanly,
prints its summary, closes its episode and has logged every action it took."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kalshi_rl.data.storage.schema import rl_orders, trading_actions, trading_episodes
from tests.cli_support import KALSHI_RL, cli_env
from tests.trading.test_actor import register_model

pytestmark = pytest.mark.slow


def test_sigterm_stops_paper_with_its_summary_episode_and_every_action_logged(  # type: ignore[no-untyped-def]
    sim_process, sim_lake, tmp_path: Path
) -> None:
    sim = sim_process("--markets", "1", "--rate", "200", "--seed", "12")
    registry = register_model(sim_lake, tmp_path, "signals")  # tmp_path's SQLite: what --data-dir opens
    paper = subprocess.Popen(
        [KALSHI_RL, "paper", "--model", "signals", "--market", sim.tickers[0], "--ws-url", sim.ws_url]
        + ["--data-dir", str(tmp_path), "--stochastic", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        deadline = time.monotonic() + 120
        while _count(registry.engine, trading_actions) < 3:  # a few ticks logged (flushed every 2 s)
            assert paper.poll() is None, paper.communicate()[1]
            assert time.monotonic() < deadline, "paper logged no actions"
            time.sleep(0.1)
        paper.send_signal(signal.SIGTERM)
        out, err = paper.communicate(timeout=120)
    finally:
        if paper.poll() is None:
            paper.kill()
            paper.communicate()
    assert paper.returncode == 0, err
    summary = json.loads(out)
    assert summary["model"] == "signals@1" and summary["decisions"] >= 3

    with registry.engine.connect() as conn:
        paper_episodes = select(trading_episodes).where(trading_episodes.c.mode == "paper")
        episode = conn.execute(paper_episodes).mappings().one()
    assert episode["end_time"] is not None
    assert episode["total_steps"] == summary["ticks"]
    counts = ("decisions", "orders", "rejected", "skipped_stale", "missed_ticks", "clock_steps", "reloads")
    assert {k: episode["metadata"][k] for k in counts} == {k: summary[k] for k in counts}
    assert episode["final_position"]["position_units"] == summary["position_units"]
    # Every decision logged, none lost in the action queue on the way out; every order too.
    assert _count(registry.engine, trading_actions) == summary["decisions"] == summary["actions_written"]
    assert _count(registry.engine, rl_orders) == summary["orders"]


def _count(engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
