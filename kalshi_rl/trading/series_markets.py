"""Which market of a series to trade now, from the feed's books and their lifecycle status."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kalshi_rl.data.book.market_status import MarketStatus
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.trading.market_rules import settlement_of
from kalshi_rl.trading.session import in_series
from kalshi_rl.trading.tick_grid import format_wall_ns

_NEVER = 2**63 - 1


def past_close(status: MarketStatus, now_ns: int) -> bool:
    """Whether the market no longer trades: closed (or later), or past its latest close time."""
    close_ms = status.close_time_ms
    return status.closed or (close_ms is not None and now_ns // 1_000_000 >= close_ms)


def settlement_known(status: MarketStatus) -> bool:
    """Whether the market's result (and so its settlement value) is known."""
    return settlement_of(status) is not None


def tradable(status: MarketStatus, now_ns: int) -> bool:
    """Open for trading now: active (or not yet known otherwise), before its close, no result."""
    return status.is_trading and not past_close(status, now_ns) and not settlement_known(status)


def current_market(
    books: Mapping[str, SharedOrderbookState],
    series: str,
    traded: Iterable[str],
    now_ns: int,
    series_of: Mapping[str, str] | None = None,
    min_left_ns: int = 0,
) -> tuple[str | None, str]:
    """The series' market to trade now and "", or None and why there is none.

    Of the series' markets in ``books`` not in ``traded``, those ``tradable`` now; the one that
    closes first (a series whose markets overlap trades the older one to its close). A market
    that closes within ``min_left_ns`` (the actor's tick: no decision left to take) is passed
    over. A market's series is the feed's (``series_of``: REST metadata, discovery), else
    Kalshi's ticker naming.
    """
    known = series_of or {}
    done = set(traded)
    mine = [
        shared
        for ticker, shared in books.items()
        if ticker not in done and (known[ticker] == series if ticker in known else in_series(ticker, series))
    ]
    open_now = [
        shared
        for shared in mine
        if tradable(shared.status, now_ns) and not past_close(shared.status, now_ns + min_left_ns)
    ]
    if open_now:
        chosen = min(open_now, key=lambda s: (s.status.close_time_ms or _NEVER, s.market_ticker))
        return chosen.market_ticker, ""
    upcoming = [
        (info.open_time_ms, shared.market_ticker)
        for shared in mine
        if shared.status.phase == "created" and (info := shared.status.info) is not None and info.open_time_ms
    ]
    if upcoming:
        open_ms, ticker = min(upcoming)
        return (
            None,
            f"no open market of {series}: waiting for {ticker}, which opens at {format_wall_ns(open_ms * 1_000_000)}",
        )
    nothing = "no market" if not mine and not done else "no new market"
    return None, f"no open market of {series}: {nothing} of it in the feed yet"
