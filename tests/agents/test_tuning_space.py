"""Search spaces for ``tune``: the defaults, every kind of bad space refused in one message, and
what a trial draws (with a real Optuna study in memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from kalshi_rl.agents import hyperparameters as hp
from kalshi_rl.agents.search_space import SearchSpace, default_space_path, load_space, parse_space
from kalshi_rl.core.errors import ConfigError


def refusal(data: Any, algo: str = "ppo", n_envs: int = 1) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_space(data, algo, n_envs)
    return str(caught.value)


@pytest.mark.parametrize("algo", hp.ALGORITHMS)
def test_every_algorithm_has_a_valid_default_space(algo: str) -> None:
    assert default_space_path(algo).is_file()
    space = load_space(None, algo)  # validated, every combination of the ends included
    assert space.algo == algo and len(space.parameters) >= 5
    assert all(name in hp.ALLOWED[algo] for name in space.to_dict()["parameters"])


def test_an_algorithm_that_cannot_act_in_the_env_is_refused_before_its_space() -> None:
    with pytest.raises(ConfigError, match="does not fit the trading env"):
        load_space(None, "sac")
    with pytest.raises(ConfigError, match="unknown algorithm 'nope'"):
        load_space(None, "nope")


def test_unknown_parameters_and_impossible_ranges_are_listed_together() -> None:
    message = refusal(
        {
            "parameters": {
                "learning_rat": {"type": "float", "low": 1e-4, "high": 1e-3},
                "learning_rate": {"type": "float", "low": 1e-4, "high": 2.0, "log": True},
                "clip_range": {"type": "float", "low": 0.3, "high": 0.1},
                "ent_coef": {"type": "float", "low": 0.0, "high": 0.1, "log": True},
                "n_epochs": {"type": "int", "low": 1.5, "high": 10},
            }
        }
    )
    assert message.startswith("invalid search space <memory>: ")
    assert "parameters.clip_range: low 0.3 must be below high 0.1" in message
    assert "parameters.ent_coef: a log scale needs low > 0, got 0.0" in message
    assert "parameters.n_epochs.low must be an integer, got 1.5" in message
    # Once the shapes are right, the algorithm's own rules judge the ranges' ends.
    message = refusal(
        {
            "parameters": {
                "learning_rat": {"type": "float", "low": 1e-4, "high": 1e-3},
                "learning_rate": {"type": "float", "low": 1e-4, "high": 2.0, "log": True},
            }
        }
    )
    assert "unknown hyperparameter 'learning_rat' for ppo (allowed: " in message
    assert "learning_rate must be a number in (0, 1), got 2.0" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([1, 2], "must be a mapping with 'parameters'"),
        ({"parameters": {}}, "'parameters' must map at least one hyperparameter"),
        ({"parameters": {"gamma": 0.9}}, "parameters.gamma must be a mapping with a type"),
        ({"parameters": {"gamma": {"type": "normal"}}}, "parameters.gamma.type must be one of float, int"),
        (
            {"parameters": {"gamma": {"type": "categorical", "choices": []}}},
            "choices must be a non-empty list",
        ),
        ({"parameters": {"gamma": {"type": "categorical", "choices": [0.9, 0.9]}}}, "has a value twice"),
        ({"parameters": {"gamma": {"type": "float", "low": 0.9, "high": 1, "lo": 2}}}, "unknown key 'lo'"),
        (
            {"parameters": {"n_epochs": {"type": "int", "low": 1, "high": 10, "step": 4}}},
            "not a multiple of step 4",
        ),
        (
            {"parameters": {"n_epochs": {"type": "int", "low": 1, "high": 9, "step": 2, "log": True}}},
            "log or step",
        ),
        (
            {"algo": "a2c", "parameters": {"gamma": {"type": "float", "low": 0.9, "high": 0.99}}},
            "it is for 'a2c'",
        ),
        (
            {"spaces": 1, "parameters": {"gamma": {"type": "float", "low": 0.9, "high": 0.99}}},
            "unknown key 'spaces'",
        ),
        (
            {"fixed": {"gamma": 0.9}, "parameters": {"gamma": {"type": "float", "low": 0.9, "high": 0.99}}},
            "'gamma' is both fixed and searched",
        ),
        (
            {"fixed": {"n_epochs": 0}, "parameters": {"gamma": {"type": "float", "low": 0.9, "high": 0.99}}},
            "n_epochs must be",
        ),
    ],
)
def test_a_bad_space_is_one_clear_error(data: Any, expected: str) -> None:
    assert expected in refusal(data)


def test_a_space_whose_ranges_combine_into_an_invalid_draw_is_refused() -> None:
    space = {
        "parameters": {
            "batch_size": {"type": "int", "low": 32, "high": 512},
            "n_steps": {"type": "categorical", "choices": [64, 1024]},
        }
    }
    # Each range is valid alone; batch 512 with a 64-step rollout is not.
    assert "batch_size 512 exceeds n_steps x n_envs = 64" in refusal(space)
    assert parse_space(space, "ppo", n_envs=8).parameters  # 64 x 8 rollouts hold any batch here
    fixed = {"fixed": {"n_steps": 64}, "parameters": {"batch_size": {"type": "int", "low": 32, "high": 128}}}
    assert "batch_size 128 exceeds n_steps x n_envs = 64" in refusal(fixed)


def test_the_fingerprint_is_what_the_space_allows_not_how_it_is_written(tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    one.write_text(
        "parameters:\n  gamma: {type: float, low: 0.9, high: 0.99}\n  ent_coef: {type: float, low: 0.001, high: 0.1, log: true}\n"
    )
    two = tmp_path / "two.yaml"
    two.write_text(
        "# the same, reordered\nalgo: ppo\nparameters:\n  ent_coef:\n    type: float\n    log: true\n"
        "    low: 1.0e-3\n    high: 0.1\n  gamma: {high: 0.99, low: 0.9, type: float, log: false}\n"
    )
    wider = tmp_path / "wider.yaml"
    wider.write_text(one.read_text().replace("high: 0.99", "high: 0.999"))
    assert load_space(one, "ppo").fingerprint() == load_space(two, "ppo").fingerprint()
    assert load_space(wider, "ppo").fingerprint() != load_space(one, "ppo").fingerprint()


def test_unreadable_space_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read search space"):
        load_space(tmp_path / "missing.yaml", "ppo")
    broken = tmp_path / "broken.yaml"
    broken.write_text("parameters: [unclosed")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_space(broken, "ppo")


def test_a_trial_draws_inside_the_ranges_and_gets_lists_back() -> None:
    space: SearchSpace = parse_space(
        {
            "fixed": {"n_epochs": 2, "batch_size": 32},
            "parameters": {
                "learning_rate": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True},
                "n_steps": {"type": "int", "low": 64, "high": 256, "step": 64},
                "net_arch": {"type": "categorical", "choices": [[8], [16, 16]]},
                "activation": {"type": "categorical", "choices": ["tanh", "relu"]},
            },
        },
        "ppo",
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    drawn = []
    for _ in range(12):
        trial = study.ask()
        params = space.suggest(trial)
        study.tell(trial, 0.0)
        hp.validate("ppo", params)  # every draw is a valid training
        drawn.append(params)
    assert all(p["n_epochs"] == 2 and 1e-5 <= p["learning_rate"] <= 1e-3 for p in drawn)
    assert {p["n_steps"] for p in drawn} <= {64, 128, 192, 256}
    assert {tuple(p["net_arch"]) for p in drawn} == {(8,), (16, 16)}  # lists again, not JSON text
    assert study.trials[0].params["net_arch"] in ("[8]", "[16, 16]")  # stored readable
