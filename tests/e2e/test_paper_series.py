"""`kalshi-rl paper --series` against `kalshi-rl sim --series`, both real processes: the paper
session rolls from market to market of a fast series (one every 4 s), one episode per market,
each market's position settled by its result."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.data.storage.schema import rl_fills, trading_actions, trading_episodes
from kalshi_rl.environments.action_space import Action
from tests.cli_support import KALSHI_RL, cli_env, run_cli
from tests.trading_support import replay_fills, scripted_model, tiny_env

pytestmark = pytest.mark.slow
MARKETS = 3


def _settled_episodes(registry: ModelRegistry) -> list[dict[str, Any]]:
    with registry.engine.connect() as conn:
        rows = conn.execute(select(trading_episodes).where(trading_episodes.c.mode == "paper")).mappings()
        return [
            dict(r) for r in rows if r["end_time"] is not None and (r["final_position"] or {}).get("settled")
        ]


def test_paper_series_rolls_across_markets_one_settled_episode_each(sim_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    registry = ModelRegistry(open_database(None, tmp_path))  # tmp_path's SQLite: what --data-dir opens
    env = replace(tiny_env(), series="KXROLL")
    scripted_model(registry, tmp_path / "models", "roller", Action.BUY_YES, env=env)
    sim = sim_process("--series", "KXROLL:4", "--rate", "100", "--seed", "3")
    args = ["--model", "roller", "--ws-url", sim.ws_url, "--data-dir", str(tmp_path)]

    both = run_cli("paper", *args, "--series", "KXROLL", "--market", sim.tickers[0])
    assert both.returncode == 1 and "give --market or --series, not both" in both.stderr
    other = run_cli("paper", *args, "--series", "KXNOPE")
    assert other.returncode == 1 and "Traceback" not in other.stderr
    assert "trained on series KXROLL, not KXNOPE" in " ".join(other.stderr.split())

    paper = subprocess.Popen(
        [KALSHI_RL, "paper", *args, "--series", "KXROLL", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        deadline = time.monotonic() + 180
        while len(_settled_episodes(registry)) < MARKETS:  # rolls the series itself meanwhile
            assert paper.poll() is None, paper.communicate()[1]
            assert time.monotonic() < deadline, f"{len(_settled_episodes(registry))} settled episodes"
            time.sleep(0.2)
        paper.send_signal(signal.SIGTERM)
        out, err = paper.communicate(timeout=120)
    finally:
        if paper.poll() is None:
            paper.kill()
            paper.communicate()
    assert paper.returncode == 0, err
    summary = json.loads(out)
    assert summary["series"] == "KXROLL" and summary["model"] == "roller@1"

    with registry.engine.connect() as conn:
        episodes = (
            conn.execute(select(trading_episodes).where(trading_episodes.c.mode == "paper")).mappings().all()
        )
        fills = conn.execute(select(rl_fills)).mappings().all()
        actions = conn.execute(select(trading_actions)).mappings().all()
    tickers = [e["market_ticker"] for e in episodes]
    assert len(tickers) == len(set(tickers))  # one episode per market
    assert [m["market_ticker"] for m in summary["markets"]] == sorted(tickers)  # traded in series order
    settled = [e for e in episodes if e["final_position"]["settled"]]
    assert len(settled) >= MARKETS
    # Markets created after the session started were found and traded: the series rolled.
    assert not set(tickers) <= set(sim.tickers)
    with httpx.Client(base_url=sim.rest_url) as rest:
        for episode in settled:
            ticker = episode["market_ticker"]
            market = rest.get(f"/markets/{ticker}").json()["market"]
            settlement = episode["metadata"]["settlement"]
            assert settlement["market_result"] == market["result"] in ("yes", "no")
            value = PRICE_SCALE if market["result"] == "yes" else 0
            # Settled by the market's result: flat, and the P&L is the fills' plus the payout.
            ledger = replay_fills([f for f in fills if f["market_ticker"] == ticker])
            ledger.settle(value, 10_000)
            position = episode["final_position"]
            assert position["position_units"] == 0
            assert position["realized_pnl"] == ledger.realized_micro / 1e6
            assert position["fees"] == ledger.fees_micro / 1e6
            # Every action of the market is in its episode.
            mine = {a["episode_id"] for a in actions if a["market_ticker"] == ticker}
            assert mine <= {episode["episode_id"]}
