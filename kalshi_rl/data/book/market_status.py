"""``MarketStatus``: what is known of a market's life, from REST metadata and live frames.

The phase follows Kalshi's lifecycle frames (``market_lifecycle_v2``): ``created`` ->
``activated`` (active) <-> ``deactivated`` (paused while ``is_deactivated`` is true) ->
closed -> ``determined`` -> ``settled``. REST ``Market.status`` (polled) can move the phase
forward or between active and paused, never back: a REST answer may lag a frame. The close
time and the price grid are the latest known, whichever of REST and the frames came last; the
fee schedule is the event's override when one is set, else the series', else Kalshi's default.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kalshi_rl.core.events import EventFeeUpdate, LifecycleEvent, MarketInfo, PriceRanges
from kalshi_rl.core.fee_schedule import FeeSchedule, effective_schedule

PHASES = ("unknown", "created", "active", "paused", "closed", "determined", "settled")
_RANK = {"unknown": 0, "created": 1, "active": 2, "paused": 2, "closed": 3, "determined": 4, "settled": 5}
CLOSED_PHASES = frozenset({"closed", "determined", "settled"})

REST_PHASES = {
    # OpenAPI 3.31.0 Market.status
    "initialized": "created",
    "inactive": "paused",
    "active": "active",
    "closed": "closed",
    "determined": "determined",
    "disputed": "determined",
    "amended": "determined",
    "finalized": "settled",
    # the GET /markets status filter's words, which older answers (and the local exchange) use
    "unopened": "created",
    "open": "active",
    "paused": "paused",
    "settled": "settled",
}


def phase_after(phase: str, event_type: str, is_deactivated: bool | None = None) -> str:
    """The phase after a lifecycle event of ``event_type`` (unchanged by the others)."""
    if event_type == "created":
        return "created" if _RANK[phase] < _RANK["created"] else phase
    if event_type == "activated":
        return "active"
    if event_type == "deactivated":
        return "active" if is_deactivated is False else "paused"
    if event_type in ("determined", "settled"):
        return event_type
    return phase


def phase_from_rest(phase: str, rest_status: str) -> str:
    """The phase after a REST status answer: forward (or active <-> paused) only."""
    new = REST_PHASES.get(rest_status)
    return new if new is not None and _RANK[new] >= _RANK[phase] else phase


@dataclass(frozen=True)
class MarketStatus:
    """A market's lifecycle state (immutable: the feed replaces it; readers keep a consistent one)."""

    info: MarketInfo | None = None
    result: str | None = None
    settlement_ticks: int | None = None
    phase: str = "unknown"
    """One of ``PHASES``."""
    event_ticker: str | None = None
    live_close_time_ms: int | None = None
    live_close_ns: int = 0
    live_price_ranges: PriceRanges | None = None
    live_ranges_ns: int = 0
    series_fee: FeeSchedule | None = None
    event_fee: FeeSchedule | None = None
    """The event's fee override (REST ``EventData`` or ``event_fee_update``); None = none."""
    last_event: str | None = None
    """The latest lifecycle event type seen live."""

    @property
    def closed(self) -> bool:
        return self.phase in CLOSED_PHASES

    @property
    def is_trading(self) -> bool:
        """Whether orders may trade: active (or nothing known yet), not paused, not closed."""
        return self.phase in ("active", "unknown")

    @property
    def close_time_ms(self) -> int | None:
        """The latest known close time: a live ``close_date_updated`` unless REST is newer."""
        if self.live_close_time_ms is not None and (
            self.info is None or self.live_close_ns >= self.info.fetched_ns or self.info.close_time_ms is None
        ):
            return self.live_close_time_ms
        return self.info.close_time_ms if self.info else None

    @property
    def price_ranges(self) -> PriceRanges:
        """The latest price grid (ticks): ``price_level_structure_updated`` unless REST is newer."""
        if self.live_price_ranges is not None and (
            self.info is None or self.live_ranges_ns >= self.info.fetched_ns or not self.info.price_ranges
        ):
            return self.live_price_ranges
        return self.info.price_ranges if self.info else ()

    @property
    def fees(self) -> FeeSchedule:
        """The fee schedule in force: the event's override, else the series', else the default."""
        return effective_schedule(self.series_fee, self.event_fee)

    def with_info(self, info: MarketInfo) -> MarketStatus:
        return replace(
            self,
            info=info,
            phase=phase_from_rest(self.phase, info.status),
            result=info.result or self.result,
            settlement_ticks=self.settlement_ticks
            if info.settlement_ticks is None
            else info.settlement_ticks,
            event_ticker=self.event_ticker or info.event_ticker,
        )

    def with_lifecycle(self, event: LifecycleEvent) -> MarketStatus:
        status = replace(
            self,
            phase=phase_after(self.phase, event.event_type, event.is_deactivated),
            result=event.result or self.result,
            settlement_ticks=self.settlement_ticks
            if event.settlement_ticks is None
            else event.settlement_ticks,
            event_ticker=self.event_ticker or event.event_ticker,
            last_event=event.event_type,
        )
        if event.close_ts_ms is not None and event.event_type in ("created", "close_date_updated"):
            status = replace(status, live_close_time_ms=event.close_ts_ms, live_close_ns=event.ts_recv_ns)
        if event.price_ranges is not None:
            status = replace(status, live_price_ranges=event.price_ranges, live_ranges_ns=event.ts_recv_ns)
        return status

    def with_fees(self, series: FeeSchedule | None, event_override: FeeSchedule | None) -> MarketStatus:
        return replace(self, series_fee=series, event_fee=event_override)

    def with_event_fee(self, update: EventFeeUpdate) -> MarketStatus:
        return replace(self, event_fee=update.fee_override)


def is_valid_price(ranges: PriceRanges, price_ticks: int) -> bool:
    """Whether ``price_ticks`` is on the grid ``ranges`` (any tick inside (0, 1) when unknown)."""
    if not 0 < price_ticks < 10_000:
        return False
    if not ranges:
        return True
    return any(
        start <= price_ticks <= end and (price_ticks - start) % step == 0 for start, end, step in ranges
    )
