"""``Trainer``: SB3 PPO/A2C on preloaded history, with checkpoints and a registry row (spec §4.5).

The trainer only ever sees the preloaded window (``ReplayData`` -> tapes -> vectorised
``KalshiTradingEnv``); it never touches the live feed. A run is one ``models`` row: created
as ``training`` with its full train/serve contract and data fingerprint, checkpointed
periodically and at the end (atomically), then marked ``ready`` -- or ``stopped`` (Ctrl-C or a
stop request, after saving) or ``failed`` (with the reason and the last good checkpoint).
Every finished training episode becomes a ``trading_episodes`` row in mode ``training``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from kalshi_rl.agents import hyperparameters as hp
from kalshi_rl.agents.checkpoints import CHECKPOINT, model_dir, save_checkpoint
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.replay.lake import ReplayData
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.environments.fee_timeline import fee_schedules_seen
from kalshi_rl.environments.kalshi_env import KalshiTradingEnv, build_tapes
from kalshi_rl.environments.tape import Tape

logger = logging.getLogger(__name__)

ALGORITHM_CLASSES: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "a2c": A2C}


@dataclass(frozen=True)
class TrainRequest:
    algo: str = "ppo"
    timesteps: int = 50_000
    n_envs: int = 1
    seed: int = 0
    name: str | None = None
    parent: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    env: EnvConfig = field(default_factory=EnvConfig)
    checkpoint_every: int = 10_000
    torch_threads: int = 1
    progress_bar: bool = False
    notes: str | None = None
    model_id: uuid.UUID | None = None  # chosen by the caller (the service answers with it at once)

    def __post_init__(self) -> None:
        if self.timesteps < 1 or self.n_envs < 1 or self.checkpoint_every < 1 or self.torch_threads < 1:
            raise ConfigError("timesteps, n_envs, checkpoint_every and torch_threads must be positive")


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


class _RunCallback(BaseCallback):
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
        self.last_checkpoint = save_checkpoint(
            self.model, self.directory, self.trainer.contract_file(self.record)
        )
        self.trainer.registry.update(
            self.record.id, training_timesteps=int(self.model.num_timesteps), training_episodes=self.episodes
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


class Trainer:
    """Trains models on preloaded windows and records them in the registry."""

    def __init__(
        self, registry: ModelRegistry, models_dir: Path, on_progress: Callable[[Progress], None] | None = None
    ) -> None:
        self.registry = registry
        self.models_dir = models_dir.resolve()  # registry rows hold absolute checkpoint paths
        self.on_progress = on_progress
        self.current: TrainingRun | None = None

    def contract_file(self, record: ModelRecord) -> dict[str, Any]:
        config = record.training_config
        return {
            "model_id": str(record.id),
            "name": record.name,
            "version": record.version,
            "architecture": record.architecture,
            **config["contract"],
        }

    def train(
        self,
        request: TrainRequest,
        data: ReplayData,
        tapes: list[Tape] | None = None,
        callback: BaseCallback | None = None,
    ) -> ModelRecord:
        """Run one training; returns the final registry row (ready, stopped or failed).

        ``callback`` runs after the trainer's own on every step (``tune`` evaluates there); to
        end the run early it sets ``self.current.stop_requested``: the run is then checkpointed
        and ``stopped``, as on a stop request.
        """
        params = hp.validate(request.algo, request.hyperparameters, request.n_envs)
        request = self._for_series(request, data)
        parent = self._parent(request)
        tapes = tapes if tapes is not None else build_tapes(data, request.env)
        torch.set_num_threads(request.torch_threads)
        set_random_seed(request.seed)
        venv = self._vec_env(tapes, request)
        record = self.registry.create(
            name=request.name or f"{request.algo.upper()}_{data.series or data.markets[0]}",
            architecture=request.algo.upper(),
            # A series model is the series' (its markets are in training_config.data.markets).
            market_ticker=data.series or ",".join(data.markets),
            checkpoint_path="",
            hyperparameters=params,
            training_config=self._training_config(request, data, tapes),
            parent_model_id=parent.id if parent else None,
            notes=request.notes,
            model_id=request.model_id,
        )
        checkpoint = model_dir(self.models_dir, str(record.id)) / CHECKPOINT
        record = self.registry.update(record.id, checkpoint_path=str(checkpoint))
        model = self._model(request, params, venv, parent)
        run = self.current = TrainingRun(self, request, record, model)
        try:
            model.learn(
                total_timesteps=request.timesteps,
                callback=_RunCallback(run)
                if callback is None
                else CallbackList([_RunCallback(run), callback]),
                progress_bar=request.progress_bar,
                reset_num_timesteps=parent is None,
            )
        except KeyboardInterrupt:
            return self._finish(run, "stopped", f"stopped by Ctrl-C at {model.num_timesteps} timesteps")
        except Exception as exc:
            return self._fail(run, exc)
        finally:
            venv.close()
            self.current = None
        if run.stop_requested.is_set():
            return self._finish(run, "stopped", f"stopped on request at {model.num_timesteps} timesteps")
        return self._finish(run, "ready", request.notes)

    def _finish(self, run: TrainingRun, status: str, notes: str | None) -> ModelRecord:
        run.checkpoint()
        run.flush_episodes()
        return self.registry.update(
            run.record.id,
            status=status,
            notes=notes,
            training_timesteps=int(run.model.num_timesteps),
            training_episodes=run.episodes,
        )

    def _fail(self, run: TrainingRun, exc: BaseException) -> ModelRecord:
        logger.exception("training %s failed", run.record.label)
        last = str(run.last_checkpoint) if run.last_checkpoint else "none"
        try:
            run.flush_episodes()
        finally:
            record = self.registry.update(
                run.record.id,
                status="failed",
                notes=f"{type(exc).__name__}: {exc}; last good checkpoint: {last}",
            )
        return record

    @staticmethod
    def _for_series(request: TrainRequest, data: ReplayData) -> TrainRequest:
        """The request with its contract bound to ``data``'s series (or to none)."""
        if request.env.series not in (None, data.series):
            raise ConfigError(
                f"the env is for series {request.env.series} but the data is "
                f"{'series ' + data.series if data.series else 'a list of markets'}"
            )
        if request.env.series == data.series:
            return request
        return replace(request, env=replace(request.env, series=data.series))

    def _parent(self, request: TrainRequest) -> ModelRecord | None:
        if request.parent is None:
            return None
        parent = self.registry.get(request.parent)
        if parent.architecture.lower() != request.algo:
            raise ConfigError(
                f"parent {parent.label} is {parent.architecture}; fine-tune it with --algo {parent.architecture.lower()}"
            )
        theirs, ours = parent.training_config.get("contract", {}), request.env.contract()
        if theirs != ours:
            differing = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
            raise ConfigError(
                f"parent {parent.label} was trained under a different contract ({', '.join(differing)})"
            )
        if not Path(parent.checkpoint_path).is_file():
            raise ConfigError(f"parent {parent.label} has no checkpoint at {parent.checkpoint_path}")
        return parent

    @staticmethod
    def _vec_env(tapes: list[Tape], request: TrainRequest) -> VecEnv:
        def make(i: int) -> Callable[[], KalshiTradingEnv]:
            return lambda: KalshiTradingEnv(tapes, request.env)

        venv = DummyVecEnv([make(i) for i in range(request.n_envs)])
        venv.seed(request.seed)
        return venv

    @staticmethod
    def _model(
        request: TrainRequest, params: dict[str, Any], venv: VecEnv, parent: ModelRecord | None
    ) -> BaseAlgorithm:
        algo = ALGORITHM_CLASSES[request.algo]
        kwargs = hp.sb3_kwargs(params)
        if parent is not None:
            kwargs.pop("policy_kwargs")
            model = algo.load(parent.checkpoint_path, env=venv, device="cpu", seed=request.seed, **kwargs)
        else:
            model = algo("MlpPolicy", venv, seed=request.seed, device="cpu", verbose=0, **kwargs)
        # Without a logger of our own SB3 makes a folder $TMPDIR/SB3-<time> on every learn() call,
        # even when it writes nothing there; this one keeps the values (progress reads them) only.
        model.set_logger(Logger(folder=None, output_formats=[]))
        return model

    @staticmethod
    def _training_config(request: TrainRequest, data: ReplayData, tapes: list[Tape]) -> dict[str, Any]:
        env = request.env
        return {
            "contract": env.contract(),
            "env": {
                "tick_ms": env.tick_ms,
                "episode_ticks": env.episode_ticks,
                "min_episode_ticks": env.min_episode_ticks,
                "reward": env.reward.to_dict(),
            },
            "data": {
                **data.describe(),
                "tapes": len(tapes),
                "ticks": sum(len(t) for t in tapes),
                # The schedules charged in training (the policy itself is in the contract).
                "fee_schedules": fee_schedules_seen(tapes, env.fill.fees),
            },
            "algo": request.algo,
            "timesteps": request.timesteps,
            "n_envs": request.n_envs,
            "seed": request.seed,
            "torch_threads": request.torch_threads,
        }
