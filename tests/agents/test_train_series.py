"""`train --series` / `evaluate --series` on a lake holding several markets of a series.

The lake (tests/support/series_lake.py) holds three markets of series KXSER and one of KXOTHER.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kalshi_rl.core.errors import ConfigError, DataNotFoundError
from kalshi_rl.data.replay.lake import preload_lake
from kalshi_rl.data.replay.series import lake_series, series_markets
from kalshi_rl.environments.contract import EnvConfig, env_config_from_contract
from tests.agents.test_train_cli import own_env, write_config
from tests.cli_support import invoke_cli, run_cli
from tests.support import series_lake as lakes
from tests.trading_support import TINY, tiny_env

pytestmark = pytest.mark.slow
series_lake = lakes.series_lake  # the session's fixture, used by name
FAST = ["--tick-ms", "100", "--latency-ms", "20", "--episode-ticks", "20", "--no-progress"]


def test_a_series_is_its_markets_with_books_in_the_window(series_lake) -> None:  # type: ignore[no-untyped-def]
    data_dir, ours, other = series_lake
    lake = data_dir / "lake"
    assert series_markets(lake, "KXSER") == tuple(ours)
    assert series_markets(lake, "KXOTHER") == (other,)
    spans = {m.ticker: m for m in lake_series(lake)["KXSER"]}
    # A window that starts after the first market's last book leaves it out.
    after_first = spans[ours[0]].last_ns + 1  # type: ignore[operator]
    assert series_markets(lake, "KXSER", after_first, None) == tuple(ours[1:])
    # One that ends at the first book of the series holds only the first market.
    assert series_markets(lake, "KXSER", None, spans[ours[0]].first_ns) == (ours[0],)


def test_an_unknown_series_or_an_empty_window_says_what_the_lake_holds(series_lake) -> None:  # type: ignore[no-untyped-def]
    data_dir, _ours, _other = series_lake
    lake = data_dir / "lake"
    with pytest.raises(DataNotFoundError) as unknown:
        series_markets(lake, "KXNOPE")
    message = str(unknown.value)
    assert "no market of series KXNOPE" in message
    assert "KXSER (3 market(s)" in message and "KXOTHER (1 market(s)" in message
    with pytest.raises(DataNotFoundError) as empty:
        series_markets(lake, "KXSER", 10**18, 10**18 + 1)
    assert "no market of series KXSER has book data between 2001-09-09" in str(empty.value)
    with pytest.raises(DataNotFoundError, match="records no series"):
        series_markets(data_dir / "nowhere", "KXSER")


def test_the_contract_records_the_series_and_market_contracts_are_unchanged() -> None:
    market = EnvConfig().contract()
    assert "series" not in market  # checkpoints written before series existed still load
    series = EnvConfig(series="KXSER").contract()
    assert series == {**market, "series": "KXSER"}
    assert env_config_from_contract(series).series == "KXSER"
    assert env_config_from_contract(market).series is None
    with pytest.raises(ValueError, match="series"):
        EnvConfig(series=" ")


def test_the_trainer_refuses_an_env_of_another_series(series_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kalshi_rl.agents.training import Trainer, TrainRequest
    from kalshi_rl.data.registry import ModelRegistry
    from kalshi_rl.data.storage.database import open_database

    data_dir, ours, _other = series_lake
    lake = data_dir / "lake"
    data = preload_lake(lake, tuple(ours), 0, 2**62)
    data.series = "KXSER"
    registry = ModelRegistry(open_database(None, tmp_path))
    request = TrainRequest(timesteps=32, hyperparameters=TINY, env=EnvConfig(tick_ms=200, series="KXOTHER"))
    with pytest.raises(ConfigError, match="the env is for series KXOTHER but the data is series KXSER"):
        Trainer(registry, tmp_path / "models").train(request, data)
    record = Trainer(registry, tmp_path / "models").train(
        TrainRequest(timesteps=32, hyperparameters=TINY, env=tiny_env(100)), data
    )
    assert record.market_ticker == "KXSER" and record.name == "PPO_KXSER"
    assert record.training_config["contract"]["series"] == "KXSER"


def test_train_and_evaluate_a_series_from_the_command_line(series_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, ours, other = series_lake
    env = own_env(tmp_path)
    common = ["--data-dir", str(data_dir)]
    result = run_cli(
        "train", "--series", "KXSER", *common, *FAST, "--timesteps", "640",
        "--config", str(write_config(tmp_path, TINY)), "--name", "ser", "--json",
        env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["status"] == "ready" and row["market_ticker"] == "KXSER"
    assert row["training_config"]["contract"]["series"] == "KXSER"
    data = row["training_config"]["data"]
    assert data["series"] == "KXSER" and data["markets"] == ours and other not in data["markets"]
    # One gap-free segment per market (open to close: 40+ ticks of 100 ms), each its own tape.
    assert data["tapes"] == len(ours)
    # The other steps in-process (invoke_cli): each train or evaluate process costs ~6 s of CPU
    # importing torch; their process boundary is tested in test_train_cli.py.
    episodes = json.loads(
        invoke_cli("inspect", "episodes", "--model", row["id"], *common, "--json", env=env).stdout
    )
    assert len(episodes) == row["training_episodes"] >= 30
    assert {e["market_ticker"] for e in episodes} == set(ours)  # 30+ episodes over 3 tapes

    evaluated = invoke_cli("evaluate", "--model", "ser", *common, "--json", env=env)
    assert evaluated.exit_code == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["window"]["series"] == "KXSER" and report["window"]["markets"] == ours
    assert [r["episodes"] for r in report["results"]] == [len(ours)] * 4  # the model and 3 baselines
    explicit = invoke_cli(
        "evaluate", "--model", "ser", "--series", "KXSER", *common, "--json", "--no-store", env=env
    )
    assert json.loads(explicit.stdout)["results"] == report["results"]

    unknown = invoke_cli("train", "--series", "KXNOPE", *common, *FAST, env=env)
    assert unknown.exit_code == 1  # an escaping exception (a traceback) would raise here
    message = " ".join(unknown.stderr.split())
    assert "no market of series KXNOPE" in message and "KXSER (3 market(s)" in message
    both = invoke_cli("train", "--series", "KXSER", "--market", ours[0], *common, *FAST, env=env)
    assert both.exit_code == 1 and "not both" in both.stderr
    neither = invoke_cli("train", *common, env=env)
    assert neither.exit_code == 1 and "--series SERIES or --market" in " ".join(neither.stderr.split())


@pytest.mark.postgres
def test_with_source_postgres_the_series_is_resolved_from_the_lake(series_lake, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    from kalshi_rl.cli.windows import load_window
    from kalshi_rl.config import Settings
    from kalshi_rl.data.storage.database import create_db_engine, parse_database_url
    from kalshi_rl.data.storage.migrate import upgrade

    data_dir, ours, _other = series_lake
    upgrade(create_db_engine(parse_database_url(pg_url)))
    settings = Settings(data_dir=data_dir, database_url=pg_url)
    # PostgreSQL keeps no market metadata: the series' markets come from the lake's markets
    # table, their books from PostgreSQL (empty here, so it says so, naming those markets).
    with pytest.raises(DataNotFoundError) as empty:
        load_window(settings, (), None, None, "postgres", "KXSER")
    assert f"no books for {', '.join(ours)}" in str(empty.value)
    with pytest.raises(DataNotFoundError, match="no market of series KXNOPE"):
        load_window(settings, (), None, None, "postgres", "KXNOPE")
