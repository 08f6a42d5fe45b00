"""``kalshi-rl inspect``: rich tables (or JSON) over the lake and the registry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from kalshi_rl.cli.common import console, load_settings, print_json, user_errors
from kalshi_rl.data.lake.reader import LakeReader

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
    """Per market and day: snapshots, deltas, trades, time span, gaps, resyncs, quarantine, coverage."""
    settings = load_settings(data_dir=data_dir)
    reader = LakeReader(settings.lake_dir)
    rows = reader.inventory()
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
            }
        )
        return
    if not rows:
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
            r.market_ticker, r.date, f"{r.snapshots:,}", f"{r.deltas:,}", f"{r.trades:,}",
            f"{_time(r.first_ns)}–{_time(r.last_ns)}", str(r.gaps), str(r.resyncs),
            str(r.quarantined), f"{r.coverage:.1%}",
        )  # fmt: skip
    console.print(table)
    if frames:
        console.print("frames: " + ", ".join(f"{k} {v:,}" for k, v in frames.items()))
    if open_journals:
        console.print(
            f"[yellow]{open_journals} open journal file(s): a collector is running, or one died "
            "and the next `collect` will finalise them[/]"
        )
