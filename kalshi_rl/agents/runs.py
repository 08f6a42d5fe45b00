"""Runs: several versions of one model name trained together (seeds, walk-forward folds).

``train --seeds N`` trains N versions of one name, one per seed; ``--walk-forward K`` trains
them on each of K training windows (``walk_forward``). Every version of one invocation carries
the same run id in ``training_config["run"]``, with its seed, its fold and the windows it was
trained and is to be tested on, so ``evaluate --model NAME`` finds the whole run from its
newest version and never mixes in older versions of the name trained otherwise.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kalshi_rl.agents.training import Trainer, TrainRequest
from kalshi_rl.agents.walk_forward import Fold, Window
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.replay.lake import ReplayData

logger = logging.getLogger(__name__)

RUN_KEY = "run"
"""The key of ``training_config`` holding a version's place in its run."""


@dataclass(frozen=True)
class RunPlan:
    """The versions to train: every seed, on the whole window or on every fold."""

    seeds: tuple[int, ...]
    folds: tuple[Fold, ...] = ()

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ConfigError("a run needs at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"the seeds of a run must differ, got {list(self.seeds)}")

    @classmethod
    def of(cls, first_seed: int, seeds: int, folds: list[Fold] | None = None) -> RunPlan:
        if seeds < 1:
            raise ConfigError(f"--seeds must be at least 1, got {seeds}")
        return cls(tuple(range(first_seed, first_seed + seeds)), tuple(folds or ()))

    @property
    def size(self) -> int:
        return len(self.seeds) * max(1, len(self.folds))


def run_of(record: ModelRecord) -> dict[str, Any] | None:
    """``record``'s place in its run, or None for a model trained before runs existed."""
    run = record.training_config.get(RUN_KEY)
    return run if isinstance(run, dict) and "id" in run else None


def held_out_window(record: ModelRecord) -> Window | None:
    """The held-out window a walk-forward version is to be evaluated on, if it has one."""
    run = run_of(record)
    test = run.get("test") if run else None
    return Window.from_dict(test) if isinstance(test, dict) else None


def train_run(
    trainer: Trainer,
    request: TrainRequest,
    plan: RunPlan,
    load: Callable[[Window | None], ReplayData],
) -> list[ModelRecord]:
    """Train every version of ``plan`` with ``request`` (its seed replaced), under one name.

    ``load(window)`` preloads a fold's training window (``None``: the whole window). Stops at
    the first version that does not end ``ready`` (stopped by Ctrl-C, or failed), whose row is
    the last one returned.
    """
    run_id = uuid.uuid4().hex
    records: list[ModelRecord] = []
    for fold in plan.folds or (None,):
        data = load(fold.train if fold else None)
        for seed in plan.seeds:
            record = trainer.train(replace(request, seed=seed), data)
            request = replace(request, name=record.name)  # later versions: the first one's name
            place = {
                "id": run_id,
                "seed": seed,
                "seeds": list(plan.seeds),
                "fold": fold.index if fold else None,
                "folds": len(plan.folds),
                "train": (fold.train if fold else Window(data.start_ns, data.end_ns)).to_dict(),
                "test": fold.test.to_dict() if fold else None,
            }
            record = trainer.registry.update(
                record.id, training_config={**record.training_config, RUN_KEY: place}
            )
            records.append(record)
            if record.status != "ready":
                logger.warning("run %s stopped at %s (%s)", run_id, record.label, record.status)
                return records
    return records


def run_versions(registry: ModelRegistry, ref: str) -> list[ModelRecord]:
    """The versions ``ref`` stands for, oldest first: for a NAME, every version of its newest
    run; for an ID or NAME@VERSION, that version alone."""
    record = registry.get(ref)
    if "@" in ref or _is_uuid(ref):
        return [record]
    run = run_of(record)
    if run is None:
        return [record]
    versions = [
        r
        for r in registry.list_models(name=record.name, limit=100_000)
        if (place := run_of(r)) is not None and place["id"] == run["id"]
    ]
    return sorted(versions, key=lambda r: r.version)


def _is_uuid(ref: str) -> bool:
    try:
        uuid.UUID(ref)
    except ValueError:
        return False
    return True
