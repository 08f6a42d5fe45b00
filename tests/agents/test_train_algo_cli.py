"""``kalshi-rl train`` with the issue-12 flags, end to end in this process: a MaskablePPO with
normalised observations, a process per env and TensorBoard logs; the model it registers is one
the paper actor can serve (mask and normaliser from the contract)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kalshi_rl.agents.checkpoints import NORMALIZER_FILE
from kalshi_rl.agents.inference import load_policy
from tests.cli_support import cli_env, invoke_cli
from tests.trading_support import TINY

pytestmark = pytest.mark.slow


def test_train_maskable_ppo_normalised_in_subprocesses_with_tensorboard(
    sim_lake: tuple[Path, list[str]], tmp_path: Path
) -> None:
    data_dir, tickers = sim_lake
    config = tmp_path / "hp.json"
    config.write_text(json.dumps(TINY))
    env = cli_env(MODELS_DIR=str(tmp_path / "models"), DATABASE_URL=f"sqlite:///{tmp_path / 'r.sqlite'}")
    result = invoke_cli(
        "train",
        *[arg for t in tickers for arg in ("--market", t)],
        "--data-dir", str(data_dir),
        "--tick-ms", "200", "--latency-ms", "20", "--episode-ticks", "40", "--no-progress",
        "--timesteps", "128", "--config", str(config), "--name", "masked",
        "--algo", "maskable_ppo", "--normalize-obs", "--n-envs", "2", "--vec", "subproc",
        "--tensorboard", str(tmp_path / "tb"),
        "--json",
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["status"] == "ready" and row["architecture"] == "MASKABLE_PPO"
    training = row["training_config"]
    assert training["vec"] == "subproc" and training["n_envs"] == 2
    assert training["normalize"] == {"observations": True, "rewards": False}
    assert "action_mask" in training["contract"] and "observation_normalization" in training["contract"]
    checkpoint = Path(row["checkpoint_path"])
    assert (checkpoint.parent / NORMALIZER_FILE).is_file()
    policy = load_policy(checkpoint)
    assert policy.mask_spec is not None and policy.normalizer is not None
    assert list((tmp_path / "tb" / "masked_v1").glob("events.out.tfevents.*"))
