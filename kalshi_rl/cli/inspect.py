"""``kalshi-rl inspect``: rich tables (or JSON) over the lake and the registry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from kalshi_rl.cli.common import console, load_settings, print_json, user_errors
from kalshi_rl.data.lake.market_summary import EventsSummary, MarketSummary, events_summary, market_summaries
from kalshi_rl.data.lake.reader import LakeReader
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database

app = typer.Typer(help="Look at what the lake and the registry hold.", no_args_is_help=True)


def _time(ns: int | None) -> str:
    if ns is None:
        return "-"
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%H:%M:%S")


@app.command("data")
@user_errors
def inspect_data(
    data_dir: Path = typer.Option(None, help="Data directory (default DATA_DIR or ./data)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Per market and day: snapshots, deltas, trades, time span, gaps, resyncs, quarantine, coverage.

    Then per market its life: phase, lifecycle events, close time, fee schedule, and whether the
    exchange refused to subscribe it; and the event-level frames (event creations, fee updates).
    """
    settings = load_settings(data_dir=data_dir)
    reader = LakeReader(settings.lake_dir)
    rows = reader.inventory()
    markets = market_summaries(reader)
    events = events_summary(reader)
    frames = (
        dict(reader.query("SELECT disposition, count(*) FROM frames GROUP BY ALL ORDER BY 1"))
        if "frames" in reader.present
        else {}
    )
    open_journals = reader.open_journals()
    if json_out:
        print_json(
            {
                "lake": str(settings.lake_dir),
                "partitions": [
                    {
                        "market_ticker": r.market_ticker,
                        "date": r.date,
                        "snapshots": r.snapshots,
                        "deltas": r.deltas,
                        "trades": r.trades,
                        "first_ns": r.first_ns,
                        "last_ns": r.last_ns,
                        "span_s": r.span_ns / 1e9,
                        "gaps": r.gaps,
                        "resyncs": r.resyncs,
                        "breaks": r.breaks,
                        "segments": r.segments,
                        "quarantined": r.quarantined,
                        "coverage": round(r.coverage, 6),
                    }
                    for r in rows
                ],
                "frames_by_disposition": frames,
                "open_journals": open_journals,
                "markets": {m: _market_json(summary) for m, summary in markets.items()},
                "events": {"by_type": events.by_type, "fee_updates": _fee_updates_json(events)},
            }
        )
        return
    if not rows and not markets:
        console.print(f"the lake at {settings.lake_dir} holds no data yet (run `kalshi-rl collect`)")
        return
    table = Table(title=f"lake {settings.lake_dir}")
    for name in (
        "market",
        "date",
        "snapshots",
        "deltas",
        "trades",
        "span (UTC)",
        "gaps",
        "resyncs",
        "quarantined",
        "coverage",
    ):
        table.add_column(name, justify="left" if name in ("market", "date", "span (UTC)") else "right")
    for r in rows:
        table.add_row(
            r.market_ticker,
            r.date,
            f"{r.snapshots:,}",
            f"{r.deltas:,}",
            f"{r.trades:,}",
            f"{_time(r.first_ns)}–{_time(r.last_ns)}",
            str(r.gaps),
            str(r.resyncs),
            str(r.quarantined),
            f"{r.coverage:.1%}",
        )
    if rows:
        console.print(table)
    if markets:
        console.print(_markets_table(markets))
    if events.by_type:
        console.print("events: " + ", ".join(f"{k} {v:,}" for k, v in events.by_type.items()))
        for at_ns, event, fee_type, multiplier in events.fee_updates:
            fee = f"{fee_type} x {multiplier}" if fee_type else "override cleared"
            console.print(f"  {_time(at_ns)} {event}: {fee}")
    if frames:
        console.print("frames: " + ", ".join(f"{k} {v:,}" for k, v in frames.items()))
    if open_journals:
        console.print(
            f"[yellow]{open_journals} open journal file(s): a collector is running, or one died "
            "and the next `collect` will finalise them[/]"
        )


def _market_json(summary: MarketSummary) -> dict[str, object]:
    return {
        "phase": summary.phase,
        "lifecycle": [{"ts_recv_ns": at, "event_type": kind} for at, kind in summary.lifecycle],
        "close_time_ms": summary.close_time_ms,
        "fee": summary.fee or None,
        "unsubscribable": summary.unsubscribable or None,
    }


def _fee_updates_json(events: EventsSummary) -> list[dict[str, object]]:
    return [
        {"ts_recv_ns": at, "event_ticker": event, "fee_type": fee_type, "fee_multiplier": multiplier}
        for at, event, fee_type, multiplier in events.fee_updates
    ]


def _markets_table(markets: dict[str, MarketSummary]) -> Table:
    table = Table(title="markets")
    for name in ("market", "phase", "lifecycle events", "close (UTC)", "fees", "subscription"):
        table.add_column(name, overflow="fold")
    for m in markets.values():
        lifecycle = ", ".join(f"{kind} {_time(at)}" for at, kind in m.lifecycle) or "-"
        close = "-" if m.close_time_ms is None else _time(m.close_time_ms * 1_000_000)
        refused = f"[red]UNSUBSCRIBABLE: {m.unsubscribable}[/]" if m.unsubscribable else "ok"
        table.add_row(m.market_ticker, m.phase, lifecycle, close, m.fee or "-", refused)
    return table


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
