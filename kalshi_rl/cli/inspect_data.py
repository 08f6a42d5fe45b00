"""``kalshi-rl inspect data``: what the lake holds, per market and day, and each market's life."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from kalshi_rl.cli.common import console, load_settings, print_json, user_errors
from kalshi_rl.data.lake.market_summary import EventsSummary, MarketSummary, events_summary, market_summaries
from kalshi_rl.data.lake.reader import LakeReader


def register(app: typer.Typer) -> None:
    """Add the ``data`` command to the ``inspect`` group."""
    app.command("data")(inspect_data)


def _time(ns: int | None) -> str:
    if ns is None:
        return "-"
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%H:%M:%S")


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
