"""``TrainingControl``: the one training job the /rl/* API runs at a time (``RlService``).

The ``Trainer`` runs in a worker thread so that it never blocks the event loop or the actor;
its progress and its end are published on the training hub (/rl/ws/training). SB3 and the
trainer are imported only when a run starts: without the ``train`` extra the request is a 501.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kalshi_rl.api.errors import ApiError
from kalshi_rl.api.hubs import Hub
from kalshi_rl.api.models import TrainingStart
from kalshi_rl.api.stream_messages import (
    TrainingFinishedData,
    TrainingFinishedMessage,
    TrainingProgressData,
    TrainingProgressMessage,
)
from kalshi_rl.core.extras import missing_extra
from kalshi_rl.data.registry import ModelRecord, ModelRegistry

if TYPE_CHECKING:
    from kalshi_rl.api.service import ServiceConfig

logger = logging.getLogger(__name__)


@dataclass
class TrainingJob:
    """The training run started through the API: its task, and what it has said so far."""

    model_id: uuid.UUID
    name: str
    task: asyncio.Task[ModelRecord]
    started: float
    progress: TrainingProgressData | None = None
    record: ModelRecord | None = None
    error: str | None = None


class TrainingControl:
    """The training side of ``RlService`` (a mixin: the service holds the state it uses)."""

    config: ServiceConfig
    training: TrainingJob | None
    training_hub: Hub
    _trainer: Any
    require_registry: Callable[[], ModelRegistry]

    async def start_training(self, body: TrainingStart) -> TrainingJob:
        try:
            from kalshi_rl.agents import hyperparameters as hp
            from kalshi_rl.agents.training import Trainer, TrainRequest
        except ModuleNotFoundError as exc:
            extra = missing_extra(exc)
            if extra is None:
                raise
            raise ApiError(501, "not_installed", str(extra)) from None
        from kalshi_rl.data.replay.lake import lake_time_range, preload_lake
        from kalshi_rl.data.replay.series import series_markets
        from kalshi_rl.environments.action_space import ActionConfig
        from kalshi_rl.environments.contract import EnvConfig
        from kalshi_rl.execution.fill_engine import FillConfig

        registry = self.require_registry()
        if self.training is not None and not self.training.task.done():
            raise ApiError(
                409, "training_running", f"training {self.training.name} is already running; stop it first"
            )
        hp.validate(body.algo, body.hyperparameters, body.n_envs)
        try:
            env = EnvConfig(
                tick_ms=body.tick_ms,
                episode_ticks=body.episode_ticks,
                actions=ActionConfig(round(body.order_contracts * 100), round(body.position_limit * 100)),
                fill=FillConfig(latency_min_ms=body.latency_ms, latency_max_ms=body.latency_ms),
            )
        except ValueError as exc:
            raise ApiError(400, "invalid_request", str(exc)) from None
        lake = self.config.lake_dir
        start = int(body.start.timestamp() * 1e9) if body.start else None
        end = int(body.end.timestamp() * 1e9) if body.end else None
        markets = tuple(body.markets)
        if body.series:  # every market of the series with books in the window
            markets = await asyncio.to_thread(series_markets, lake, body.series, start, end)
        low, high = await asyncio.to_thread(lake_time_range, lake, markets)
        data = await asyncio.to_thread(preload_lake, lake, markets, start or low, end or high + 1)
        data.series = body.series
        model_id = uuid.uuid4()
        name = body.name or f"{body.algo.upper()}_{body.series or markets[0]}"
        request = TrainRequest(
            algo=body.algo,
            timesteps=body.timesteps,
            n_envs=body.n_envs,
            seed=body.seed,
            name=name,
            parent=body.parent,
            hyperparameters=body.hyperparameters,
            env=env,
            checkpoint_every=body.checkpoint_every,
            model_id=model_id,
        )
        self._trainer = Trainer(registry, self.config.models_dir, on_progress=self._on_progress)
        task = asyncio.create_task(asyncio.to_thread(self._trainer.train, request, data), name="training")
        self.training = TrainingJob(model_id, name, task, time.time())
        task.add_done_callback(self._training_done)
        return self.training

    def _on_progress(self, progress: Any) -> None:  # in the trainer's thread
        data = TrainingProgressData(
            episode=progress.episode,
            total_episodes=progress.total_episodes,
            avg_reward=progress.avg_reward,
            loss=progress.loss,
            learning_rate=progress.learning_rate,
            timesteps_so_far=progress.timesteps_so_far,
            model_id=progress.model_id,
            total_timesteps=progress.total_timesteps,
        )
        if self.training is not None:
            self.training.progress = data
        self.training_hub.publish_threadsafe(
            TrainingProgressMessage(type="training_progress", data=data).wire()
        )

    def _training_done(self, task: asyncio.Task[ModelRecord]) -> None:
        job = self.training
        if job is None or job.task is not task:
            return
        if task.cancelled():
            job.error = "cancelled"
        elif task.exception() is not None:
            exc = task.exception()
            job.error = f"{type(exc).__name__}: {exc}"
            logger.warning("training %s did not start or failed: %s", job.name, job.error)
        else:
            job.record = task.result()
        finished = TrainingFinishedData(
            model_id=str(job.model_id),
            status=job.record.status if job.record else "failed",
            error=job.error,
        )
        self.training_hub.publish(TrainingFinishedMessage(type="training_finished", data=finished).wire())

    async def halt_training(self) -> None:
        """Stop the running training, if any, and wait for it to save and record itself.

        A run still setting up (tapes, environments, model) has nothing to ask yet: wait for it to
        exist rather than for the whole training to finish.
        """
        job = self.training
        while job is not None and not job.task.done():
            run = self._trainer.current if self._trainer is not None else None
            if run is not None:
                run.stop_requested.set()
                break
            await asyncio.sleep(0.05)
        if job is not None:
            await asyncio.gather(job.task, return_exceptions=True)

    async def stop_training(self) -> TrainingJob:
        job = self.training
        if job is None or job.task.done():
            raise ApiError(409, "training_not_running", "no training is running")
        trainer = self._trainer
        if trainer is None or trainer.current is None:
            raise ApiError(
                409, "training_starting", "the training is still loading its data; try again in a moment"
            )
        trainer.current.stop_requested.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(job.task), 60)
        return job
