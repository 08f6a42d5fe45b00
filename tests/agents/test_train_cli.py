"""`kalshi-rl train` / `evaluate` / `inspect` end to end on data collected from the local exchange.

The lake is the session's (read only); each test has its own registry (``DATABASE_URL``) and
models directory, so no test sees another's models.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from stable_baselines3 import PPO

from kalshi_rl.agents.evaluation import ModelPolicy, evaluate
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.contract import env_config_from_contract
from kalshi_rl.environments.kalshi_env import build_tapes
from tests.cli_support import KALSHI_RL, cli_env, run_cli
from tests.trading_support import TINY, lake_data

pytestmark = pytest.mark.slow
FAST = ["--tick-ms", "100", "--latency-ms", "20", "--episode-ticks", "40", "--no-progress"]


def own_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The CLI's environment with this test's own registry and models directory."""
    registry = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    return cli_env(**{"MODELS_DIR": str(tmp_path / "models"), "DATABASE_URL": registry, **extra})


def write_config(tmp_path: Path, params: dict[str, object]) -> Path:
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(params))
    return path


def markets(tickers: list[str]) -> list[str]:
    return [arg for t in tickers for arg in ("--market", t)]


def train(
    data_dir: Path, tickers: list[str], *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "train", *markets(tickers), "--data-dir", str(data_dir), *FAST, *extra, env=env, timeout=300
    )


def test_tiny_ppo_writes_a_checkpoint_and_a_ready_row_on_sqlite(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    env = own_env(tmp_path)
    result = train(
        data_dir,
        tickers,
        "--timesteps",
        "256",
        "--config",
        str(write_config(tmp_path, TINY)),
        "--name",
        "tiny",
        "--json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["status"] == "ready" and row["version"] == 1 and row["architecture"] == "PPO"
    assert Path(row["checkpoint_path"]).is_file()
    assert (Path(row["checkpoint_path"]).parent / "contract.json").is_file()
    contract = row["training_config"]["contract"]
    assert contract["observation_spec"]["version"] == 1 and contract["action_map"]["2"] == "sell_yes"
    assert row["training_config"]["data"]["fingerprint"] and row["training_timesteps"] >= 256
    episodes = json.loads(
        run_cli(
            "inspect", "episodes", "--model", row["id"], "--data-dir", str(data_dir), "--json", env=env
        ).stdout
    )
    assert len(episodes) == row["training_episodes"] > 0
    assert {e["mode"] for e in episodes} == {"training"}

    evaluated = run_cli("evaluate", "--model", "tiny", "--data-dir", str(data_dir), "--json", env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    policies = [r["policy"] for r in report["results"]]
    assert policies == ["tiny@1", "hold", "random", "momentum"]
    # By value: the CLI's figures are those of the model and the baselines run here on the same
    # window (the metrics themselves are checked by hand in test_evaluation_values.py).
    config = env_config_from_contract(row["training_config"]["contract"])
    model = PPO.load(row["checkpoint_path"], device="cpu")
    policy = ModelPolicy("tiny@1", lambda obs: int(model.predict(obs, deterministic=True)[0]))
    expected = evaluate(policy, build_tapes(lake_data(sim_lake), config), config)
    assert report["results"] == [m.to_dict() for m in expected]
    hold = report["results"][1]
    assert hold["total_pnl"] == hold["fees"] == hold["turnover"] == hold["trades"] == 0
    assert report["results"][2]["fees"] > 0  # random trades and pays
    assert report["beats_baselines"] == all(
        r["total_pnl"] < report["results"][0]["total_pnl"] for r in report["results"][1:]
    )
    stored = json.loads(
        run_cli("inspect", "model", "tiny@1", "--data-dir", str(data_dir), "--json", env=env).stdout
    )
    assert stored["performance_summary"]["results"] == report["results"]

    second = train(
        data_dir,
        tickers,
        "--timesteps",
        "128",
        "--config",
        str(write_config(tmp_path, TINY)),
        "--name",
        "tiny",
        "--parent",
        "tiny@1",
        "--json",
        env=env,
    )
    assert second.returncode == 0, second.stderr
    child = json.loads(second.stdout)
    assert child["version"] == 2 and child["parent_model_id"] == row["id"]
    table = run_cli("inspect", "models", "--data-dir", str(data_dir), env=env)
    assert "tiny@1" in table.stdout and "tiny@2" in table.stdout


@pytest.mark.postgres
def test_tiny_ppo_on_postgres(sim_lake, pg_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    assert run_cli("db", "upgrade", "--database-url", pg_url).returncode == 0
    env = cli_env(MODELS_DIR=str(tmp_path / "models"), DATABASE_URL=pg_url)
    result = train(
        data_dir,
        tickers,
        "--timesteps",
        "128",
        "--config",
        str(write_config(tmp_path, TINY)),
        "--json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    with psycopg.connect(pg_url) as pg:
        status, path = pg.execute(
            "SELECT status, checkpoint_path FROM models WHERE id = %s", [row["id"]]
        ).fetchone()  # type: ignore[misc]
        episodes = pg.execute(
            "SELECT count(*) FROM trading_episodes WHERE model_id = %s AND mode = 'training'", [row["id"]]
        ).fetchone()
    assert status == "ready" and Path(path).is_file() and episodes[0] > 0  # type: ignore[index]


def test_invalid_hyperparameters_are_rejected_before_training(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    env = own_env(tmp_path)
    bad = write_config(tmp_path, {"learning_rate": -1, "n_stepz": 5, "batch_size": 10_000})
    result = train(data_dir, tickers, "--config", str(bad), "--name", "never", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert "learning_rate must be" in message and "unknown hyperparameter 'n_stepz'" in message
    # Refused before any data was loaded or any model built: no row, no models directory.
    models = json.loads(run_cli("inspect", "models", "--data-dir", str(data_dir), "--json", env=env).stdout)
    assert models == [] and not (tmp_path / "models").exists()


def test_unknown_market_and_empty_window_list_what_the_lake_holds(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    env = own_env(tmp_path)
    unknown = run_cli("train", "--market", "KXNOPE-1", "--data-dir", str(data_dir), env=env)
    assert unknown.returncode == 1 and "KXNOPE-1" in unknown.stderr and tickers[0] in unknown.stderr
    empty = run_cli(
        "train",
        "--market",
        tickers[0],
        "--start",
        "2001-01-01T00:00:00Z",
        "--end",
        "2001-01-02T00:00:00Z",
        "--data-dir",
        str(data_dir),
        env=env,
    )
    assert empty.returncode == 1 and "no book data" in empty.stderr and tickers[0] in empty.stderr


def test_ctrl_c_saves_a_checkpoint_and_records_the_stop(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    env = own_env(tmp_path)
    proc = subprocess.Popen(
        [
            KALSHI_RL,
            "train",
            *markets(tickers),
            "--data-dir",
            str(data_dir),
            *FAST,
            "--timesteps",
            "10000000",
            "--name",
            "interrupted",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    # Interrupt once the run has recorded an episode (read from its registry, as it writes it).
    registry = ModelRegistry(open_database(env["DATABASE_URL"], tmp_path))
    deadline = time.monotonic() + 120
    while not any(r.training_episodes for r in registry.list_models(name="interrupted")):
        assert proc.poll() is None and time.monotonic() < deadline, "the run never recorded an episode"
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    row = json.loads(out)
    assert row["status"] == "stopped" and "Ctrl-C" in row["notes"]
    assert Path(row["checkpoint_path"]).is_file() and row["training_timesteps"] > 0
