"""What the ``tune`` tests share: a tiny search space, the session lake cut into a training and
a validation window, and the command line of a worker on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kalshi_rl.data.replay.lake import lake_time_range
from tests.cli_support import cli_env

TINY_SPACE: dict[str, Any] = {
    "algo": "ppo",
    "fixed": {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "net_arch": [8]},
    "parameters": {
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "ent_coef": {"type": "float", "low": 0.0, "high": 0.1},
    },
}
"""Two parameters over the tiny PPO of ``trading_support.TINY``."""

ENV_FLAGS = ["--tick-ms", "100", "--latency-ms", "20", "--episode-ticks", "40"]


def write_space(tmp_path: Path, space: dict[str, Any] | None = None, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(space or TINY_SPACE))
    return path


def windows(sim_lake: tuple[Path, list[str]]) -> dict[str, str]:
    """The lake's first 7.5 s to train on, the rest (about 4 s: 40 ticks) to score on."""
    data_dir, tickers = sim_lake
    low, high = lake_time_range(data_dir / "lake", tuple(tickers))
    split = low + 7_500_000_000
    return {"start": str(low / 1e9), "split": str(split / 1e9), "end": str((high + 1_000_000) / 1e9)}


def own_env(tmp_path: Path, database_url: str | None = None) -> dict[str, str]:
    """The CLI's environment with this test's own registry (and studies) and models directory."""
    url = database_url or f"sqlite:///{tmp_path / 'registry.sqlite'}"
    return cli_env(MODELS_DIR=str(tmp_path / "models"), DATABASE_URL=url)


def tune_args(
    sim_lake: tuple[Path, list[str]], study: str, space: Path, *extra: str, trials: int = 3
) -> list[str]:
    """``tune`` on the session lake: 256 timesteps a trial, scored every 64."""
    data_dir, tickers = sim_lake
    w = windows(sim_lake)
    return [
        "tune",
        "--study",
        study,
        "--trials",
        str(trials),
        "--space",
        str(space),
        *(arg for t in tickers for arg in ("--market", t)),
        "--start",
        w["start"],
        "--validation-start",
        w["split"],
        "--validation-end",
        w["end"],
        "--timesteps",
        "256",
        "--eval-every",
        "64",
        *ENV_FLAGS,
        "--data-dir",
        str(data_dir),
        *extra,
    ]
