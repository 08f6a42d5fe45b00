"""What defines a ``tune`` study, and the windows it may read.

A study compares trials, so every worker that joins one must bring the same definition: the
search space (by fingerprint), the algorithm, the training budget and seed, the env (its
train/serve contract and episode shape), the data (markets or series, and the training and
validation windows) and the pruning. The first worker stores it in the study's user
attributes; a later worker with anything else is refused before it trains.

Windows: trials train on ``[start, end)`` and are scored on ``[validation_start,
validation_end)``, which must come after training. A proof's test window, when given, is
only there to be refused if it overlaps either: it must start at or after the validation
window's end, and ``tune`` never reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kalshi_rl.agents.search_space import SearchSpace
from kalshi_rl.agents.training import TrainRequest
from kalshi_rl.core.errors import ConfigError

OBJECTIVE = "validation P&L after fees ($), deterministic policy, plain reward"
PRUNERS = ("median", "halving", "none")


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Window:
    """A half-open time range in ns; None at either end: the lake's first or last data."""

    start_ns: int | None
    end_ns: int | None

    def to_dict(self) -> dict[str, str | None]:
        return {"start": _iso(self.start_ns), "end": _iso(self.end_ns)}


def check_windows(train: Window, validation: Window, test: Window | None = None) -> Window:
    """Refuse windows that would let a trial see what it is scored on (or a proof's test
    window); return the training window with its end resolved (default: validation start)."""
    if validation.start_ns is None or validation.end_ns is None:
        raise ConfigError(
            "tune scores trials on a validation window after the training window: "
            "give --validation-start and --validation-end"
        )
    if validation.start_ns >= validation.end_ns:
        raise ConfigError(
            f"the validation window is empty: it starts at {_iso(validation.start_ns)} "
            f"and ends at {_iso(validation.end_ns)}"
        )
    end = validation.start_ns if train.end_ns is None else train.end_ns
    if end > validation.start_ns:
        raise ConfigError(
            f"the training window ends at {_iso(end)}, after the validation window starts at "
            f"{_iso(validation.start_ns)}: trials must be scored on data they never trained on"
        )
    if train.start_ns is not None and train.start_ns >= end:
        raise ConfigError(
            f"the training window is empty: it starts at {_iso(train.start_ns)}, ends at {_iso(end)}"
        )
    if test is not None and (test.start_ns is not None or test.end_ns is not None):
        if test.start_ns is None:
            raise ConfigError(
                "give --test-start with --test-end (the test window is only checked, never read)"
            )
        if test.end_ns is not None and test.start_ns >= test.end_ns:
            raise ConfigError(
                f"the test window is empty: it starts at {_iso(test.start_ns)}, ends at {_iso(test.end_ns)}"
            )
        if test.start_ns < validation.end_ns:
            raise ConfigError(
                f"the test window starts at {_iso(test.start_ns)}, before the validation window ends at "
                f"{_iso(validation.end_ns)}: tune must never see the test window, so it must start "
                "after the training and validation windows"
            )
    return Window(train.start_ns, end)


@dataclass(frozen=True)
class StudySpec:
    """One study's definition (see the module docstring) and its per-trial training template."""

    name: str
    space: SearchSpace
    template: TrainRequest
    markets: tuple[str, ...]
    series: str | None
    train: Window
    validation: Window
    eval_every: int
    pruner: str = "median"
    pruner_startup_trials: int = 5

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 100 or "@" in self.name or self.name != self.name.strip():
            raise ConfigError(
                f"a study name must be 1-100 characters without '@' or surrounding spaces, got {self.name!r} "
                "(its trials are registered as NAME-tN)"
            )
        if self.space.algo != self.template.algo:
            raise ConfigError(
                f"the search space is for {self.space.algo}, the trials train {self.template.algo}"
            )
        if self.eval_every < 1 or self.pruner_startup_trials < 0:
            raise ConfigError("--eval-every must be positive and --prune-startup-trials not negative")
        if self.pruner not in PRUNERS:
            raise ConfigError(f"unknown pruner {self.pruner!r} (expected one of {', '.join(PRUNERS)})")

    def definition(self) -> dict[str, Any]:
        """Everything a joining worker must agree on, in JSON-normal form (stored in the study)."""
        env = self.template.env
        definition = {
            "algo": self.template.algo,
            "space_fingerprint": self.space.fingerprint(),
            "timesteps": self.template.timesteps,
            "n_envs": self.template.n_envs,
            "seed": self.template.seed,
            "normalize": {"obs": self.template.normalize_obs, "reward": self.template.normalize_reward},
            "env": {
                "contract": env.contract(),
                "episode_ticks": env.episode_ticks,
                "min_episode_ticks": env.min_episode_ticks,
                "reward": env.reward.to_dict(),
            },
            "markets": sorted(self.markets),
            "series": self.series,
            "train_window": self.train.to_dict(),
            "validation_window": self.validation.to_dict(),
            "eval_every": self.eval_every,
            "pruner": {"kind": self.pruner, "startup_trials": self.pruner_startup_trials},
            "objective": OBJECTIVE,
        }
        return json.loads(json.dumps(definition))  # as it comes back from the study


def differences(stored: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """The top-level keys on which two definitions differ."""
    return sorted(k for k in set(stored) | set(ours) if stored.get(k) != ours.get(k))
