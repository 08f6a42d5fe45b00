"""``kalshi-rl tune``: one worker of an Optuna study; run it on as many machines as you like."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from kalshi_rl.cli.common import (
    console,
    err_console,
    load_settings,
    parse_time,
    print_json,
    setup_logging,
    user_errors,
)
from kalshi_rl.core.errors import ConfigError

if TYPE_CHECKING:
    import optuna

    from kalshi_rl.agents.tuning import TrialOutcome


@user_errors
def tune(
    study: str = typer.Option(..., "--study", help="Study name: workers with the same name share it."),
    trials: int = typer.Option(..., "--trials", min=1, help="Trials this worker runs (each worker its own)."),
    space: Path = typer.Option(
        None, help="Search space YAML; default: the algorithm's (kalshi_rl/agents/search_spaces/)."
    ),
    market: list[str] = typer.Option(None, "--market", "-m", help="Market(s) to train on (repeatable)."),
    series: str = typer.Option(None, "--series", help="Train on every market of this series in the windows."),
    start: str = typer.Option(None, help="Training window start (ISO 8601); default: the lake's first data."),
    end: str = typer.Option(None, help="Training window end; default: --validation-start."),
    validation_start: str = typer.Option(
        None, help="Validation window start (at or after --end): trials are scored there."
    ),
    validation_end: str = typer.Option(None, help="Validation window end."),
    test_start: str = typer.Option(
        None, help="A proof's test window, never read: tune refuses windows that reach it."
    ),
    test_end: str = typer.Option(None, help="The test window's end (default: open-ended)."),
    algo: str = typer.Option("ppo", help="ppo, a2c, maskable_ppo, recurrent_ppo or dqn."),
    timesteps: int = typer.Option(50_000, min=1, help="Environment steps per trial."),
    eval_every: int = typer.Option(
        10_000, min=1, help="Score on the validation window every N timesteps (for pruning)."
    ),
    pruner: str = typer.Option("median", help="median, halving (successive halving) or none."),
    prune_startup_trials: int = typer.Option(
        5, min=0, help="Finished trials before the median pruner prunes anything."
    ),
    startup_trials: int = typer.Option(10, min=0, help="Random trials before TPE models the study."),
    sampler_seed: int = typer.Option(
        None, help="Seed of this worker's sampler (give workers different ones); default: random."
    ),
    heartbeat_seconds: int = typer.Option(
        10, min=1, help="A worker silent for twice this long has its trial marked failed."
    ),
    n_envs: int = typer.Option(1, min=1, help="Parallel environments (vectorised)."),
    vec: str = typer.Option("dummy", help="dummy or subproc (a process per env; --n-envs 2+)."),
    normalize_obs: bool = typer.Option(
        False, "--normalize-obs", help="Train every trial with VecNormalize observations."
    ),
    normalize_reward: bool = typer.Option(
        False, "--normalize-reward", help="And scaled rewards (training only)."
    ),
    seed: int = typer.Option(0, help="Seed of every trial's policy, envs and fills."),
    tick_ms: int = typer.Option(None, help="Step length in ms of event time; default TICK_INTERVAL_SECONDS."),
    episode_ticks: int = typer.Option(300, min=1, help="Ticks per training episode."),
    order_contracts: float = typer.Option(10.0, min=0.01, help="Contracts per order."),
    position_limit: float = typer.Option(50.0, min=0.01, help="Maximum contracts held either way."),
    latency_ms: float = typer.Option(50.0, min=0.0, help="Order latency in ms of event time."),
    fee_schedule: str = typer.Option(
        "market", help="Fees: 'market' (each market's schedule) or TYPE[:MULTIPLIER] for every market."
    ),
    flat_fee: str | None = typer.Option(None, help="Dollars per contract on flat-fee markets."),
    member_precision: str = typer.Option("0.01", help="Balance precision in dollars: 0.01 or 0.0001."),
    source: str = typer.Option("lake", help="lake (Parquet via DuckDB) or postgres."),
    data_dir: Path = typer.Option(None, help="Data directory; default DATA_DIR or ./data."),
    database_url: str = typer.Option(
        None, help="Registry and studies database; default DATABASE_URL, else SQLite in the data dir."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print this worker's trials as JSON."),
) -> None:
    """Search hyperparameters: train trials on one window, score them on a later one.

    Every worker started with the same --study joins the same Optuna study in the database
    (PostgreSQL with DATABASE_URL: any number of machines). Each trial is a registered model
    NAME-tN; `kalshi-rl inspect study NAME` shows them and exports the best for `train --config`.
    Ctrl-C stops the worker: its running trial is marked failed, its model stopped.
    """
    if not market and not series:
        raise ConfigError("give the data to tune on: --series SERIES or --market TICKER (repeatable)")
    # Heavy imports (torch, SB3, Optuna) here, so that every other command starts fast.
    from kalshi_rl.agents.search_space import load_space
    from kalshi_rl.agents.study_spec import StudySpec, Window, check_windows
    from kalshi_rl.agents.study_storage import StudyStorage
    from kalshi_rl.agents.training import Trainer, TrainRequest
    from kalshi_rl.agents.tuning import TuningWorker, bind_data, join_study
    from kalshi_rl.cli.env_options import env_config
    from kalshi_rl.cli.windows import load_window
    from kalshi_rl.data.registry import ModelRegistry
    from kalshi_rl.data.storage.database import open_database
    from kalshi_rl.environments.kalshi_env import build_tapes

    setup_logging(quiet=json_out)
    # Everything a user can get wrong is refused here, before a database or the lake is touched.
    search_space = load_space(space, algo, n_envs)
    train_window = check_windows(
        Window(parse_time(start, "start"), parse_time(end, "end")),
        validation := Window(
            parse_time(validation_start, "validation-start"), parse_time(validation_end, "validation-end")
        ),
        Window(parse_time(test_start, "test-start"), parse_time(test_end, "test-end")),
    )
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    env = env_config(
        settings, tick_ms, episode_ticks, order_contracts, position_limit, latency_ms, fee_schedule, flat_fee,
        member_precision,
    )  # fmt: skip
    template = TrainRequest(
        algo=algo.lower(),
        timesteps=timesteps,
        n_envs=n_envs,
        seed=seed,
        env=env,
        vec=vec.lower(),
        normalize_obs=normalize_obs,
        normalize_reward=normalize_reward,
    )
    spec = StudySpec(
        name=study,
        space=search_space,
        template=template,
        markets=tuple(market or ()),
        series=series,
        train=train_window,
        validation=validation,
        eval_every=eval_every,
        pruner=pruner,
        pruner_startup_trials=prune_startup_trials,
    )
    registry = ModelRegistry(open_database(settings.database_url_value, settings.data_dir))
    storage = StudyStorage(settings.database_url_value, settings.data_dir)
    optuna_study = join_study(
        storage,
        spec,
        registry,
        heartbeat_seconds=heartbeat_seconds,
        sampler_seed=sampler_seed,
        startup_trials=startup_trials,
    )
    markets = tuple(market or ())
    train_data = load_window(settings, markets, train_window.start_ns, train_window.end_ns, source, series)
    validation_data = load_window(settings, markets, validation.start_ns, validation.end_ns, source, series)
    bind_data(optuna_study, storage, train_data, validation_data)
    worker = TuningWorker(
        optuna_study,
        spec,
        Trainer(registry, settings.models_dir),
        (train_data, build_tapes(train_data, env)),
        (validation_data, build_tapes(validation_data, env)),
        on_trial=None if json_out else _print_outcome,
    )
    if not json_out:
        console.print(
            f"study {study} at {storage.describe()}: {algo} over {len(search_space.parameters)} parameters "
            f"(space {search_space.fingerprint()}), {trials} trial(s) on this worker"
        )
    with _stop_on_signals(worker.request_stop):
        outcomes = worker.run(trials)
    if json_out:
        print_json(
            {
                "study": study,
                "interrupted": worker.interrupted,
                "trials": [o.__dict__ for o in outcomes],
                "best": _best(optuna_study),
            }
        )
        return
    best = _best(optuna_study)
    if best is not None:
        console.print(
            f"best of study {study}: trial {best['number']} ({best['model']}), validation P&L "
            f"${best['value']:,.2f}; `kalshi-rl inspect study {study}` shows every trial"
        )
    if worker.interrupted:
        console.print("stopped: the running trial is marked failed")


def _print_outcome(outcome: TrialOutcome) -> None:
    value = f"validation P&L ${outcome.value:,.2f}" if outcome.value is not None else ""
    parts = [f"trial {outcome.number} {outcome.state}", outcome.model or "", value, outcome.note or ""]
    console.print(", ".join(p for p in parts if p), highlight=False)


def _best(study: optuna.Study) -> dict[str, object] | None:
    """The study's best finished trial (any worker's), or None."""
    try:
        best = study.best_trial
    except ValueError:  # no trial finished yet
        return None
    return {"number": best.number, "value": best.value, "model": best.user_attrs.get("model")}


@contextlib.contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """While inside, the first Ctrl-C (or SIGTERM) asks the worker to stop at its next step;
    a second Ctrl-C interrupts at once (Python's default)."""

    def handle(signum: int, frame: FrameType | None) -> None:
        err_console.print("stopping: the running trial ends at its next step (Ctrl-C again to abort)")
        signal.signal(signal.SIGINT, signal.default_int_handler)
        stop()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
