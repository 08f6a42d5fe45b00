"""The paper client's reads (``GET /portfolio/...``), in Kalshi's OpenAPI 3.31.0 shapes.

Listings are newest first and paged the way Kalshi pages them (``rest_limits.page``: ``limit``
1-1000, default 100; ``cursor`` empty on the last page). Positions list every market this
account ever traded (``count_filter`` narrows them to a non-zero ``position`` and/or
``total_traded``), and ``event_positions`` adds up, per event, the markets of that event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kalshi_rl.core.events import Side
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.execution.position import PositionLedger
from kalshi_rl.trading import kalshi_shapes as shapes
from kalshi_rl.trading import order_lifecycle
from kalshi_rl.trading.market_rules import event_ticker_of, exchange_index_of
from kalshi_rl.trading.order_manager import OrderManager
from kalshi_rl.trading.orders import invalid_parameters
from kalshi_rl.trading.portfolio import Portfolio
from kalshi_rl.trading.rest_limits import GET_ORDER_COST, page

if TYPE_CHECKING:
    from kalshi_rl.trading.paper_client import PaperConfig

ORDER_STATUSES = ("resting", "canceled", "executed")
COUNT_FILTERS = ("position", "total_traded")


def _optional_text(value: object, name: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise invalid_parameters(f"{name} must be a non-empty string, got {value!r}")
    return value


class PaperReads:
    """The reads of ``KalshiPaperTradingClient`` (a mixin: it holds the state they read)."""

    books: dict[str, SharedOrderbookState]
    config: PaperConfig
    orders: OrderManager
    portfolio: Portfolio
    clock_ns: Callable[[], int]

    def _begin(self, write: bool, tokens: int = 10) -> int:
        raise NotImplementedError

    def _best_bid(self, ticker: str, side: Side) -> int | None:
        raise NotImplementedError

    def _event_of(self, ticker: str) -> str:
        shared = self.books.get(ticker)
        return event_ticker_of(shared) if shared is not None else ticker.rsplit("-", 1)[0]

    def _shard_of(self, ticker: str) -> int:
        shared = self.books.get(ticker)
        return exchange_index_of(shared) if shared is not None else 0

    async def get_orders(
        self,
        ticker: str | None = None,
        status: str | None = None,
        *,
        event_ticker: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """``GET /portfolio/orders``: orders, newest first (``event_ticker``: up to 10, comma-separated)."""
        _optional_text(ticker, "ticker")
        if status is not None and status not in ORDER_STATUSES:
            raise invalid_parameters(f"status must be one of {', '.join(ORDER_STATUSES)}, got {status!r}")
        events = _optional_text(event_ticker, "event_ticker")
        wanted = set(events.split(",")) if events else None
        if wanted is not None and len(wanted) > 10:
            raise invalid_parameters(f"event_ticker takes at most 10 events, got {len(wanted)}")
        self._begin(False)
        chosen = [
            o
            for o in reversed(self.orders.all.values())
            if (ticker is None or o.ticker == ticker)
            and (status is None or o.status == status)
            and (wanted is None or self._event_of(o.ticker) in wanted)
        ]
        orders, next_cursor = page(chosen, limit, cursor, lambda o: o.order_id)
        return {"orders": [shapes.order_json(o, self.config.user_id) for o in orders], "cursor": next_cursor}

    async def get_order(self, order_id: str) -> dict[str, Any]:
        """``GET /portfolio/orders/{order_id}``."""
        self._begin(False, GET_ORDER_COST)
        return {"order": shapes.order_json(self.orders.get(order_id), self.config.user_id)}

    def orders_open(self, ticker: str | None = None) -> list[dict[str, Any]]:
        """The resting orders (Kalshi's Order shape), oldest first."""
        order_lifecycle.expire(self.orders, self.clock_ns())
        return [shapes.order_json(o, self.config.user_id) for o in self.orders.open(ticker)]

    async def get_fills(
        self,
        ticker: str | None = None,
        order_id: str | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """``GET /portfolio/fills``: fills, newest first, optionally of one market or one order."""
        _optional_text(ticker, "ticker")
        _optional_text(order_id, "order_id")
        self._begin(False)
        chosen = [
            f
            for f in reversed(self.orders.fills)
            if (ticker is None or f.ticker == ticker) and (order_id is None or f.order_id == order_id)
        ]
        fills, next_cursor = page(chosen, limit, cursor, lambda f: f.fill_id)
        return {
            "fills": [shapes.fill_json(f, self.orders.all[f.order_id]) for f in fills],
            "cursor": next_cursor,
        }

    async def get_positions(
        self,
        ticker: str | None = None,
        event_ticker: str | None = None,
        *,
        count_filter: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """``GET /portfolio/positions``: ``market_positions`` (by ticker) and, for the events
        of that page, ``event_positions`` (each event's markets added up)."""
        _optional_text(ticker, "ticker")
        _optional_text(event_ticker, "event_ticker")
        filters = set((_optional_text(count_filter, "count_filter") or "").split(",")) - {""}
        if not filters <= set(COUNT_FILTERS):
            raise invalid_parameters(f"count_filter takes {', '.join(COUNT_FILTERS)}, got {count_filter!r}")
        self._begin(False)
        held = {
            t: ledger
            for t, ledger in sorted(self.portfolio.ledgers.items())
            if self._listed(ledger, filters)
            and (ticker is None or t == ticker)
            and (event_ticker is None or self._event_of(t) == event_ticker)
        }
        tickers, next_cursor = page(list(held), limit, cursor, lambda t: t)
        markets = [
            shapes.market_position_json(self.portfolio.market_position(t), self._shard_of(t)) for t in tickers
        ]
        events: dict[str, list[PositionLedger]] = {}
        for t in tickers:
            events.setdefault(self._event_of(t), [])
        for t, ledger in held.items():
            if self._event_of(t) in events:
                events[self._event_of(t)].append(ledger)
        event_positions = [shapes.event_position_json(e, ledgers) for e, ledgers in sorted(events.items())]
        return {"market_positions": markets, "event_positions": event_positions, "cursor": next_cursor}

    @staticmethod
    def _listed(ledger: PositionLedger, filters: set[str]) -> bool:
        if not filters:
            return bool(ledger.contracts_traded_units or ledger.position_units)
        return ("position" in filters and ledger.position_units != 0) or (
            "total_traded" in filters and ledger.traded_micro != 0
        )

    async def get_balance(self) -> dict[str, Any]:
        """``GET /portfolio/balance`` with its ``balance_breakdown``."""
        now = self._begin(False)
        return shapes.balance_json(self.portfolio.balance(self._best_bid, now))

    async def get_settlements(
        self,
        ticker: str | None = None,
        event_ticker: str | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """``GET /portfolio/settlements``: settlements, newest first."""
        _optional_text(ticker, "ticker")
        _optional_text(event_ticker, "event_ticker")
        self._begin(False)
        chosen = [
            s
            for s in reversed(self.orders.settlements)
            if (ticker is None or s["ticker"] == ticker)
            and (event_ticker is None or s["event_ticker"] == event_ticker)
        ]
        settlements, next_cursor = page(chosen, limit, cursor, lambda s: str(s["ticker"]))
        return {"settlements": settlements, "cursor": next_cursor}
