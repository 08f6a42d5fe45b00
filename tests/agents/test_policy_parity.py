"""Train/serve parity for every ``--algo``: the numpy policy the paper actor trades with decides
what SB3 / sb3-contrib's ``predict`` decides on the same observation, with the same mask, the
same normalised input and the same recurrent state -- on the local exchange's books and on a
real Kalshi capture.

Each model is a real (tiny) training run of the ``Trainer``: a few hundred timesteps, its
checkpoint, ``policy.npz`` and ``vecnormalize.pkl`` written as training writes them. The
observations come from the env the model was trained in, stepped with random actions so that
positions (and so masks) vary.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sb3_contrib import MaskablePPO, RecurrentPPO
from stable_baselines3 import DQN
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from kalshi_rl.agents.checkpoints import NORMALIZER_FILE
from kalshi_rl.agents.inference import InferencePolicy, PolicyRunner, load_policy
from kalshi_rl.agents.training import Trainer, TrainRequest
from kalshi_rl.data.ingest.capture_import import import_capture
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.replay.lake import ReplayData, lake_time_range, preload_lake
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.action_space import Action
from kalshi_rl.environments.contract import EnvConfig, env_config_from_contract
from kalshi_rl.environments.kalshi_env import KalshiTradingEnv, build_tapes
from tests.conftest import real_capture
from tests.trading_support import TINY, lake_data, tiny_env

pytestmark = pytest.mark.slow

CAPTURE = "KXETH15M-26APR200200-00.jsonl"
RECURRENT = {**TINY, "lstm_hidden_size": 8}
DQN_TINY = {"net_arch": [8], "learning_starts": 0, "buffer_size": 1_000, "batch_size": 32, "train_freq": 4}
MARGIN = 1e-4
"""Actions are compared where the best action leads the next by more than float32 noise."""


@pytest.fixture(scope="module")
def trainer(tmp_path_factory: pytest.TempPathFactory) -> Trainer:
    root = tmp_path_factory.mktemp("parity")
    return Trainer(ModelRegistry(open_database(None, root)), root / "models")


@pytest.fixture(scope="module")
def sim_data(sim_lake: tuple[Path, list[str]]) -> ReplayData:
    return lake_data(sim_lake)


@pytest.fixture(scope="module")
def capture_data(tmp_path_factory: pytest.TempPathFactory) -> ReplayData:
    """The real ETH capture, imported through the live path into a lake, preloaded."""
    path = real_capture(CAPTURE)
    lake = tmp_path_factory.mktemp("capture_lake")
    ticker = asyncio.run(import_capture(path, lake)).market_ticker
    return preload_lake(lake, (ticker,), *lake_time_range(lake, (ticker,)))


def train(
    trainer: Trainer, data: ReplayData, algo: str, params: dict[str, Any], **request: Any
) -> ModelRecord:
    record = trainer.train(
        TrainRequest(algo=algo, timesteps=256, hyperparameters=params, env=tiny_env(), name=algo, **request),
        data,
    )
    assert record.status == "ready", record.notes
    return record


@pytest.fixture(scope="module")
def maskable(trainer: Trainer, sim_data: ReplayData) -> ModelRecord:
    return train(trainer, sim_data, "maskable_ppo", TINY, normalize_obs=True)


@pytest.fixture(scope="module")
def recurrent(trainer: Trainer, sim_data: ReplayData) -> ModelRecord:
    return train(trainer, sim_data, "recurrent_ppo", RECURRENT, normalize_obs=True)


@pytest.fixture(scope="module")
def dqn(trainer: Trainer, sim_data: ReplayData) -> ModelRecord:
    return train(trainer, sim_data, "dqn", DQN_TINY)


def episodes(
    record: ModelRecord, data: ReplayData, n: int = 400
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """(raw observation, env mask) of each step, episode by episode, under random actions
    leaning to buys (so that positions build up, reach the limit and are sold)."""
    config: EnvConfig = env_config_from_contract(record.training_config["contract"], episode_ticks=40)
    config = replace(config, min_episode_ticks=10)
    env = KalshiTradingEnv(build_tapes(data, config), config)
    rng = np.random.default_rng(11)
    obs, _ = env.reset(seed=11)
    out: list[list[tuple[np.ndarray, np.ndarray]]] = [[]]
    for _ in range(n):
        out[-1].append((obs, env.action_masks()))
        action = int(rng.choice(5, p=[0.1, 0.35, 0.15, 0.25, 0.15]))
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
            out.append([])
    return [episode for episode in out if episode]


def normalizer(record: ModelRecord, config: EnvConfig, data: ReplayData) -> VecNormalize:
    """The checkpoint's own ``vecnormalize.pkl``, frozen as SB3 evaluates with it."""
    venv = DummyVecEnv([lambda: KalshiTradingEnv(build_tapes(data, config), config)])
    norm = VecNormalize.load(str(Path(record.checkpoint_path).parent / NORMALIZER_FILE), venv)
    norm.training = False
    return norm


def clear_lead(values: np.ndarray, allowed: np.ndarray) -> bool:
    top = np.sort(values[allowed])[::-1]
    return len(top) < 2 or top[0] - top[1] > MARGIN


@pytest.mark.parametrize("source", ["sim", "real"])
def test_maskable_ppo_actor_is_sb3_contrib_predict_with_masks_and_normalisation(
    maskable: ModelRecord, sim_data: ReplayData, source: str, request: pytest.FixtureRequest
) -> None:
    data = sim_data if source == "sim" else request.getfixturevalue("capture_data")
    contract = maskable.training_config["contract"]
    assert "action_mask" in contract and "observation_normalization" in contract
    policy = load_policy(Path(maskable.checkpoint_path))
    model = MaskablePPO.load(maskable.checkpoint_path, device="cpu")
    norm = normalizer(maskable, env_config_from_contract(contract), data)
    steps = [step for episode in episodes(maskable, data) for step in episode]
    compared = masked_somewhere = 0
    for obs, env_mask in steps:
        values, actor_mask, _ = policy.outputs(obs)
        assert actor_mask == env_mask.tolist()  # the actor's mask is the env's
        masked_somewhere += not env_mask.all()
        normed = norm.normalize_obs(obs)
        assert policy.normalizer is not None
        assert np.array_equal(policy.normalizer(obs), normed.astype(np.float32))
        with torch.no_grad():
            tensor = torch.as_tensor(normed[None], dtype=torch.float32)
            dist = model.policy.get_distribution(tensor, action_masks=env_mask[None])
            probs = dist.distribution.probs.numpy()[0]
        decision = policy.decide(obs)
        assert env_mask[decision.action]
        assert decision.probability == pytest.approx(float(probs[decision.action]), rel=1e-4)
        sampled = policy.decide(obs, rng=np.random.default_rng(len(steps)))
        assert env_mask[sampled.action]  # never a masked-out action, sampled or not
        if clear_lead(np.asarray(values), env_mask):
            action, _ = model.predict(normed, action_masks=env_mask, deterministic=True)
            assert decision.action == int(action)
            compared += 1
    assert masked_somewhere > len(steps) // 2 and compared > len(steps) * 0.9


def test_recurrent_actor_is_recurrent_ppo_predict_over_episodes_with_its_state_reset(
    recurrent: ModelRecord, sim_data: ReplayData
) -> None:
    contract = recurrent.training_config["contract"]
    policy = load_policy(Path(recurrent.checkpoint_path))
    assert policy.recurrent and policy.mask_spec is None
    model = RecurrentPPO.load(recurrent.checkpoint_path, device="cpu")
    norm = normalizer(recurrent, env_config_from_contract(contract), sim_data)
    runner = PolicyRunner(policy)
    played = episodes(recurrent, sim_data)
    assert len(played) >= 3
    state = None
    compared = 0
    for episode in played:
        runner.reset()  # what the actor does at each new segment
        for step, (obs, _) in enumerate(episode):
            action, state = model.predict(
                norm.normalize_obs(obs), state=state, episode_start=np.array([step == 0]), deterministic=True
            )
            values, _, _ = policy.outputs(obs, runner.state)
            chosen, _ = runner.decide(obs)
            hidden, cell = runner.state
            np.testing.assert_allclose(hidden, state[0][:, 0, :], atol=1e-5)
            np.testing.assert_allclose(cell, state[1][:, 0, :], atol=1e-5)
            if clear_lead(np.asarray(values), np.ones(5, bool)):
                assert chosen == int(action)
                compared += 1
    assert compared > sum(len(e) for e in played) * 0.9


def test_a_recurrent_state_carries_across_ticks_and_starts_afresh_with_each_episode(
    recurrent: ModelRecord, sim_data: ReplayData
) -> None:
    policy = load_policy(Path(recurrent.checkpoint_path))
    first, second = episodes(recurrent, sim_data)[:2]
    runner = PolicyRunner(policy)
    for obs, _ in first:
        runner.decide(obs)
    carried = runner.state
    assert carried is not None and np.abs(carried[0]).max() > 1e-3  # a state was built up
    runner.reset()
    zeros = policy.initial_state()
    assert zeros is not None and all(np.array_equal(a, b) for a, b in zip(runner.state, zeros, strict=True))
    fresh = PolicyRunner(policy)
    stale = PolicyRunner(policy)
    stale.state = carried  # what an actor that forgot to reset would carry into episode 2
    for step, (obs, _) in enumerate(second):
        assert runner.decide(obs) == fresh.decide(obs)  # reset: as if the episode came first
        stale.decide(obs)
        if step == 0:  # what is carried over shows in the next state (a tiny LSTM soon forgets it)
            assert not np.allclose(stale.state[0], runner.state[0], atol=1e-4)
    with pytest.raises(Exception, match="PolicyRunner"):
        policy.act(first[0][0])  # a recurrent policy refuses to run without its state


def test_dqn_actor_is_dqn_predict(dqn: ModelRecord, sim_data: ReplayData) -> None:
    policy = load_policy(Path(dqn.checkpoint_path))
    assert policy.kind == "q" and policy.normalizer is None and policy.mask_spec is None
    model = DQN.load(dqn.checkpoint_path, device="cpu")
    steps = [obs for episode in episodes(dqn, sim_data) for obs, _ in episode]
    compared = 0
    for obs in steps:
        values, _, _ = policy.outputs(obs)
        with torch.no_grad():
            q = model.q_net(torch.as_tensor(obs[None])).numpy()[0]
        np.testing.assert_allclose(values, q, rtol=1e-5, atol=1e-6)
        if clear_lead(q, np.ones(5, bool)):
            action, _ = model.predict(obs, deterministic=True)
            assert policy.decide(obs).action == int(action)
            compared += 1
    assert compared > len(steps) * 0.9
    # Sampling is SB3's epsilon-greedy at the exploration rate training ended with.
    assert policy.exploration_rate == pytest.approx(model.exploration_rate)
    rng = np.random.default_rng(0)
    greedy = policy.decide(steps[0]).action
    draws = [policy.decide(steps[0], rng=rng).action for _ in range(4_000)]
    expected = 1 - policy.exploration_rate + policy.exploration_rate / 5
    assert abs(draws.count(greedy) / len(draws) - expected) < 0.03


def test_a_policy_is_one_of_its_contract_kinds(maskable: ModelRecord) -> None:
    policy = load_policy(Path(maskable.checkpoint_path))
    assert isinstance(policy, InferencePolicy) and policy.kind == "actor_critic"
    assert policy.mask_spec is not None and policy.normalizer is not None
    obs = np.zeros(policy.n_inputs, np.float32)  # an empty book: only HOLD can act
    assert policy.decide(obs).action == Action.HOLD
