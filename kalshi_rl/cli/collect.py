"""``kalshi-rl collect``: record orderbooks to the lake (and PostgreSQL) with a live table."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

import typer
from rich.live import Live
from rich.table import Table

from kalshi_rl.cli.common import console, load_settings, print_json, setup_logging, user_errors
from kalshi_rl.config import Settings
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.core.units import format_price
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.collector import Collector, CollectorConfig, CollectorSummary
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.kalshi.auth import Credentials
from kalshi_rl.kalshi.hosts import LOOPBACK_HOSTS, rest_url_for
from kalshi_rl.kalshi.ws_client import WsConfig


def credentials_for(settings: Settings, url: str) -> Credentials | None:
    """Sign when a key is configured; a loopback exchange (the sim) may run without one."""
    if settings.kalshi_api_key and settings.kalshi_private_key_path:
        return Credentials.from_files(settings.kalshi_api_key, settings.kalshi_private_key_path)
    if settings.kalshi_api_key or settings.kalshi_private_key_path:
        raise ConfigError("set both KALSHI_API_KEY and KALSHI_PRIVATE_KEY_PATH (one is missing)")
    if urlsplit(url).hostname in LOOPBACK_HOSTS:
        return None
    raise ConfigError(
        f"{url} needs credentials: set KALSHI_API_KEY and KALSHI_PRIVATE_KEY_PATH "
        "(or use a local exchange: `kalshi-rl sim`)"
    )


@user_errors
def collect(
    market: list[str] = typer.Option(
        None, "--market", "-m", help="Market ticker (repeat for several); default RL_MARKET_TICKER."
    ),
    ws_url: str = typer.Option(None, help="WebSocket URL; default KALSHI_WS_URL (production)."),
    rest_url: str = typer.Option(
        None, help="REST base URL; default KALSHI_REST_URL, or derived from --ws-url."
    ),
    duration: float = typer.Option(None, help="Stop after this many seconds (default: until Ctrl-C)."),
    data_dir: Path = typer.Option(
        None, help="Data directory (the lake is DATA_DIR/lake); default DATA_DIR or ./data."
    ),
    database_url: str = typer.Option(None, help="PostgreSQL URL; default DATABASE_URL. Unset: lake only."),
    batch_size: int = typer.Option(100, min=1, help="Flush when this many rows are pending."),
    sample_rate: int = typer.Option(1, min=1, help="Store 1 of every N deltas (1 = all; replay needs 1)."),
    flush_interval: float = typer.Option(1.0, min=0.01, help="Flush at least this often (seconds)."),
    rotate_seconds: float = typer.Option(300.0, min=1.0, help="Finalise lake files this often."),
    json_out: bool = typer.Option(False, "--json", help="Print the final summary as JSON (no live table)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Record Kalshi orderbooks exactly: snapshots, deltas, trades, lifecycle and raw frames."""
    setup_logging(verbose, quiet=json_out)
    settings = load_settings(
        rl_market_ticker=tuple(market) if market else None,
        kalshi_ws_url=ws_url,
        kalshi_rest_url=rest_url or (_rest_from_ws(ws_url) if ws_url else None),
        data_dir=data_dir,
        database_url=database_url,
    )
    if not settings.rl_market_ticker:
        raise ConfigError("no market to collect: pass --market TICKER or set RL_MARKET_TICKER")
    config = CollectorConfig(
        ws=WsConfig(url=settings.kalshi_ws_url, market_tickers=settings.rl_market_ticker),
        rest_url=settings.kalshi_rest_url,
        lake_dir=settings.lake_dir,
        database_url=settings.database_url_value,
        write=WriteQueueConfig(batch_size, sample_rate, flush_interval),
        rotate_s=rotate_seconds,
    )
    collector = Collector(config, credentials_for(settings, settings.kalshi_ws_url))
    live = not json_out and console.is_terminal
    summary = asyncio.run(_run(collector, duration, live))
    if json_out:
        print_json(summary_dict(summary))
    else:
        console.print(summary_table(summary))
        console.print(f"lake: {settings.lake_dir}  session: {summary.session_id}")


def _rest_from_ws(ws_url: str) -> str:
    """The REST base of ``ws_url``'s environment (Kalshi's host table; unknown hosts refused)."""
    return rest_url_for(ws_url)


async def _run(collector: Collector, duration: float | None, live: bool) -> CollectorSummary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await collector.prepare()
    if duration is not None:
        loop.call_later(duration, stop.set)
    if not live:
        return await collector.run(stop)
    view = LiveView(collector)
    with Live(view.render(), console=console, refresh_per_second=4, transient=False) as display:
        task = asyncio.create_task(collector.run(stop))
        while not task.done():
            await asyncio.wait({task}, timeout=0.25)
            display.update(view.render())
        return task.result()


class LiveView:
    """Renders the collector's state as a rich table (per market, plus sink health)."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self._last: dict[str, tuple[float, int]] = {}

    def _rate(self, market: str, frames: int) -> float:
        now = time.monotonic()
        then, before = self._last.get(market, (now, frames))
        self._last[market] = (now, frames)
        return (frames - before) / (now - then) if now > then else 0.0

    def render(self) -> Table:
        c = self.collector
        table = Table(title=f"kalshi-rl collect — session {c.session_id}", expand=False)
        for name in (
            "market",
            "YES bid",
            "YES ask",
            "spread",
            "msgs/s",
            "last seq",
            "gaps",
            "resyncs",
            "state",
        ):
            table.add_column(name, justify="right" if name != "market" else "left")
        feed = c.feed
        for ticker, shared in c.books.items():
            stats = feed.stats[ticker] if feed else None
            book = shared.state
            frames = stats.frames if stats else 0
            table.add_row(
                ticker,
                _price(book.best_yes_bid),
                _price(book.best_yes_ask),
                _price(book.spread_yes),
                f"{self._rate(ticker, frames):,.0f}",
                str(stats.last_seq if stats else "-"),
                str(stats.gaps if stats else 0),
                str(stats.resyncs if stats else 0),
                _state(shared, stats.unsubscribable if stats else ""),
            )
        queue = c.queue
        sinks = ", ".join(
            f"{s.name}: {sum(s.stats.rows_written.values()):,} rows"
            + (
                ""
                if s.stats.healthy
                else f" [red]DOWN ({s.stats.last_error}), backlog {s.stats.backlog_rows:,}[/]"
            )
            for s in c.sinks
        )
        ws = c.ws.stats if c.ws else None
        table.caption = (
            f"queue depth {queue.depth() if queue else 0:,} | {sinks} | "
            f"reconnects {ws.reconnects if ws else 0} | quarantined {sum(s.quarantined for s in feed.stats.values()) + feed.quarantined_unattributed if feed else 0}"
        )
        return table


def _state(shared: SharedOrderbookState, unsubscribable: str) -> str:
    if unsubscribable:
        return "[red]unsubscribable[/]"
    phase = shared.status.phase
    if phase not in ("active", "unknown"):
        return phase  # created, paused, closed, determined, settled
    return "stale" if shared.state.stale else "live"


def _price(ticks: int | None) -> str:
    return "-" if ticks is None else format_price(ticks)


def summary_dict(summary: CollectorSummary) -> dict[str, object]:
    return {
        "session_id": summary.session_id,
        "duration_s": round(summary.duration_s, 3),
        "frames": summary.frames,
        "quarantined_unattributed": summary.quarantined_unattributed,
        "markets": {m: asdict(s) for m, s in summary.markets.items()},
        "ws": asdict(summary.ws),
        "sinks": {name: asdict(s) for name, s in summary.sinks.items()},
    }


def summary_table(summary: CollectorSummary) -> Table:
    table = Table(title=f"collected for {summary.duration_s:,.1f} s — {summary.frames:,} frames")
    for name in (
        "market",
        "snapshots",
        "deltas",
        "trades",
        "gaps",
        "resyncs",
        "stale",
        "quarantined",
        "sampled out",
        "phase",
    ):
        table.add_column(name, justify="right" if name not in ("market", "phase") else "left")
    for market, s in summary.markets.items():
        table.add_row(
            market,
            f"{s.snapshots:,}",
            f"{s.deltas:,}",
            f"{s.trades:,}",
            str(s.gaps),
            str(s.resyncs),
            f"{s.stale_skipped:,}",
            f"{s.quarantined:,}",
            f"{s.sampled_out:,}",
            "[red]UNSUBSCRIBABLE[/]" if s.unsubscribable else s.phase,
        )
    sinks = "; ".join(
        f"{name}: {sum(st.rows_written.values()):,} rows written"
        + ("" if st.healthy else f", NOT written: {st.backlog_rows:,} ({st.last_error})")
        for name, st in summary.sinks.items()
    )
    refused = "; ".join(f"{m}: {s.unsubscribable}" for m, s in summary.markets.items() if s.unsubscribable)
    table.caption = f"{sinks} | reconnects {summary.ws.reconnects} | gaps {summary.ws.gaps}" + (
        f"\n[red]never subscribed (the exchange refused them): {refused}[/]" if refused else ""
    )
    return table
