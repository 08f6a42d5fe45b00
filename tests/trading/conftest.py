"""Real books and a paper client on a hand-driven clock (latency 0 unless a test asks for it),
and the registry database on both engines (embedded SQLite, and a fresh migrated PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from kalshi_rl.core.events import BookSnapshot, LifecycleEvent, MarketInfo, Side
from kalshi_rl.core.units import PRICE_SCALE, parse_count_fp, parse_price_dollars
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.storage.database import create_db_engine, open_database, parse_database_url
from kalshi_rl.data.storage.migrate import upgrade
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient, PaperConfig
from tests.support.waiting import eventually as eventually  # the trading tests import it from here

T0_NS = 1_800_000_000 * 1_000_000_000
TICKER = "KXTEST-26JAN01-T50"
CENT_GRID = ((0, PRICE_SCALE, 100),)  # linear_cent


class Clock:
    """Event time, moved by hand."""

    def __init__(self, start_ns: int = T0_NS) -> None:
        self.now_ns = start_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance_ms(self, ms: int) -> None:
        self.now_ns += ms * 1_000_000


def market_info(ticker: str = TICKER, close_time_ms: int | None = None, grid: Any = CENT_GRID) -> MarketInfo:
    return MarketInfo(
        ticker=ticker,
        status="active",
        open_time_ms=None,
        close_time_ms=close_time_ms,
        expiration_time_ms=None,
        event_ticker="KXTEST-26JAN01",
        price_ranges=grid,
    )


def levels(pairs: list[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    return tuple((parse_price_dollars(p), parse_count_fp(c)) for p, c in pairs)


def make_book(
    yes_bids: list[tuple[str, str]] = (),  # type: ignore[assignment]
    yes_asks: list[tuple[str, str]] = (),  # type: ignore[assignment]
    ticker: str = TICKER,
    info: MarketInfo | None = None,
) -> SharedOrderbookState:
    """A book given as YES bids and YES asks (stored, as Kalshi sends it, as YES and NO bids)."""
    shared = SharedOrderbookState(ticker, info)
    no_bids = tuple((PRICE_SCALE - p, c) for p, c in levels(list(yes_asks)))
    shared.state.apply_snapshot(BookSnapshot(ticker, 1, 1, levels(list(yes_bids)), no_bids, None, T0_NS))
    shared.touch()
    return shared


def add_yes_ask(shared: SharedOrderbookState, price: str, count: str) -> None:
    """A new YES ask (= a NO bid at 1 - price) arrives, as a delta."""
    shared.state.apply_delta(Side.NO, PRICE_SCALE - parse_price_dollars(price), parse_count_fp(count))
    shared.touch()


def determine(shared: SharedOrderbookState, result: str) -> None:
    ticks = PRICE_SCALE if result == "yes" else 0
    lifecycle(shared, "determined", result=result, settlement_ticks=ticks)


def lifecycle(shared: SharedOrderbookState, event_type: str, **fields: Any) -> None:
    """A ``market_lifecycle_v2`` event reaches the book's status, as the feed applies it."""
    shared.apply_lifecycle(LifecycleEvent(shared.market_ticker, event_type, None, T0_NS, **fields))


def pause(shared: SharedOrderbookState) -> None:
    lifecycle(shared, "deactivated", is_deactivated=True)


def resume(shared: SharedOrderbookState) -> None:
    lifecycle(shared, "deactivated", is_deactivated=False)


def paper(
    *books: SharedOrderbookState, clock: Clock | None = None, **config: Any
) -> KalshiPaperTradingClient:
    config.setdefault("latency_min_ms", 0.0)
    config.setdefault("latency_max_ms", 0.0)
    if "starting_balance_dollars" in config:
        config["starting_balance_dollars"] = Decimal(config["starting_balance_dollars"])
    return KalshiPaperTradingClient(
        {b.market_ticker: b for b in books}, PaperConfig(**config), clock_ns=clock or Clock()
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The registry database, once per engine: every test using it runs on SQLite and PostgreSQL.

    PostgreSQL is migrated the way ``kalshi-rl db upgrade`` does it, then opened the way the
    code opens it (``open_database`` refuses a database that is not at the head revision).
    """
    if request.param == "sqlite":
        engine = open_database(None, tmp_path)
    else:
        url = request.getfixturevalue("pg_url")
        migrator = create_db_engine(parse_database_url(url))
        upgrade(migrator)
        migrator.dispose()
        engine = open_database(url, tmp_path)
    try:
        yield engine
    finally:
        engine.dispose()
