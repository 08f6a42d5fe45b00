"""Statistics for comparing policies over few runs: IQM, bootstrap intervals, P(beat a baseline).

RL results vary a lot from one training seed to the next and from one market window to the
next, and a handful of runs is all a 2-core machine affords. Following Agarwal et al.,
"Deep RL at the Edge of the Statistical Precipice" (NeurIPS 2021; the ``rliable`` library):

- the **interquartile mean** (IQM) is the mean of the middle half of the scores, the 25 %
  trimmed mean of ``scipy.stats.trim_mean`` (``int(n / 4)`` scores cut at each end): robust to
  one lucky or broken seed, yet it uses more of the data than the median;
- the **confidence interval** is a percentile bootstrap, *stratified*: the scores are grouped
  (one group per evaluation window) and each resample draws, with replacement, as many scores
  from each group as it holds, so a resample never trades an easy window for a hard one. The
  statistic is computed on the resample's scores taken together;
- the **probability of beating a baseline** compares paired scores (the same seed on the same
  window): the share of pairs the policy wins, a tie counting one half.

Every function takes its random generator's seed, so an interval is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

Statistic = Callable[[np.ndarray], np.ndarray]
"""Reduces the last axis of an array: (..., n) -> (...)."""

DEFAULT_RESAMPLES = 2_000


@dataclass(frozen=True)
class Interval:
    """A point estimate and its confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "confidence": self.confidence}


def iqm(values: ArrayLike, axis: int = -1) -> np.ndarray:
    """Return the interquartile mean along ``axis``: the mean once ``int(n / 4)`` values are cut at
    each end (below 4 values, nothing is cut: the plain mean)."""
    data = np.sort(np.asarray(values, dtype=np.float64), axis=axis)
    n = data.shape[axis]
    if n == 0:
        raise ValueError("the interquartile mean of no values is undefined")
    cut = n // 4
    return np.asarray(np.take(data, np.arange(cut, n - cut), axis=axis).mean(axis=axis))


def mean(values: ArrayLike, axis: int = -1) -> np.ndarray:
    """Return the plain mean along ``axis`` (a ``Statistic``, for comparison with the IQM)."""
    return np.asarray(np.mean(np.asarray(values, dtype=np.float64), axis=axis))


def win_share(differences: ArrayLike, axis: int = -1) -> np.ndarray:
    """Return the share of positive differences along ``axis``, a zero counting one half."""
    d = np.asarray(differences, dtype=np.float64)
    return np.asarray(np.mean((d > 0) + 0.5 * (d == 0), axis=axis))


def _groups(groups: Sequence[ArrayLike]) -> list[np.ndarray]:
    arrays = [np.asarray(g, dtype=np.float64).ravel() for g in groups]
    arrays = [a for a in arrays if a.size]
    if not arrays:
        raise ValueError("no scores to summarise")
    for a in arrays:
        if not np.all(np.isfinite(a)):
            raise ValueError("scores must be finite numbers")
    return arrays


def bootstrap_ci(
    groups: Sequence[ArrayLike],
    statistic: Statistic = iqm,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Return ``statistic`` of the scores in ``groups`` and its stratified percentile bootstrap
    interval (see the module docstring). A group is one stratum, e.g. one evaluation window."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be within (0, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be positive, got {resamples}")
    arrays = _groups(groups)
    estimate = float(statistic(np.concatenate(arrays)))
    rng = np.random.default_rng(seed)
    # (resamples, n) scores: each group resampled within itself, then the groups side by side.
    drawn = np.concatenate([a[rng.integers(0, a.size, size=(resamples, a.size))] for a in arrays], axis=1)
    values = statistic(drawn)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(estimate, float(low), float(high), confidence)


def probability_of_beating(
    policy: Sequence[ArrayLike],
    baseline: Sequence[ArrayLike],
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Return the probability that ``policy`` scores above ``baseline`` on a paired run, with its
    interval: group ``i`` of each holds the scores of the same runs in the same order."""
    if len(policy) != len(baseline):
        raise ValueError(f"{len(policy)} groups of policy scores but {len(baseline)} of baseline scores")
    differences = []
    for ours, theirs in zip(policy, baseline, strict=True):
        a, b = np.asarray(ours, dtype=np.float64).ravel(), np.asarray(theirs, dtype=np.float64).ravel()
        if a.shape != b.shape:
            raise ValueError(f"unpaired scores: {a.size} for the policy, {b.size} for the baseline")
        differences.append(a - b)
    return bootstrap_ci(differences, win_share, confidence, resamples, seed)
