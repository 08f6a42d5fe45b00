"""``kalshi-rl inspect data``: what the lake holds, per market and day, and each market's life."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import typer

from kalshi_rl.cli.common import Col, FitTable, console, load_settings, print_json, user_errors
from kalshi_rl.data.lake.market_summary import EventsSummary, MarketSummary, events_summary, market_summaries
from kalshi_rl.data.lake.reader import LakeReader
from kalshi_rl.data.lake.series_summary import SeriesMarket, series_markets


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
    series: str | None = typer.Option(
        None, "--series", help="Only this series: per market, open-to-close coverage, gaps, rows, bytes."
    ),
) -> None:
    """Per market and day: snapshots, deltas, trades, time span, gaps, resyncs, quarantine, coverage.

    Then per market its life: phase, lifecycle events, close time, fee schedule, and whether the
    exchange refused to subscribe it; and the event-level frames (event creations, fee updates).
    With --series, per market of that series: its open and close, the time recorded, the share
    of open to close with the book known, settlement recorded, gaps, resyncs, rows and bytes.
    """
    settings = load_settings(data_dir=data_dir)
    reader = LakeReader(settings.lake_dir)
    if series is not None:
        _print_series(settings.lake_dir, series, series_markets(reader, series), json_out)
        return
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
    table = FitTable(
        "market",
        "date",
        *(Col(name, numeric=True) for name in ("snapshots", "deltas", "trades")),
        "span (UTC)",
        *(Col(name, numeric=True) for name in ("gaps", "resyncs", "quarantined", "coverage")),
        title=f"lake {settings.lake_dir}",
    )
    for r in rows:
        table.add_row(
            r.market_ticker,
            r.date,
            f"{r.snapshots:,}",
            f"{r.deltas:,}",
            f"{r.trades:,}",
            f"{_time(r.first_ns)}–{_time(r.last_ns)}",
            f"{r.gaps:,}",
            f"{r.resyncs:,}",
            f"{r.quarantined:,}",
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


def _markets_table(markets: dict[str, MarketSummary]) -> FitTable:
    table = FitTable(
        "market", "phase", "lifecycle events", "close (UTC)", "fees", "subscription", title="markets"
    )
    for m in markets.values():
        lifecycle = ", ".join(f"{kind} {_time(at)}" for at, kind in m.lifecycle) or "-"
        close = "-" if m.close_time_ms is None else _time(m.close_time_ms * 1_000_000)
        refused = f"[red]UNSUBSCRIBABLE: {m.unsubscribable}[/]" if m.unsubscribable else "ok"
        table.add_row(m.market_ticker, m.phase, lifecycle, close, m.fee or "-", refused)
    return table


def _clock(ns: int | None, with_date: bool) -> str:
    if ns is None:
        return "-"
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n / 1e3:,.1f} kB"


def _series_json(m: SeriesMarket) -> dict[str, object]:
    return {
        "market_ticker": m.market_ticker,
        "phase": m.phase,
        "open_time_ms": m.open_time_ms,
        "close_time_ms": m.close_time_ms,
        "settled_ns": m.settled_ns,
        "first_ns": m.first_ns,
        "last_ns": m.last_ns,
        "covered_s": m.covered_ns / 1e9,
        "coverage": None if m.coverage is None else round(m.coverage, 6),
        "gaps": m.gaps,
        "resyncs": m.resyncs,
        "rows": dict(sorted(m.rows.items())),
        "bytes": m.bytes,
    }


def _print_series(lake: Path, series: str, markets: list[SeriesMarket], json_out: bool) -> None:
    covered = [m for m in markets if m.coverage is not None and m.coverage >= 0.999]
    settled = [m for m in markets if m.settled_ns is not None]
    if json_out:
        print_json(
            {
                "lake": str(lake),
                "series": series,
                "markets": [_series_json(m) for m in markets],
                "totals": {
                    "markets": len(markets),
                    "settled": len(settled),
                    "coverage_at_least_99_9": len(covered),
                    "gaps": sum(m.gaps for m in markets),
                    "resyncs": sum(m.resyncs for m in markets),
                    "rows": sum(sum(m.rows.values()) for m in markets),
                    "bytes": sum(m.bytes for m in markets),
                },
            }
        )
        return
    days = {_clock(t * 1_000_000, True)[:5] for m in markets for t in (m.open_time_ms, m.close_time_ms) if t}
    dated = len(days) > 1
    table = FitTable(
        "market",
        "open–close (UTC)",
        "recorded",
        Col("coverage", True),
        "settled",
        Col("gaps", True),
        Col("resyncs", True),
        Col("rows", True),
        Col("size", True),
        title=f"series {series}" + ("" if dated or not days else f" on {days.pop()} (UTC)"),
    )
    for m in markets:
        opened = None if m.open_time_ms is None else m.open_time_ms * 1_000_000
        closed = None if m.close_time_ms is None else m.close_time_ms * 1_000_000
        # Rounded down: a market with a hole never reads 100.0 %.
        coverage = "-" if m.coverage is None else f"{math.floor(m.coverage * 1000) / 10:.1f}%"
        table.add_row(
            m.market_ticker,
            f"{_clock(opened, dated)}–{_clock(closed, False)}",
            f"{_clock(m.first_ns, dated)}–{_clock(m.last_ns, False)}",
            coverage if m.coverage is None or m.coverage >= 0.999 else f"[yellow]{coverage}[/]",
            "yes" if m.settled_ns is not None else m.phase,
            f"{m.gaps:,}",
            f"{m.resyncs:,}",
            f"{sum(m.rows.values()):,}",
            _megabytes(m.bytes),
        )
    console.print(table)
    rows = sum(sum(m.rows.values()) for m in markets)
    console.print(
        f"{len(markets):,} market(s) of {series}: {len(settled):,} settled, "
        f"{len(covered):,} with the book known over 99.9 % of open to close; "
        f"{sum(m.gaps for m in markets):,} gaps, {sum(m.resyncs for m in markets):,} resyncs, "
        f"{rows:,} rows, {_megabytes(sum(m.bytes for m in markets))}"
    )
