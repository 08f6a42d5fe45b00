"""``kalshi-rl sim``: run the local exchange (Kalshi's WebSocket protocol on loopback)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import typer

from kalshi_rl.cli.common import console, print_json, setup_logging, user_errors
from kalshi_rl.sim import FaultConfig, SimConfig, SimExchange


@user_errors
def sim(
    port: int = typer.Option(8765, help="TCP port to listen on (0 picks a free one)."),
    markets: int = typer.Option(2, help="Number of simulated markets."),
    seed: int = typer.Option(7, help="Seed of the market model: same seed, same event stream."),
    rate: float = typer.Option(
        200.0, help="Model events per second for the whole exchange (0 = as fast as possible)."
    ),
    drop_every: int = typer.Option(
        0, help="Abort each connection (no close handshake) after every N data messages."
    ),
    gap_every: int = typer.Option(
        0, help="Lose every N-th data message (its seq is consumed, nothing is sent)."
    ),
    malformed_every: int = typer.Option(0, help="After every N-th data message send a malformed frame."),
    stall_every: int = typer.Option(
        0, help="After every N-th data message stop sending for --stall-seconds."
    ),
    stall_seconds: float = typer.Option(2.0, help="Length of each stall, in seconds."),
    error_every: int = typer.Option(
        0,
        help="After every N-th data message end the orderbook subscription with the terminal "
        "error --error-code (the client must resubscribe).",
    ),
    error_code: int = typer.Option(
        25, help="Error sent by --error-every: 25 (subscription buffer overflow) or 10 (channel error)."
    ),
    drop_snapshot_replies: int = typer.Option(
        0,
        help="Leave the first N get_snapshot requests of each connection unanswered (the client "
        "must time out and resubscribe).",
    ),
    market_duration: float = typer.Option(3600.0, help="Seconds from start to each market's close."),
    public_key: Path | None = typer.Option(
        None, help="PEM public key: require Kalshi-signed handshakes (default: accept everyone)."
    ),
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    json_out: bool = typer.Option(False, "--json", help="Print the URLs and tickers as JSON."),
) -> None:
    """Run a local exchange that speaks Kalshi's WebSocket protocol, until Ctrl-C."""
    setup_logging(quiet=json_out)
    config = SimConfig(
        markets=markets,
        seed=seed,
        rate=rate,
        host=host,
        port=port,
        market_duration_s=market_duration,
        public_key_path=public_key,
        faults=FaultConfig(
            drop_every=drop_every,
            gap_every=gap_every,
            malformed_every=malformed_every,
            stall_every=stall_every,
            stall_seconds=stall_seconds,
            error_every=error_every,
            error_code=error_code,
            drop_snapshot_replies=drop_snapshot_replies,
        ),
        record_ledger=False,  # a long-running server must not keep every message
    )
    asyncio.run(_serve(config, json_out))


async def _serve(config: SimConfig, json_out: bool) -> None:
    exchange = SimExchange(config)
    ws_url = await exchange.start()
    try:
        if json_out:
            print_json({"ws_url": ws_url, "rest_url": exchange.rest_url, "tickers": exchange.tickers})
        else:
            console.print(f"[bold]local exchange[/] {ws_url}")
            console.print(f"REST            {exchange.rest_url}")
            console.print(f"markets         {', '.join(exchange.tickers)}")
            console.print("Ctrl-C to stop", style="dim")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ValueError, RuntimeError):
                    loop.remove_signal_handler(signum)
    finally:
        await exchange.stop()
