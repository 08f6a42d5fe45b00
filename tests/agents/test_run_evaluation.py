"""`train --seeds N` / `--walk-forward K`, then `evaluate --model NAME` over the whole run and
`inspect compare`, on the session lake (tiny PPO, a few dozen timesteps per version)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kalshi_rl.agents.statistics import iqm, win_share
from kalshi_rl.agents.walk_forward import split_windows, walk_forward_folds
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from tests.cli_support import invoke_cli
from tests.trading_support import TINY
from tests.tune_support import ENV_FLAGS, own_env, windows


def run(env: dict[str, str], *args: str) -> dict[str, Any] | list[Any]:
    result = invoke_cli(*args, "--json", env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def train_args(sim_lake, tmp_path: Path, *extra: str) -> list[str]:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    return [
        "train", *(a for t in tickers for a in ("--market", t)), "--data-dir", str(data_dir), *ENV_FLAGS,
        "--no-progress", "--timesteps", "64", "--config", str(config), *extra,
    ]  # fmt: skip


def test_walk_forward_windows_are_consecutive_and_disjoint() -> None:
    parts = split_windows(1_000, 1_999, 4)
    assert [(w.start_ns, w.end_ns) for w in parts] == [(1000, 1249), (1250, 1499), (1500, 1749), (1750, 1999)]
    folds = walk_forward_folds(1_000, 1_999, 3)
    for fold in folds:
        assert fold.train.end_ns + 1 == fold.test.start_ns  # the test window starts right after
    assert [f.test for f in folds[:-1]] == [f.train for f in folds[1:]]
    with pytest.raises(ConfigError, match="each needs at least"):
        walk_forward_folds(1_000, 1_999, 3, min_window_ns=300)


@pytest.mark.slow
def test_seeds_evaluated_together_with_iqm_ci_baselines_and_oracle(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = own_env(tmp_path)
    w = windows(sim_lake)
    data_dir = str(sim_lake[0])
    rows = run(env, *train_args(sim_lake, tmp_path, "--seeds", "4", "--seed", "5", "--name", "trio", "--end", w["split"]))  # fmt: skip
    assert isinstance(rows, list)
    assert [r["version"] for r in rows] == [1, 2, 3, 4]
    assert [r["training_config"]["run"]["seed"] for r in rows] == [5, 6, 7, 8]
    assert len({r["training_config"]["run"]["id"] for r in rows}) == 1

    png = tmp_path / "equity.png"
    report = run(
        env, "evaluate", "--model", "trio", "--start", w["split"], "--data-dir", data_dir, "--png", str(png)
    )
    assert isinstance(report, dict)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    scores = report["scores"]
    ours = [s for s in scores if s["seed"] is not None]
    assert [s["policy"] for s in ours] == ["trio@1", "trio@2", "trio@3", "trio@4"]
    assert [s["seed"] for s in ours] == [5, 6, 7, 8]
    reference = {s["policy"]: s for s in scores if s["seed"] is None}
    assert sorted(reference) == ["hold", "momentum", "oracle", "random"]
    # Each version's score is what `evaluate` measures for that version alone on the window.
    alone = run(
        env, "evaluate", "--model", "trio@2", "--start", w["split"], "--data-dir", data_dir, "--no-store"
    )
    assert isinstance(alone, dict)
    assert alone["results"][0]["total_pnl"] == ours[1]["total_pnl"]
    assert [r["total_pnl"] for r in alone["results"][1:]] == [reference[b]["total_pnl"] for b in ("hold", "random", "momentum")]  # fmt: skip
    # The oracle can always hold: it never does worse than holding (its optimality against every
    # action sequence is tested against a brute force in test_oracle).
    assert reference["oracle"]["total_pnl"] >= 0.0
    oracle = reference["oracle"]["total_pnl"]

    summary = {s["policy"]: s for s in report["summary"]}
    pnl = np.array([s["total_pnl"] for s in ours])
    model = summary["trio"]
    assert model["runs"] == 4 and model["iqm_pnl"]["estimate"] == pytest.approx(float(iqm(pnl)))
    assert model["iqm_pnl"]["low"] <= model["iqm_pnl"]["estimate"] <= model["iqm_pnl"]["high"]
    assert model["iqm_pnl"]["low"] >= pnl.min() and model["iqm_pnl"]["high"] <= pnl.max()
    for b in ("hold", "random", "momentum"):
        expected = float(win_share(pnl - reference[b]["total_pnl"]))
        assert model["probability_of_beating"][b]["estimate"] == pytest.approx(expected)
    if oracle > 0:
        assert model["oracle_share"] == pytest.approx(pnl.mean() / oracle)
        assert summary["oracle"]["oracle_share"] == pytest.approx(1.0)

    # Stored: each version its own results; the newest the whole comparison, for inspect compare.
    registry = ModelRegistry(open_database(env["DATABASE_URL"], tmp_path))
    stored = [registry.get(f"trio@{v}").performance_summary or {} for v in (1, 2, 3, 4)]
    assert [s["results"][0]["total_pnl"] for s in stored] == list(pnl)
    assert "comparison" in stored[3] and not any("comparison" in s for s in stored[:3])
    compared = run(env, "inspect", "compare", "trio")
    assert isinstance(compared, dict) and compared["runs"][0]["summary"] == report["summary"]
    drawn = tmp_path / "compare.png"
    table = invoke_cli("inspect", "compare", "trio", "--png", str(drawn), env=env)
    assert table.exit_code == 0 and "IQM" in table.stdout and "oracle" in table.stdout
    assert drawn.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    missing = invoke_cli("inspect", "compare", "trio@1x", env=env)
    assert missing.exit_code == 1 and missing.output.startswith("error: ")


@pytest.mark.slow
def test_walk_forward_versions_are_each_evaluated_on_the_window_after_their_own(
    sim_lake, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    env = own_env(tmp_path)
    data_dir = str(sim_lake[0])
    rows = run(env, *train_args(sim_lake, tmp_path, "--seeds", "2", "--walk-forward", "2", "--name", "wf", "--episode-ticks", "20"))  # fmt: skip
    assert isinstance(rows, list)
    places = [r["training_config"]["run"] for r in rows]
    assert [(p["fold"], p["seed"]) for p in places] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for p in places:
        assert p["train"]["end_ns"] + 1 == p["test"]["start_ns"]  # trained strictly before its test
    assert places[0]["test"] == places[2]["train"]

    report = run(env, "evaluate", "--model", "wf", "--data-dir", data_dir)
    assert isinstance(report, dict) and len(report["windows"]) == 2
    by_policy = {s["policy"]: s for s in report["scores"] if s["seed"] is not None}
    assert [by_policy[f"wf@{v}"]["window"] for v in (1, 2, 3, 4)] == [0, 0, 1, 1]
    assert sum(1 for s in report["scores"] if s["policy"] == "oracle") == 2
    summary = report["summary"][0]
    assert summary["policy"] == "wf" and summary["runs"] == 4
    refused = invoke_cli("evaluate", "--model", "wf", "--start", windows(sim_lake)["split"], "--data-dir", data_dir, env=env)  # fmt: skip
    assert refused.exit_code == 1 and "walk-forward run" in refused.output
    # One version alone is evaluated on its own held-out window.
    one = run(env, "evaluate", "--model", "wf@3", "--data-dir", data_dir, "--no-store")
    assert isinstance(one, dict) and one["scores"][0]["total_pnl"] == by_policy["wf@3"]["total_pnl"]


def test_bad_run_flags_are_refused_before_training(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = own_env(tmp_path)
    result = invoke_cli(*train_args(sim_lake, tmp_path, "--walk-forward", "50"), env=env)
    assert result.exit_code == 1 and "each needs at least" in result.output
    assert not (tmp_path / "models").exists()
