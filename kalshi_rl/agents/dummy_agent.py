"""Baseline policies for evaluation: hold, random, and a simple momentum rule.

A policy maps an observation to an action index. The rule reads features by name from the
observation spec, so it sees exactly what a trained model sees.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from kalshi_rl.environments.action_space import Action
from kalshi_rl.environments.observation_space import OBSERVATION_SPEC, ObservationSpec


class Policy(Protocol):
    name: str

    def act(self, observation: np.ndarray) -> int: ...

    def reset(self) -> None: ...


class HoldPolicy:
    """Never trades: P&L is exactly zero, the floor any strategy must beat."""

    name = "hold"

    def act(self, observation: np.ndarray) -> int:
        return int(Action.HOLD)

    def reset(self) -> None:
        pass


class RandomPolicy:
    """Uniformly random actions (seeded): what trading without information costs."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._rng = np.random.default_rng(seed)

    def act(self, observation: np.ndarray) -> int:
        return int(self._rng.integers(len(Action)))

    def reset(self) -> None:
        pass


class MomentumRule:
    """Buy YES after the mid rose more than ``threshold`` over ``window`` ticks, buy NO after it
    fell; sell (reduce-only) when the move reverses. Thresholds are in dollars."""

    name = "momentum"

    def __init__(
        self, window: int = 5, threshold: float = 0.02, spec: ObservationSpec = OBSERVATION_SPEC
    ) -> None:
        features = spec.features
        key = f"move_{window}"
        if key not in features:
            raise ValueError(f"the observation has no {key} (windows: {spec.move_windows})")
        self._move = features.index(key)
        self._position = features.index("position")
        self._threshold = threshold * 10  # features hold dollars x 10

    def act(self, observation: np.ndarray) -> int:
        move = float(observation[self._move])
        position = float(observation[self._position])
        if move > self._threshold:
            return int(Action.SELL_NO if position < 0 else Action.BUY_YES)
        if move < -self._threshold:
            return int(Action.SELL_YES if position > 0 else Action.BUY_NO)
        return int(Action.HOLD)

    def reset(self) -> None:
        pass
