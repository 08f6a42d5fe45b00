"""Evaluate every version of a run together: per seed and window, then over seeds and windows.

A run (``runs``) is several versions of one model name: one per training seed, and with
walk-forward one per seed and fold, each to be tested on the window after its own. Each
version plays its window deterministically, as ``kalshi-rl evaluate`` plays one model; on every
window the baselines play too (hold, random, momentum: ``evaluation.baselines``) and so does
the **oracle** (``oracle``: the best plan with perfect foresight under the same fills, fees and
position limit). Then, over all (seed, window) scores of the run's P&L after fees:

- the IQM and its stratified bootstrap 95 % interval (one stratum per window: ``statistics``);
- the probability of beating each baseline: the share of (seed, window) pairs where the
  version made more than the baseline did on that window, with its interval;
- the share of the possible: the run's mean P&L over the oracle's mean P&L on the same windows
  (None when the oracle could not make money there).

Baselines have one score per window (the same evaluation seed plays every policy): the
stratified bootstrap keeps every window in every resample, so their interval is a point. Equity curves are kept, thinned to ``CURVE_POINTS``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kalshi_rl.agents.evaluation import PolicyRun, baselines, load_model_policy, play_policy
from kalshi_rl.agents.oracle import OraclePolicy, plan_tapes
from kalshi_rl.agents.statistics import Interval, bootstrap_ci, iqm, probability_of_beating
from kalshi_rl.data.registry import ModelRecord
from kalshi_rl.data.replay.lake import ReplayData
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.environments.tape import Tape

CURVE_POINTS = 400
"""Points kept of each equity curve (the first, the last and evenly spaced ones between)."""

BASELINES = ("hold", "random", "momentum")


def thin(curve: np.ndarray, points: int = CURVE_POINTS) -> list[float]:
    """``curve`` at ``points`` evenly spaced ticks (all of it when shorter), rounded to the cent."""
    if len(curve) <= points:
        return [round(float(v), 2) for v in curve]
    index = np.linspace(0, len(curve) - 1, points).round().astype(int)
    return [round(float(curve[i]), 2) for i in index]


@dataclass(frozen=True)
class Score:
    """One policy on one window (a model version: with its seed and fold)."""

    policy: str
    """A version's label (NAME@VERSION), or a baseline's name, or ``oracle``."""
    window: int
    seed: int | None
    fold: int | None
    run: PolicyRun

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "window": self.window,
            "seed": self.seed,
            "fold": self.fold,
            **self.run.metrics.to_dict(),
            "equity": thin(self.run.equity),
        }


@dataclass(frozen=True)
class Summary:
    """One policy over every window (and, for the model, every version)."""

    policy: str
    runs: int
    iqm: Interval
    mean_pnl: float
    mean_sharpe: float
    mean_drawdown: float
    mean_fees: float
    mean_trades: float
    beats: dict[str, Interval]
    """Baseline name -> probability of beating it (the model only)."""
    oracle_share: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "runs": self.runs,
            "iqm_pnl": self.iqm.to_dict(),
            "mean_pnl": self.mean_pnl,
            "mean_sharpe": self.mean_sharpe,
            "mean_max_drawdown": self.mean_drawdown,
            "mean_fees": self.mean_fees,
            "mean_trades": self.mean_trades,
            "probability_of_beating": {name: i.to_dict() for name, i in self.beats.items()},
            "oracle_share": self.oracle_share,
        }


@dataclass(frozen=True)
class Comparison:
    """A run's evaluation: every score and the summaries (model first, then baselines, oracle)."""

    model: str
    windows: list[dict[str, Any]]
    scores: list[Score]
    summaries: list[Summary]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "windows": self.windows,
            "summary": [s.to_dict() for s in self.summaries],
            "scores": [s.to_dict() for s in self.scores],
        }


def _window_scores(scores: Sequence[Score], windows: int) -> list[list[float]]:
    """P&L per window (the strata), in the order of ``scores``."""
    groups: list[list[float]] = [[] for _ in range(windows)]
    for score in scores:
        groups[score.window].append(score.run.metrics.total_pnl)
    return groups


def _summary(
    policy: str,
    scores: Sequence[Score],
    windows: int,
    oracle: Sequence[float],
    opponents: dict[str, list[float]] | None,
    seed: int,
) -> Summary:
    metrics = [s.run.metrics for s in scores]
    groups = _window_scores(scores, windows)
    beats: dict[str, Interval] = {}
    for name, per_window in (opponents or {}).items():
        paired = [[per_window[w]] * len(g) for w, g in enumerate(groups)]
        beats[name] = probability_of_beating(groups, paired, seed=seed)
    possible = math.fsum(oracle[s.window] for s in scores)
    pnl = math.fsum(m.total_pnl for m in metrics)
    return Summary(
        policy=policy,
        runs=len(scores),
        iqm=bootstrap_ci(groups, iqm, seed=seed),
        mean_pnl=pnl / len(metrics),
        mean_sharpe=float(np.mean([m.sharpe for m in metrics])),
        mean_drawdown=float(np.mean([m.max_drawdown for m in metrics])),
        mean_fees=float(np.mean([m.fees for m in metrics])),
        mean_trades=float(np.mean([m.trades for m in metrics])),
        beats=beats,
        oracle_share=pnl / possible if possible > 1e-9 else None,
    )


def compare_run(
    name: str,
    versions: Sequence[tuple[ModelRecord, int]],
    windows: Sequence[tuple[ReplayData, list[Tape]]],
    config: EnvConfig,
    seed: int = 0,
) -> Comparison:
    """Evaluate ``versions`` (each a registry row and the index of its window in ``windows``)
    next to the baselines and the oracle on each window, under ``config``; see the module
    docstring. ``seed`` seeds the fills, the random baseline and the bootstrap."""
    reference: dict[str, list[Score]] = {p: [] for p in (*BASELINES, "oracle")}
    for w, (_, tapes) in enumerate(windows):
        for policy in baselines(seed):
            reference[policy.name].append(
                Score(policy.name, w, None, None, play_policy(policy, tapes, config, seed))
            )
        oracle = OraclePolicy(plan_tapes(tapes, config))
        reference["oracle"].append(Score("oracle", w, None, None, play_policy(oracle, tapes, config, seed)))
    ours: list[Score] = []
    for record, w in versions:
        place = record.training_config.get("run") or {}
        run = play_policy(load_model_policy(record), windows[w][1], config, seed)
        ours.append(Score(record.label, w, place.get("seed"), place.get("fold"), run))
    # One score per window for each reference policy, in window order.
    oracle_pnl = [s.run.metrics.total_pnl for s in reference["oracle"]]
    opponents = {b: [s.run.metrics.total_pnl for s in reference[b]] for b in BASELINES}
    summaries = [_summary(name, ours, len(windows), oracle_pnl, opponents, seed)]
    summaries += [_summary(p, reference[p], len(windows), oracle_pnl, None, seed) for p in reference]
    scores = ours + [s for p in reference for s in reference[p]]
    return Comparison(name, [data.describe() for data, _ in windows], scores, summaries)
