"""``kalshi-rl inspect``: rich tables (or JSON) over the lake and the registry."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from kalshi_rl.cli import inspect_compare, inspect_data, inspect_study
from kalshi_rl.cli.common import Col, FitTable, console, load_settings, print_json, user_errors
from kalshi_rl.cli.model_view import describe_model
from kalshi_rl.cli.tables import position
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database

app = typer.Typer(help="Look at what the lake and the registry hold.", no_args_is_help=True)
inspect_data.register(app)
inspect_study.register(app)
inspect_compare.register(app)


def _registry(data_dir: Path | None, database_url: str | None) -> ModelRegistry:
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    return ModelRegistry(open_database(settings.database_url_value, settings.data_dir))


@app.command("models")
@user_errors
def inspect_models(
    status: str = typer.Option(None, help="Only models with this status."),
    market: str = typer.Option(None, help="Only models of this market."),
    name: str = typer.Option(None, help="Only versions of this name."),
    data_dir: Path = typer.Option(None, help="Data directory (for the SQLite registry)."),
    database_url: str = typer.Option(None, help="Registry database; default DATABASE_URL, else SQLite."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The model registry: name@version, status, algorithm, market, timesteps, P&L."""
    records = _registry(data_dir, database_url).list_models(status=status, market=market, name=name)
    if json_out:
        print_json([r.to_dict() for r in records])
        return
    if not records:
        console.print("no models yet (run `kalshi-rl train`)")
        return
    table = FitTable(
        "model",
        "id",
        "status",
        "algo",
        "markets",
        Col("timesteps", numeric=True),
        Col("episodes", numeric=True),
        Col("eval P&L $", numeric=True),
        Col("created (UTC)", wrap=False),
        title="models",
    )
    for r in records:
        pnl = "-"
        if r.performance_summary and r.performance_summary.get("results"):
            pnl = f"{r.performance_summary['results'][0]['total_pnl']:,.2f}"
        table.add_row(
            Text(r.label),
            str(r.id)[:8],
            r.status,
            r.architecture,
            Text(", ".join(r.market_ticker.split(","))),
            f"{r.training_timesteps:,}",
            f"{r.training_episodes:,}",
            pnl,
            r.created_at.strftime("%Y-%m-%d %H:%M") if r.created_at else "-",
        )
    console.print(table)


@app.command("model")
@user_errors
def inspect_model(
    model: str = typer.Argument(..., help="Model ID, NAME or NAME@VERSION."),
    data_dir: Path = typer.Option(None, help="Data directory (for the SQLite registry)."),
    database_url: str = typer.Option(None, help="Registry database; default DATABASE_URL, else SQLite."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One model in full: hyperparameters, train/serve contract, data window, evaluation."""
    record = _registry(data_dir, database_url).get(model)
    if json_out:
        print_json(record.to_dict())
        return
    console.print(describe_model(record))


@app.command("episodes")
@user_errors
def inspect_episodes(
    model: str = typer.Option(None, "--model", help="Only this model's episodes."),
    mode: str = typer.Option(None, help="training or paper."),
    limit: int = typer.Option(50, min=1, help="At most this many (newest first)."),
    data_dir: Path = typer.Option(None, help="Data directory (for the SQLite registry)."),
    database_url: str = typer.Option(None, help="Registry database; default DATABASE_URL, else SQLite."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Training and paper-trading episodes: market, time, reward, steps, final position."""
    rows = _registry(data_dir, database_url).episodes(model_id=model, mode=mode, limit=limit)
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("no episodes")
        return
    table = FitTable(
        "episode",
        "model",
        "mode",
        "market",
        Col("start (UTC)", wrap=False),
        Col("steps", numeric=True),
        Col("reward", numeric=True),
        Col("P&L $", numeric=True),
        Col("position", numeric=True),
        title="episodes",
    )
    for r in rows:
        final = r.get("final_position") or {}
        table.add_row(
            str(r["episode_id"])[:8],
            str(r["model_id"])[:8] if r["model_id"] else "-",
            r["mode"],
            Text(r["market_ticker"]),
            r["start_time"].strftime("%m-%d %H:%M:%S"),
            f"{r['total_steps'] or 0:,}",
            f"{r['total_reward'] or 0:,.3f}",
            f"{final.get('pnl', 0):,.2f}",
            position(final.get("position_units", 0)),
        )
    console.print(table)
