"""Evaluate a policy on a held-out window, next to baselines, with one set of metrics.

Every policy walks every tape of the window from its first tick to its last, deterministically,
through the same env (same fills, fees, settlement). Metrics are money, whatever reward shaping
the policy was trained with (an inventory penalty is not a cost, a reward scale not a currency):
the env runs with the plain reward, the change in equity net of fees. They come from its ledger:

- ``total_pnl``: dollars after fees (marked at the mid, or settled at 0/1 when the market
  closed inside the window with a known result);
- ``sharpe``: mean / standard deviation of per-tick P&L, scaled to one hour of ticks;
- ``max_drawdown``: the largest peak-to-trough fall of cumulative P&L, in dollars;
- ``win_rate``: the share of episodes (tapes) with positive P&L;
- ``turnover``: contracts traded; ``fees``: dollars paid in fees (trade fees plus Kalshi's balance
  rounding, net of rebates, under the fee policy of ``config``); ``trades``: orders that filled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np

from kalshi_rl.agents.dummy_agent import HoldPolicy, MomentumRule, Policy, RandomPolicy
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.environments.kalshi_env import KalshiTradingEnv
from kalshi_rl.environments.reward import RewardConfig
from kalshi_rl.environments.tape import Tape


@dataclass(frozen=True)
class Metrics:
    policy: str
    total_pnl: float
    sharpe: float
    max_drawdown: float
    win_rate: float
    turnover: float
    fees: float
    trades: int
    episodes: int
    steps: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class ModelPolicy:
    """Wraps anything with SB3's ``predict`` (deterministic)."""

    def __init__(self, name: str, predict: Callable[[np.ndarray], int]) -> None:
        self.name = name
        self._predict = predict

    def act(self, observation: np.ndarray) -> int:
        return self._predict(observation)

    def reset(self) -> None:
        pass


def run_policy(policy: Policy, tapes: list[Tape], config: EnvConfig, seed: int = 0) -> Metrics:
    """Run ``policy`` over every tape once and measure it."""
    config = replace(config, reward=RewardConfig())  # dollars: see the module docstring
    env = KalshiTradingEnv(tapes, config, sequential=True)
    step_pnl: list[float] = []
    episode_pnl: list[float] = []
    fees = turnover = 0.0
    trades = 0
    for index in range(len(tapes)):
        obs, _ = env.reset(seed=seed + index)
        policy.reset()
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy.act(obs))
            step_pnl.append(reward)
            trades += "fill" in info and info["fill"]["units"] > 0
            done = terminated or truncated
        summary = info["episode_summary"]
        episode_pnl.append(summary["pnl"])
        fees += summary["fees"]
        turnover += summary["contracts_traded"]
    pnl = np.asarray(step_pnl)
    curve = np.cumsum(pnl)
    drawdown = (
        float(np.max(np.maximum.accumulate(np.concatenate(([0.0], curve)))[1:] - curve))
        if len(curve)
        else 0.0
    )
    std = float(pnl.std()) if len(pnl) > 1 else 0.0
    per_hour = math.sqrt(3_600_000 / config.tick_ms)
    return Metrics(
        policy=policy.name,
        total_pnl=round(float(curve[-1]) if len(curve) else 0.0, 6),
        sharpe=round(float(pnl.mean()) / std * per_hour, 4) if std > 0 else 0.0,
        max_drawdown=round(drawdown, 6),
        win_rate=round(float(np.mean([p > 0 for p in episode_pnl])), 4) if episode_pnl else 0.0,
        turnover=round(turnover, 2),
        fees=round(fees, 4),
        trades=trades,
        episodes=len(episode_pnl),
        steps=len(step_pnl),
    )


def baselines(seed: int = 0) -> list[Policy]:
    return [HoldPolicy(), RandomPolicy(seed), MomentumRule()]


def evaluate(policy: Policy, tapes: list[Tape], config: EnvConfig, seed: int = 0) -> list[Metrics]:
    """The policy first, then every baseline, on the same tapes."""
    return [run_policy(p, tapes, config, seed) for p in [policy, *baselines(seed)]]
