"""``OrderManager``: the paper client's orders and fills, and how they meet the live book.

The rules are described in ``paper_client``'s module docstring (admission, taker fills after
latency, maker fills when the book trades through a resting order, collateral, closes and
settlement). Everything here is synchronous: a change is applied completely between two awaits,
so the watcher and order requests never see half an update.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from kalshi_rl.core.events import Level, Side
from kalshi_rl.core.units import PRICE_SCALE, format_count, format_price
from kalshi_rl.data.orderbook_state import OrderbookState
from kalshi_rl.data.shared_state import SharedOrderbookState
from kalshi_rl.execution.fill_engine import FillEngine
from kalshi_rl.trading.kalshi_shapes import OrderEvents
from kalshi_rl.trading.orders import (
    KalshiApiError,
    OrderRequest,
    PaperFill,
    PaperOrder,
    invalid_order,
    invalid_price,
    not_found,
    parse_count,
    parse_price,
)
from kalshi_rl.trading.portfolio import Commitment, Portfolio, check_open, settlement_of


@dataclass
class PaperStats:
    """Counters (for tests, metrics and the API)."""

    orders_accepted: int = 0
    orders_rejected: int = 0
    taker_fills: int = 0
    maker_fills: int = 0
    cancels: int = 0
    settlements: int = 0
    watcher_errors: int = 0


class OrderManager:
    """Holds every order and fill of one paper client and executes them on the live books."""

    def __init__(
        self,
        books: dict[str, SharedOrderbookState],
        engine: FillEngine,
        portfolio: Portfolio,
        events: OrderEvents,
    ) -> None:
        self.books = books
        self.engine = engine
        self.portfolio = portfolio
        self.events = events
        self.stats = PaperStats()
        self.all: dict[str, PaperOrder] = {}  # creation order
        self.fills: list[PaperFill] = []
        self.client_ids: set[str] = set()  # never freed, like Kalshi's
        self.settled: set[str] = set()

    # -- lookups ---------------------------------------------------------------------------

    def book(self, ticker: str) -> SharedOrderbookState:
        shared = self.books.get(ticker)
        if shared is None:
            raise not_found(
                f"market {ticker!r} is not one of the {len(self.books)} markets this client trades"
            )
        return shared

    def get(self, order_id: str) -> PaperOrder:
        order = self.all.get(order_id)
        if order is None:
            raise not_found(f"no order {order_id!r}")
        return order

    def resting(self, order_id: str) -> PaperOrder:
        """The order, if it can still be changed (Kalshi answers 404 for a closed order)."""
        order = self.get(order_id)
        if order.status != "resting":
            raise not_found(f"order {order_id} is {order.status}; only resting orders can be changed")
        return order

    def open(self, ticker: str | None = None) -> list[PaperOrder]:
        return [
            o for o in self.all.values() if o.status == "resting" and (ticker is None or o.ticker == ticker)
        ]

    # -- checks ----------------------------------------------------------------------------

    def check_price(
        self, shared: SharedOrderbookState, outcome: Side, limit_ticks: int, order_type: str
    ) -> None:
        """Refuse a limit price off the market's price grid (a market order's cap is exempt)."""
        if order_type == "market":
            return
        yes = limit_ticks if outcome is Side.YES else PRICE_SCALE - limit_ticks
        info = shared.status.info
        if info is not None and not info.is_valid_price(yes):
            raise invalid_price(
                f"YES price {format_price(yes)} is not on {shared.market_ticker}'s price grid"
            )

    def _available(self, state: OrderbookState, outcome: Side, limit_ticks: int, now_ns: int) -> int:
        """Units a taker could buy now up to ``limit_ticks`` (displayed minus what we took)."""
        if state.stale:
            return 0
        return sum(
            size
            for _, size in self.engine.available(outcome, self._asks(state, outcome, limit_ticks), now_ns)
        )

    def _asks(self, state: OrderbookState, outcome: Side, limit_ticks: int) -> list[Level]:
        asks = state.top_asks(outcome, self.engine.config.max_levels)
        return [level for level in asks if level[0] <= limit_ticks]

    def _check_post_only(
        self, shared: SharedOrderbookState, outcome: Side, limit_ticks: int, now_ns: int
    ) -> None:
        if self._available(shared.state, outcome, limit_ticks, now_ns) > 0:
            raise invalid_order(
                f"post only cross: a {outcome.value} ask is at or below {format_price(limit_ticks)}"
            )

    # -- taker path ------------------------------------------------------------------------

    def admit(self, request: OrderRequest, now_ns: int) -> tuple[str, str]:
        """Check ``request`` against the market, the account and the book; reserve its worst case.

        Returns the new order id and the client order id (registered: a duplicate is a 409).
        """
        shared = self.book(request.ticker)
        check_open(shared, now_ns)
        self.check_price(shared, request.outcome, request.limit_ticks, request.order_type)
        client_order_id = request.client_order_id or str(uuid.uuid4())
        if client_order_id in self.client_ids:
            raise KalshiApiError(
                409, "order_already_exists", f"client_order_id {client_order_id!r} was already used"
            )
        order_id = str(uuid.uuid4())
        if request.reduce_only:
            self.portfolio.check_reduce_only(request.ticker, request.outcome, request.units)
        if request.post_only:
            self._check_post_only(shared, request.outcome, request.limit_ticks, now_ns)
        self.portfolio.reserve(
            order_id, Commitment(request.ticker, request.outcome, request.units, request.limit_ticks)
        )
        self.client_ids.add(client_order_id)
        return order_id, client_order_id

    def abandon(self, order_id: str, client_order_id: str) -> None:
        """Undo an admission whose order never arrived (refused on arrival, or given up)."""
        self.portfolio.release(order_id)
        self.client_ids.discard(client_order_id)

    def arrive(self, order_id: str, client_order_id: str, request: OrderRequest, now_ns: int) -> PaperOrder:
        """The order reaches the (simulated) exchange after its latency: execute it."""
        shared = self.book(request.ticker)
        check_open(shared, now_ns)
        if request.post_only:
            self._check_post_only(shared, request.outcome, request.limit_ticks, now_ns)
        order = self.all[order_id] = PaperOrder.new(order_id, client_order_id, request, now_ns)
        self.stats.orders_accepted += 1
        fills = self._take(order, shared.state, now_ns)
        self._finish(order, request.time_in_force == "good_till_canceled")
        self._publish(order, fills)
        return order

    def _wanted(self, order: PaperOrder) -> int:
        """What the order may still buy (a reduce-only order never more than it closes)."""
        if not order.request.reduce_only:
            return order.remaining_units
        return min(order.remaining_units, self.portfolio.ledger(order.ticker).held(order.outcome.opposite))

    def _take(self, order: PaperOrder, state: OrderbookState, now_ns: int) -> list[PaperFill]:
        want = self._wanted(order)
        if want == 0 or state.stale:
            return []
        if order.request.time_in_force == "fill_or_kill" and (
            want < order.remaining_units
            or self._available(state, order.outcome, order.limit_ticks, now_ns) < want
        ):
            return []
        asks = state.top_asks(order.outcome, self.engine.config.max_levels)
        taken = self.engine.buy(order.outcome, want, asks, now_ns, order.limit_ticks)
        return [self._fill(order, price, units, fee, True, now_ns) for price, units, fee in taken.levels]

    def _fill(
        self, order: PaperOrder, price: int, units: int, fee: int, is_taker: bool, now_ns: int
    ) -> PaperFill:
        self.portfolio.record_fill(order.order_id, order.ticker, order.outcome, units, price, fee, now_ns)
        order.rounding_fee_micro = self.portfolio.rounding_micro(order.order_id)
        order.filled_units += units
        order.remaining_units -= units
        order.updated_ns = now_ns
        if is_taker:
            order.taker_cost_micro += price * units
            order.taker_fee_ticks += fee
            self.stats.taker_fills += 1
        else:
            order.maker_cost_micro += price * units
            order.maker_fee_ticks += fee
            self.stats.maker_fills += 1
        position = self.portfolio.ledger(order.ticker).position_units
        ids = (str(uuid.uuid4()), order.order_id, order.ticker, order.outcome)
        fill = PaperFill(*ids, units, price, fee, is_taker, now_ns, position)
        self.fills.append(fill)
        return fill

    def _finish(self, order: PaperOrder, can_rest: bool) -> None:
        """Settle the order's status after a match: executed, resting, or canceled."""
        if order.remaining_units and can_rest:
            order.status = "resting"
            claim = Commitment(
                order.ticker, order.outcome, order.remaining_units, order.limit_ticks, resting=True
            )
            self.portfolio.commit(order.order_id, claim)
            return
        order.status = "executed" if order.remaining_units == 0 else "canceled"
        order.remaining_units = 0
        self.portfolio.release(order.order_id)

    # -- maker path ------------------------------------------------------------------------

    def match_resting(self, ticker: str, now_ns: int) -> None:
        """Fill the resting orders of ``ticker`` that the book now trades through (oldest first)."""
        state = self.book(ticker).state
        if state.stale:
            return
        for order in self.open(ticker):
            want = self._wanted(order)
            if want == 0:  # a reduce-only order with nothing left to reduce
                self.cancel(order, now_ns)
                continue
            best = state.best_yes_ask if order.outcome is Side.YES else state.best_no_ask
            if best is None or best > order.limit_ticks:
                continue
            asks = self._asks(state, order.outcome, order.limit_ticks)
            taken = self.engine.buy(order.outcome, want, asks, now_ns, order.limit_ticks)
            if not taken.filled_units:
                continue
            fee = self.portfolio.fees.fee_ticks(taken.filled_units, order.limit_ticks, taker=False)
            fill = self._fill(order, order.limit_ticks, taken.filled_units, fee, False, now_ns)
            self._finish(order, can_rest=True)
            self._publish(order, [fill])

    # -- changes ---------------------------------------------------------------------------

    def cancel(self, order: PaperOrder, now_ns: int) -> None:
        order.status = "canceled"
        order.remaining_units = 0
        order.updated_ns = now_ns
        self.portfolio.release(order.order_id)
        self.stats.cancels += 1
        self._publish(order, [])

    def cancel_all(self, ticker: str, now_ns: int) -> None:
        for order in self.open(ticker):
            self.cancel(order, now_ns)

    def amend(self, order_id: str, new_quantity: object, new_price: object, now_ns: int) -> PaperOrder:
        """Change a resting order's total count and price (side frame); nothing changes on error."""
        order = self.resting(order_id)
        shared = self.book(order.ticker)
        check_open(shared, now_ns)
        total = parse_count(new_quantity)
        if total <= order.filled_units:
            raise invalid_order(
                f"amended count {format_count(total)} must exceed the {format_count(order.filled_units)} already filled"
            )
        side_ticks = parse_price(new_price)
        limit = side_ticks if order.request.action == "buy" else PRICE_SCALE - side_ticks
        self.check_price(shared, order.outcome, limit, "limit")
        remaining = total - order.filled_units
        if order.request.reduce_only:
            self.portfolio.check_reduce_only(order.ticker, order.outcome, remaining)
        if order.request.post_only:
            self._check_post_only(shared, order.outcome, limit, now_ns)
        self.portfolio.reserve(
            order_id, Commitment(order.ticker, order.outcome, remaining, limit, resting=True)
        )
        order.limit_ticks = limit
        order.remaining_units = remaining
        order.updated_ns = now_ns
        fills = self._take(order, shared.state, now_ns)  # a price that now crosses fills at once
        self._finish(order, can_rest=True)
        self._publish(order, fills)
        return order

    def decrease(self, order_id: str, reduce_by: object, reduce_to: object, now_ns: int) -> PaperOrder:
        """Reduce a resting order (exactly one of ``reduce_by``/``reduce_to``); at 0 it is canceled."""
        order = self.resting(order_id)
        if (reduce_by is None) == (reduce_to is None):
            raise invalid_order("give exactly one of reduce_by and reduce_to")
        if reduce_by is not None:
            remaining = max(0, order.remaining_units - parse_count(reduce_by, "reduce_by"))
        else:
            remaining = parse_count(reduce_to, "reduce_to", allow_zero=True)
            if remaining > order.remaining_units:
                raise invalid_order(
                    f"reduce_to {format_count(remaining)} exceeds the remaining {format_count(order.remaining_units)}"
                )
        if remaining == 0:
            self.cancel(order, now_ns)
            return order
        order.remaining_units = remaining
        order.updated_ns = now_ns
        self.portfolio.commit(
            order_id, Commitment(order.ticker, order.outcome, remaining, order.limit_ticks, resting=True)
        )
        self._publish(order, [])
        return order

    # -- market lifecycle ------------------------------------------------------------------

    def check_market(self, ticker: str, now_ns: int) -> None:
        """React to the current book and status of ``ticker`` (the watcher, on every update)."""
        shared = self.book(ticker)
        if settlement_of(shared.status) is not None:
            self.settle(ticker, now_ns)
            return
        try:
            check_open(shared, now_ns)
        except KalshiApiError:
            self.cancel_all(ticker, now_ns)
            return
        self.match_resting(ticker, now_ns)

    def settle(self, ticker: str, now_ns: int) -> dict[str, Any] | None:
        """Cancel ``ticker``'s resting orders and, once its result is known, settle it (once)."""
        shared = self.book(ticker)
        self.cancel_all(ticker, now_ns)
        settlement = settlement_of(shared.status)
        if settlement is None or ticker in self.settled:
            return None
        self.settled.add(ticker)
        event_ticker = (shared.status.info.event_ticker if shared.status.info else None) or ""
        record = self.portfolio.settle(ticker, *settlement, event_ticker, now_ns)
        self.stats.settlements += 1
        self.events.streams.publish(
            "market_position", self.portfolio.position_message(ticker, self.events.user_id)
        )
        return record

    def _publish(self, order: PaperOrder, fills: list[PaperFill]) -> None:
        wanted = fills and self.events.streams
        position = self.portfolio.position_message(order.ticker, self.events.user_id) if wanted else None
        self.events.order_changed(order, fills, position)
