"""``train --seeds N`` / ``--walk-forward K``: several versions of one name trained as one run."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from kalshi_rl.cli.common import console, print_json

if TYPE_CHECKING:
    from kalshi_rl.agents.training import Trainer, TrainRequest
    from kalshi_rl.config import Settings
    from kalshi_rl.data.replay.lake import ReplayData


def train_versions(
    trainer: Trainer,
    request: TrainRequest,
    data: ReplayData,
    seeds: int,
    walk_forward: int,
    source: tuple[Settings, str, str | None],
    json_out: bool,
) -> None:
    """Train the run's versions (``agents.runs``) on ``data``'s window, or on its folds."""
    from kalshi_rl.agents.runs import RunPlan, train_run
    from kalshi_rl.agents.walk_forward import Window, walk_forward_folds
    from kalshi_rl.cli.windows import load_window

    settings, where, series = source
    env = request.env
    folds = None
    if walk_forward:  # every fold's windows must hold the shortest episode the env accepts
        shortest_ns = env.min_episode_ticks * env.tick_ms * 1_000_000
        folds = walk_forward_folds(data.start_ns, data.end_ns, walk_forward, shortest_ns)
    plan = RunPlan.of(request.seed, seeds, folds)

    def load(window: Window | None) -> ReplayData:
        if window is None:
            return data
        markets = () if series else data.markets
        return load_window(settings, markets, window.start_ns, window.end_ns, where, series)

    records = train_run(trainer, request, plan, load)
    if json_out:
        print_json([r.to_dict() for r in records])
    else:
        for record in records:
            place = record.training_config["run"]
            fold = f", fold {place['fold']}" if place["fold"] is not None else ""
            console.print(
                f"model {record.label} [bold]{record.status}[/] (seed {place['seed']}{fold}) after "
                f"{record.training_timesteps:,} timesteps, {record.training_episodes:,} episodes"
            )
        if records:
            console.print(
                f"run of {len(records)} of {plan.size} version(s): kalshi-rl evaluate --model {records[0].name}"
            )
    if len(records) < plan.size or (records and records[-1].status != "ready"):
        raise typer.Exit(1)
