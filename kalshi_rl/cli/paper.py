"""``kalshi-rl paper``: paper-trade a registered model on the live feed, with a live view."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.live import Live

from kalshi_rl.api.prometheus import MetricsSource
from kalshi_rl.cli.collect import _rest_from_ws, credentials_for
from kalshi_rl.cli.common import console, load_settings, print_json, setup_logging, user_errors
from kalshi_rl.cli.ops import OpsServer, ready_limits
from kalshi_rl.cli.paper_view import render
from kalshi_rl.core.aio import wait_event
from kalshi_rl.core.errors import ConfigError, LiveModeRefusedError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from kalshi_rl.trading.series_session import SeriesSession
    from kalshi_rl.trading.session import PaperSession


@user_errors
def paper(
    model: str = typer.Option(..., "--model", help="Model ID, NAME (latest version) or NAME@VERSION."),
    market: str = typer.Option(
        None, "--market", "-m", help="Market to trade; default: the model's first market."
    ),
    series: str | None = typer.Option(
        None,
        "--series",
        help="Trade this series market after market: each one to its close, its position settled "
        "by its result, one episode per market (default for a series model: its series).",
    ),
    ws_url: str = typer.Option(None, help="WebSocket URL; default KALSHI_WS_URL."),
    rest_url: str = typer.Option(None, help="REST URL; default KALSHI_REST_URL or derived from --ws-url."),
    duration: float = typer.Option(None, help="Stop after this many seconds (default: until Ctrl-C)."),
    mode: str = typer.Option("paper", help="Only 'paper'; 'live' is refused."),
    balance: float = typer.Option(1_000.0, min=0, help="Starting paper balance in dollars."),
    latency_ms: str = typer.Option(
        None, help="Simulated order latency 'MIN,MAX' in ms; default: the model's."
    ),
    seed: int = typer.Option(0, help="Seed of the simulated latency (and of sampled actions)."),
    stochastic: bool = typer.Option(
        False, help="Sample actions from the policy instead of taking the most likely."
    ),
    data_dir: Path = typer.Option(None, help="Data directory (lake, SQLite registry)."),
    database_url: str = typer.Option(None, help="Registry database; default DATABASE_URL, else SQLite."),
    json_out: bool = typer.Option(False, "--json", help="Print the final summary as JSON (no live view)."),
    metrics_port: int | None = typer.Option(
        None, min=0, max=65535, help="Serve /metrics, /health and /ready on this port (loopback)."
    ),
    metrics_host: str = typer.Option("127.0.0.1", help="Interface of --metrics-port."),
    max_loss_episode: float | None = typer.Option(
        None, help="Risk: stop trading once the episode has lost this many dollars (fees included)."
    ),
    max_loss_day: float | None = typer.Option(
        None, help="Risk: stop trading once this many dollars were lost since the UTC day began."
    ),
    max_orders_per_minute: int | None = typer.Option(
        None, help="Risk: skip orders beyond this many in any 60 s (trading goes on)."
    ),
    stale_ticks: int | None = typer.Option(
        None, help="Risk: stop trading once the book has been stale this many ticks in a row."
    ),
    refused_orders: int | None = typer.Option(
        None, help="Risk: stop trading after this many refused orders in a row."
    ),
    max_decision_latency_ms: float | None = typer.Option(
        None, help="Risk: stop trading after --slow-ticks decisions in a row slower than this."
    ),
    slow_ticks: int = typer.Option(3, help="Risk: see --max-decision-latency-ms."),
    rollback_loss: float | None = typer.Option(
        None,
        help="Risk: go back to the previous version (and stay on it) when a hot-loaded version "
        "loses more than this many dollars within --rollback-window-s of taking over.",
    ),
    rollback_window_s: float = typer.Option(300.0, help="Risk: see --rollback-loss."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Trade a model on paper: live book -> observation -> policy -> paper order, every tick.

    A tripped risk breaker holds until the end (the API's /rl/actor/resume is not here).
    Ctrl-C stops; Ctrl-C twice (within 1.5 s) first flattens the position with taker orders.
    """
    from kalshi_rl.trading.risk import RiskLimits

    risk = RiskLimits(
        max_loss_episode=max_loss_episode,
        max_loss_day=max_loss_day,
        max_orders_per_minute=max_orders_per_minute,
        stale_ticks=stale_ticks,
        refused_orders=refused_orders,
        latency_ms=max_decision_latency_ms,
        latency_ticks=slow_ticks,
        rollback_loss=rollback_loss,
        rollback_window_s=rollback_window_s,
    )
    if mode.strip().lower() == "live":
        raise LiveModeRefusedError("--mode")
    if mode != "paper":
        raise ConfigError(f"unknown --mode {mode!r}: only 'paper'")
    setup_logging(verbose, quiet=json_out)
    from kalshi_rl.data.ingest.collector import CollectorConfig
    from kalshi_rl.data.registry import ModelRegistry
    from kalshi_rl.data.storage.database import open_database
    from kalshi_rl.kalshi.ws_client import WsConfig
    from kalshi_rl.trading.series_session import SeriesSession, SeriesSessionConfig
    from kalshi_rl.trading.session import PaperSession, PaperSessionConfig

    settings = load_settings(
        kalshi_ws_url=ws_url,
        kalshi_rest_url=rest_url or (_rest_from_ws(ws_url) if ws_url else None),
        data_dir=data_dir,
        database_url=database_url,
    )
    engine = open_database(settings.database_url_value, settings.data_dir)
    record = ModelRegistry(engine).get(model)
    if market and series:
        raise ConfigError("give --market or --series, not both")
    series = series or (None if market else record.training_config.get("contract", {}).get("series"))
    latency = _latency(latency_ms)
    credentials = credentials_for(settings, settings.kalshi_ws_url)
    session: PaperSession | SeriesSession
    if series:
        session = SeriesSession(
            SeriesSessionConfig(
                model_ref=model,
                series=series,
                collector=CollectorConfig(
                    ws=WsConfig(url=settings.kalshi_ws_url, market_tickers=()),
                    rest_url=settings.kalshi_rest_url,
                    lake_dir=settings.lake_dir,
                    database_url=settings.database_url_value,
                    series=(series,),  # discovery: each market added before it opens
                ),
                starting_balance_dollars=Decimal(str(balance)),
                latency_ms=latency,
                seed=seed,
                deterministic=not stochastic,
                risk=risk,
            ),
            engine,
            credentials,
        )
    else:
        ticker = market or record.market_ticker.split(",")[0]
        config = PaperSessionConfig(
            model_ref=model,
            market_ticker=ticker,
            collector=CollectorConfig(
                ws=WsConfig(url=settings.kalshi_ws_url, market_tickers=(ticker,)),
                rest_url=settings.kalshi_rest_url,
                lake_dir=settings.lake_dir,
                database_url=settings.database_url_value,
            ),
            starting_balance_dollars=Decimal(str(balance)),
            latency_ms=latency,
            seed=seed,
            deterministic=not stochastic,
            risk=risk,
        )
        session = PaperSession(config, engine, credentials)
    ops = OpsServer(metrics_port, metrics_host, settings.database_url_value, ready_limits(settings))
    summary = asyncio.run(_serve_and_run(session, duration, not json_out and console.is_terminal, ops))
    if json_out:
        print_json(summary)
    else:
        console.print(render(session))


def _latency(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        low, _, high = text.partition(",")
        values = float(low), float(high or low)
    except ValueError:
        raise ConfigError(f"--latency-ms: expected 'MIN,MAX' in milliseconds, got {text!r}") from None
    if not 0 <= values[0] <= values[1]:
        raise ConfigError("--latency-ms: expected 0 <= MIN <= MAX")
    return values


async def _serve_and_run(
    session: PaperSession | SeriesSession, duration: float | None, live: bool, ops: OpsServer
) -> dict[str, Any]:
    source = MetricsSource(feed=lambda: session.collector, session=lambda: session)
    async with ops.serving(source):
        return await _run(session, duration, live)


async def _run(session: PaperSession | SeriesSession, duration: float | None, live: bool) -> dict[str, Any]:
    stop = asyncio.Event()
    interrupts = Interrupts()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, interrupts.press)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await session.prepare()
    if duration is not None:
        loop.call_later(duration, stop.set)
    task = asyncio.create_task(session.run(stop))
    stopper = asyncio.create_task(_stop_on_interrupt(session, interrupts, stop))
    task.add_done_callback(lambda _: stopper.cancel())
    if live:
        with Live(render(session), console=console, refresh_per_second=4) as display:
            while not task.done():
                await asyncio.wait({task}, timeout=0.25)
                display.update(render(session))
    await task
    balance = await session.client.get_balance() if session.client is not None else None
    return summary(session, balance)


FLATTEN_WINDOW_S = 1.5
"""A second Ctrl-C this soon after the first flattens the position before stopping."""


class Interrupts:
    """Ctrl-C presses: the first asks to stop, a second one to flatten first."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.flatten = asyncio.Event()

    def press(self) -> None:
        (self.flatten if self.stop.is_set() else self.stop).set()


async def _stop_on_interrupt(
    session: PaperSession | SeriesSession, interrupts: Interrupts, stop: asyncio.Event
) -> None:
    """At the first Ctrl-C hold at once (breaker ``stop``), wait ``FLATTEN_WINDOW_S`` for a
    second one (then flatten through the paper client), then stop the session."""
    await interrupts.stop.wait()
    logger.warning(
        "stopping: press Ctrl-C again within %.1f s to flatten the position first", FLATTEN_WINDOW_S
    )
    session.guard.trip("stop", "Ctrl-C: stopping", time.time_ns())
    try:
        if await wait_event(interrupts.flatten, FLATTEN_WINDOW_S):
            done = await session.flatten()
            logger.warning("flattened: position %s -> %s", done["position_before"], done["position_after"])
    finally:
        stop.set()


def summary(session: PaperSession | SeriesSession, balance: dict[str, Any] | None) -> dict[str, Any]:
    return {**session.summary(), "balance": balance}
