"""The tune worker's handling of a pruned trial, with a pruner that prunes at the first report.

Which trials Optuna's median pruner stops depends on the scores, which depend on the session's
lake; a pruner that always says "prune" makes the worker's side of it exact: the training ends
at the first validation score, the trial is PRUNED with that score reported at that step, and
its model row is ``stopped`` with the score in its ``performance_summary``.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from kalshi_rl.agents.search_space import load_space
from kalshi_rl.agents.study_spec import StudySpec, Window
from kalshi_rl.agents.study_storage import StudyStorage
from kalshi_rl.agents.training import Trainer, TrainRequest
from kalshi_rl.agents.tuning import TuningWorker
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.replay.lake import lake_time_range, preload_lake
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.kalshi_env import build_tapes
from tests.trading_support import tiny_env
from tests.tune_support import write_space

pytestmark = pytest.mark.slow


class PruneAtOnce(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        return True


def test_a_pruned_trial_stops_training_at_its_first_score(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    lake = data_dir / "lake"
    low, high = lake_time_range(lake, tuple(tickers))
    split = low + 7_500_000_000
    env = tiny_env(100)
    train = preload_lake(lake, tuple(tickers), low, split - 1)
    validation = preload_lake(lake, tuple(tickers), split, high)
    spec = StudySpec(
        name="pruned",
        space=load_space(write_space(tmp_path), "ppo"),
        template=TrainRequest(algo="ppo", timesteps=256, env=env),
        markets=tuple(tickers),
        series=None,
        train=Window(low, split),
        validation=Window(split, high),
        eval_every=64,
    )
    registry = ModelRegistry(open_database(None, tmp_path))
    storage = StudyStorage(None, tmp_path)
    with storage.setup_lock():
        study = optuna.create_study(
            study_name="pruned", storage=storage.open(), pruner=PruneAtOnce(), direction="maximize"
        )
    worker = TuningWorker(
        study,
        spec,
        Trainer(registry, tmp_path / "models"),
        (train, build_tapes(train, env)),
        (validation, build_tapes(validation, env)),
    )
    [outcome] = worker.run(1)
    assert outcome.state == "pruned" and "pruned at 64 timesteps" in (outcome.note or "")
    [trial] = study.trials
    assert trial.state == TrialState.PRUNED and list(trial.intermediate_values) == [64]
    row = registry.get(trial.user_attrs["model_id"])
    assert row.status == "stopped" and row.training_timesteps < 256
    assert Path(row.checkpoint_path).is_file()
    assert outcome.value == trial.value == trial.intermediate_values[64]  # Optuna: the last report
    summary = row.performance_summary or {}
    assert summary["study"]["state"] == "pruned"
    assert summary["results"][0]["total_pnl"] == trial.intermediate_values[64]
