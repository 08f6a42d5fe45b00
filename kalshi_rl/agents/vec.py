"""The vectorised training env: in-process or one process per env, masks, monitor, normaliser.

Stack, bottom to top: ``DummyVecEnv`` (every env in this process, stepped in turn) or
``SubprocVecEnv`` (one worker process per env, stepped in parallel: uses several cores when the
env's step costs more than the pipe round trip) -> ``VecMonitor`` (episode returns and lengths,
SB3's ``rollout/ep_*`` scalars) -> ``VecActionMasks`` (masked algorithms) -> ``VecNormalize``
(when observations or rewards are normalised). The masks are computed here, in the training
process, from the raw observations the workers returned -- the function the actor uses -- so a
masked ``SubprocVecEnv`` costs no extra round trip per step for ``env_method('action_masks')``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    SubprocVecEnv,
    VecEnv,
    VecEnvWrapper,
    VecMonitor,
    VecNormalize,
)
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from kalshi_rl.core.errors import ConfigError
from kalshi_rl.environments.action_mask import action_masks
from kalshi_rl.environments.contract import ObservationNormalization
from kalshi_rl.environments.observation_space import ObservationSpec

logger = logging.getLogger(__name__)

VEC_KINDS = ("dummy", "subproc")


@dataclass(frozen=True)
class VecSettings:
    """How the training envs are vectorised and wrapped."""

    n_envs: int = 1
    kind: str = "dummy"
    masked: bool = False
    normalization: ObservationNormalization | None = None
    normalize_reward: bool = False
    gamma: float = 0.99  # the reward normaliser's discount: the algorithm's
    start_method: str | None = None  # SubprocVecEnv's default: forkserver on Linux

    def __post_init__(self) -> None:
        if self.kind not in VEC_KINDS:
            raise ConfigError(f"unknown vec env {self.kind!r} (expected one of {', '.join(VEC_KINDS)})")
        if self.n_envs < 1:
            raise ConfigError("n_envs must be positive")
        if self.kind == "subproc" and self.n_envs < 2:
            raise ConfigError("--vec subproc needs --n-envs 2 or more (one env steps faster in-process)")

    @property
    def normalized(self) -> bool:
        return self.normalization is not None or self.normalize_reward


def action_count(venv: VecEnv) -> int:
    space = venv.action_space
    if not isinstance(space, gym.spaces.Discrete):
        raise ConfigError(f"action masks need a Discrete action space, not {space}")
    return int(space.n)


class VecActionMasks(VecEnvWrapper):
    """Answers ``env_method('action_masks')`` (what MaskablePPO calls every step) from the
    observations the wrapped vec env last returned, without asking the envs."""

    def __init__(self, venv: VecEnv, spec: ObservationSpec) -> None:
        super().__init__(venv)
        self.spec = spec
        self._masks: np.ndarray = np.ones((venv.num_envs, action_count(venv)), dtype=np.bool_)

    def reset(self) -> VecEnvObs:
        observations = self.venv.reset()
        self._masks = action_masks(np.asarray(observations), self.spec)
        return observations

    def step_wait(self) -> VecEnvStepReturn:
        observations, rewards, dones, infos = self.venv.step_wait()
        # After a done, the observation is the next episode's first: its mask is the one wanted.
        self._masks = action_masks(np.asarray(observations), self.spec)
        return observations, rewards, dones, infos

    def action_masks(self) -> np.ndarray:
        return self._masks

    def has_attr(self, attr_name: str) -> bool:
        return attr_name == "action_masks" or self.venv.has_attr(attr_name)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        if method_name == "action_masks":
            return [self._masks[i] for i in self._get_indices(indices)]
        return self.venv.env_method(method_name, *method_args, indices=indices, **method_kwargs)


def make_vec_env(
    make_env: Callable[[int], gym.Env],
    settings: VecSettings,
    seed: int,
    spec: ObservationSpec,
    normalizer_from: Path | None = None,
) -> VecEnv:
    """The stack described in the module docstring; ``make_env(i)`` builds env ``i`` (with
    ``subproc`` it is pickled into the worker, so it must not close over open resources).
    ``normalizer_from``: a saved ``VecNormalize`` whose statistics to continue from."""
    factories: Sequence[Callable[[], gym.Env]] = [partial(make_env, i) for i in range(settings.n_envs)]
    venv: VecEnv
    if settings.kind == "subproc":
        venv = SubprocVecEnv(list(factories), start_method=settings.start_method)
    else:
        venv = DummyVecEnv(list(factories))
    venv.seed(seed)
    venv = VecMonitor(venv)
    if settings.masked:
        venv = VecActionMasks(venv, spec)
    if not settings.normalized:
        return venv
    if normalizer_from is not None:
        normalizer = VecNormalize.load(str(normalizer_from), venv)
        normalizer.training = True
        normalizer.norm_reward = settings.normalize_reward
        return normalizer
    obs = settings.normalization or ObservationNormalization()
    return VecNormalize(
        venv,
        norm_obs=settings.normalization is not None,
        norm_reward=settings.normalize_reward,
        clip_obs=obs.clip_obs,
        epsilon=obs.epsilon,
        gamma=settings.gamma,
    )


def close_quietly(venv: VecEnv) -> None:
    """Close ``venv``; worker processes already gone (Ctrl-C reaches them too) are not an error."""
    try:
        venv.close()
    except (EOFError, BrokenPipeError, ConnectionResetError, OSError) as exc:
        logger.debug("vec env workers already gone at close: %s", exc)
