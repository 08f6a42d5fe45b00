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

``evaluate_model`` is the stable entry point for one model on one window (``tune`` scores its
trials with it); ``play_policy`` keeps the equity curve as well.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from kalshi_rl.agents.dummy_agent import HoldPolicy, MomentumRule, Policy, RandomPolicy
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.data.registry import ModelRecord
from kalshi_rl.data.replay.lake import ReplayData
from kalshi_rl.environments.contract import EnvConfig, env_config_from_contract
from kalshi_rl.environments.kalshi_env import KalshiTradingEnv, build_tapes
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


@dataclass(frozen=True)
class PolicyRun:
    """A policy's metrics on a window and its equity curve (cumulative P&L after each tick)."""

    metrics: Metrics
    equity: np.ndarray


def play_policy(policy: Policy, tapes: Sequence[Tape], config: EnvConfig, seed: int = 0) -> PolicyRun:
    """Run ``policy`` over every tape once, in order; measure it and keep its equity curve."""
    config = replace(config, reward=RewardConfig())  # dollars: see the module docstring
    env = KalshiTradingEnv(list(tapes), config, sequential=True)
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
    metrics = Metrics(
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
    return PolicyRun(metrics, curve)


def run_policy(policy: Policy, tapes: Sequence[Tape], config: EnvConfig, seed: int = 0) -> Metrics:
    """Run ``policy`` over every tape once and measure it."""
    return play_policy(policy, tapes, config, seed).metrics


def baselines(seed: int = 0) -> list[Policy]:
    """Hold, random (seeded) and the momentum rule: see ``dummy_agent``."""
    return [HoldPolicy(), RandomPolicy(seed), MomentumRule()]


def evaluate(policy: Policy, tapes: list[Tape], config: EnvConfig, seed: int = 0) -> list[Metrics]:
    """The policy first, then every baseline, on the same tapes."""
    return [run_policy(p, tapes, config, seed) for p in [policy, *baselines(seed)]]


def load_model_policy(record: ModelRecord) -> Policy:
    """The registered model ``record`` as a deterministic policy, run as the paper actor runs it:
    the inference policy of its checkpoint (its action mask, its normaliser's frozen statistics,
    its recurrent state reset at every episode). A model the actor would refuse is refused."""
    checkpoint = Path(record.checkpoint_path)
    if not checkpoint.is_file():
        raise ConfigError(
            f"model {record.label} has no checkpoint at {record.checkpoint_path} (status {record.status})"
        )
    from kalshi_rl.agents.inference import PolicyRunner, load_policy

    try:
        return PolicyRunner(load_policy(checkpoint), record.label)
    except ConfigError as exc:
        raise ConfigError(f"model {record.label}: {exc}") from None


def model_env_config(record: ModelRecord) -> EnvConfig:
    """The env ``record`` was trained in, rebuilt from its train/serve contract."""
    try:
        return env_config_from_contract(record.training_config["contract"])
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"cannot rebuild the env of {record.label}: {exc}") from None


def evaluate_model(
    model: ModelRecord | Policy,
    data: ReplayData | Sequence[Tape],
    config: EnvConfig | None = None,
    seed: int = 0,
) -> Metrics:
    """Measure one model (a registry row or any policy) on one window; the stable entry point.

    ``data`` is the window (preloaded, or its tapes); ``config`` the env, by default the model's
    own (from its contract; a policy that is not a registry row needs one). The metrics are those
    of the module docstring, in dollars after fees.
    """
    if isinstance(model, ModelRecord):
        config = config or model_env_config(model)
        policy = load_model_policy(model)
    else:
        if config is None:
            raise ConfigError(f"evaluating policy {model.name} needs an env config")
        policy = model
    tapes = build_tapes(data, config) if isinstance(data, ReplayData) else list(data)
    return run_policy(policy, tapes, config, seed)
