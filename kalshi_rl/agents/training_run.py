"""One training run in progress: its registry row, episode log, checkpoints and progress.

``Trainer`` (``training``) builds a ``TrainingRun`` and hands SB3 a ``RunCallback`` that logs
finished episodes, checkpoints periodically, reports progress and honours stop requests.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize

from kalshi_rl.agents.checkpoints import model_dir, save_checkpoint
from kalshi_rl.agents.policy_export import policy_arrays
from kalshi_rl.data.registry import ModelRecord

if TYPE_CHECKING:
    from kalshi_rl.agents.training import Trainer, TrainRequest


@dataclass
class Progress:
    """What a training-progress listener receives (the spec's training_progress message)."""

    model_id: str
    episode: int
    total_episodes: int
    avg_reward: float
    loss: float | None
    learning_rate: float
    timesteps_so_far: int
    total_timesteps: int


class RunCallback(BaseCallback):
    """Logs finished episodes, checkpoints periodically, reports progress, honours stops."""

    def __init__(self, run: TrainingRun) -> None:
        super().__init__()
        self.run = run
        self._last_checkpoint = 0
        self._last_report = 0.0

    def _on_step(self) -> bool:
        run = self.run
        for info in self.locals.get("infos", ()):
            summary = info.get("episode_summary")
            if summary is not None:
                run.episode_done(summary)
        if self.num_timesteps - self._last_checkpoint >= run.request.checkpoint_every:
            self._last_checkpoint = self.num_timesteps
            run.checkpoint()
        now = time.monotonic()
        if now - self._last_report >= 1.0:
            self._last_report = now
            run.report(self.num_timesteps)
        return not run.stop_requested.is_set()

    def _on_training_end(self) -> None:
        self.run.report(self.num_timesteps)  # the last point, however short the run


class TrainingRun:
    """One training run: its registry row, model, checkpoints and episode log."""

    def __init__(
        self, trainer: Trainer, request: TrainRequest, record: ModelRecord, model: BaseAlgorithm
    ) -> None:
        self.trainer = trainer
        self.request = request
        self.record = record
        self.model = model
        self.directory = model_dir(trainer.models_dir, str(record.id))
        self.stop_requested = threading.Event()
        self.episodes = 0
        self.last_checkpoint: Path | None = None
        self._rewards: deque[float] = deque(maxlen=100)
        self._pending: list[dict[str, Any]] = []

    def episode_done(self, summary: dict[str, Any]) -> None:
        self.episodes += 1
        self._rewards.append(float(summary["reward"]))
        self._pending.append(
            {
                "model_id": self.record.id,
                "market_ticker": summary["market_ticker"],
                "start_time": datetime.fromtimestamp(summary["start_ns"] / 1e9, tz=UTC),
                "end_time": datetime.fromtimestamp(summary["end_ns"] / 1e9, tz=UTC),
                "mode": "training",
                "total_reward": float(summary["reward"]),
                "total_steps": int(summary["steps"]),
                "final_position": {
                    "position_units": summary["position_units"],
                    "pnl": summary["pnl"],
                    "fees": summary["fees"],
                    "contracts_traded": summary["contracts_traded"],
                },
                "metadata": {"segment": summary["segment"], "settled": summary["settled"]},
            }
        )
        if len(self._pending) >= 50:
            self.flush_episodes()

    def flush_episodes(self) -> None:
        rows, self._pending = self._pending, []
        self.trainer.registry.add_episodes(rows)

    def checkpoint(self) -> Path:
        """Save the model, its contract, ``policy.npz`` and the normaliser (``checkpoints``)."""
        model = self.model
        env = model.get_env()
        normalizer = env if isinstance(env, VecNormalize) else None
        activation = str(self.record.hyperparameters.get("activation", "tanh"))
        self.last_checkpoint = save_checkpoint(
            model,
            self.directory,
            self.trainer.contract_file(self.record),
            arrays=policy_arrays(model, activation, normalizer),
            normalizer=normalizer,
        )
        self.trainer.registry.update(
            self.record.id, training_timesteps=int(model.num_timesteps), training_episodes=self.episodes
        )
        return self.last_checkpoint

    def report(self, timesteps: int) -> None:
        listener = self.trainer.on_progress
        if listener is None:
            return
        values = self.model.logger.name_to_value if self.model.logger else {}
        loss = values.get("train/loss")
        listener(
            Progress(
                model_id=str(self.record.id),
                episode=self.episodes,
                total_episodes=max(
                    self.episodes, self.request.timesteps // max(1, self.request.env.episode_ticks)
                ),
                avg_reward=float(np.mean(self._rewards)) if self._rewards else 0.0,
                loss=float(loss) if loss is not None else None,
                learning_rate=float(self.model.lr_schedule(self.model._current_progress_remaining)),
                timesteps_so_far=int(timesteps),
                total_timesteps=self.request.timesteps,
            )
        )
