"""The algorithms ``--algo`` accepts: their SB3 / sb3-contrib class, policy and capabilities.

Nothing here imports SB3 until a class is asked for, so flags are checked (and refused) before
torch is loaded. The trading env's action space is ``Discrete(5)``: an algorithm that cannot act
in a discrete space (SAC, TD3, DDPG, TQC, CrossQ: continuous control only) is refused by name
with the reason, not as an unknown word.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from kalshi_rl.core.errors import ConfigError


@dataclass(frozen=True)
class Algorithm:
    name: str
    """The ``--algo`` value."""
    architecture: str
    """The registry's ``architecture`` (what the actor reads to know how to run the model)."""
    module: str
    class_name: str
    policy: str
    """The SB3 policy alias for a flat observation vector."""
    masked: bool = False
    """Chooses among ``action_masks()`` (the contract then records the mask)."""
    recurrent: bool = False
    on_policy: bool = True
    action_spaces: tuple[str, ...] = ("Discrete",)

    def load_class(self) -> Any:
        """The algorithm class (imports SB3 or sb3-contrib)."""
        return getattr(importlib.import_module(self.module), self.class_name)


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("ppo", "PPO", "stable_baselines3", "PPO", "MlpPolicy"),
        Algorithm("a2c", "A2C", "stable_baselines3", "A2C", "MlpPolicy"),
        Algorithm("maskable_ppo", "MASKABLE_PPO", "sb3_contrib", "MaskablePPO", "MlpPolicy", masked=True),
        Algorithm(
            "recurrent_ppo", "RECURRENT_PPO", "sb3_contrib", "RecurrentPPO", "MlpLstmPolicy", recurrent=True
        ),
        Algorithm("dqn", "DQN", "stable_baselines3", "DQN", "MlpPolicy", on_policy=False),
    )
}

CONTINUOUS_ONLY = ("sac", "td3", "ddpg", "tqc", "crossq")
"""SB3 / sb3-contrib algorithms whose actions are continuous (a ``Box``) only."""


def get_algorithm(name: str, action_space: str = "Discrete") -> Algorithm:
    """The algorithm called ``name``, if it can act in an ``action_space`` space; else one
    ``ConfigError`` that says why and lists the choices."""
    key = name.lower()
    choices = ", ".join(ALGORITHMS)
    if key in CONTINUOUS_ONLY:
        raise ConfigError(
            f"{key} does not fit the trading env: it acts in a continuous (Box) action space and "
            f"the env's actions are {action_space}(5) (expected one of {choices})"
        )
    algorithm = ALGORITHMS.get(key)
    if algorithm is None:
        raise ConfigError(f"unknown algorithm {name!r} (expected one of {choices})")
    if action_space not in algorithm.action_spaces:
        raise ConfigError(f"{key} does not support a {action_space} action space")
    return algorithm


def algorithm_of(architecture: str) -> Algorithm:
    """The algorithm a registry row's ``architecture`` names."""
    for algorithm in ALGORITHMS.values():
        if algorithm.architecture == architecture.upper():
            return algorithm
    raise ConfigError(f"no algorithm has the architecture {architecture!r}")
