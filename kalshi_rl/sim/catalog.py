"""What the local exchange lists: series, their events, the events' markets.

Kalshi's hierarchy is series -> event -> market. A series carries the fee type and multiplier
(REST ``Series.fee_type`` / ``fee_multiplier``); an event may override them
(``EventData.fee_type_override`` / ``fee_multiplier_override``, changed live by
``event_fee_update``). Events are created while the exchange runs (``create_event``), each
with its markets, so a series can roll over; every object is kept in creation order, which is
the order of the REST listings and what their cursor counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from kalshi_rl.core.errors import ConfigError
from kalshi_rl.core.fee_schedule import FeeSchedule
from kalshi_rl.sim.grid import PriceGrid
from kalshi_rl.sim.market import MarketTiming, SimMarket
from kalshi_rl.sim.model_config import MarketModelConfig

SERIES = "KXSIM"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MINUTES_PER_DAY = 1_440


def event_ticker_for(seed: int, series: str = SERIES, index: int = 0) -> str:
    """Return a Kalshi-like event ticker fixed by the seed.

    The first event of a series is ``KXSIM-26JAN08``; later ones carry a time of day, one
    minute apart (``KXSIM-26JAN080001``, ...), the way Kalshi names its intraday events.
    """
    day = date(2026, 1, 1) + timedelta(days=seed % 365 + index // _MINUTES_PER_DAY)
    base = f"{series}-{day.year % 100:02d}{_MONTHS[day.month - 1]}{day.day:02d}"
    if index == 0:
        return base
    minute = index % _MINUTES_PER_DAY
    return f"{base}{minute // 60:02d}{minute % 60:02d}"


def market_suffix(position: int, strike: bool) -> str:
    """Return the market part of a ticker: ``M00`` or, with ``strike``, ``T99.99`` (a '.' as Kalshi's)."""
    return f"T{100 * (position + 1) - 1}.99" if strike else f"M{position:02d}"


@dataclass
class SimSeries:
    """A series: the template of its events, with the fee schedule they inherit."""

    ticker: str
    fee: FeeSchedule
    title: str = "Simulated series"
    frequency: str = "custom"
    category: str = "Simulation"
    created_ms: int = 0


@dataclass
class SimEvent:
    """An event of a series and its markets; ``fee_override`` is the event-level fee, if any."""

    event_ticker: str
    series_ticker: str
    title: str
    subtitle: str
    created_ms: int
    collateral_return_type: str = ""
    exchange_index: int = 0
    fee_override: FeeSchedule | None = None
    updated_ms: int = 0
    markets: list[SimMarket] = field(default_factory=list)


class Catalog:
    """Every series, event and market of the exchange, in creation order."""

    def __init__(self, seed: int, model: MarketModelConfig, strike_tickers: bool = False) -> None:
        self.seed = seed
        self.model = model
        self.strike_tickers = strike_tickers
        self.series: dict[str, SimSeries] = {}
        self.events: dict[str, SimEvent] = {}
        self.markets: dict[str, SimMarket] = {}
        self.market_list: list[SimMarket] = []
        """Every market in creation order (the generator draws from it; REST lists it)."""
        self._events_per_series: dict[str, int] = {}

    def add_series(self, series: SimSeries) -> SimSeries:
        """Register ``series`` (its ticker must be new)."""
        if series.ticker in self.series:
            raise ConfigError(f"series {series.ticker} exists already")
        self.series[series.ticker] = series
        return series

    def create_event(
        self, series_ticker: str, markets: int, timing: MarketTiming, grid: PriceGrid, now_ms: int
    ) -> SimEvent:
        """Create the next event of a series with ``markets`` markets on ``grid``."""
        series = self.series[series_ticker]
        index = self._events_per_series.get(series_ticker, 0)
        self._events_per_series[series_ticker] = index + 1
        ticker = event_ticker_for(self.seed, series_ticker, index)
        event = SimEvent(
            event_ticker=ticker,
            series_ticker=series_ticker,
            title=f"{series.title}: event {index}",
            subtitle=ticker.rsplit("-", 1)[1],
            created_ms=now_ms,
            updated_ms=now_ms,
        )
        for position in range(markets):
            market = SimMarket(
                index=len(self.market_list),
                seed=self.seed,
                model_config=self.model,
                event_ticker=ticker,
                ticker=f"{ticker}-{market_suffix(position, self.strike_tickers)}",
                grid=grid,
            )
            market.schedule(timing, created_ms=now_ms)
            event.markets.append(market)
            self.markets[market.ticker] = market
            self.market_list.append(market)
        self.events[ticker] = event
        return event

    def event_of(self, market: SimMarket) -> SimEvent:
        return self.events[market.event_ticker]

    def series_of(self, market: SimMarket) -> SimSeries:
        return self.series[self.events[market.event_ticker].series_ticker]

    def effective_fee(self, event: SimEvent) -> FeeSchedule:
        """Return the fee schedule of an event's markets: its override, else its series'."""
        return event.fee_override or self.series[event.series_ticker].fee

    def scan(self, start: int) -> Iterator[tuple[int, SimMarket]]:
        """Yield ``(position, market)`` in creation order from ``start`` (for cursor paging)."""
        for position in range(start, len(self.market_list)):
            yield position, self.market_list[position]
