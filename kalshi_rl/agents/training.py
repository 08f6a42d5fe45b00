"""``Trainer``: SB3 / sb3-contrib agents on preloaded history, with checkpoints and a registry
row (spec §4.5).

The trainer only ever sees the preloaded window (``ReplayData`` -> tapes -> vectorised
``KalshiTradingEnv``, see ``vec``); it never touches the live feed. A run is one ``models``
row: created as ``training`` with its full train/serve contract and data fingerprint,
checkpointed periodically and at the end (atomically, see ``checkpoints``), then marked
``ready`` -- or ``stopped`` (Ctrl-C or a stop request, after saving) or ``failed`` (with the
reason and the last good checkpoint). Every finished training episode becomes a
``trading_episodes`` row in mode ``training``.

The algorithm (``algorithms``) decides part of the contract: a masked one (MaskablePPO) binds
the model to the action mask, and ``normalize_obs`` binds it to observation normalisation
(``VecNormalize``, its statistics saved with every checkpoint); the actor must reproduce both.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecEnv

from kalshi_rl.agents import hyperparameters as hp
from kalshi_rl.agents.algorithms import ALGORITHMS, Algorithm, get_algorithm
from kalshi_rl.agents.checkpoints import CHECKPOINT, NORMALIZER_FILE, model_dir
from kalshi_rl.agents.tensorboard import TradingMetricsCallback, tensorboard_logger
from kalshi_rl.agents.training_run import Progress, RunCallback, TrainingRun
from kalshi_rl.agents.vec import VecSettings, close_quietly, make_vec_env
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.replay.lake import ReplayData
from kalshi_rl.environments.contract import EnvConfig, ObservationNormalization
from kalshi_rl.environments.fee_timeline import fee_schedules_seen
from kalshi_rl.environments.kalshi_env import KalshiTradingEnv, build_tapes
from kalshi_rl.environments.tape import Tape

__all__ = ["ALGORITHM_CLASSES", "Progress", "TrainRequest", "Trainer", "TrainingRun"]

logger = logging.getLogger(__name__)

ALGORITHM_CLASSES: dict[str, type[BaseAlgorithm]] = {
    name: algorithm.load_class() for name, algorithm in ALGORITHMS.items()
}
"""``--algo`` name -> SB3 / sb3-contrib class (``architecture.lower()`` of a registry row)."""


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
    """The env; its ``masked`` and ``normalization`` are set from ``algo`` and ``normalize_obs``."""
    checkpoint_every: int = 10_000
    torch_threads: int = 1
    progress_bar: bool = False
    notes: str | None = None
    model_id: uuid.UUID | None = None  # chosen by the caller (the service answers with it at once)
    vec: str = "dummy"
    """``dummy`` (every env in this process) or ``subproc`` (a process per env; n_envs >= 2)."""
    normalize_obs: bool = False
    """Standardise observations with running statistics (``VecNormalize``); part of the contract."""
    normalize_reward: bool = False
    """Scale rewards by a running estimate of the return's spread (training only)."""
    tensorboard: Path | None = None
    """Write TensorBoard events into ``tensorboard/<name>_v<version>`` (``agents.tensorboard``)."""

    def __post_init__(self) -> None:
        if self.timesteps < 1 or self.n_envs < 1 or self.checkpoint_every < 1 or self.torch_threads < 1:
            raise ConfigError("timesteps, n_envs, checkpoint_every and torch_threads must be positive")
        get_algorithm(self.algo)
        VecSettings(self.n_envs, self.vec)  # refuses an unknown kind or subproc with one env

    @property
    def algorithm(self) -> Algorithm:
        return get_algorithm(self.algo)

    def bound(self) -> TrainRequest:
        """The request with the env's contract fields set from the algorithm and flags."""
        normalization = ObservationNormalization() if self.normalize_obs else None
        env = replace(self.env, masked=self.algorithm.masked, normalization=normalization)
        return replace(self, algo=self.algorithm.name, env=env)


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
        """What ``contract.json`` holds: the row's identity, its contract, how to run its policy."""
        config = record.training_config
        return {
            "model_id": str(record.id),
            "name": record.name,
            "version": record.version,
            "architecture": record.architecture,
            "policy": {"activation": str(record.hyperparameters.get("activation", "tanh"))},
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
        request = request.bound()
        params = hp.validate(request.algo, request.hyperparameters, request.n_envs)
        request = self._for_series(request, data)
        parent = self._parent(request)
        tapes = tapes if tapes is not None else build_tapes(data, request.env)
        torch.set_num_threads(request.torch_threads)
        set_random_seed(request.seed)
        venv = self._vec_env(tapes, request, params, parent)
        try:
            record = self.registry.create(
                name=request.name or f"{request.algo.upper()}_{data.series or data.markets[0]}",
                architecture=request.algorithm.architecture,
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
            model = self._model(request, params, venv, parent, record)
        except BaseException:
            close_quietly(venv)
            raise
        run = self.current = TrainingRun(self, request, record, model)
        callbacks: list[BaseCallback] = [RunCallback(run)]
        if request.tensorboard is not None:
            callbacks.append(TradingMetricsCallback())
        if callback is not None:
            callbacks.append(callback)
        try:
            model.learn(
                total_timesteps=request.timesteps,
                callback=callbacks[0] if len(callbacks) == 1 else CallbackList(callbacks),
                progress_bar=request.progress_bar,
                reset_num_timesteps=parent is None,
            )
        except KeyboardInterrupt:
            return self._finish(run, "stopped", f"stopped by Ctrl-C at {model.num_timesteps} timesteps")
        except Exception as exc:
            return self._fail(run, exc)
        finally:
            close_quietly(venv)
            self.current = None
        if run.stop_requested.is_set():
            return self._finish(run, "stopped", f"stopped on request at {model.num_timesteps} timesteps")
        return self._finish(run, "ready", request.notes)

    def _finish(self, run: TrainingRun, status: str, notes: str | None) -> ModelRecord:
        run.checkpoint()
        run.flush_episodes()
        if run.request.tensorboard is not None:
            # SB3 writes every ``log_interval`` iterations (A2C: 100, so 1,600 steps by default)
            # and not at the end: the values since its last write would otherwise be lost.
            run.model.logger.dump(run.model.num_timesteps)
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
        if parent.architecture != request.algorithm.architecture:
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
    def _vec_env(
        tapes: list[Tape], request: TrainRequest, params: dict[str, Any], parent: ModelRecord | None
    ) -> VecEnv:
        env_config = request.env
        settings = VecSettings(
            n_envs=request.n_envs,
            kind=request.vec,
            masked=env_config.masked,
            normalization=env_config.normalization,
            normalize_reward=request.normalize_reward,
            gamma=float(params.get("gamma", 0.99)),
        )
        saved = Path(parent.checkpoint_path).parent / NORMALIZER_FILE if parent is not None else None
        return make_vec_env(
            _EnvFactory(tapes, env_config),
            settings,
            request.seed,
            env_config.spec,
            normalizer_from=saved if saved is not None and saved.is_file() else None,
        )

    def _model(
        self,
        request: TrainRequest,
        params: dict[str, Any],
        venv: VecEnv,
        parent: ModelRecord | None,
        record: ModelRecord,
    ) -> BaseAlgorithm:
        algorithm = request.algorithm
        algo = ALGORITHM_CLASSES[algorithm.name]
        kwargs = hp.sb3_kwargs(params, algorithm.name)
        if parent is not None:
            kwargs.pop("policy_kwargs")
            model = algo.load(parent.checkpoint_path, env=venv, device="cpu", seed=request.seed, **kwargs)
        else:
            model = algo(algorithm.policy, venv, seed=request.seed, device="cpu", verbose=0, **kwargs)
        if request.tensorboard is not None:
            model.set_logger(tensorboard_logger(request.tensorboard, f"{record.name}_v{record.version}"))
        else:
            # Without a logger of our own SB3 makes a folder $TMPDIR/SB3-<time> on every learn()
            # call, even when it writes nothing there; this one keeps the values (progress reads
            # them) only.
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
            "vec": request.vec,
            "normalize": {"observations": request.normalize_obs, "rewards": request.normalize_reward},
            "tensorboard": str(request.tensorboard) if request.tensorboard is not None else None,
            "seed": request.seed,
            "torch_threads": request.torch_threads,
        }


class _EnvFactory:
    """Builds env ``i`` over the shared tapes; a class (not a closure) so that ``SubprocVecEnv``
    pickles exactly the tapes and the config into each worker."""

    def __init__(self, tapes: list[Tape], config: EnvConfig) -> None:
        self.tapes = tapes
        self.config = config

    def __call__(self, index: int) -> KalshiTradingEnv:
        return KalshiTradingEnv(self.tapes, self.config)
