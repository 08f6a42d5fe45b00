"""Validate SB3 hyperparameters before any data is loaded or any model is built.

A file (YAML or JSON) and flags may set them; anything unknown, of the wrong type or out of
range is rejected with one message listing what is wrong and what is allowed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from kalshi_rl.core.errors import ConfigError

ALGORITHMS = ("ppo", "a2c")

_Check = tuple[type | tuple[type, ...], Callable[[Any], bool], str]
_COMMON: dict[str, _Check] = {
    "learning_rate": ((int, float), lambda v: 0 < v < 1, "a number in (0, 1)"),
    "n_steps": (int, lambda v: 1 <= v <= 100_000, "an integer in [1, 100000]"),
    "gamma": ((int, float), lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "gae_lambda": ((int, float), lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "ent_coef": ((int, float), lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "vf_coef": ((int, float), lambda v: 0 <= v <= 10, "a number in [0, 10]"),
    "max_grad_norm": ((int, float), lambda v: v > 0, "a positive number"),
    "normalize_advantage": (bool, lambda v: True, "true or false"),
    "net_arch": (
        list,
        lambda v: 1 <= len(v) <= 8 and all(isinstance(x, int) and 1 <= x <= 4096 for x in v),
        "a list of 1-8 layer widths",
    ),
    "activation": (str, lambda v: v in ("tanh", "relu"), "'tanh' or 'relu'"),
}
_PPO: dict[str, _Check] = {
    "batch_size": (int, lambda v: 1 <= v <= 100_000, "an integer in [1, 100000]"),
    "n_epochs": (int, lambda v: 1 <= v <= 100, "an integer in [1, 100]"),
    "clip_range": ((int, float), lambda v: 0 < v < 1, "a number in (0, 1)"),
    "target_kl": ((int, float, type(None)), lambda v: v is None or v > 0, "a positive number or null"),
}
_A2C: dict[str, _Check] = {
    "rms_prop_eps": ((int, float), lambda v: v > 0, "a positive number"),
    "use_rms_prop": (bool, lambda v: True, "true or false"),
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "ppo": {
        "learning_rate": 3e-4,
        "n_steps": 512,
        "batch_size": 128,
        "n_epochs": 10,
        "gamma": 0.99,
        "ent_coef": 0.01,
        "net_arch": [64, 64],
    },
    "a2c": {"learning_rate": 7e-4, "n_steps": 16, "gamma": 0.99, "ent_coef": 0.01, "net_arch": [64, 64]},
}


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


def validate(algo: str, overrides: dict[str, Any], n_envs: int = 1) -> dict[str, Any]:
    """Return the full hyperparameters for ``algo`` (defaults + overrides), or raise."""
    algo = algo.lower()
    if algo not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm {algo!r} (expected one of {', '.join(ALGORITHMS)})")
    allowed = {**_COMMON, **(_PPO if algo == "ppo" else _A2C)}
    problems = []
    for key, value in overrides.items():
        if key not in allowed:
            problems.append(
                f"unknown hyperparameter {key!r} for {algo} (allowed: {', '.join(sorted(allowed))})"
            )
            continue
        kind, ok, expected = allowed[key]
        if (
            (isinstance(value, bool) and kind in ((int, float), int))
            or not isinstance(value, kind)
            or not ok(value)
        ):
            problems.append(f"{key} must be {expected}, got {value!r}")
    params = {**DEFAULTS[algo], **overrides}
    if algo == "ppo" and not problems and params["batch_size"] > params["n_steps"] * n_envs:
        problems.append(
            f"batch_size {params['batch_size']} exceeds n_steps x n_envs = {params['n_steps'] * n_envs}"
        )
    if problems:
        raise ConfigError("invalid hyperparameters: " + "; ".join(problems))
    return params


def sb3_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """Split validated hyperparameters into SB3 constructor arguments (policy_kwargs inside)."""
    import torch.nn as nn

    kwargs = {k: v for k, v in params.items() if k not in ("net_arch", "activation")}
    activation = nn.ReLU if params.get("activation") == "relu" else nn.Tanh
    kwargs["policy_kwargs"] = {"net_arch": list(params["net_arch"]), "activation_fn": activation}
    return kwargs
