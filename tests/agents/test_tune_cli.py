"""`kalshi-rl tune` end to end on the session lake: a study of real (tiny) trainings.

Each test has its own registry and studies (SQLite files, or a fresh PostgreSQL database) and
models directory. A study of 3 trials on SQLite, read back by ``inspect study`` and exported
for ``train --config``; two worker processes sharing one study on PostgreSQL; the refusals
before any work; Ctrl-C and a killed worker (``kill -9``) leaving failed trials behind.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import optuna
import psycopg
import pyarrow.parquet as pq
import pytest
import yaml

from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.storage.database import open_database
from tests.cli_support import KALSHI_RL, invoke_cli
from tests.support.waiting import wait_until
from tests.tune_support import ENV_FLAGS, TINY_SPACE, own_env, tune_args, write_space

pytestmark = pytest.mark.slow


def study_json(env: dict[str, str], name: str, *extra: str) -> dict[str, Any]:
    result = invoke_cli("inspect", "study", name, "--json", *extra, env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def registry_of(env: dict[str, str], tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(open_database(env["DATABASE_URL"], tmp_path))


def trial_rows(registry: ModelRegistry, study: str) -> dict[str, ModelRecord]:
    return {r.name: r for r in registry.list_models(limit=1_000) if r.name.startswith(f"{study}-t")}


def test_three_trials_on_sqlite_inspected_and_exported_for_train(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = own_env(tmp_path)
    space = write_space(tmp_path)
    result = invoke_cli(*tune_args(sim_lake, "tiny", space, "--sampler-seed", "7", "--json"), env=env)
    assert result.exit_code == 0, result.output
    worker = json.loads(result.stdout)
    assert [t["number"] for t in worker["trials"]] == [0, 1, 2] and not worker["interrupted"]
    assert {t["state"] for t in worker["trials"]} <= {"complete", "pruned"}
    # The studies live beside the registry, in a file of their own (module study_storage).
    assert (tmp_path / "registry.optuna.sqlite").is_file()

    report = study_json(env, "tiny")
    assert report["definition"]["algo"] == "ppo" and report["definition"]["timesteps"] == 256
    assert [b["policy"] for b in report["validation_baselines"]] == ["hold", "random", "momentum"]
    trials = {t["number"]: t for t in report["trials"]}
    best = report["best"]
    complete = [t for t in trials.values() if t["state"] == "complete"]
    assert best["value"] == max(t["value"] for t in complete)

    # Every trial reported its validation P&L every 64 timesteps (what the pruner judges), then
    # once trained; its value is the last.
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'registry.optuna.sqlite'}")
    for trial in study.trials:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert sorted(trial.intermediate_values) == [64, 128, 192, 256]
            assert trial.intermediate_values[256] == trial.value

    # Every trial is a registered model with its parameters and its validation scores.
    rows = trial_rows(registry_of(env, tmp_path), "tiny")
    assert sorted(rows) == ["tiny-t0", "tiny-t1", "tiny-t2"]
    for number, trial in trials.items():
        row = rows[f"tiny-t{number}"]
        assert trial["model"] == row.label and row.status in ("ready", "stopped")
        drawn = trial["hyperparameters"]  # the fixed values and the sampled ones
        assert set(drawn) == set(TINY_SPACE["fixed"]) | set(TINY_SPACE["parameters"])
        assert {k: row.hyperparameters[k] for k in drawn} == drawn  # the rest: the algorithm's defaults
        summary = row.performance_summary
        assert summary is not None and summary["study"]["name"] == "tiny"
        assert summary["study"]["trial"] == number and summary["study"]["state"] == trial["state"]
        ours = summary["results"][0]
        assert [r["policy"] for r in summary["results"][1:]] == ["hold", "random", "momentum"]
        if trial["state"] == "complete":
            assert ours["total_pnl"] == pytest.approx(trial["value"])

    # --export writes the best trial's hyperparameters; train --config reads them as they are.
    exported = tmp_path / "best.yaml"
    report = study_json(env, "tiny", "--export", str(exported))
    assert report["exported"] == str(exported)
    params = yaml.safe_load(exported.read_text())
    assert params == best["hyperparameters"]
    data_dir, tickers = sim_lake
    trained = invoke_cli(
        "train", "--market", tickers[0], "--data-dir", str(data_dir), *ENV_FLAGS, "--no-progress",
        "--timesteps", "64", "--config", str(exported), "--name", "from-study", "--json", env=env,
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    trained_with = json.loads(trained.stdout)["hyperparameters"]
    assert {k: trained_with[k] for k in params} == params

    table = invoke_cli("inspect", "study", "tiny", env=env)
    assert table.exit_code == 0 and "(best)" in table.stdout and "tiny-t2@1" in table.stdout
    listing = invoke_cli("inspect", "study", env=env)
    assert listing.stdout.split() == ["tiny"]


def test_refusals_before_any_work(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = own_env(tmp_path)
    space = write_space(tmp_path)
    w = tune_args(sim_lake, "s", space)

    def refused(*args: str) -> str:
        result = invoke_cli(*args, env=env)
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
        return lines[0]

    def replaced(args: list[str], flag: str, value: str) -> list[str]:
        out = list(args)
        out[out.index(flag) + 1] = value
        return out

    split = float(w[w.index("--validation-start") + 1])
    end = float(w[w.index("--validation-end") + 1])
    # Windows: training reaching into validation; a proof's test window overlapping validation.
    assert "after the validation window starts" in refused(*w, "--end", str(split + 1))
    assert "tune must never see the test window" in refused(*w, "--test-start", str(end - 1))
    assert "validation window is empty" in refused(*replaced(w, "--validation-end", str(split)))
    bad_space = write_space(tmp_path, {**TINY_SPACE, "parameters": {"gamma": {"type": "float", "low": 1.5, "high": 2}}}, "bad.yaml")  # fmt: skip
    assert "gamma" in refused(*replaced(w, "--space", str(bad_space)))
    assert not (tmp_path / "registry.optuna.sqlite").exists()  # nothing was created
    assert "no study 'nope'" in refused("inspect", "study", "nope")

    # One trial creates the study; joining it with another space or another budget is refused.
    first = invoke_cli(*tune_args(sim_lake, "s", space, trials=1), env=env)
    assert first.exit_code == 0, first.output
    wider = {**TINY_SPACE, "parameters": {**TINY_SPACE["parameters"], "ent_coef": {"type": "float", "low": 0.0, "high": 0.2}}}  # fmt: skip
    message = refused(*tune_args(sim_lake, "s", write_space(tmp_path, wider, "wider.yaml"), trials=1))
    assert "study 's' exists with another search space" in message
    message = refused(*replaced(tune_args(sim_lake, "s", space, trials=1), "--timesteps", "512"))
    assert "defined with other timesteps" in message
    # Another machine's lake with other data for the same windows (its last book changes gone).
    other = tmp_path / "other"
    shutil.copytree(sim_lake[0] / "lake", other / "lake")
    for part in (other / "lake" / "deltas").rglob("*.parquet"):
        table = pq.read_table(part)
        pq.write_table(table.slice(0, table.num_rows - 50), part)
    args = tune_args(sim_lake, "s", space, trials=1)
    args[args.index("--data-dir") + 1] = str(other)
    message = refused(*args)
    assert "is not the data study 's' was scored on" in message
    assert len(study_json(env, "s")["trials"]) == 1  # the refused workers added nothing


@pytest.mark.postgres
def test_two_workers_on_postgresql_share_one_study(sim_lake, tmp_path: Path, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    env = own_env(tmp_path, pg_url)
    assert invoke_cli("db", "upgrade", env=env).exit_code == 0
    space = write_space(tmp_path)
    workers = [
        subprocess.Popen(
            [
                KALSHI_RL,
                *tune_args(sim_lake, "shared", space, "--sampler-seed", str(seed), "--json", trials=2),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed in (1, 2)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    numbers = [[t["number"] for t in json.loads(out)["trials"]] for out, _ in outputs]
    assert sorted(numbers[0] + numbers[1]) == [0, 1, 2, 3]  # Optuna handed each trial out once
    assert len(numbers[0]) == len(numbers[1]) == 2

    report = study_json(env, "shared")
    assert len(report["trials"]) == 4 and len({t["worker"] for t in report["trials"]}) == 2
    assert {t["state"] for t in report["trials"]} <= {"complete", "pruned"}
    rows = trial_rows(registry_of(env, tmp_path), "shared")
    assert sorted(rows) == [f"shared-t{n}" for n in range(4)]
    # Optuna's tables are in their own schema; the registry's migrations still see only theirs.
    with psycopg.connect(pg_url) as conn:
        schemas = dict(
            conn.execute(
                "SELECT table_name, table_schema FROM information_schema.tables "
                "WHERE table_name IN ('studies', 'trials', 'models')"
            ).fetchall()
        )
    assert schemas == {"studies": "optuna", "trials": "optuna", "models": "public"}
    assert invoke_cli("db", "upgrade", env=env).exit_code == 0


def test_a_killed_worker_and_a_stopped_worker_leave_failed_trials(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Worker A is killed (-9) mid-trial; worker B, started after A's heartbeat went stale,
    marks A's trial failed (and its model), then gets Ctrl-C mid-trial and stops cleanly."""
    env = own_env(tmp_path)
    space = write_space(tmp_path)
    args = tune_args(sim_lake, "stop", space, "--heartbeat-seconds", "1", trials=3)
    args[args.index("--timesteps") + 1] = "10000000"
    args[args.index("--eval-every") + 1] = "1000000"
    registry = registry_of(env, tmp_path)

    def training(name: str, proc: subprocess.Popen[str]) -> bool:
        assert proc.poll() is None, proc.communicate()
        rows = [r for r in registry.list_models(name=name) if r.status == "training"]
        return bool(rows) and bool(registry.episodes(rows[0].id, mode="training", limit=1))

    def start(*extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [KALSHI_RL, *args, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )

    killed = start()
    wait_until(lambda: training("stop-t0", killed), "worker A training trial 0", timeout_s=120, every_s=0.1)
    killed.kill()
    killed.communicate()
    time.sleep(2.5)  # past the grace period of two 1 s heartbeats: trial 0 is stale from now on
    stopped = start("--trials", "1")
    wait_until(lambda: training("stop-t1", stopped), "worker B training trial 1", timeout_s=120, every_s=0.1)
    stopped.send_signal(signal.SIGINT)
    out, err = stopped.communicate(timeout=60)
    assert stopped.returncode == 0, err
    assert "stopped: the running trial is marked failed" in out
    assert "Traceback" not in err

    trials = {t["number"]: t for t in study_json(env, "stop")["trials"]}
    assert [trials[n]["state"] for n in (0, 1)] == ["failed", "failed"] and len(trials) == 2
    assert "died" in trials[0]["note"] and "interrupted" in trials[1]["note"]
    rows = trial_rows(registry, "stop")
    assert rows["stop-t0"].status == "failed" and "stopped beating" in (rows["stop-t0"].notes or "")
    assert rows["stop-t1"].status == "stopped" and Path(rows["stop-t1"].checkpoint_path).is_file()


def test_a_masked_normalised_study_trains_and_exports_its_flags(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = own_env(tmp_path)
    space = write_space(tmp_path, {**TINY_SPACE, "algo": "maskable_ppo"})
    args = tune_args(
        sim_lake, "masked", space, "--algo", "maskable_ppo", "--normalize-obs", "--json", trials=1
    )
    result = invoke_cli(*args, env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trials"][0]["state"] == "complete"
    row = trial_rows(registry_of(env, tmp_path), "masked")["masked-t0"]
    contract = row.training_config["contract"]
    assert row.architecture == "MASKABLE_PPO" and "action_mask" in contract
    assert "observation_normalization" in contract
    exported = tmp_path / "best.yaml"
    study_json(env, "masked", "--export", str(exported))
    assert "kalshi-rl train --algo maskable_ppo --normalize-obs --config best.yaml" in exported.read_text()
