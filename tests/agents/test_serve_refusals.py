"""Bad input for ``--algo`` and for serving: an algorithm that does not fit the trading env's
actions, and a checkpoint whose contract lacks what the actor needs, are refused with one clear
error before any work starts (before data is loaded; before the actor trades)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from kalshi_rl.agents import hyperparameters as hp
from kalshi_rl.agents.algorithms import get_algorithm
from kalshi_rl.agents.checkpoints import CHECKPOINT, CONTRACT
from kalshi_rl.agents.inference import load_policy
from kalshi_rl.agents.training import Trainer, TrainRequest
from kalshi_rl.agents.vec import VecSettings
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.trading.model_source import ModelSource
from tests.cli_support import cli_env, invoke_cli
from tests.trading_support import TINY, lake_data, tiny_env

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("algo", ["sac", "TD3", "ddpg", "tqc", "crossq"])
def test_a_continuous_control_algorithm_is_refused_by_name_with_the_reason(algo: str) -> None:
    for refuse in (
        lambda: get_algorithm(algo),
        lambda: hp.validate(algo, {}),
        lambda: TrainRequest(algo=algo),
    ):
        with pytest.raises(ConfigError) as caught:
            refuse()
        message = str(caught.value)
        assert "\n" not in message and algo.lower() in message and "continuous" in message
        assert "Discrete(5)" in message and "maskable_ppo" in message


def test_an_unknown_algorithm_lists_the_choices() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown algorithm 'ppo2' \(expected one of ppo, a2c, maskable_ppo"
    ):
        get_algorithm("ppo2")


def test_subproc_needs_two_envs_and_the_kinds_are_known() -> None:
    with pytest.raises(ConfigError, match="--n-envs 2"):
        VecSettings(1, "subproc")
    with pytest.raises(ConfigError, match="unknown vec env 'threads'"):
        VecSettings(2, "threads")


def test_train_refuses_sac_and_a_lone_subproc_env_before_loading_any_data(tmp_path: Path) -> None:
    env = cli_env(DATABASE_URL=f"sqlite:///{tmp_path / 'registry.sqlite'}", MODELS_DIR=str(tmp_path / "m"))
    missing = str(tmp_path / "no-such-lake")  # loading data would fail with another message
    sac = invoke_cli("train", "--market", "KX-1", "--data-dir", missing, "--algo", "sac", env=env)
    assert sac.exit_code == 1 and "sac does not fit the trading env" in " ".join(sac.stderr.split())
    lone = invoke_cli("train", "--market", "KX-1", "--data-dir", missing, "--vec", "subproc", env=env)
    assert lone.exit_code == 1 and "--vec subproc needs --n-envs 2" in " ".join(lone.stderr.split())
    assert not (tmp_path / "m").exists()


# -- checkpoints the actor cannot serve --------------------------------------------------------


@pytest.fixture(scope="module")
def served(
    sim_lake: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[ModelRegistry, ModelRecord]:
    """A tiny masked, normalised MaskablePPO, trained and registered as ``train`` does."""
    root = tmp_path_factory.mktemp("refusals")
    registry = ModelRegistry(open_database(None, root))
    request = TrainRequest(
        algo="maskable_ppo", timesteps=64, hyperparameters=TINY, env=tiny_env(), name="m", normalize_obs=True
    )
    record = Trainer(registry, root / "models").train(request, lake_data(sim_lake))
    assert record.status == "ready", record.notes
    return registry, record


def copy_with(record: ModelRecord, tmp_path: Path, edit: Any) -> Path:
    """A copy of ``record``'s checkpoint directory whose ``contract.json`` ``edit`` changed."""
    directory = tmp_path / "copy"
    shutil.copytree(Path(record.checkpoint_path).parent, directory)
    contract = json.loads((directory / CONTRACT).read_text())
    edit(contract)
    (directory / CONTRACT).write_text(json.dumps(contract))
    return directory / CHECKPOINT


def test_the_unedited_copy_loads(served: tuple[ModelRegistry, ModelRecord], tmp_path: Path) -> None:
    policy = load_policy(copy_with(served[1], tmp_path, lambda c: None))
    assert policy.mask_spec is not None and policy.normalizer is not None


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda c: c.pop("action_mask"), "MASKABLE_PPO model whose contract has no action_mask"),
        (lambda c: c.pop("observation_normalization"), "normaliser statistics its contract does not mention"),
        (lambda c: c.update(architecture="SAC"), "the paper actor cannot run SAC models"),
        (lambda c: c.update(architecture="DQN"), "holds a actor_critic network, not a DQN one"),
        (lambda c: c["files"]["policy.npz"].update(sha256="0" * 64), "does not match the sha256"),
    ],
)
def test_a_contract_that_lacks_what_the_actor_needs_is_refused(
    served: tuple[ModelRegistry, ModelRecord], tmp_path: Path, edit: Any, reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        load_policy(copy_with(served[1], tmp_path, edit))
    assert "\n" not in str(caught.value)


def test_statistics_missing_from_the_policy_file_are_refused(
    served: tuple[ModelRegistry, ModelRecord], tmp_path: Path
) -> None:
    import numpy as np

    from kalshi_rl.agents.inference_weights import file_sha256, read_arrays, write_arrays

    checkpoint = copy_with(served[1], tmp_path, lambda c: None)
    npz = checkpoint.parent / "policy.npz"
    arrays = {k: v for k, v in read_arrays(npz).items() if not k.startswith("normalizer.")}
    write_arrays(npz, {k: np.asarray(v) for k, v in arrays.items()})
    contract = json.loads((checkpoint.parent / CONTRACT).read_text())
    contract["files"]["policy.npz"]["sha256"] = file_sha256(npz)
    (checkpoint.parent / CONTRACT).write_text(json.dumps(contract))
    with pytest.raises(ConfigError, match="normalises observations but the policy file has no statistics"):
        load_policy(checkpoint)


def test_weights_beside_a_replaced_checkpoint_are_not_served(
    served: tuple[ModelRegistry, ModelRecord], tmp_path: Path
) -> None:
    """policy.npz is intact but the zip it came with was replaced: the pair is refused (the
    actor keeps its model) rather than served as if nothing happened."""
    checkpoint = copy_with(served[1], tmp_path, lambda c: None)
    checkpoint.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match=r"checkpoint\.zip does not match the sha256"):
        load_policy(checkpoint)


def test_the_model_source_refuses_an_architecture_it_cannot_serve_before_trading(
    served: tuple[ModelRegistry, ModelRecord],
) -> None:
    registry, record = served
    row = registry.create(
        name="sac-like",
        architecture="SAC",
        market_ticker=record.market_ticker,
        checkpoint_path=record.checkpoint_path,
        hyperparameters=record.hyperparameters,
        training_config=record.training_config,
    )
    registry.update(row.id, status="ready")
    with pytest.raises(ConfigError, match=r"cannot serve sac-like@1: the paper actor cannot run SAC models"):
        ModelSource(registry, "sac-like").load()
    assert ModelSource(registry, record.label).load().policy.mask_spec is not None
