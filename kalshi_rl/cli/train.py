"""``kalshi-rl train``: an SB3 / sb3-contrib agent on a window of the lake; prints the new model's id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from kalshi_rl.cli.common import console, load_settings, parse_time, print_json, setup_logging, user_errors
from kalshi_rl.core.errors import ConfigError


@user_errors
def train(
    market: list[str] = typer.Option(
        None, "--market", "-m", help="Market(s) to train on (repeat for several)."
    ),
    series: str = typer.Option(
        None,
        "--series",
        help="Train on every market of this series with books in the window (each market's "
        "gap-free segments are episodes); the model is the series' (paper --series trades it).",
    ),
    start: str = typer.Option(
        None, help="Window start (ISO 8601, UTC by default); default: the lake's first data."
    ),
    end: str = typer.Option(None, help="Window end; default: the lake's last data."),
    algo: str = typer.Option(
        "ppo",
        help="ppo, a2c, maskable_ppo (chooses only actions that can act: the actor applies the same "
        "mask), recurrent_ppo (LSTM) or dqn.",
    ),
    timesteps: int = typer.Option(50_000, min=1, help="Total environment steps."),
    n_envs: int = typer.Option(1, min=1, help="Parallel environments (vectorised)."),
    vec: str = typer.Option(
        "dummy", help="dummy (every env in this process) or subproc (a process per env; --n-envs 2+)."
    ),
    normalize_obs: bool = typer.Option(
        False,
        "--normalize-obs",
        help="Standardise observations with running statistics (VecNormalize, saved with the model).",
    ),
    normalize_reward: bool = typer.Option(
        False, "--normalize-reward", help="Scale rewards by the return's running spread."
    ),
    tensorboard: Path = typer.Option(
        None, help="Write TensorBoard logs (SB3's scalars, episode P&L, fees, turnover, actions) here."
    ),
    name: str = typer.Option(None, help="Model name (versions auto-increment per name)."),
    parent: str = typer.Option(None, help="Fine-tune from this model (ID, NAME or NAME@VERSION)."),
    config: Path = typer.Option(None, help="YAML or JSON file of hyperparameters."),
    seed: int = typer.Option(0, help="Seed for the policy, the envs and the fills."),
    seeds: int = typer.Option(
        1, min=1, help="Train N versions of the name with seeds SEED..SEED+N-1 (evaluate --model NAME: all)."
    ),
    walk_forward: int = typer.Option(
        0, min=0, help="Cut the window into K+1 parts; train on part k, to be evaluated on part k+1."
    ),
    tick_ms: int = typer.Option(None, help="Step length in ms of event time; default TICK_INTERVAL_SECONDS."),
    episode_ticks: int = typer.Option(300, min=1, help="Ticks per training episode."),
    order_contracts: float = typer.Option(10.0, min=0.01, help="Contracts per order."),
    position_limit: float = typer.Option(50.0, min=0.01, help="Maximum contracts held either way."),
    latency_ms: float = typer.Option(50.0, min=0.0, help="Order latency in ms of event time."),
    fee_schedule: str = typer.Option(
        "market",
        help="Fees charged: 'market' (each market's series or event schedule in force at each fill) "
        "or TYPE[:MULTIPLIER] for every market, e.g. quadratic:0 for no trade fees (an ablation).",
    ),
    flat_fee: str | None = typer.Option(
        None,
        help="Dollars per contract for markets whose fee type has no published formula "
        "(flat, margin_market_maker_program_fees); without it such markets are refused.",
    ),
    member_precision: str = typer.Option(
        "0.01", help="Balance precision in dollars: 0.01 (non-direct member) or 0.0001 (direct member)."
    ),
    checkpoint_every: int = typer.Option(10_000, min=1, help="Checkpoint every N timesteps."),
    source: str = typer.Option("lake", help="lake (Parquet via DuckDB) or postgres."),
    data_dir: Path = typer.Option(None, help="Data directory; default DATA_DIR or ./data."),
    database_url: str = typer.Option(
        None, help="Registry database; default DATABASE_URL, else SQLite in the data dir."
    ),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    json_out: bool = typer.Option(False, "--json", help="Print the model row as JSON."),
) -> None:
    """Train an agent on historical books and register it; prints the model id."""
    if not market and not series:
        raise ConfigError("give the data to train on: --series SERIES or --market TICKER (repeatable)")
    # Heavy imports (torch, SB3) here, so that every other command starts fast.
    from kalshi_rl.agents import hyperparameters as hp
    from kalshi_rl.agents.training import Trainer, TrainRequest
    from kalshi_rl.agents.vec import VecSettings
    from kalshi_rl.cli.env_options import env_config
    from kalshi_rl.cli.windows import load_window
    from kalshi_rl.data.registry import ModelRegistry
    from kalshi_rl.data.storage.database import open_database

    setup_logging(quiet=json_out)
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    overrides: dict[str, Any] = hp.load_file(config) if config else {}
    hp.validate(algo, overrides, n_envs)  # reject bad hyperparameters before loading any data
    VecSettings(n_envs, vec.lower())  # and an unknown --vec, or subproc with one env
    env = env_config(
        settings,
        tick_ms,
        episode_ticks,
        order_contracts,
        position_limit,
        latency_ms,
        fee_schedule,
        flat_fee,
        member_precision,
    )
    engine = open_database(settings.database_url_value, settings.data_dir)
    window = parse_time(start, "start"), parse_time(end, "end")
    data = load_window(settings, tuple(market or ()), *window, source, series)
    request = TrainRequest(
        algo=algo.lower(),
        timesteps=timesteps,
        n_envs=n_envs,
        seed=seed,
        name=name,
        parent=parent,
        hyperparameters=overrides,
        env=env,
        checkpoint_every=checkpoint_every,
        vec=vec.lower(),
        normalize_obs=normalize_obs,
        normalize_reward=normalize_reward,
        tensorboard=tensorboard,
        progress_bar=progress and not json_out and console.is_terminal,
    )
    trainer = Trainer(ModelRegistry(engine), settings.models_dir)
    if seeds > 1 or walk_forward:
        from kalshi_rl.cli.train_run import train_versions

        train_versions(trainer, request, data, seeds, walk_forward, (settings, source, series), json_out)
        return
    record = trainer.train(request, data)
    if json_out:
        print_json(record.to_dict())
        return
    console.print(
        f"model {record.label} [bold]{record.status}[/] after {record.training_timesteps:,} timesteps, "
        f"{record.training_episodes:,} episodes"
    )
    if record.notes:
        console.print(f"notes: {record.notes}")
    console.print(f"checkpoint: {record.checkpoint_path}")
    console.print(str(record.id))
    if record.status == "failed":
        raise typer.Exit(1)
