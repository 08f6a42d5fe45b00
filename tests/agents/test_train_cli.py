"""`kalshi-rl train` / `evaluate` / `inspect` end to end on data collected from the local exchange.

The lake is the session's (read only); each test has its own registry (``DATABASE_URL``) and
models directory, so no test sees another's models. ``train`` and ``evaluate`` run as the
installed process (``run_cli``: a first training, an evaluation, a bad input, Ctrl-C); the
other steps run the same app in this process (``invoke_cli``), without a Python start-up.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import psycopg
import pytest
from click.testing import Result
from stable_baselines3 import PPO

from kalshi_rl.agents.evaluation import ModelPolicy, evaluate
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.contract import env_config_from_contract
from kalshi_rl.environments.kalshi_env import build_tapes
from tests.cli_support import KALSHI_RL, cli_env, invoke_cli, run_cli
from tests.support.waiting import wait_until
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


def train_here(data_dir: Path, tickers: list[str], *extra: str, env: dict[str, str] | None = None) -> Result:
    """``train`` as above, in this process."""
    return invoke_cli("train", *markets(tickers), "--data-dir", str(data_dir), *FAST, *extra, env=env)


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
        invoke_cli(
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
        invoke_cli("inspect", "model", "tiny@1", "--data-dir", str(data_dir), "--json", env=env).stdout
    )
    assert stored["performance_summary"]["results"] == report["results"]

    second = train_here(
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
    assert second.exit_code == 0, second.stderr
    child = json.loads(second.stdout)
    assert child["version"] == 2 and child["parent_model_id"] == row["id"]
    table = invoke_cli("inspect", "models", "--data-dir", str(data_dir), env=env)
    assert "tiny@1" in table.stdout and "tiny@2" in table.stdout


@pytest.mark.postgres
def test_tiny_ppo_on_postgres(sim_lake, pg_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    assert invoke_cli("db", "upgrade", "--database-url", pg_url).exit_code == 0
    env = cli_env(MODELS_DIR=str(tmp_path / "models"), DATABASE_URL=pg_url)
    result = train_here(
        data_dir,
        tickers,
        "--timesteps",
        "128",
        "--config",
        str(write_config(tmp_path, TINY)),
        "--json",
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)
    with psycopg.connect(pg_url) as pg:
        status, path = pg.execute(
            "SELECT status, checkpoint_path FROM models WHERE id = %s", [row["id"]]
        ).fetchone()  # type: ignore[misc]
        episodes = pg.execute(
            "SELECT count(*) FROM trading_episodes WHERE model_id = %s AND mode = 'training'", [row["id"]]
        ).fetchone()
    assert status == "ready" and Path(path).is_file() and episodes[0] > 0  # type: ignore[index]


def test_train_without_data_is_one_line_and_exit_1_from_the_process(tmp_path: Path) -> None:
    """The process boundary of ``train``'s refusals (the others run in-process, where an
    escaping exception fails the test as a traceback would)."""
    result = run_cli("train", "--data-dir", str(tmp_path), env=own_env(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert message.startswith("error:") and "--series SERIES or --market TICKER" in message


def test_invalid_hyperparameters_are_rejected_before_training(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    env = own_env(tmp_path)
    bad = write_config(tmp_path, {"learning_rate": -1, "n_stepz": 5, "batch_size": 10_000})
    result = train_here(data_dir, tickers, "--config", str(bad), "--name", "never", env=env)
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "learning_rate must be" in message and "unknown hyperparameter 'n_stepz'" in message
    # Refused before any data was loaded or any model built: no row, no models directory.
    models = json.loads(
        invoke_cli("inspect", "models", "--data-dir", str(data_dir), "--json", env=env).stdout
    )
    assert models == [] and not (tmp_path / "models").exists()


def test_unknown_market_and_empty_window_list_what_the_lake_holds(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    env = own_env(tmp_path)
    unknown = invoke_cli("train", "--market", "KXNOPE-1", "--data-dir", str(data_dir), env=env)
    assert unknown.exit_code == 1 and "KXNOPE-1" in unknown.stderr and tickers[0] in unknown.stderr
    empty = invoke_cli(
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
    assert empty.exit_code == 1 and "no book data" in empty.stderr and tickers[0] in empty.stderr


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
            "--config",
            str(write_config(tmp_path, TINY)),
            "--name",
            "interrupted",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    # Interrupt once the run is learning: its first episodes are in the registry (written every
    # 50 episodes, read as it writes them), long before its first periodic checkpoint (10,000
    # timesteps), so the checkpoint found afterwards is the one Ctrl-C saved.
    registry = ModelRegistry(open_database(env["DATABASE_URL"], tmp_path))

    def learning() -> bool:
        assert proc.poll() is None, proc.communicate()[1]
        return any(
            registry.episodes(r.id, mode="training", limit=1)
            for r in registry.list_models(name="interrupted")
        )

    wait_until(learning, "the run recording its first episodes", timeout_s=120, every_s=0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    row = json.loads(out)
    assert row["status"] == "stopped" and "Ctrl-C" in row["notes"]
    assert 0 < row["training_timesteps"] < 10_000, "a periodic checkpoint came first: Ctrl-C proved nothing"
    assert PPO.load(row["checkpoint_path"], device="cpu").num_timesteps == row["training_timesteps"]
