"""Market and event lifecycle of the local exchange, and the frames Kalshi sends for it.

``LifecycleDriver`` runs the timed steps of every market (open, close, determination,
settlement), the rolling series' roll-overs (``rolling.Roller``), the actions of the
``Schedule`` and the ones a test or caller asks for directly, in time order, and sends each
on the ``market_lifecycle_v2`` channel as Kalshi does (AsyncAPI 2.0.0; docs.kalshi.com
"Market Lifecycle"):

- ``event_lifecycle`` when an event is created, then ``created`` for each of its markets
  (``open_ts``, ``close_ts``, ``additional_metadata``, ``price_level_structure``,
  ``price_ranges``, ``exchange_index``); opening sends nothing ("there is no activated
  WebSocket event for this transition"; a market that opens later has an empty book until
  then, its makers' quotes arrive as deltas at the open); closing sends no lifecycle frame,
  but the book is emptied without deltas and an empty ``orderbook_snapshot`` is pushed to its
  book subscribers, as in Kalshi's KXETH15M capture;
- ``deactivated`` / ``activated`` with ``is_deactivated`` (a pause; on re-activation every
  resting order is cancelled, as Kalshi does);
- ``close_date_updated`` with ``close_ts`` (and ``activated`` when that reopens a closed market);
- ``price_level_structure_updated`` with the new structure and ``price_ranges`` (levels off the
  new grid are cancelled first);
- ``metadata_updated``, ``determined``, ``settled``, and ``event_fee_update``.

After ``settled`` nothing more is sent about a market; its model is released and the catalog
keeps it (empty book, REST status ``finalized``) among its series' last ``keep_settled``.
Every step is recorded in ``Ledger.actions()``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from kalshi_rl.core.aio import wait_event
from kalshi_rl.core.events import Side
from kalshi_rl.core.fee_schedule import FeeSchedule
from kalshi_rl.kalshi import encode
from kalshi_rl.sim import protocol as proto
from kalshi_rl.sim.catalog import Catalog, SimEvent, SimSeries
from kalshi_rl.sim.config import SimConfig
from kalshi_rl.sim.encoding import PriceEncoding
from kalshi_rl.sim.frames import EVENT_FEE_TYPE, EVENT_LIFECYCLE_TYPE, LIFECYCLE_TYPE, body_of
from kalshi_rl.sim.grid import PriceGrid
from kalshi_rl.sim.ledger import EventPayload, Kind, Ledger, LifecyclePayload, Payload, SimCounters
from kalshi_rl.sim.market import (
    CLOSED,
    FINALIZED,
    PAUSED,
    TRADING,
    UNOPENED,
    MarketTiming,
    SimMarket,
)
from kalshi_rl.sim.rolling import Roller, RollingEvent
from kalshi_rl.sim.schedule import Schedule, ScheduledAction

logger = logging.getLogger(__name__)


class Outlet(Protocol):
    """Where the driver's frames and book changes go (the exchange)."""

    def broadcast(
        self, channel: str, frame_type: str, ticker: str, kind: Kind, payload: Payload, body: str
    ) -> None: ...
    def book_change(
        self, market: SimMarket, side: Side, price_ticks: int, delta_units: int, now_ms: int
    ) -> None: ...
    def market_closed(self, market: SimMarket, now_ms: int) -> None: ...
    def refresh(self) -> None: ...


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class LifecycleDriver:
    """Changes markets and events, on time or on request, and tells every subscriber."""

    def __init__(
        self,
        catalog: Catalog,
        config: SimConfig,
        ledger: Ledger,
        counters: SimCounters,
        encoding: PriceEncoding,
        outlet: Outlet,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.catalog = catalog
        self.config = config
        self.ledger = ledger
        self.counters = counters
        self.encoding = encoding
        self.outlet = outlet
        self.clock = clock
        self.base_grid = PriceGrid.named(config.price_level_structure)
        self.schedule: Schedule | None = None
        self.roller: Roller | None = None
        self._live: list[SimMarket] = []
        self._wake = asyncio.Event()
        self._pause_cursor = 0
        self._grid_updates = 0
        self._metadata_updates = 0

    def start_schedule(self, start_ms: int) -> None:
        """Start the schedule's and the rolling series' clock (their times count from ``start_ms``)."""
        self.schedule = Schedule(self.config.schedule, start_ms)
        self.roller = Roller(self.config, start_ms) if self.config.rolling else None
        self.tick(start_ms)  # the rolling series' first markets exist from the start
        self._wake.set()

    def stop_schedule(self) -> None:
        """Drop every scheduled action still pending (timed lifecycle steps go on)."""
        self.schedule = None

    def stop_rolling(self) -> None:
        """Create no more markets of the rolling series (those made live their lives out)."""
        self.roller = None

    @property
    def live(self) -> list[SimMarket]:
        """Return the markets not yet finalized, in creation order."""
        return list(self._live)

    # -- the clock ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Take every step when it is due, until cancelled."""
        while True:
            self._wake.clear()
            self.tick(self.clock())
            due = self.next_due_ms()
            timeout = None if due is None else max(0.0, (due - self.clock()) / 1000)
            await wait_event(self._wake, timeout)

    def next_due_ms(self) -> int | None:
        dues = [d for m in self._live if (d := m.next_transition_ms()) is not None]
        if self.schedule is not None and (due := self.schedule.next_due_ms()) is not None:
            dues.append(due)
        if self.roller is not None and (due := self.roller.next_due_ms()) is not None:
            dues.append(due)
        return min(dues, default=None)

    def tick(self, now: int) -> None:
        """Take every step due at or before ``now``, the earliest first (on a tie: markets'
        own steps, then rolling series, then the schedule)."""
        while (due := self.next_due_ms()) is not None and due <= now:
            market = min(self._live, key=_due_or_never, default=None)
            if market is not None and _due_or_never(market) == due:
                self._advance(market, now)
            elif self.roller is not None and (rolled := self.roller.pop_due(due)) is not None:
                self._roll(rolled, now)
            elif self.schedule is not None and (action := self.schedule.pop_due(now)) is not None:
                self._run(action, now)
            else:  # cannot happen; never spin
                break

    def _advance(self, market: SimMarket, now: int) -> None:
        step = market.advance(now)
        if step is None:
            return
        event_type, fields = step
        if event_type in ("opened", "closed"):  # Kalshi sends no lifecycle frame for these
            self.ledger.act(now, event_type, market.ticker)
            self.outlet.refresh()
            if event_type == "closed":
                self.outlet.market_closed(market, now)
            for side, price, size in market.opening_levels():  # the makers quote at the open
                self.outlet.book_change(market, side, price, size, now)
            return
        self._market_frame(market, event_type, fields, now)
        if market.status == FINALIZED:  # its frames stop here; what it held is released
            self._live.remove(market)
            market.release()
            if self.catalog.retire(market):
                self.outlet.refresh()

    # -- the schedule's actions ---------------------------------------------------------------

    def _run(self, action: ScheduledAction, now: int) -> None:
        cfg = self.config.schedule
        catalog = self.catalog
        if action.kind == "pause":
            market = self._next_to_pause()
            if market is not None:
                self.deactivate(market, now)
                assert self.schedule is not None
                self.schedule.push(now + int(cfg.pause_seconds * 1000), "resume", market.ticker)
        elif action.kind == "resume":
            market = catalog.markets[action.target or ""]
            if market.status == PAUSED:
                self.activate(market, now)
        elif action.kind == "fee_update":
            for event in list(catalog.events.values()):
                if any(m.status != FINALIZED for m in event.markets):
                    self.update_fee(event, None if event.fee_override else cfg.fee_override, now)
        elif action.kind == "close_date_update":
            for market in self._open_markets(CLOSED):
                shifted = market.timing.close_ms + int(cfg.close_date_shift_s * 1000)
                self.update_close(market, max(now, shifted), now)
        elif action.kind == "price_grid_update":
            self._grid_updates += 1
            grid = PriceGrid.named(cfg.price_grid) if self._grid_updates % 2 else self.base_grid
            for market in self._open_markets():
                self.update_grid(market, grid, now)
        elif action.kind == "metadata_update":
            self._metadata_updates += 1
            for market in self._open_markets():
                self.update_metadata(market, f"Yes (update {self._metadata_updates})", now)
        elif action.kind == "encoding_switch":
            self.switch_encoding(now)
        elif action.kind == "create_event":
            self.create_event(now)

    def _open_markets(self, *also: str) -> list[SimMarket]:
        statuses = (UNOPENED, TRADING, PAUSED, *also)
        return [m for m in self._live if m.status in statuses]

    def _next_to_pause(self) -> SimMarket | None:
        markets = self.catalog.market_list
        for offset in range(len(markets)):
            position = (self._pause_cursor + offset) % len(markets)
            if markets[position].status == TRADING:
                self._pause_cursor = position + 1
                return markets[position]
        return None

    # -- changes ------------------------------------------------------------------------------

    def create_event(
        self, now: int, markets: int | None = None, series: str | None = None, duration_s: float | None = None
    ) -> SimEvent:
        """Create a series' next event and its markets; they open ``open_delay_s`` later.

        ``series`` defaults to the configured one (a new series gets the configured fees),
        ``duration_s`` (open to close) to ``market_duration_s``.
        """
        cfg = self.config
        open_ms = now + int(cfg.open_delay_s * 1000)
        timing = MarketTiming(
            open_ms,
            open_ms + int((cfg.market_duration_s if duration_s is None else duration_s) * 1000),
            int(cfg.determination_delay_s * 1000),
            int(cfg.settlement_delay_s * 1000),
        )
        return self._open_event(now, series or cfg.series, markets or cfg.markets, timing)

    def _roll(self, rolled: RollingEvent, now: int) -> None:
        """Create a rolling series' next event, timed from when it was due."""
        spec = rolled.spec
        self._open_event(
            now, spec.ticker, spec.markets_per_event, rolled.timing, rolled.event_ticker, rolled.suffixes
        )

    def _open_event(
        self,
        now: int,
        series: str,
        markets: int,
        timing: MarketTiming,
        event_ticker: str | None = None,
        suffixes: tuple[str, ...] | None = None,
    ) -> SimEvent:
        catalog = self.catalog
        if series not in catalog.series:
            catalog.add_series(SimSeries(series, self.config.series_fee, created_ms=now))
        event = catalog.create_event(series, markets, timing, self.base_grid, now, event_ticker, suffixes)
        self._live.extend(event.markets)
        if timing.open_ms > now:
            for market in event.markets:
                market.withhold_book()
        self.ledger.act(
            now, "event_created", event.event_ticker, {"markets": [m.ticker for m in event.markets]}
        )
        frame = encode.event_lifecycle_frame(
            0,
            0,
            event_ticker=event.event_ticker,
            series_ticker=event.series_ticker,
            title=event.title,
            subtitle=event.subtitle,
            collateral_return_type=event.collateral_return_type,
            exchange_index=event.exchange_index,
        )
        self._event_frame(event, EVENT_LIFECYCLE_TYPE, frame)
        for market in event.markets:
            self._market_frame(market, "created", market.created_fields(), now)
        if timing.open_ms <= now:
            self.tick(now)  # open at once, before anything else happens
        self.outlet.refresh()
        self._wake.set()
        return event

    def deactivate(self, market: SimMarket, now: int) -> None:
        """Pause trading on ``market``: the book freezes and no trade happens until ``activate``."""
        self._market_frame(market, "deactivated", market.deactivate(now), now)
        self.outlet.refresh()

    def activate(self, market: SimMarket, now: int, cancel_resting: bool = True) -> None:
        """Resume trading on ``market``; Kalshi cancels every resting order on re-activation."""
        self._market_frame(market, "activated", market.activate(now), now)
        if cancel_resting:
            self._cancel(market, lambda price: True, now)
        self.outlet.refresh()

    def update_close(self, market: SimMarket, close_ms: int, now: int) -> None:
        """Move ``market``'s close time (a closed market whose close moves ahead reopens)."""
        reopened = market.update_close(close_ms, now)
        self._market_frame(market, "close_date_updated", {"close_ts": close_ms // 1000}, now)
        if reopened:
            self._market_frame(market, "activated", {}, now)
        self.outlet.refresh()
        self._wake.set()

    def update_grid(self, market: SimMarket, grid: PriceGrid, now: int) -> None:
        """Switch ``market`` to ``grid``: cancel the levels off it, then announce the new grid."""
        self._cancel(market, lambda price: not grid.contains(price), now)
        market.model.set_grid(grid)
        market.updated_ms = now
        fields = {"price_level_structure": grid.structure, "price_ranges": grid.ranges_json()}
        self._market_frame(market, "price_level_structure_updated", fields, now)

    def update_metadata(self, market: SimMarket, yes_sub_title: str, now: int) -> None:
        self._market_frame(market, "metadata_updated", market.update_metadata(yes_sub_title, now), now)

    def update_fee(self, event: SimEvent, override: FeeSchedule | None, now: int) -> None:
        """Set (or clear, with ``None``) ``event``'s fee override and send ``event_fee_update``."""
        event.fee_override = override
        event.updated_ms = now
        frame = encode.event_fee_update_frame(0, 0, event.event_ticker, override)
        self.ledger.act(now, "event_fee_update", event.event_ticker, {"override": override})
        self._event_frame(event, EVENT_FEE_TYPE, frame)

    def switch_encoding(self, now: int) -> None:
        """Flip every book subscription to the other price encoding, unannounced."""
        flipped = self.encoding.switch()
        self.ledger.act(now, "encoding_switched", None, {"flipped": flipped})
        logger.info("price encoding switched (flipped=%s)", flipped)
        self.outlet.refresh()

    # -- frames -------------------------------------------------------------------------------

    def _cancel(self, market: SimMarket, doomed: Callable[[int], bool], now: int) -> None:
        for side in Side:
            for price, size in market.book.levels(side):
                if doomed(price):
                    self.outlet.book_change(market, side, price, -size, now)

    def _market_frame(self, market: SimMarket, event_type: str, fields: dict[str, Any], now: int) -> None:
        # a created market's fields (its metadata, its grid) are too long for a line each roll-over
        logger.info("%s %s %s", market.ticker, event_type, "" if event_type == "created" else fields)
        self.ledger.act(now, event_type, market.ticker, fields)
        self.counters.lifecycle_events += 1
        body = body_of(encode.lifecycle_frame(0, 0, market.ticker, event_type, **fields))
        payload = LifecyclePayload(event_type, dict(fields))
        self.outlet.broadcast(proto.LIFECYCLE, LIFECYCLE_TYPE, market.ticker, "lifecycle", payload, body)

    def _event_frame(self, event: SimEvent, frame_type: str, frame: str) -> None:
        self.counters.lifecycle_events += 1
        msg = _msg_of(frame)
        payload = EventPayload(frame_type, msg)
        self.outlet.broadcast(
            proto.LIFECYCLE, frame_type, event.event_ticker, "event", payload, body_of(frame)
        )


def _due_or_never(market: SimMarket) -> int:
    due = market.next_transition_ms()
    return due if due is not None else 1 << 62


def _msg_of(frame: str) -> dict[str, Any]:
    msg = json.loads(frame)["msg"]
    assert isinstance(msg, dict)
    return msg
