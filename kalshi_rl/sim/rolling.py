"""Rolling series: when each series' next market is due, and how it is named and timed.

Market ``k`` (from 0) of a ``SeriesSpec`` is due ``k * roll_seconds`` after the exchange
starts, in integer milliseconds from that start, so a long run does not drift. Its timing
counts from when it was due, not from when the (possibly late) clock got to it: a loaded
machine delays a roll-over, never shifts the series' timetable; a market whose open and close
are already past when it is made goes through them at once. Ties are taken in the order the
series were given, so a seed always makes the same markets in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass

from kalshi_rl.sim.catalog import rolling_event_ticker, rolling_suffixes
from kalshi_rl.sim.config import SeriesSpec, SimConfig
from kalshi_rl.sim.market import MarketTiming


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


@dataclass(frozen=True)
class RollingEvent:
    """What the next event of a rolling series is: its names and its markets' timing."""

    spec: SeriesSpec
    number: int
    due_ms: int
    event_ticker: str
    suffixes: tuple[str, ...]
    timing: MarketTiming


class RollingSeries:
    """One series' timetable: the number and due time of its next market."""

    def __init__(self, spec: SeriesSpec, start_ms: int) -> None:
        self.spec = spec
        self.start_ms = start_ms
        self.roll_ms = _ms(spec.roll_seconds)
        self.life_ms = self.roll_ms + _ms(spec.overlap_seconds)
        self.number = 0

    @property
    def next_due_ms(self) -> int:
        return self.start_ms + self.number * self.roll_ms


class Roller:
    """The timetables of every rolling series of an exchange."""

    def __init__(self, config: SimConfig, start_ms: int) -> None:
        self.config = config
        self.series = [RollingSeries(spec, start_ms) for spec in config.rolling]

    def next_due_ms(self) -> int | None:
        """Return when the next market of any series is due (``None`` without series)."""
        return min((s.next_due_ms for s in self.series), default=None)

    def pop_due(self, now_ms: int) -> RollingEvent | None:
        """Return the earliest event due at or before ``now_ms`` and count it as made."""
        due = [s for s in self.series if s.next_due_ms <= now_ms]
        if not due:
            return None
        series = min(due, key=lambda s: s.next_due_ms)  # min keeps the first of equals
        cfg = self.config
        spec = series.spec
        due_ms = series.next_due_ms
        open_ms = due_ms + _ms(cfg.open_delay_s)
        timing = MarketTiming(
            open_ms, open_ms + series.life_ms, _ms(cfg.determination_delay_s), _ms(cfg.settlement_delay_s)
        )
        event_ticker = rolling_event_ticker(cfg.seed, spec.ticker, spec.period_minutes, series.number)
        suffixes = rolling_suffixes(event_ticker, spec.markets_per_event, cfg.strike_tickers)
        event = RollingEvent(spec, series.number, due_ms, event_ticker, tuple(suffixes), timing)
        series.number += 1
        return event
