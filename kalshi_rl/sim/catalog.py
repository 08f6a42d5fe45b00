"""What the local exchange lists: series, their events, the events' markets.

Kalshi's hierarchy is series -> event -> market. A series carries the fee type and multiplier
(REST ``Series.fee_type`` / ``fee_multiplier``); an event may override them
(``EventData.fee_type_override`` / ``fee_multiplier_override``, changed live by
``event_fee_update``). Events are created while the exchange runs (``create_event``), each
with its markets, so a series can roll over; every object is kept in creation order, which is
the order of the REST listings. A market's ``index`` counts every market ever created, so a
REST cursor stays valid while settled markets are forgotten (``retire`` keeps the last
``keep_settled`` settled markets of each series and forgets older ones, with their event once
it has no market left): what the catalog holds is bounded however long a series rolls.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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
    day = _calendar_day(seed) + timedelta(days=index // _MINUTES_PER_DAY)
    base = f"{series}-{day.year % 100:02d}{_MONTHS[day.month - 1]}{day.day:02d}"
    if index == 0:
        return base
    minute = index % _MINUTES_PER_DAY
    return f"{base}{minute // 60:02d}{minute % 60:02d}"


def _calendar_day(seed: int) -> date:
    return date(2026, 1, 1) + timedelta(days=seed % 365)


def rolling_event_ticker(seed: int, series: str, period_minutes: int, number: int) -> str:
    """Return the event ticker of market ``number`` (from 0) of a rolling series.

    Kalshi names a short series' event by its close time (``KXBTC15M-26APR191500``): here the
    ``number + 1``-th multiple of ``period_minutes`` after midnight of the seed's day.
    """
    close = datetime.combine(_calendar_day(seed), datetime.min.time())
    close += timedelta(minutes=period_minutes * (number + 1))
    month = _MONTHS[close.month - 1]
    return f"{series}-{close.year % 100:02d}{month}{close.day:02d}{close.hour:02d}{close.minute:02d}"


def rolling_suffixes(event_ticker: str, markets: int, strike: bool) -> list[str]:
    """Return the market parts of a rolling event's tickers: its close minute alone, as
    Kalshi's one-market short series (``KXBTC15M-26APR191500-00``), else ``market_suffix``."""
    if markets == 1:
        return [event_ticker[-2:]]
    return [market_suffix(position, strike) for position in range(markets)]


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

    def __init__(
        self, seed: int, model: MarketModelConfig, strike_tickers: bool = False, keep_settled: int = 100
    ) -> None:
        self.seed = seed
        self.model = model
        self.strike_tickers = strike_tickers
        self.keep_settled = keep_settled
        self.series: dict[str, SimSeries] = {}
        self.events: dict[str, SimEvent] = {}
        self.markets: dict[str, SimMarket] = {}
        self.market_list: list[SimMarket] = []
        """Every market held, in creation order (the generator draws from it; REST lists it)."""
        self.created = 0
        """Markets created so far (the next market's ``index``)."""
        self._events_per_series: dict[str, int] = {}
        self._settled: dict[str, deque[SimMarket]] = {}

    def add_series(self, series: SimSeries) -> SimSeries:
        """Register ``series`` (its ticker must be new)."""
        if series.ticker in self.series:
            raise ConfigError(f"series {series.ticker} exists already")
        self.series[series.ticker] = series
        self._settled[series.ticker] = deque()
        return series

    def next_event_number(self, series_ticker: str) -> int:
        """Return how many events of ``series_ticker`` were created so far."""
        return self._events_per_series.get(series_ticker, 0)

    def create_event(
        self,
        series_ticker: str,
        markets: int,
        timing: MarketTiming,
        grid: PriceGrid,
        now_ms: int,
        event_ticker: str | None = None,
        suffixes: Sequence[str] | None = None,
    ) -> SimEvent:
        """Create the next event of a series with ``markets`` markets on ``grid``.

        ``event_ticker`` and the markets' ``suffixes`` default to ``event_ticker_for`` and
        ``market_suffix``; a ticker that exists already is refused.
        """
        series = self.series[series_ticker]
        index = self.next_event_number(series_ticker)
        ticker = event_ticker or event_ticker_for(self.seed, series_ticker, index)
        names = suffixes or [market_suffix(p, self.strike_tickers) for p in range(markets)]
        if ticker in self.events or len(names) != markets:
            raise ConfigError(f"event {ticker} exists already or is misnamed")
        self._events_per_series[series_ticker] = index + 1
        event = SimEvent(
            event_ticker=ticker,
            series_ticker=series_ticker,
            title=f"{series.title}: event {index}",
            subtitle=ticker.rsplit("-", 1)[1],
            created_ms=now_ms,
            updated_ms=now_ms,
        )
        for suffix in names:
            market = SimMarket(
                index=self.created,
                seed=self.seed,
                model_config=self.model,
                event_ticker=ticker,
                ticker=f"{ticker}-{suffix}",
                grid=grid,
            )
            self.created += 1
            market.schedule(timing, created_ms=now_ms)
            event.markets.append(market)
            self.markets[market.ticker] = market
            self.market_list.append(market)
        self.events[ticker] = event
        return event

    def retire(self, market: SimMarket) -> list[SimMarket]:
        """Count ``market`` as settled; return the settled markets of its series now forgotten.

        A series keeps its last ``keep_settled`` settled markets (REST still answers for them);
        a forgotten market leaves the catalog, and its event does once it has no market left.
        """
        settled = self._settled[self.series_of(market).ticker]
        settled.append(market)
        forgotten = []
        while len(settled) > self.keep_settled:
            old = settled.popleft()
            self._forget(old)
            forgotten.append(old)
        return forgotten

    def _forget(self, market: SimMarket) -> None:
        del self.markets[market.ticker]
        position = bisect_left(self.market_list, market.index, key=_index)
        del self.market_list[position]
        event = self.events[market.event_ticker]
        event.markets.remove(market)
        if not event.markets:
            del self.events[event.event_ticker]

    def event_of(self, market: SimMarket) -> SimEvent:
        return self.events[market.event_ticker]

    def series_of(self, market: SimMarket) -> SimSeries:
        return self.series[self.events[market.event_ticker].series_ticker]

    def effective_fee(self, event: SimEvent) -> FeeSchedule:
        """Return the fee schedule of an event's markets: its override, else its series'."""
        return event.fee_override or self.series[event.series_ticker].fee

    def scan(self, start: int) -> Iterator[SimMarket]:
        """Yield the markets whose ``index`` is ``start`` or more, in creation order (cursor paging)."""
        markets = self.market_list
        for position in range(bisect_left(markets, start, key=_index), len(markets)):
            yield markets[position]


def _index(market: SimMarket) -> int:
    return market.index
