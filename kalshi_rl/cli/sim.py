"""``kalshi-rl sim``: run the local exchange (Kalshi's WebSocket protocol and public REST on loopback)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from pathlib import Path

import typer

from kalshi_rl.cli.common import console, print_json, setup_logging, user_errors
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.sim import FaultConfig, ScheduleConfig, SeriesSpec, SimConfig, SimExchange

_MARKETS = "Markets"
_ROLLING = "Rolling series (a new market every N seconds)"
_FAULTS = "Faults (per connection)"
_SCHEDULE = "Schedule (market and event changes, seconds after start)"
_LIMITS = "Limits and encodings"


@user_errors
def sim(
    port: int = typer.Option(8765, help="TCP port to listen on (0 picks a free one)."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    public_key: Path | None = typer.Option(
        None, help="PEM public key: require Kalshi-signed handshakes (default: accept everyone)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the URLs and tickers as JSON."),
    # -- markets ----------------------------------------------------------------------------------
    markets: int = typer.Option(
        2, help="Markets of the first event (and of each created one).", rich_help_panel=_MARKETS
    ),
    seed: int = typer.Option(
        7, help="Seed of the market model: same seed, same event stream.", rich_help_panel=_MARKETS
    ),
    rate: float = typer.Option(
        200.0,
        help="Model events per second for the whole exchange (0 = as fast as possible).",
        rich_help_panel=_MARKETS,
    ),
    market_duration: float = typer.Option(
        3600.0, help="Seconds from a market's open to its close.", rich_help_panel=_MARKETS
    ),
    open_delay: float = typer.Option(
        0.0,
        help="Seconds from an event's creation to its markets' open (status unopened until then).",
        rich_help_panel=_MARKETS,
    ),
    determination_delay: float = typer.Option(
        0.0, help="Seconds from close to 'determined'.", rich_help_panel=_MARKETS
    ),
    settlement_delay: float = typer.Option(
        1.0, help="Seconds from 'determined' to 'settled'.", rich_help_panel=_MARKETS
    ),
    series: list[str] = typer.Option(
        [],
        help="Series ticker (repeatable). With a roll period (TICKER:SECONDS[:OVERLAP] or "
        "--roll-seconds) the series rolls over: KXBTC15M:900 --series KXETH1M:60 runs both; "
        "without one, the (single) series of the static markets. Default KXSIM.",
        rich_help_panel=_ROLLING,
    ),
    roll_seconds: float | None = typer.Option(
        None,
        help="Seconds between two markets of each --series without its own period; each is open "
        "this long plus --overlap (a day of 15-minute markets in 96 s: --roll-seconds 1).",
        rich_help_panel=_ROLLING,
    ),
    overlap: float = typer.Option(
        0.0,
        help="Seconds a market still trades after the next one of its series opened "
        "(for --series without their own).",
        rich_help_panel=_ROLLING,
    ),
    markets_per_event: int = typer.Option(
        1, help="Markets of each event of a rolling series.", rich_help_panel=_ROLLING
    ),
    keep_settled: int = typer.Option(
        100,
        help="Settled markets each series keeps for REST and subscriptions (older ones are "
        "forgotten: 404, subscribe error 11).",
        rich_help_panel=_ROLLING,
    ),
    fee_type: str = typer.Option(
        "quadratic",
        help="The series' fee_type: quadratic, quadratic_with_maker_fees, quadratic_with_combo_maker_fees, flat.",
        rich_help_panel=_MARKETS,
    ),
    fee_multiplier: str = typer.Option("1", help="The series' fee_multiplier.", rich_help_panel=_MARKETS),
    price_grid: str = typer.Option(
        "tapered_deci_cent",
        help="Price level structure: tapered_deci_cent, linear_cent, deci_cent, center_deci_edge_centi_cent.",
        rich_help_panel=_MARKETS,
    ),
    strike_tickers: bool = typer.Option(
        False,
        help="Name markets like Kalshi's strike markets, with a '.' (KXSIM-26JAN08-T99.99).",
        rich_help_panel=_MARKETS,
    ),
    # -- faults -----------------------------------------------------------------------------------
    drop_every: int = typer.Option(
        0,
        help="Abort each connection (no close handshake) after every N data messages.",
        rich_help_panel=_FAULTS,
    ),
    gap_every: int = typer.Option(
        0,
        help="Lose every N-th data message (its seq is consumed, nothing is sent).",
        rich_help_panel=_FAULTS,
    ),
    malformed_every: int = typer.Option(
        0, help="After every N-th data message send a malformed frame.", rich_help_panel=_FAULTS
    ),
    stall_every: int = typer.Option(
        0, help="After every N-th data message stop sending for --stall-seconds.", rich_help_panel=_FAULTS
    ),
    stall_seconds: float = typer.Option(
        2.0, help="Length of each stall, in seconds.", rich_help_panel=_FAULTS
    ),
    error_every: int = typer.Option(
        0,
        help="After every N-th data message end the orderbook subscription with the terminal "
        "error --error-code (the client must resubscribe).",
        rich_help_panel=_FAULTS,
    ),
    error_code: int = typer.Option(
        25,
        help="Error sent by --error-every: 25 (subscription buffer overflow) or 10 (channel error).",
        rich_help_panel=_FAULTS,
    ),
    drop_snapshot_replies: int = typer.Option(
        0,
        help="Leave the first N get_snapshot requests of each connection unanswered (the client "
        "must time out and resubscribe).",
        rich_help_panel=_FAULTS,
    ),
    # -- schedule ---------------------------------------------------------------------------------
    pause_every: float = typer.Option(
        0.0,
        help="Every S seconds pause one trading market (round robin) for --pause-seconds: 'deactivated', "
        "book frozen, no trades, then 'activated' with every resting order cancelled.",
        rich_help_panel=_SCHEDULE,
    ),
    pause_seconds: float = typer.Option(5.0, help="Length of each pause.", rich_help_panel=_SCHEDULE),
    fee_update_every: float = typer.Option(
        0.0,
        help="Every S seconds set each event's fee override (--fee-override-*), or clear it if set "
        "('event_fee_update').",
        rich_help_panel=_SCHEDULE,
    ),
    fee_override_type: str = typer.Option(
        "quadratic_with_maker_fees", help="fee_type of the override.", rich_help_panel=_SCHEDULE
    ),
    fee_override_multiplier: str = typer.Option(
        "0.5", help="fee_multiplier of the override.", rich_help_panel=_SCHEDULE
    ),
    close_date_update_at: list[float] = typer.Option(
        [],
        help="At S (repeatable) move every open market's close by --close-date-shift ('close_date_updated').",
        rich_help_panel=_SCHEDULE,
    ),
    close_date_shift: float = typer.Option(
        60.0,
        help="Seconds added to the close time (negative: earlier; past: closes now).",
        rich_help_panel=_SCHEDULE,
    ),
    price_grid_update_at: list[float] = typer.Option(
        [],
        help="At S (repeatable) switch every open market to --price-grid-to and back at the next one "
        "(off-grid levels cancelled, then 'price_level_structure_updated').",
        rich_help_panel=_SCHEDULE,
    ),
    price_grid_to: str = typer.Option(
        "linear_cent", help="Structure of --price-grid-update-at.", rich_help_panel=_SCHEDULE
    ),
    metadata_update_at: list[float] = typer.Option(
        [],
        help="At S (repeatable) change every open market's yes_sub_title ('metadata_updated').",
        rich_help_panel=_SCHEDULE,
    ),
    encoding_switch_at: list[float] = typer.Option(
        [],
        help="At S (repeatable) flip every orderbook subscription to the other price encoding, unannounced "
        "(as if Kalshi's use_yes_price default flipped under the client).",
        rich_help_panel=_SCHEDULE,
    ),
    create_event_at: list[float] = typer.Option(
        [],
        help="At S (repeatable) create the series' next event with --markets markets "
        "('event_lifecycle', then 'created' per market).",
        rich_help_panel=_SCHEDULE,
    ),
    # -- limits and encodings ---------------------------------------------------------------------
    price_encoding: str = typer.Option(
        "param",
        help="Orderbook price encoding: param (honour use_yes_price, default false), no_leg or yes_leg "
        "(forced whatever the client asks, as after Kalshi removes the flag).",
        rich_help_panel=_LIMITS,
    ),
    max_markets_per_subscription: int = typer.Option(
        0, help="Markets one subscription may hold (error 26 beyond); 0 = no limit.", rich_help_panel=_LIMITS
    ),
    command_rate: float = typer.Option(
        0.0,
        help="Commands per second a connection may send (error 27 beyond); 0 = no limit.",
        rich_help_panel=_LIMITS,
    ),
    command_burst: int = typer.Option(
        10, help="Commands a connection may send at once.", rich_help_panel=_LIMITS
    ),
) -> None:
    """Run a local exchange that speaks Kalshi's WebSocket protocol and public REST, until Ctrl-C.

    Everything it changes on its own (--pause-every, --fee-update-every, --*-at) is off by
    default; times count from the start. With rolling series (--series KXBTC15M:900) markets
    are created, opened, closed, determined and settled continuously, one per period and
    series, with their lifecycle frames and REST listings.
    """
    setup_logging(quiet=json_out)
    rolling = _rolling(series, roll_seconds, overlap, markets_per_event)
    config = SimConfig(
        markets=markets,
        seed=seed,
        rate=rate,
        host=host,
        port=port,
        market_duration_s=market_duration,
        open_delay_s=open_delay,
        determination_delay_s=determination_delay,
        settlement_delay_s=settlement_delay,
        series=series[0] if series and not rolling else "KXSIM",
        rolling=rolling,
        keep_settled=keep_settled,
        fee_type=fee_type,
        fee_multiplier=fee_multiplier,
        price_level_structure=price_grid,
        strike_tickers=strike_tickers,
        price_encoding=price_encoding,
        max_markets_per_subscription=max_markets_per_subscription,
        command_rate=command_rate,
        command_burst=command_burst,
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
        schedule=ScheduleConfig(
            pause_every_s=pause_every,
            pause_seconds=pause_seconds,
            fee_update_every_s=fee_update_every,
            fee_override_type=fee_override_type,
            fee_override_multiplier=fee_override_multiplier,
            close_date_update_at_s=tuple(close_date_update_at),
            close_date_shift_s=close_date_shift,
            price_grid_update_at_s=tuple(price_grid_update_at),
            price_grid=price_grid_to,
            metadata_update_at_s=tuple(metadata_update_at),
            encoding_switch_at_s=tuple(encoding_switch_at),
            create_event_at_s=tuple(create_event_at),
        ),
        record_ledger=False,  # a long-running server must not keep every message
    )
    asyncio.run(_serve(config, json_out))


def _rolling(
    series: list[str], roll_seconds: float | None, overlap: float, markets_per_event: int
) -> tuple[SeriesSpec, ...]:
    """Return the rolling series of the ``--series`` options (none: static markets)."""
    if roll_seconds is None and not any(":" in text for text in series):
        if len(series) > 1:
            raise ConfigError(
                "several --series roll over: give each a period (TICKER:SECONDS) or --roll-seconds"
            )
        return ()
    specs = [SeriesSpec.parse(text, roll_seconds, overlap) for text in series or ["KXSIM"]]
    return tuple(dataclasses.replace(spec, markets_per_event=markets_per_event) for spec in specs)


async def _serve(config: SimConfig, json_out: bool) -> None:
    exchange = SimExchange(config)
    ws_url = await exchange.start()
    try:
        info: dict[str, object] = {
            "ws_url": ws_url,
            "rest_url": exchange.rest_url,
            "tickers": exchange.tickers,
        }
        if config.rolling:
            info["series"] = [spec.to_json() for spec in config.rolling]
        if json_out:
            print_json(info)
        else:
            fees = f"({config.fee_type} x {config.fee_multiplier})"
            console.print(f"[bold]local exchange[/] {ws_url}")
            console.print(f"REST            {exchange.rest_url}")
            for spec in config.rolling:
                console.print(
                    f"series          {spec.ticker} {fees}: a market every {spec.roll_seconds:g} s, "
                    f"open {spec.roll_seconds + spec.overlap_seconds:g} s"
                )
            if not config.rolling:
                console.print(f"series          {config.series} {fees}")
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
