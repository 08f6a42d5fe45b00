"""Parity: one real recorded session, through the live path and through the replay path,
gives bit-identical observations at identical times (docs/architecture.md, "One observation builder").

Live: frames -> KalshiWsClient.feed -> OrderbookClient -> SharedOrderbookState -> LiveObserver
(the actor's observation path), sampled on the tick grid just before the first frame received
after each tick. Replay: the lake that same run wrote -> DuckDB preload -> tapes ->
KalshiTradingEnv observations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.capture_import import import_capture
from kalshi_rl.data.replay.lake import lake_time_range, preload_lake
from kalshi_rl.environments.action_space import Action
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.environments.kalshi_env import KalshiTradingEnv, build_tapes
from kalshi_rl.environments.observation_space import LiveObserver, PositionState
from kalshi_rl.kalshi.captures import CaptureFrame
from tests.conftest import real_capture

# The ETH capture spans the last 4.5 minutes of a market, its close and its settlement. (The BTC
# excerpt's deltas are stamped with exchange times earlier than its snapshot's local receive
# time, so once receive times are made monotonic it spans no time at all: nothing to sample.)
CASES = [("KXETH15M-26APR200200-00.jsonl", 1_000), ("KXETH15M-26APR200200-00.jsonl", 250)]


async def live_observations(path: Path, lake: Path, config: EnvConfig) -> tuple[str, dict[int, np.ndarray]]:
    tick_ns = config.tick_ms * 1_000_000
    observer = LiveObserver(tick_ns, config.spec)
    flat = PositionState(limit_units=config.actions.position_limit_units)
    seen: dict[int, np.ndarray] = {}
    next_tick = [0]

    def sample(frame: CaptureFrame, books: dict[str, SharedOrderbookState]) -> None:
        (shared,) = books.values()
        recv_ns = frame.recv_ns
        if next_tick[0] == 0:
            next_tick[0] = recv_ns + (-recv_ns) % tick_ns
        while next_tick[0] < recv_ns:  # every event up to this tick has been applied
            obs = observer.observe(shared, flat, next_tick[0])
            if obs is not None:
                seen[next_tick[0]] = obs
            next_tick[0] += tick_ns

    summary = await import_capture(path, lake, on_frame=sample)
    return summary.market_ticker, seen


@pytest.mark.parametrize(("name", "tick_ms"), CASES)
async def test_live_path_and_replay_path_observe_the_same(tmp_path: Path, name: str, tick_ms: int) -> None:
    config = EnvConfig(tick_ms=tick_ms, min_episode_ticks=1, episode_ticks=100_000)
    ticker, live = await live_observations(real_capture(name), tmp_path, config)
    low, high = lake_time_range(tmp_path, (ticker,))
    data = preload_lake(tmp_path, (ticker,), low, high + 1)
    env = KalshiTradingEnv(build_tapes(data, config), config, sequential=True)
    compared = 0
    for tape in env.tapes:
        obs, _ = env.reset(seed=0)
        ticks = tape.tick_ns.tolist()
        for k, tick in enumerate(ticks):
            if tick in live:  # the live run sampled every tick before its last frame
                assert np.array_equal(obs, live[tick]), f"{ticker} tick {k} of segment {tape.segment}"
                compared += 1
            if k + 1 < len(ticks):
                obs = env.step(int(Action.HOLD))[0]
    total = sum(len(t) for t in env.tapes)
    assert compared >= total - len(
        env.tapes
    )  # only a segment's very last tick may lack a live frame after it
    assert compared > 200 * 1_000 // tick_ms
