"""Spec §8 end to end with the real commands: collect from the local exchange, train on
10 episodes, load the model in the actor, and paper-trade the live local exchange for 5 minutes.

Asserts continuous trading (every tick decided, none missed), actions, orders and fills in the
database, and a P&L that the fills account for exactly.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from kalshi_rl.core.events import Side
from kalshi_rl.data.storage.schema import rl_fills, rl_orders, trading_actions, trading_episodes
from kalshi_rl.execution.position import PositionLedger
from tests.cli_support import cli_env, run_cli

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
    expected_ticks = PAPER_SECONDS / 0.25
    assert summary["model"] == "e2e@1"
    assert summary["missed_ticks"] == 0 and summary["skipped_stale"] <= 4
    assert summary["decisions"] >= 0.9 * expected_ticks
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
    assert timestamps == sorted(timestamps) and max(b - a for a, b in itertools.pairwise(timestamps)) <= 1_000
    assert len(orders) == summary["orders"] and fills
    ledger = PositionLedger()
    for fill in fills:
        price = int(fill["price"] * 10_000)
        side = Side(fill["side"])
        if fill["action"] == "sell":
            side, price = side.opposite, 10_000 - price
        ledger.buy(side, int(fill["quantity"] * 100), price)
        ledger.fees_micro += round(fill["fee"] * 1_000_000)
    final = episode["final_position"]
    assert ledger.position_units == summary["position_units"] == final["position_units"]
    # Fees: each fill's trade fee, plus Kalshi's per-order balance-rounding fee (< $0.0001 an order),
    # which the order rows carry: the orders account for every cent the episode paid.
    trade_fees = ledger.fees_micro / 1e6
    order_fees = float(sum(o["fees"] for o in orders))
    assert order_fees == pytest.approx(final["fees"], abs=1e-6) == summary["fees"]
    assert 0 <= order_fees - trade_fees < 0.0001 * len(orders)
