"""The base install (no ``train`` extra) records, inspects and paper-trades; training commands
say which extra they need (issue 14: torch-free base install).

Each command runs as a process in which the training packages cannot be imported
(``tests/support/without_training.py``), against a real ``kalshi-rl sim`` process; the model is
trained in this test process, which has them, or written as numpy arrays only. In the torch-free
suite (``make pytest-base``) the commands run where the extra is really not installed, and only
the test of the SB3-trained model is skipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kalshi_rl.core.extras import missing_extra
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.action_space import Action
from tests.cli_support import cli_env
from tests.trading.test_numpy_policy import numpy_model

pytestmark = [pytest.mark.slow, pytest.mark.base_install]


def without_training(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.support.without_training", *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=Path(__file__).resolve().parents[2],
        timeout=timeout,
    )


def test_collect_inspect_and_paper_run_without_the_training_packages(  # type: ignore[no-untyped-def]
    sim_process, tmp_path: Path
) -> None:
    """Runs on the base install too (``make pytest-base``): its model is numpy arrays only."""
    sim = sim_process("--markets", "1", "--rate", "200", "--seed", "21")
    data = ["--data-dir", str(tmp_path)]
    collected = without_training(
        "collect", "--market", sim.tickers[0], "--ws-url", sim.ws_url, "--duration", "3", *data, "--json"
    )
    assert collected.returncode == 0, collected.stderr
    assert json.loads(collected.stdout)["markets"][sim.tickers[0]]["deltas"] > 0
    inspected = without_training("inspect", "data", *data, "--json")
    assert inspected.returncode == 0, inspected.stderr

    numpy_model(ModelRegistry(open_database(None, tmp_path)), tmp_path / "models", "arrays", Action.BUY_YES)
    summary = paper_without_training("arrays", sim.tickers[0], sim.ws_url, data)
    assert summary["model"] == "arrays@1" and summary["orders"] > 0 and summary["missed_ticks"] == 0


def test_a_model_trained_with_sb3_paper_trades_without_the_training_packages(  # type: ignore[no-untyped-def]
    sim_process, sim_lake, tmp_path: Path
) -> None:
    """The checkpoint's policy.npz is all the actor needs (the model is trained here, with torch)."""
    sim = sim_process("--markets", "1", "--rate", "200", "--seed", "22")
    data = ["--data-dir", str(tmp_path)]
    from tests.trading.test_actor import register_model  # SB3: the train extra

    register_model(sim_lake, tmp_path, "base")
    summary = paper_without_training("base", sim.tickers[0], sim.ws_url, data, "--stochastic")
    assert summary["model"] == "base@1" and summary["decisions"] > 0 and summary["missed_ticks"] == 0


def paper_without_training(
    model: str, market: str, ws_url: str, data: list[str], *flags: str
) -> dict[str, Any]:
    paper = without_training(
        "paper",
        "--model",
        model,
        "--market",
        market,
        "--ws-url",
        ws_url,
        "--duration",
        "4",
        *flags,
        *data,
        "--json",
    )
    assert paper.returncode == 0, paper.stderr
    return json.loads(paper.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "command",
    [
        ("train", "--market", "KXSIM-26JAN08-M00", "--timesteps", "100"),
        ("evaluate", "--model", "nothing"),
        ("tune", "--study", "s", "--trials", "1", "--market", "KXSIM-26JAN08-M00"),
        ("demo",),
    ],
    ids=lambda c: c[0],
)
def test_training_commands_name_the_extra_they_need(command: tuple[str, ...], tmp_path: Path) -> None:
    done = without_training(*command, "--data-dir" if command[0] != "demo" else "--dir", str(tmp_path))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert (
        line.startswith("error: this needs the training extra") and "pip install 'kalshi-rl[train]'" in line
    )


def test_only_the_training_packages_count_as_a_missing_extra() -> None:
    assert missing_extra(ModuleNotFoundError("x", name="stable_baselines3.common")) is not None
    assert missing_extra(ModuleNotFoundError("x", name="torch")) is not None
    assert missing_extra(ModuleNotFoundError("x", name="kalshi_rl.nothing")) is None
    assert missing_extra(ModuleNotFoundError("x", name=None)) is None
