"""The numpy policy the actor trades with must be the SB3 policy that was trained."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from kalshi_rl.agents.inference import load_policy

N_INPUTS = 12


class _Env(gym.Env[np.ndarray, int]):
    observation_space = gym.spaces.Box(-10.0, 10.0, (N_INPUTS,), np.float32)
    action_space = gym.spaces.Discrete(5)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        return np.zeros(N_INPUTS, np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return np.zeros(N_INPUTS, np.float32), 0.0, True, False, {}


@pytest.fixture(params=["tanh", "relu"])
def trained(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[PPO, Path, str]:
    activation = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[request.param]
    model = PPO(
        "MlpPolicy",
        _Env(),
        seed=3,
        policy_kwargs={"net_arch": [32, 16], "activation_fn": activation},
        device="cpu",
    )
    with torch.no_grad():  # spread the head's logits so the argmax is not a near-tie everywhere
        model.policy.action_net.weight.mul_(50.0)
    path = tmp_path / "checkpoint.zip"
    model.save(path)
    return model, path, request.param


def _observations(n: int) -> np.ndarray:
    return np.random.default_rng(7).uniform(-3, 3, (n, N_INPUTS)).astype(np.float32)


def test_deterministic_action_is_sb3_predict(trained: tuple[PPO, Path, str]) -> None:
    model, path, activation = trained
    policy = load_policy(path, activation)
    observations = _observations(500)
    expected, _ = model.predict(observations, deterministic=True)
    actions = [policy.act(obs)[0] for obs in observations]
    assert actions == expected.tolist()
    assert len(set(actions)) > 1  # the check covers more than one action


def test_probabilities_are_sb3_distribution(trained: tuple[PPO, Path, str]) -> None:
    model, path, activation = trained
    policy = load_policy(path, activation)
    observations = _observations(200)
    with torch.no_grad():
        probs = model.policy.get_distribution(torch.as_tensor(observations)).distribution.probs.numpy()
    rng = np.random.default_rng(0)
    for obs, p in zip(observations, probs, strict=True):
        best, confidence = policy.act(obs)
        assert confidence == pytest.approx(p[best], rel=1e-4, abs=1e-6)
        action, probability = policy.sample(obs, rng)
        assert probability == pytest.approx(p[action], rel=1e-4, abs=1e-6)


def test_sampling_follows_the_distribution(trained: tuple[PPO, Path, str]) -> None:
    model, path, activation = trained
    policy = load_policy(path, activation)
    obs = np.zeros(N_INPUTS, np.float32)
    with torch.no_grad():
        p = model.policy.get_distribution(torch.as_tensor(obs[None])).distribution.probs.numpy()[0]
    rng = np.random.default_rng(1)
    draws = 20_000
    counts = np.bincount([policy.sample(obs, rng)[0] for _ in range(draws)], minlength=5)
    # every frequency within 5 standard errors of its probability
    assert np.all(np.abs(counts / draws - p) <= 5 * np.sqrt(p * (1 - p) / draws) + 1e-9)


def test_same_seed_same_actions(trained: tuple[PPO, Path, str]) -> None:
    _, path, activation = trained
    policy = load_policy(path, activation)
    observations = _observations(100)
    first = [policy.sample(obs, np.random.default_rng(5)) for obs in observations]
    again = [policy.sample(obs, np.random.default_rng(5)) for obs in observations]
    assert first == again
