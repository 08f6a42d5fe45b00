"""Spec §8 end to end with the real commands: collect from the local exchange, train on
10 episodes, load the model in the actor, and paper-trade the live local exchange for 5 minutes.

The commands run beside the session from its start (``tests/support/paper_e2e.py``: five
minutes of wall time need not add five minutes to the suite); this test checks what they did.
Asserts continuous trading (every grid tick decided or held for a stated reason, none missed),
actions, orders and fills in the database, and a position and fees the fills account for exactly.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from kalshi_rl.data.storage.schema import rl_fills, rl_orders, trading_actions, trading_episodes
from tests.support.paper_e2e import PAPER_SECONDS
from tests.trading_support import check_episode_against_fills

pytestmark = pytest.mark.slow


@pytest.mark.timeout(PAPER_SECONDS + 600)
def test_collect_train_paper_for_five_minutes(paper_e2e: tuple[Path, dict[str, Any]]) -> None:
    data_dir, run = paper_e2e
    for step in ("collect", "train", "paper"):
        assert step in run and run[step]["returncode"] == 0, run.get(step, run)
    model = json.loads(run["train"]["stdout"])
    assert model["status"] == "ready" and model["training_episodes"] >= 10

    paper = run["paper"]
    summary = json.loads(paper["stdout"])
    assert summary["model"] == "e2e@1"
    # Every tick of the grid from the first to the last is accounted for: decided, or held for a
    # stated reason (the book was stale), and none passed over (missed) or shifted by a clock step.
    assert summary["missed_ticks"] == 0 and summary["clock_steps"] == 0, summary
    assert summary["ticks"] == summary["decisions"] + summary["skipped_stale"]
    assert summary["skipped_stale"] <= 4, summary["hold_reason"]
    assert summary["orders"] > 0

    engine = create_engine(f"sqlite:///{data_dir / 'kalshi_rl.sqlite'}")
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
