"""``kalshi-rl import-capture``: load a recorded capture into the lake through the live path."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path

import typer

from kalshi_rl.cli.common import console, load_settings, print_json, setup_logging, user_errors


@user_errors
def import_capture_command(
    path: Path = typer.Argument(
        ..., help="A capture file (the mdowis/Kalshi_orderbook_streamer JSONL format)."
    ),
    connection: list[int] = typer.Option(
        None, "--connection", help="Keep only these recorded connections (0-based; repeat)."
    ),
    data_dir: Path = typer.Option(None, help="Data directory (the lake is DATA_DIR/lake)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Replay a capture's frames through the collector's own path into the lake.

    Seq numbers are renumbered per connection (a one-market capture of a shared subscription
    shows other markets' messages as gaps) and receive times made non-decreasing.
    """
    from kalshi_rl.data.ingest.capture_import import import_capture

    setup_logging(quiet=json_out)
    settings = load_settings(data_dir=data_dir)
    summary = asyncio.run(
        import_capture(path, settings.lake_dir, connections=set(connection) if connection else None)
    )
    if json_out:
        print_json({**asdict(summary), "stats": asdict(summary.stats)})
        return
    s = summary.stats
    console.print(
        f"{summary.market_ticker}: {summary.frames:,} frames from {summary.connections} connection(s): "
        f"{s.snapshots} snapshots, {s.deltas:,} deltas, {s.trades} trades, {s.quarantined} quarantined -> {settings.lake_dir}"
    )
