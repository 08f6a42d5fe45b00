"""``kalshi-rl inspect``: rich tables (or JSON) over the lake and the registry."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kalshi_rl.cli import inspect_data
from kalshi_rl.cli.common import console, load_settings, print_json, user_errors
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database

app = typer.Typer(help="Look at what the lake and the registry hold.", no_args_is_help=True)
inspect_data.register(app)


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
    table = Table(title="models")
    for column in (
        "model",
        "id",
        "status",
        "algo",
        "market",
        "timesteps",
        "episodes",
        "eval P&L $",
        "created (UTC)",
    ):
        table.add_column(
            column, justify="right" if column in ("timesteps", "episodes", "eval P&L $") else "left"
        )
    for r in records:
        pnl = "-"
        if r.performance_summary and r.performance_summary.get("results"):
            pnl = f"{r.performance_summary['results'][0]['total_pnl']:,.2f}"
        table.add_row(
            r.label,
            str(r.id)[:8],
            r.status,
            r.architecture,
            r.market_ticker,
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
    data = record.to_dict()
    if json_out:
        print_json(data)
        return
    console.print(f"[bold]{record.label}[/] {record.id} — {record.status}")
    for key in (
        "architecture",
        "market_ticker",
        "parent_model_id",
        "checkpoint_path",
        "training_timesteps",
        "training_episodes",
        "notes",
        "created_at",
        "updated_at",
    ):
        console.print(f"  {key}: {data[key]}")
    config = record.training_config
    console.print(f"  data: {config.get('data')}")
    contract = config.get("contract", {})
    console.print(
        f"  observation: {contract.get('observation_spec', {}).get('name')} v{contract.get('observation_spec', {}).get('version')} "
        f"({len(contract.get('observation_spec', {}).get('features', []))} features, {contract.get('observation_fingerprint')})"
    )
    console.print(
        f"  actions: {contract.get('action_map')}  order/limit: {contract.get('actions', {}).get('order_units')}/"
        f"{contract.get('actions', {}).get('position_limit_units')} units"
    )
    console.print(f"  fill: {contract.get('fill')}  tick: {contract.get('tick_ms')} ms")
    console.print(f"  hyperparameters: {record.hyperparameters}")
    if record.performance_summary:
        for m in record.performance_summary.get("results", []):
            console.print(
                f"  eval {m['policy']}: P&L {m['total_pnl']:.2f} $, Sharpe/h {m['sharpe']}, fees {m['fees']:.2f} $"
            )


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
    table = Table(title="episodes")
    for column in (
        "episode",
        "model",
        "mode",
        "market",
        "start (UTC)",
        "steps",
        "reward",
        "P&L $",
        "position",
    ):
        table.add_column(
            column, justify="right" if column in ("steps", "reward", "P&L $", "position") else "left"
        )
    for r in rows:
        final = r.get("final_position") or {}
        table.add_row(
            str(r["episode_id"])[:8],
            str(r["model_id"])[:8] if r["model_id"] else "-",
            r["mode"],
            r["market_ticker"],
            r["start_time"].strftime("%m-%d %H:%M:%S"),
            str(r["total_steps"]),
            f"{r['total_reward'] or 0:.3f}",
            f"{final.get('pnl', 0):.2f}",
            f"{final.get('position_units', 0) / 100:g}",
        )
    console.print(table)
