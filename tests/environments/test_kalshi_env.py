"""KalshiTradingEnv: checkers, episode boundaries, exact rewards, fills, settlement, isolation."""

from __future__ import annotations

import builtins
import shutil
import socket
from pathlib import Path

import duckdb
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from kalshi_rl.core.events import Side
from kalshi_rl.data.replay.lake import MarketMeta, ReplayData, lake_time_range, preload_lake
from kalshi_rl.environments import ENV_ID
from kalshi_rl.environments.action_space import Action, ActionConfig
from kalshi_rl.environments.contract import EnvConfig, env_config_from_contract
from kalshi_rl.environments.kalshi_env import KalshiTradingEnv, build_tapes
from kalshi_rl.execution.fees import DEFAULT_FEE_MODEL, OrderFeeAccumulator
from kalshi_rl.execution.fill_engine import FillConfig
from tests.environments.conftest import SECOND, T0, make_data, make_segment

CONFIG = EnvConfig(episode_ticks=40, min_episode_ticks=10)


def make_env(data: ReplayData, config: EnvConfig = CONFIG, **kwargs) -> KalshiTradingEnv:  # type: ignore[no-untyped-def]
    return KalshiTradingEnv(build_tapes(data, config), config, **kwargs)


def test_gymnasium_and_sb3_checkers_pass(two_markets: ReplayData) -> None:
    env = make_env(two_markets)
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(make_env(two_markets))


def test_the_env_is_registered_with_gymnasium(two_markets: ReplayData) -> None:
    import gymnasium as gym

    env = gym.make(ENV_ID, tapes=build_tapes(two_markets, CONFIG), config=CONFIG)
    obs, _ = env.reset(seed=3)
    assert obs.shape == (CONFIG.spec.size,)


def test_an_episode_stays_in_one_market_and_advances_one_tick_per_step(two_markets: ReplayData) -> None:
    env = make_env(two_markets)
    rng = np.random.default_rng(0)
    for seed in range(10):
        _, info = env.reset(seed=seed)
        market, tick = info["market_ticker"], info["tick_ns"]
        done = False
        while not done:
            _, _, terminated, truncated, step_info = env.step(int(rng.integers(5)))
            done = terminated or truncated
        summary = step_info["episode_summary"]
        assert summary["market_ticker"] == market
        assert summary["start_ns"] == tick
        assert summary["end_ns"] - tick == (summary["steps"] - (0 if truncated else 1)) * SECOND


def test_rewards_sum_to_the_episode_pnl_and_hold_earns_nothing(two_markets: ReplayData) -> None:
    env = make_env(two_markets)
    rng = np.random.default_rng(1)
    env.reset(seed=4)
    total, done = 0.0, False
    while not done:
        _, reward, terminated, truncated, info = env.step(int(rng.integers(5)))
        total += reward
        done = terminated or truncated
    assert total == pytest.approx(info["episode_summary"]["pnl"], abs=1e-9)
    env.reset(seed=4)
    rewards = [env.step(int(Action.HOLD))[1] for _ in range(20)]
    assert rewards == [0.0] * 20


def test_a_buy_fills_at_the_ask_latency_later_and_pays_kalshis_fee(two_markets: ReplayData) -> None:
    env = make_env(two_markets)
    env.reset(seed=0)
    tape, k = env._tape, env._k
    asks = tape.ask_levels(Side.YES, k)  # the book at t + latency
    _, _, _, _, info = env.step(int(Action.BUY_YES))
    price, size = asks[0]
    units = min(1_000, size)
    assert info["fill"]["units"] >= units and info["fill"]["vwap_ticks"] >= price
    assert env.ledger.position_units == info["fill"]["units"]
    if info["fill"]["units"] == units:  # one match: its trade fee, its balance change floored to the cent
        trade_fee = DEFAULT_FEE_MODEL.trade_fee_micro(units, price, True)
        assert info["fill"]["trade_fee_micro"] == trade_fee
        fee = OrderFeeAccumulator(10_000).charge(-units * price, trade_fee)
        assert info["fill"]["fee_micro"] == fee.net_fee_micro == env.ledger.fees_micro
        assert env.ledger.cash_micro == fee.balance_change_micro and env.ledger.cash_micro % 10_000 == 0


def test_sells_are_reduce_only_and_buys_stop_at_the_limit(two_markets: ReplayData) -> None:
    config = EnvConfig(episode_ticks=40, min_episode_ticks=10, actions=ActionConfig(1_000, 2_000))
    env = make_env(two_markets, config)
    env.reset(seed=0)
    _, _, _, _, info = env.step(int(Action.SELL_YES))
    assert "fill" not in info and env.ledger.position_units == 0
    for _ in range(4):
        env.step(int(Action.BUY_YES))
    assert 0 < env.ledger.position_units <= 2_000
    held = env.ledger.position_units
    env.step(int(Action.SELL_YES))
    assert 0 <= env.ledger.position_units < held  # it sold YES, it did not go short
    env.step(int(Action.SELL_YES))
    env.step(int(Action.SELL_YES))
    assert env.ledger.position_units >= 0


def test_a_market_that_settles_in_the_window_pays_out_at_the_end() -> None:
    segment = make_segment(seconds=30)
    close_ms = segment.end_ns // 1_000_000
    meta = {"KX-A": MarketMeta("KX-A", None, close_ms, "yes", 10_000, segment.end_ns + SECOND)}
    data = make_data([segment], meta)
    config = EnvConfig(episode_ticks=1_000, min_episode_ticks=5)
    env = make_env(data, config, sequential=True)
    env.reset(seed=0)
    env.step(int(Action.BUY_YES))
    ledger = env.ledger
    held, cost, fees = ledger.position_units, ledger.cost_micro, ledger.fees_micro
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(int(Action.HOLD))
        done = terminated or truncated
    assert terminated and info["settled_at_ticks"] == 10_000
    assert ledger.position_units == 0
    assert info["episode_summary"]["pnl"] == pytest.approx((10_000 * held - cost - fees) / 1e6)


def test_segments_become_separate_tapes_never_stitched() -> None:
    first = make_segment("KX-A", 1, seconds=40)
    second = make_segment("KX-A", 2, seconds=40, start_ns=T0 + 100 * SECOND, seed=3)
    tapes = build_tapes(make_data([first, second]), CONFIG)
    assert [t.segment for t in tapes] == [1, 2]
    assert tapes[0].tick_ns[-1] < second.snapshot_ns <= tapes[1].tick_ns[0]


def test_the_env_needs_no_data_source_after_construction(
    sim_lake: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preload a real lake from disk, delete it, forbid any file or database access: it still runs."""
    data_dir, tickers = sim_lake
    lake = tmp_path / "lake"
    shutil.copytree(data_dir / "lake", lake)
    start_ns, end_ns = lake_time_range(lake, tuple(tickers))
    data = preload_lake(lake, tuple(tickers), start_ns, end_ns + 1)
    config = EnvConfig(tick_ms=100, episode_ticks=40, min_episode_ticks=10)
    env = KalshiTradingEnv(build_tapes(data, config), config)
    shutil.rmtree(lake)
    assert not lake.exists()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the env touched a data source: {args!r}")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(duckdb, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    steps = 0
    for episode in range(3):
        env.reset(seed=episode)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(int(Action.BUY_YES) if steps % 3 else int(Action.HOLD))
            done = terminated or truncated
            steps += 1
    assert steps >= 3 * config.min_episode_ticks


def test_same_seed_same_trajectory(two_markets: ReplayData) -> None:
    def run() -> list[float]:
        env = make_env(
            two_markets, EnvConfig(episode_ticks=40, min_episode_ticks=10, fill=FillConfig(10.0, 90.0))
        )
        obs, _ = env.reset(seed=11)
        rng = np.random.default_rng(5)
        out = [float(obs.sum())]
        for _ in range(40):
            obs, reward, terminated, truncated, _ = env.step(int(rng.integers(5)))
            out += [float(obs.sum()), reward]
            if terminated or truncated:
                break
        return out

    assert run() == run()


def test_the_contract_round_trips_through_json() -> None:
    config = EnvConfig(
        tick_ms=500, actions=ActionConfig(500, 3_000), fill=FillConfig(20.0, 20.0, restore_ms=1_000)
    )
    import json

    contract = json.loads(json.dumps(config.contract()))
    assert env_config_from_contract(contract).contract() == contract


def test_invalid_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="latency"):
        EnvConfig(tick_ms=100, fill=FillConfig(150.0, 150.0))
    with pytest.raises(ValueError):
        ActionConfig(order_units=0)
