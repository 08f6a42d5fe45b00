"""Validate SB3 hyperparameters before any data is loaded or any model is built.

A file (YAML or JSON) and flags may set them; anything unknown, of the wrong type or out of
range is rejected with one message listing what is wrong and what is allowed. Each algorithm
has its own table (``ALLOWED``) and defaults (``DEFAULTS``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from kalshi_rl.agents.algorithms import ALGORITHMS as _ALGORITHMS
from kalshi_rl.agents.algorithms import get_algorithm
from kalshi_rl.core.errors import ConfigError

ALGORITHMS = tuple(_ALGORITHMS)

_Check = tuple[type | tuple[type, ...], Callable[[Any], bool], str]
_NUMBER = (int, float)
_NETWORK: dict[str, _Check] = {
    "learning_rate": (_NUMBER, lambda v: 0 < v < 1, "a number in (0, 1)"),
    "gamma": (_NUMBER, lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "max_grad_norm": (_NUMBER, lambda v: v > 0, "a positive number"),
    "net_arch": (
        list,
        lambda v: 1 <= len(v) <= 8 and all(isinstance(x, int) and 1 <= x <= 4096 for x in v),
        "a list of 1-8 layer widths",
    ),
    "activation": (str, lambda v: v in ("tanh", "relu"), "'tanh' or 'relu'"),
}
_ACTOR_CRITIC: dict[str, _Check] = {
    **_NETWORK,
    "n_steps": (int, lambda v: 1 <= v <= 100_000, "an integer in [1, 100000]"),
    "gae_lambda": (_NUMBER, lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "ent_coef": (_NUMBER, lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "vf_coef": (_NUMBER, lambda v: 0 <= v <= 10, "a number in [0, 10]"),
    "normalize_advantage": (bool, lambda v: True, "true or false"),
}
_PPO: dict[str, _Check] = {
    **_ACTOR_CRITIC,
    "batch_size": (int, lambda v: 1 <= v <= 100_000, "an integer in [1, 100000]"),
    "n_epochs": (int, lambda v: 1 <= v <= 100, "an integer in [1, 100]"),
    "clip_range": (_NUMBER, lambda v: 0 < v < 1, "a number in (0, 1)"),
    "target_kl": ((int, float, type(None)), lambda v: v is None or v > 0, "a positive number or null"),
}
_RECURRENT: dict[str, _Check] = {
    **_PPO,
    "lstm_hidden_size": (int, lambda v: 1 <= v <= 1024, "an integer in [1, 1024]"),
    "n_lstm_layers": (int, lambda v: 1 <= v <= 4, "an integer in [1, 4]"),
    "shared_lstm": (bool, lambda v: True, "true or false"),
    "enable_critic_lstm": (bool, lambda v: True, "true or false"),
}
_A2C: dict[str, _Check] = {
    **_ACTOR_CRITIC,
    "rms_prop_eps": (_NUMBER, lambda v: v > 0, "a positive number"),
    "use_rms_prop": (bool, lambda v: True, "true or false"),
}
_DQN: dict[str, _Check] = {
    **_NETWORK,
    "buffer_size": (int, lambda v: 1 <= v <= 10_000_000, "an integer in [1, 10000000]"),
    "learning_starts": (int, lambda v: 0 <= v <= 10_000_000, "an integer in [0, 10000000]"),
    "batch_size": (int, lambda v: 1 <= v <= 100_000, "an integer in [1, 100000]"),
    "tau": (_NUMBER, lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "train_freq": (int, lambda v: 1 <= v <= 100_000, "an integer in [1, 100000]"),
    "gradient_steps": (int, lambda v: v == -1 or 1 <= v <= 1_000, "-1 or an integer in [1, 1000]"),
    "target_update_interval": (int, lambda v: 1 <= v <= 10_000_000, "an integer in [1, 10000000]"),
    "exploration_fraction": (_NUMBER, lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    "exploration_initial_eps": (_NUMBER, lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    "exploration_final_eps": (_NUMBER, lambda v: 0 <= v <= 1, "a number in [0, 1]"),
}
ALLOWED: dict[str, dict[str, _Check]] = {
    "ppo": _PPO,
    "maskable_ppo": _PPO,
    "recurrent_ppo": _RECURRENT,
    "a2c": _A2C,
    "dqn": _DQN,
}
_PPO_DEFAULTS: dict[str, Any] = {
    "learning_rate": 3e-4,
    "n_steps": 512,
    "batch_size": 128,
    "n_epochs": 10,
    "gamma": 0.99,
    "ent_coef": 0.01,
    "net_arch": [64, 64],
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "ppo": _PPO_DEFAULTS,
    "maskable_ppo": _PPO_DEFAULTS,
    # An LSTM of 64 (sb3-contrib's default is 256): a CPU-sized memory of the recent ticks.
    "recurrent_ppo": {**_PPO_DEFAULTS, "n_steps": 256, "net_arch": [64], "lstm_hidden_size": 64},
    "a2c": {"learning_rate": 7e-4, "n_steps": 16, "gamma": 0.99, "ent_coef": 0.01, "net_arch": [64, 64]},
    "dqn": {
        "learning_rate": 1e-4,
        "buffer_size": 100_000,
        "learning_starts": 1_000,
        "batch_size": 64,
        "gamma": 0.99,
        "train_freq": 4,
        "target_update_interval": 1_000,
        "exploration_fraction": 0.1,
        "exploration_final_eps": 0.05,
        "net_arch": [64, 64],
    },
}
_POLICY_KEYS = ("lstm_hidden_size", "n_lstm_layers", "shared_lstm", "enable_critic_lstm")
"""Hyperparameters that are arguments of the policy (``policy_kwargs``), not of the algorithm."""


def load_file(path: Path) -> dict[str, Any]:
    """Read hyperparameters from a YAML or JSON file (a mapping of name to value)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of hyperparameter names to values")
    return data


def _type_ok(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and kind in (_NUMBER, int):
        return False  # True is an int to Python, not a number to a user
    return isinstance(value, kind)


def _cross_checks(algo: str, params: dict[str, Any], n_envs: int) -> list[str]:
    problems = []
    if algo in ("ppo", "maskable_ppo", "recurrent_ppo") and params["batch_size"] > params["n_steps"] * n_envs:
        problems.append(
            f"batch_size {params['batch_size']} exceeds n_steps x n_envs = {params['n_steps'] * n_envs}"
        )
    if algo == "recurrent_ppo" and params.get("shared_lstm") and params.get("enable_critic_lstm", True):
        problems.append(
            "shared_lstm needs enable_critic_lstm: false (the critic then reads the actor's LSTM)"
        )
    if algo == "dqn" and params["batch_size"] > params["buffer_size"]:
        problems.append(f"batch_size {params['batch_size']} exceeds buffer_size {params['buffer_size']}")
    return problems


def validate(algo: str, overrides: dict[str, Any], n_envs: int = 1) -> dict[str, Any]:
    """Return the full hyperparameters for ``algo`` (defaults + overrides), or raise."""
    algo = get_algorithm(algo).name
    allowed = ALLOWED[algo]
    problems = []
    for key, value in overrides.items():
        if key not in allowed:
            problems.append(
                f"unknown hyperparameter {key!r} for {algo} (allowed: {', '.join(sorted(allowed))})"
            )
            continue
        kind, ok, expected = allowed[key]
        if not _type_ok(value, kind) or not ok(value):
            problems.append(f"{key} must be {expected}, got {value!r}")
    params = {**DEFAULTS[algo], **overrides}
    if not problems:
        problems = _cross_checks(algo, params, n_envs)
    if problems:
        raise ConfigError("invalid hyperparameters: " + "; ".join(problems))
    return params


def sb3_kwargs(params: dict[str, Any], algo: str = "ppo") -> dict[str, Any]:
    """Split validated hyperparameters into SB3 constructor arguments (policy_kwargs inside)."""
    import torch.nn as nn

    kwargs = {k: v for k, v in params.items() if k not in ("net_arch", "activation", *_POLICY_KEYS)}
    activation = nn.ReLU if params.get("activation") == "relu" else nn.Tanh
    policy_kwargs: dict[str, Any] = {"net_arch": list(params["net_arch"]), "activation_fn": activation}
    if get_algorithm(algo).recurrent:
        policy_kwargs.update({k: params[k] for k in _POLICY_KEYS if k in params})
    kwargs["policy_kwargs"] = policy_kwargs
    return kwargs
