"""Spec §8 end to end with the real commands: collect from the local exchange, train on
10 episodes, load the model in the actor, and paper-trade the live local exchange for 5 minutes.

Asserts continuous trading (every grid tick decided or held for a stated reason, none missed),
actions, orders and fills in the database, and a position and fees the fills account for exactly.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from kalshi_rl.data.storage.schema import rl_fills, rl_orders, trading_actions, trading_episodes
from tests.cli_support import cli_env, run_cli
from tests.trading_support import check_episode_against_fills

pytestmark = pytest.mark.slow
PAPER_SECONDS = float(os.environ.get("KALSHI_RL_E2E_PAPER_SECONDS", "300"))


@pytest.mark.timeout(PAPER_SECONDS + 600)
def test_collect_train_paper_for_five_minutes(sim_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = sim_process("--markets", "1", "--rate", "150", "--seed", "11")
    env = cli_env(MODELS_DIR=str(tmp_path / "models"))
    common = ["--data-dir", str(tmp_path)]
    collected = run_cli(
        "collect",
        "--market",
        sim.tickers[0],
        "--ws-url",
        sim.ws_url,
        "--duration",
        "20",
        *common,
        "--json",
        env=env,
    )
    assert collected.returncode == 0, collected.stderr

    config = tmp_path / "hp.json"
    config.write_text(json.dumps({"n_steps": 40, "batch_size": 40, "n_epochs": 2, "net_arch": [32, 32]}))
    trained = run_cli(
        "train",
        "--market",
        sim.tickers[0],
        "--tick-ms",
        "250",
        "--latency-ms",
        "20",
        "--episode-ticks",
        "40",
        "--timesteps",
        "400",
        "--config",
        str(config),
        "--name",
        "e2e",
        "--no-progress",
        *common,
        "--json",
        env=env,
    )
    assert trained.returncode == 0, trained.stderr
    model = json.loads(trained.stdout)
    assert model["status"] == "ready" and model["training_episodes"] >= 10

    paper = run_cli(
        "paper",
        "--model",
        "e2e",
        "--ws-url",
        sim.ws_url,
        "--duration",
        str(PAPER_SECONDS),
        "--stochastic",
        *common,
        "--json",
        env=env,
        timeout=PAPER_SECONDS + 180,
    )
    assert paper.returncode == 0, paper.stderr
    summary = json.loads(paper.stdout)
    assert summary["model"] == "e2e@1"
    # Every tick of the grid from the first to the last is accounted for: decided, or held for a
    # stated reason (the book was stale), and none passed over (missed) or shifted by a clock step.
    assert summary["missed_ticks"] == 0 and summary["clock_steps"] == 0
    assert summary["ticks"] == summary["decisions"] + summary["skipped_stale"]
    assert summary["skipped_stale"] <= 4, summary["hold_reason"]
    assert summary["orders"] > 0

    engine = create_engine(f"sqlite:///{tmp_path / 'kalshi_rl.sqlite'}")
    with engine.connect() as conn:
        episode = (
            conn.execute(select(trading_episodes).where(trading_episodes.c.mode == "paper")).mappings().one()
        )
        actions = conn.execute(select(trading_actions)).mappings().all()
        orders = conn.execute(select(rl_orders)).mappings().all()
        fills = conn.execute(select(rl_fills).order_by(rl_fills.c.timestamp)).mappings().all()
    assert len(actions) == summary["decisions"] == summary["actions_written"]
    assert all(a["episode_id"] == episode["episode_id"] for a in actions)
    timestamps = [a["timestamp"] for a in actions]
    assert timestamps == sorted(timestamps)
    assert all((b - a) % 250 == 0 and b > a for a, b in itertools.pairwise(timestamps)), "off the grid"
    grid_ticks = (timestamps[-1] - timestamps[0]) // 250 + 1
    assert grid_ticks - len(actions) <= summary["skipped_stale"]  # a grid tick without an action was a hold
    # The session ran for its duration: its ticks cover it but for the start-up before the first one.
    assert grid_ticks * 0.25 >= PAPER_SECONDS - 30
    assert len(orders) == summary["orders"] and fills
    final = episode["final_position"]
    assert summary["position_units"] == final["position_units"]
    assert final["fees"] == summary["fees"]
    check_episode_against_fills(final, list(fills), list(orders))
