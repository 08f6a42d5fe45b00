"""Helpers for the rolling-series tests: a clock the test moves, and what each market should be."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from kalshi_rl.sim import SeriesSpec, SimConfig, SimExchange
from kalshi_rl.sim.catalog import rolling_event_ticker, rolling_suffixes

T0 = 1_800_000_000_000
"""Exchange time at the start of the manual-clock tests (epoch ms)."""


class ManualClock:
    """Exchange time that moves only when the test says so."""

    def __init__(self, now_ms: int = T0) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def rolling_exchange(clock: ManualClock, *specs: SeriesSpec, **fields: object) -> SimExchange:
    """Return an exchange (not serving) whose rolling series start at ``clock``'s time."""
    exchange = SimExchange(SimConfig(rolling=specs, **fields), clock=clock)  # type: ignore[arg-type]
    exchange.lifecycle.start_schedule(clock())
    return exchange


def advance(exchange: SimExchange, clock: ManualClock, until_ms: int, step_ms: int = 10) -> None:
    """Move the clock to ``until_ms`` in steps, taking every lifecycle step as it falls due."""
    while clock.now_ms < until_ms:
        clock.now_ms = min(until_ms, clock.now_ms + step_ms)
        exchange.lifecycle.tick(clock.now_ms)


@dataclass(frozen=True)
class Planned:
    """When market ``number`` of a rolling series should be created, open, close, ... (ms)."""

    ticker: str
    created_ms: int
    open_ms: int
    close_ms: int
    determined_ms: int
    settled_ms: int

    def status_at(self, now_ms: int) -> str | None:
        """Return the REST ``status`` filter value the market answers to at ``now_ms``."""
        if now_ms < self.created_ms:
            return None
        if now_ms < self.open_ms:
            return "unopened"
        if now_ms < self.close_ms:
            return "open"
        if now_ms < self.settled_ms:
            return "closed"
        return "settled"


def planned(spec: SeriesSpec, config: SimConfig, start_ms: int = T0) -> Iterator[Planned]:
    """Yield the timetable of every market of ``spec`` (one market per event), from the spec alone."""
    number = 0
    while True:
        created = start_ms + number * round(spec.roll_seconds * 1000)
        opens = created + round(config.open_delay_s * 1000)
        closes = opens + round((spec.roll_seconds + spec.overlap_seconds) * 1000)
        determined = closes + round(config.determination_delay_s * 1000)
        event = rolling_event_ticker(config.seed, spec.ticker, spec.period_minutes, number)
        (suffix,) = rolling_suffixes(event, 1, False)
        yield Planned(
            f"{event}-{suffix}",
            created,
            opens,
            closes,
            determined,
            determined + round(config.settlement_delay_s * 1000),
        )
        number += 1


def made_by(spec: SeriesSpec, config: SimConfig, now_ms: int, start_ms: int = T0) -> list[Planned]:
    """Return the timetables of the markets of ``spec`` created at or before ``now_ms``."""
    return list(itertools.takewhile(lambda p: p.created_ms <= now_ms, planned(spec, config, start_ms)))
