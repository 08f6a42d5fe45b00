"""``kalshi-rl collect``: record orderbooks to the lake (and PostgreSQL) with a live table."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

import typer
from rich.live import Live

from kalshi_rl.api.prometheus import MetricsSource
from kalshi_rl.cli.collect_view import MOST_ACTIVE, LiveCollectView, summary_view
from kalshi_rl.cli.common import console, load_settings, print_json, setup_logging, user_errors
from kalshi_rl.cli.ops import OpsServer, ready_limits
from kalshi_rl.config import Settings
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.data.ingest.collector import Collector, CollectorConfig, CollectorSummary
from kalshi_rl.data.ingest.discovery import DiscoveryConfig
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
    series: list[str] = typer.Option(
        None,
        "--series",
        "-s",
        help="Record every market of this series as Kalshi creates them, open to settlement "
        "(repeat for several; e.g. KXBTC15M).",
    ),
    event: list[str] = typer.Option(
        None, "--event", "-e", help="Record every market of this event (repeatable)."
    ),
    recheck_seconds: float = typer.Option(
        60.0, min=1.0, help="With --series/--event: list their markets over REST this often."
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
    metrics_port: int | None = typer.Option(
        None, min=0, max=65535, help="Serve /metrics, /health and /ready on this port (loopback)."
    ),
    metrics_host: str = typer.Option("127.0.0.1", help="Interface of --metrics-port."),
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
    if not (settings.rl_market_ticker or series or event):
        raise ConfigError(
            "nothing to collect: pass --series SERIES, --event EVENT or --market TICKER (or set RL_MARKET_TICKER)"
        )
    config = CollectorConfig(
        ws=WsConfig(url=settings.kalshi_ws_url, market_tickers=settings.rl_market_ticker),
        series=tuple(dict.fromkeys(s.strip().upper() for s in series or ())),
        events=tuple(dict.fromkeys(e.strip().upper() for e in event or ())),
        discovery=DiscoveryConfig(recheck_s=recheck_seconds),
        rest_url=settings.kalshi_rest_url,
        lake_dir=settings.lake_dir,
        database_url=settings.database_url_value,
        write=WriteQueueConfig(batch_size, sample_rate, flush_interval),
        rotate_s=rotate_seconds,
    )
    collector = Collector(config, credentials_for(settings, settings.kalshi_ws_url))
    live = not json_out and console.is_terminal
    ops = OpsServer(metrics_port, metrics_host, settings.database_url_value, ready_limits(settings))
    summary = asyncio.run(_run(collector, duration, live, ops))
    if json_out:
        print_json(summary_dict(summary))
    else:
        console.print(summary_view(summary, summary.finished))
        console.print(f"lake: {settings.lake_dir}  session: {summary.session_id}")


def _rest_from_ws(ws_url: str) -> str:
    """The REST base of ``ws_url``'s environment (Kalshi's host table; unknown hosts refused)."""
    return rest_url_for(ws_url)


async def _run(
    collector: Collector, duration: float | None, live: bool, ops: OpsServer | None = None
) -> CollectorSummary:
    if ops is None:
        return await _collect(collector, duration, live)
    async with ops.serving(MetricsSource(feed=lambda: collector)):
        return await _collect(collector, duration, live)


async def _collect(collector: Collector, duration: float | None, live: bool) -> CollectorSummary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await collector.prepare()
    if duration is not None:
        loop.call_later(duration, stop.set)
    if not live:
        return await collector.run(stop)
    with Live(
        LiveCollectView(collector.view(MOST_ACTIVE)), console=console, refresh_per_second=4, transient=False
    ) as display:
        task = asyncio.create_task(collector.run(stop))
        while not task.done():
            await asyncio.wait({task}, timeout=0.25)
            display.update(LiveCollectView(collector.view(MOST_ACTIVE)))
        return task.result()


def summary_dict(summary: CollectorSummary) -> dict[str, object]:
    return {
        "session_id": summary.session_id,
        "duration_s": round(summary.duration_s, 3),
        "frames": summary.frames,
        "quarantined_unattributed": summary.quarantined_unattributed,
        "markets": {m: asdict(s) for m, s in summary.markets.items()},
        "finished": {m: asdict(f) for m, f in summary.finished.items()},
        "ws": asdict(summary.ws),
        "sinks": {name: asdict(s) for name, s in summary.sinks.items()},
    }
