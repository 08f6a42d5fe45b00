"""A crash mid-training leaves the row failed, with the reason and the last good checkpoint."""

from __future__ import annotations

from pathlib import Path

from kalshi_rl.agents.training import Progress, Trainer, TrainRequest
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.replay.lake import lake_time_range, preload_lake
from kalshi_rl.data.storage.database import open_database
from tests.trading_support import TINY, tiny_env

ENV = tiny_env(tick_ms=100)


def test_a_crash_marks_the_model_failed_and_keeps_the_last_checkpoint(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    registry = ModelRegistry(open_database(None, tmp_path))
    low, high = lake_time_range(data_dir / "lake", tuple(tickers))
    data = preload_lake(data_dir / "lake", tuple(tickers), low, high)
    reports: list[Progress] = []

    def listener(progress: Progress) -> None:
        reports.append(progress)
        if progress.timesteps_so_far >= 100:
            raise RuntimeError("disk on fire")

    trainer = Trainer(registry, tmp_path / "models", on_progress=listener)
    request = TrainRequest(
        timesteps=100_000, hyperparameters=TINY, env=ENV, checkpoint_every=32, name="crashy"
    )
    record = trainer.train(request, data)
    assert record.status == "failed"
    assert "RuntimeError: disk on fire" in (record.notes or "")
    assert "last good checkpoint" in (record.notes or "") and record.checkpoint_path in (record.notes or "")
    assert Path(record.checkpoint_path).is_file()
    assert record.training_timesteps >= 32
    assert reports and reports[0].total_timesteps == 100_000


def test_a_stop_request_saves_and_records_it(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    registry = ModelRegistry(open_database(None, tmp_path))
    low, high = lake_time_range(data_dir / "lake", tuple(tickers))
    data = preload_lake(data_dir / "lake", tuple(tickers), low, high)
    trainer = Trainer(registry, tmp_path / "models")

    def stop_soon(progress: Progress) -> None:
        if progress.timesteps_so_far > 0 and trainer.current is not None:
            trainer.current.stop_requested.set()

    trainer.on_progress = stop_soon
    a2c = {"n_steps": 8, "net_arch": [8]}
    record = trainer.train(TrainRequest(algo="a2c", timesteps=100_000, hyperparameters=a2c, env=ENV), data)
    assert (
        record.status == "stopped" and "on request" in (record.notes or "") and record.architecture == "A2C"
    )
    assert Path(record.checkpoint_path).is_file() and 0 < record.training_timesteps < 100_000


def test_a_short_run_reports_its_last_timestep(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A run shorter than the report interval (1 s) still ends its progress charts at its end."""
    data_dir, tickers = sim_lake
    low, high = lake_time_range(data_dir / "lake", tuple(tickers))
    data = preload_lake(data_dir / "lake", tuple(tickers), low, high)
    reports: list[Progress] = []
    trainer = Trainer(ModelRegistry(open_database(None, tmp_path)), tmp_path / "models", reports.append)
    record = trainer.train(TrainRequest(timesteps=64, hyperparameters=TINY, env=ENV, name="short"), data)
    assert record.status == "ready"
    assert reports[-1].timesteps_so_far == record.training_timesteps >= 64
