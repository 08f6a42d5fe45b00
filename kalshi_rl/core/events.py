"""Domain events: what the rest of the package sees of a market feed.

Every event carries two timestamps (the NautilusTrader convention): the exchange's
``ts_exchange_ms`` when the wire gives one, and our local receive time ``ts_recv_ns``.
Prices are integer ticks and counts integer units (see ``kalshi_rl.core.units``).

The high-rate events (book snapshots and deltas, trades, tickers) are ``NamedTuple``s: as
immutable as a frozen dataclass, and about six times cheaper to create (the collector makes
one per frame). Compare them by type first: a NamedTuple also equals a plain tuple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from kalshi_rl.core.fee_schedule import FeeSchedule

Level = tuple[int, int]
"""One book level: ``(price_ticks, count_units)``."""


class Side(StrEnum):
    """A contract side. Kalshi's book holds bids only, one ladder per side."""

    YES = "yes"
    NO = "no"

    @property
    def opposite(self) -> Side:
        return Side.NO if self is Side.YES else Side.YES


class BookSnapshot(NamedTuple):
    """A full book for one market: the YES bids and the NO bids (NO bids at NO prices)."""

    market_ticker: str
    sid: int
    seq: int
    yes_bids: tuple[Level, ...]
    no_bids: tuple[Level, ...]
    ts_exchange_ms: int | None
    ts_recv_ns: int
    yes_price: bool = False
    """The wire encoding it came in: True = its NO side was in YES-leg prices (``use_yes_price``)."""


class BookDelta(NamedTuple):
    """A signed change of the size resting at one price of one side's bid ladder."""

    market_ticker: str
    sid: int
    seq: int
    side: Side
    price_ticks: int
    delta_units: int
    ts_exchange_ms: int | None
    ts_recv_ns: int
    client_order_id: str | None = None


class Trade(NamedTuple):
    """A public trade. ``taker_side`` is the side the taker bought."""

    market_ticker: str
    sid: int
    seq: int
    trade_id: str
    yes_price_ticks: int
    count_units: int
    taker_side: Side
    ts_exchange_ms: int | None
    ts_recv_ns: int


PriceRanges = tuple[tuple[int, int, int], ...]
"""A market's price grid: ``(start_ticks, end_ticks, step_ticks)`` bands."""


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """A market lifecycle change (``market_lifecycle_v2``: created, activated, deactivated,
    close_date_updated, price_level_structure_updated, determined, settled, metadata_updated).

    Each field is set only by the event types Kalshi sends it with; ``fields`` is the whole
    ``msg`` as received.
    """

    market_ticker: str
    event_type: str
    ts_exchange_ms: int | None
    ts_recv_ns: int
    result: str | None = None
    settlement_ticks: int | None = None
    open_ts_ms: int | None = None
    close_ts_ms: int | None = None
    sid: int | None = None
    seq: int | None = None
    fields: dict[str, Any] = field(default_factory=dict, compare=False)
    is_deactivated: bool | None = None
    """``deactivated`` only: True = trading paused, False = resumed."""
    price_level_structure: str | None = None
    price_ranges: PriceRanges | None = None
    event_ticker: str | None = None
    """``created`` only (``additional_metadata.event_ticker``)."""


@dataclass(frozen=True, slots=True)
class EventLifecycle:
    """An event was created (``event_lifecycle``, on the ``market_lifecycle_v2`` sid)."""

    event_ticker: str
    series_ticker: str
    title: str
    subtitle: str
    collateral_return_type: str
    exchange_index: int
    ts_recv_ns: int
    strike_date_ms: int | None = None
    strike_period: str | None = None
    sid: int | None = None
    seq: int | None = None
    fields: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class EventFeeUpdate:
    """An event's fee override changed (``event_fee_update``); ``None`` = override cleared."""

    event_ticker: str
    fee_override: FeeSchedule | None
    ts_recv_ns: int
    sid: int | None = None
    seq: int | None = None
    fields: dict[str, Any] = field(default_factory=dict, compare=False)


class TickerUpdate(NamedTuple):
    """Kalshi's ``ticker`` channel: top of book as the exchange sees it (for cross-checks)."""

    market_ticker: str
    yes_bid_ticks: int | None
    yes_ask_ticks: int | None
    yes_bid_size_units: int | None
    yes_ask_size_units: int | None
    last_price_ticks: int | None
    ts_exchange_ms: int | None
    ts_recv_ns: int


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """The market metadata the observation and the settlement need (REST ``GET /markets``)."""

    ticker: str
    status: str
    open_time_ms: int | None
    close_time_ms: int | None
    expiration_time_ms: int | None
    result: str | None = None
    settlement_ticks: int | None = None
    event_ticker: str | None = None
    title: str | None = None
    price_level_structure: str | None = None
    price_ranges: PriceRanges = ()
    """Valid order prices: ``(start_ticks, end_ticks, step_ticks)`` ranges."""
    fetched_ns: int = 0
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_settled(self) -> bool:
        return self.settlement_ticks is not None

    def is_valid_price(self, price_ticks: int) -> bool:
        """Return whether ``price_ticks`` is on this market's price grid (any tick if unknown)."""
        if not 0 < price_ticks < 10_000:
            return False
        if not self.price_ranges:
            return True
        return any(
            start <= price_ticks <= end and (price_ticks - start) % step == 0
            for start, end, step in self.price_ranges
        )
