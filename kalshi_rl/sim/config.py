"""Settings of a local exchange: ``SimConfig`` and its market-event ``ScheduleConfig``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kalshi_rl.core.errors import ConfigError, InvalidValueError
from kalshi_rl.core.fee_schedule import FeeSchedule, FeeSource, FeeType
from kalshi_rl.sim.encoding import ENCODING_MODES
from kalshi_rl.sim.faults import FaultConfig
from kalshi_rl.sim.grid import STRUCTURES
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
        if not self.series or not self.series.replace("-", "").isalnum() or not self.series.isupper():
            raise ConfigError(f"series must be an upper-case ticker such as KXSIM, got {self.series!r}")
        self.series_fee  # noqa: B018 -- validates the fee settings now

    @property
    def series_fee(self) -> FeeSchedule:
        return _fee(self.fee_type, self.fee_multiplier, FeeSource.SERIES)
