"""A training run leaves nothing behind outside its model directory."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.replay.lake import lake_time_range, preload_lake
from kalshi_rl.data.storage.database import open_database
from tests.trading_support import train_tiny


def test_training_leaves_no_sb3_folder_in_the_temp_dir(
    sim_lake: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SB3's default logger makes $TMPDIR/SB3-<time> on every learn(), even when it writes nothing.
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # what tempfile.gettempdir() returns
    data_dir, tickers = sim_lake
    low, high = lake_time_range(data_dir / "lake", tuple(tickers))
    data = preload_lake(data_dir / "lake", tuple(tickers), low, high)
    record = train_tiny(ModelRegistry(open_database(None, tmp_path)), tmp_path / "models", data, "tidy")
    assert record.status == "ready"
    # torch may keep a cache of its own there; SB3 must leave nothing.
    assert [p.name for p in temp.iterdir() if p.name.startswith("SB3-")] == []
