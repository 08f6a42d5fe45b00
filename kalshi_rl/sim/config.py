"""Settings of a local exchange: ``SimConfig``, its ``ScheduleConfig`` and its rolling ``SeriesSpec``s."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kalshi_rl.core.errors import ConfigError, InvalidValueError
from kalshi_rl.core.fee_schedule import FeeSchedule, FeeSource, FeeType
from kalshi_rl.sim.encoding import ENCODING_MODES
from kalshi_rl.sim.faults import FaultConfig
from kalshi_rl.sim.grid import STRUCTURES
from kalshi_rl.sim.ledger import MAX_ACTIONS
from kalshi_rl.sim.model_config import MarketModelConfig


def _fee(fee_type: str, multiplier: str, source: FeeSource) -> FeeSchedule:
    try:
        return FeeSchedule.parse(fee_type, multiplier, source)
    except InvalidValueError as exc:
        raise ConfigError(str(exc)) from None


@dataclass(frozen=True)
class ScheduleConfig:
    """Market and event changes the exchange makes on its own, in seconds after it starts.

    Every one is off by default. What happened is in ``Ledger.actions()``.
    """

    pause_every_s: float = 0.0
    """Every this many seconds deactivate one trading market (round robin) for ``pause_seconds``:
    ``deactivated``, the book frozen and no trades, then ``activated`` (resting orders cancelled)."""
    pause_seconds: float = 5.0
    fee_update_every_s: float = 0.0
    """Every this many seconds each event's fee override is set to ``fee_override_type`` x
    ``fee_override_multiplier``, or cleared if it was set (``event_fee_update``)."""
    fee_override_type: str = FeeType.QUADRATIC_WITH_MAKER_FEES.value
    fee_override_multiplier: str = "0.5"
    close_date_update_at_s: tuple[float, ...] = ()
    """At each of these times move every open market's close by ``close_date_shift_s``
    (``close_date_updated``; a close moved into the past closes the market at once)."""
    close_date_shift_s: float = 60.0
    price_grid_update_at_s: tuple[float, ...] = ()
    """At each of these times switch every open market's grid to ``price_grid`` (and back at
    the next one): levels off the new grid are cancelled, then ``price_level_structure_updated``."""
    price_grid: str = "linear_cent"
    metadata_update_at_s: tuple[float, ...] = ()
    """At each of these times change every open market's YES subtitle (``metadata_updated``)."""
    encoding_switch_at_s: tuple[float, ...] = ()
    """At each of these times every book subscription flips to the other price encoding."""
    create_event_at_s: tuple[float, ...] = ()
    """At each of these times create the series' next event with ``SimConfig.markets`` markets
    (``event_lifecycle``, then ``created`` per market; they open ``open_delay_s`` later)."""

    def __post_init__(self) -> None:
        for name in ("pause_every_s", "pause_seconds", "fee_update_every_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.pause_every_s and not 0 < self.pause_seconds < self.pause_every_s:
            raise ConfigError(
                f"pause_seconds must be > 0 and shorter than pause_every_s ({self.pause_every_s}), "
                f"got {self.pause_seconds}"
            )
        for name in (
            "close_date_update_at_s",
            "price_grid_update_at_s",
            "metadata_update_at_s",
            "encoding_switch_at_s",
            "create_event_at_s",
        ):
            if any(at < 0 for at in getattr(self, name)):
                raise ConfigError(f"{name} must be seconds >= 0, got {getattr(self, name)}")
        if self.price_grid not in STRUCTURES:
            raise ConfigError(f"unknown price grid {self.price_grid!r} (known: {', '.join(STRUCTURES)})")
        self.fee_override  # noqa: B018 -- validates the override now, not at its first use

    @property
    def fee_override(self) -> FeeSchedule:
        return _fee(self.fee_override_type, self.fee_override_multiplier, FeeSource.EVENT_OVERRIDE)


_PERIOD_SUFFIX = re.compile(r"(\d+)([MHD])$")
_PERIOD_MINUTES = {"M": 1, "H": 60, "D": 1_440}


@dataclass(frozen=True)
class SeriesSpec:
    """A series that rolls over: a new market opens every ``roll_seconds``, each open
    ``roll_seconds + overlap_seconds`` (so two of its markets trade during the overlap).

    Market ``k`` (from 0) of the series is created ``k * roll_seconds`` after the exchange
    starts, opens ``SimConfig.open_delay_s`` later (``unopened`` until then), closes
    ``roll_seconds + overlap_seconds`` after its open, is determined
    ``SimConfig.determination_delay_s`` after its close and settles
    ``SimConfig.settlement_delay_s`` after that. Its event ticker names a close time the
    way Kalshi's short series do (``KXBTC15M-26APR191500``, the market ``...-00``): times
    ``ticker_minutes`` apart on a calendar fixed by the seed, whatever the roll period, so a
    day of a 15-minute series compressed into a 2-second roll still reads as that day.
    """

    ticker: str
    roll_seconds: float
    overlap_seconds: float = 0.0
    markets_per_event: int = 1
    """Markets of each event: 1 as in Kalshi's short series (``-MM``, the close minute);
    more are named ``-M00``, ``-M01``, ... (``-T99.99`` with ``SimConfig.strike_tickers``)."""
    ticker_minutes: int = 0
    """Minutes between the times named by consecutive event tickers; 0 = from the ticker's
    period suffix (``15M``, ``1H``, ``1D``), else the roll period rounded up to a minute."""

    def __post_init__(self) -> None:
        _check_series_ticker(self.ticker)
        if not self.roll_seconds > 0:
            raise ConfigError(f"roll_seconds of {self.ticker} must be > 0, got {self.roll_seconds}")
        if self.overlap_seconds < 0:
            raise ConfigError(f"overlap_seconds of {self.ticker} must be >= 0, got {self.overlap_seconds}")
        if not 1 <= self.markets_per_event <= 100:
            raise ConfigError(
                f"markets_per_event of {self.ticker} must be between 1 and 100, got {self.markets_per_event}"
            )
        if self.ticker_minutes < 0:
            raise ConfigError(f"ticker_minutes of {self.ticker} must be >= 0, got {self.ticker_minutes}")

    @property
    def period_minutes(self) -> int:
        """Return the minutes between the times consecutive event tickers name."""
        if self.ticker_minutes:
            return self.ticker_minutes
        match = _PERIOD_SUFFIX.search(self.ticker)
        if match and int(match[1]) > 0:
            return int(match[1]) * _PERIOD_MINUTES[match[2]]
        return max(1, -(-int(self.roll_seconds * 1000) // 60_000))

    @classmethod
    def parse(cls, text: str, roll_seconds: float | None = None, overlap_seconds: float = 0.0) -> SeriesSpec:
        """Return the spec of ``TICKER[:ROLL_SECONDS[:OVERLAP_SECONDS]]`` (the CLI's ``--series``).

        Values missing from ``text`` come from ``roll_seconds`` (required then) and
        ``overlap_seconds``.
        """
        ticker, *numbers = text.strip().split(":")
        if len(numbers) > 2:
            raise ConfigError(f"--series takes TICKER[:ROLL_SECONDS[:OVERLAP_SECONDS]], got {text!r}")
        try:
            values = [float(n) for n in numbers]
        except ValueError:
            raise ConfigError(f"--series {text!r}: roll and overlap must be seconds") from None
        roll = values[0] if values else roll_seconds
        if roll is None:
            raise ConfigError(f"--series {text!r} needs a roll period: TICKER:SECONDS or --roll-seconds")
        return cls(ticker, roll, values[1] if len(values) > 1 else overlap_seconds)

    def to_json(self) -> dict[str, object]:
        """Return the spec as plain values (``kalshi-rl sim --json``)."""
        return {
            "ticker": self.ticker,
            "roll_seconds": self.roll_seconds,
            "overlap_seconds": self.overlap_seconds,
            "markets_per_event": self.markets_per_event,
            "ticker_minutes": self.period_minutes,
        }


def _check_series_ticker(ticker: str) -> None:
    if not ticker or not ticker.replace("-", "").isalnum() or not ticker.isupper():
        raise ConfigError(f"series must be an upper-case ticker such as KXSIM, got {ticker!r}")


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes one local exchange."""

    markets: int = 2
    """Markets of the first event (and of each event created later)."""
    seed: int = 7
    rate: float = 200.0
    """Target model events (deltas and trades) per second for the whole exchange; 0 = flat out."""
    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port."""
    market_duration_s: float = 3600.0
    """Seconds from a market's open to its close_time."""
    open_delay_s: float = 0.0
    """Seconds from an event's creation to its markets' open (status ``initialized`` until then)."""
    determination_delay_s: float = 0.0
    """Seconds from close to the ``determined`` event (status closed in between)."""
    settlement_delay_s: float = 1.0
    """Seconds from determination to the ``settled`` event (status finalized)."""
    series: str = "KXSIM"
    """The series of the first event and of events created on request (``create_event``)."""
    rolling: tuple[SeriesSpec, ...] = ()
    """Series that roll over on their own (see ``SeriesSpec``); when set, the exchange starts
    with no other event: its markets are those of these series."""
    keep_settled: int = 100
    """Settled markets each series keeps for REST and subscriptions; older ones are forgotten
    (REST 404, subscribe error 11). A settled market's model and book are released at once."""
    max_actions: int = MAX_ACTIONS
    """Exchange actions ``Ledger.actions()`` keeps (the oldest are forgotten first)."""
    fee_type: str = FeeType.QUADRATIC.value
    """The series' Kalshi fee type (REST ``GET /series``)."""
    fee_multiplier: str = "1"
    """The series' fee multiplier (a decimal; a JSON number on the wire)."""
    price_level_structure: str = "tapered_deci_cent"
    strike_tickers: bool = False
    """Name markets like Kalshi's strike markets, with a '.' (``KXSIM-26JAN08-T99.99``)."""
    price_encoding: str = "param"
    """``param``: honour each subscription's ``use_yes_price``; ``no_leg`` / ``yes_leg``: force one."""
    max_markets_per_subscription: int = 0
    """Markets one subscription may hold (error 26 beyond); 0 = no limit."""
    command_rate: float = 0.0
    """Commands a connection may send per second (error 27 beyond); 0 = no limit."""
    command_burst: int = 10
    public_key_path: Path | None = None
    """PEM public key; when set, the handshake must carry a valid Kalshi signature."""
    faults: FaultConfig = field(default_factory=FaultConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    model: MarketModelConfig = field(default_factory=MarketModelConfig)
    record_ledger: bool = True
    """Keep every generated message per connection (tests); turn off for long runs."""
    max_outbox_frames: int = 500_000
    """Queued frames after which a connection's subscriptions end with error 25."""

    def __post_init__(self) -> None:
        if not 1 <= self.markets <= 100:
            raise ConfigError(f"markets must be between 1 and 100, got {self.markets}")
        if self.rate < 0:
            raise ConfigError(f"rate must be >= 0 (0 = as fast as possible), got {self.rate}")
        if self.market_duration_s <= 0:
            raise ConfigError(f"market_duration_s must be > 0, got {self.market_duration_s}")
        for name in ("open_delay_s", "determination_delay_s", "settlement_delay_s", "command_rate"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.max_markets_per_subscription < 0 or self.command_burst < 1:
            raise ConfigError("max_markets_per_subscription must be >= 0 and command_burst >= 1")
        if self.price_level_structure not in STRUCTURES:
            raise ConfigError(
                f"unknown price level structure {self.price_level_structure!r} (known: {', '.join(STRUCTURES)})"
            )
        if self.price_encoding not in ENCODING_MODES:
            raise ConfigError(
                f"price_encoding must be one of {', '.join(ENCODING_MODES)}, got {self.price_encoding!r}"
            )
        _check_series_ticker(self.series)
        rolling = [spec.ticker for spec in self.rolling]
        if len(set(rolling)) != len(rolling):
            raise ConfigError(f"each rolling series may be given once, got {', '.join(rolling)}")
        if self.keep_settled < 1 or self.max_actions < 1:
            raise ConfigError(
                f"keep_settled and max_actions must be >= 1, got {self.keep_settled} and {self.max_actions}"
            )
        self.series_fee  # noqa: B018 -- validates the fee settings now

    @property
    def series_fee(self) -> FeeSchedule:
        return _fee(self.fee_type, self.fee_multiplier, FeeSource.SERIES)
