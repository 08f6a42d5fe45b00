"""Training visibility (``--tensorboard``) and the vectorised envs (``--vec dummy | subproc``),
on real tiny training runs over the local exchange's books."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from kalshi_rl.agents.inference import load_policy
from kalshi_rl.agents.training import Trainer, TrainRequest, _EnvFactory
from kalshi_rl.agents.vec import VecActionMasks, VecSettings, close_quietly, make_vec_env
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.replay.lake import ReplayData
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.action_mask import action_masks
from kalshi_rl.environments.action_space import ACTION_NAMES
from kalshi_rl.environments.kalshi_env import build_tapes
from tests.trading_support import TINY, lake_data, tiny_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(sim_lake: tuple[Path, list[str]]) -> ReplayData:
    return lake_data(sim_lake)


def scalars(folder: Path) -> dict[str, list[float]]:
    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


@pytest.mark.parametrize("algo", ["ppo", "maskable_ppo", "a2c"])
def test_tensorboard_shows_sb3_scalars_episode_money_and_action_shares(
    data: ReplayData, tmp_path: Path, algo: str
) -> None:
    registry = ModelRegistry(open_database(None, tmp_path))
    params = {"net_arch": [8]} if algo == "a2c" else TINY
    request = TrainRequest(
        algo=algo,
        timesteps=320,
        hyperparameters=params,
        env=tiny_env(),
        name="tb",
        tensorboard=tmp_path / "tb",
    )
    record = Trainer(registry, tmp_path / "models").train(request, data)
    assert record.status == "ready", record.notes
    values = scalars(tmp_path / "tb" / "tb_v1")
    # (SB3's rollout/ and time/ scalars come with its own writes, which A2C's short run never makes.)
    sb3 = ("train/policy_loss",) if algo == "a2c" else ("rollout/ep_rew_mean", "time/fps", "train/loss")
    for tag in (*sb3, "episode/pnl", "episode/fees"):
        assert values.get(tag), f"{tag} missing from {sorted(values)}"
    assert values["episode/turnover"] and values["episode/trades"]
    shares = np.array([values[f"actions/{name}"] for name in ACTION_NAMES.values()])
    # PPO: a point per rollout of 32 steps (320 / 32 = 10, some merged); A2C writes every 100
    # rollouts (of 16 steps), so only the final write at the end of training.
    assert shares.shape[1] >= (1 if algo == "a2c" else 5)
    np.testing.assert_allclose(shares.sum(axis=0), 1.0, atol=1e-6)
    no_op = np.array(values["actions/no_op"])
    if algo == "maskable_ppo":
        assert np.all(no_op == 0.0)  # a masked agent never picks an action that cannot act
    else:
        assert np.all(no_op > 0.0)  # an unmasked one does (sells with nothing held, at least)
    assert all(f >= 0 for f in values["episode/fees"])


def test_subproc_and_dummy_vec_envs_step_identically_with_the_same_masks(data: ReplayData) -> None:
    config = tiny_env()
    tapes = build_tapes(data, config)
    factory = _EnvFactory(tapes, config)
    stacks = [
        make_vec_env(factory, VecSettings(n_envs=2, kind=kind, masked=True), 7, config.spec)
        for kind in ("dummy", "subproc")
    ]
    try:
        rng = np.random.default_rng(3)
        first = [venv.reset() for venv in stacks]
        assert np.array_equal(first[0], first[1])
        for _ in range(120):
            actions = rng.integers(0, 5, size=2)
            (o1, r1, d1, _), (o2, r2, d2, _) = (venv.step(actions) for venv in stacks)
            # (DummyVecEnv keeps rewards in a float32 buffer, SubprocVecEnv as the env returned them.)
            assert np.array_equal(o1, o2) and np.array_equal(r1, r2.astype(np.float32))
            assert np.array_equal(d1, d2)
            masks = [np.stack(venv.env_method("action_masks")) for venv in stacks]
            assert np.array_equal(masks[0], masks[1])
            assert np.array_equal(masks[0], action_masks(o1, config.spec))  # the next step's masks
        assert all(isinstance(venv, VecActionMasks) for venv in stacks)
    finally:
        for venv in stacks:
            close_quietly(venv)


def test_maskable_ppo_trains_with_a_process_per_env_and_the_actor_loads_it(
    data: ReplayData, tmp_path: Path
) -> None:
    registry = ModelRegistry(open_database(None, tmp_path))
    request = TrainRequest(
        algo="maskable_ppo",
        timesteps=128,
        n_envs=2,
        vec="subproc",
        hyperparameters=TINY,
        env=tiny_env(),
        name="sub",
        normalize_obs=True,
    )
    record = Trainer(registry, tmp_path / "models").train(request, data)
    assert record.status == "ready", record.notes
    assert record.training_config["vec"] == "subproc" and record.training_timesteps >= 128
    policy = load_policy(Path(record.checkpoint_path))
    assert policy.mask_spec is not None and policy.normalizer is not None
