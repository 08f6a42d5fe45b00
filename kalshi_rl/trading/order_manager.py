"""``OrderManager``: the paper client's orders and fills, and how they meet the live book.

The rules are described in ``paper_client``'s module docstring (admission, taker fills after
latency, maker fills when the book trades through a resting order, collateral). Changes to a
resting order are ``order_changes``; what a market's lifecycle does to its orders is
``order_lifecycle``. Everything here is synchronous: a change is applied completely between two
awaits, so the watcher and order requests never see half an update.

**Self-trade prevention.** The paper account is one user, so an order crosses "another order
from the same user" when its limit reaches one of our own resting orders on the other side
(Kalshi's book holds them; the live book we read does not). The taker walks the live book up
to the price of the first such order; if it still wants more there, Kalshi's documented
``self_trade_prevention_type`` decides (OpenAPI 3.31.0): ``taker_at_cross`` "cancels the taker
order ...; execution stops and any partial fills already matched are executed"; ``maker``
"cancels the resting maker order and continues matching". Our resting order is taken to be
first in its price level's queue, so the cross happens as soon as the walk reaches its price.
Either cancel carries ``last_update_reason`` ``SelfTradeCancel``.

**Post-only.** A post-only order that would take liquidity (the live book or one of our own
resting orders) is canceled on arrival with ``PostOnlyCrossCancel`` (AsyncAPI 2.0.0
``lastUpdateReason``); the create still answers 201, with nothing filled or remaining.

**Reduce-only.** "The order place count [is] capped by the member's current position" (OpenAPI);
a capped order carries ``ReduceOnlyCancel`` ("reduce_only capped the order at placement").
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from kalshi_rl.core.events import Level, Side
from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.data.book.orderbook_state import OrderbookState
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.execution.fill_engine import FillEngine
from kalshi_rl.trading.market_rules import check_price, check_tradable, exchange_index_of
from kalshi_rl.trading.order_events import OrderEvents
from kalshi_rl.trading.order_requests import OrderRequest
from kalshi_rl.trading.orders import (
    KalshiApiError,
    PaperFill,
    PaperOrder,
    invalid_order,
    not_found,
)
from kalshi_rl.trading.portfolio import Commitment, Portfolio


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
        self._resting: dict[str, PaperOrder] = {}  # the open orders, in the order they came to rest
        self.fills: list[PaperFill] = []
        self.client_ids: set[str] = set()  # never freed, like Kalshi's
        self.settled: set[str] = set()
        self.settlements: list[dict[str, Any]] = []  # Kalshi's Settlement records, oldest first

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
        """The resting orders (of ``ticker``), oldest first; kept apart so that a long session's
        closed orders cost nothing here."""
        return [o for o in self._resting.values() if ticker is None or o.ticker == ticker]

    # -- admission -------------------------------------------------------------------------

    def admit(self, request: OrderRequest, now_ns: int) -> tuple[str, str]:
        """Check ``request`` against the market and the account; reserve its worst case.

        Returns the new order id and the client order id (registered: a duplicate is a 409).
        """
        shared = self.book(request.ticker)
        shard = exchange_index_of(shared)
        if request.exchange_index not in (None, -1, shard):
            raise not_found(f"market {request.ticker} is not on exchange shard {request.exchange_index}")
        check_tradable(shared, now_ns)
        if request.order_type == "limit":  # a market order's cap is not a quoted price
            yes = request.limit_ticks if request.outcome is Side.YES else PRICE_SCALE - request.limit_ticks
            check_price(shared, yes)
        if request.expiration_time is not None and request.expiration_time * 1_000_000_000 <= now_ns:
            raise invalid_order(f"expiration_time {request.expiration_time} is not in the future")
        client_order_id = request.client_order_id or str(uuid.uuid4())
        if client_order_id in self.client_ids:
            raise KalshiApiError(
                409, "order_already_exists", f"client_order_id {client_order_id!r} was already used"
            )
        order_id = str(uuid.uuid4())
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
        check_tradable(shared, now_ns)
        order = PaperOrder.new(order_id, client_order_id, request, now_ns, exchange_index_of(shared))
        self.all[order_id] = order
        self.stats.orders_accepted += 1
        reason = None
        if request.reduce_only:
            held = self.portfolio.ledger(order.ticker).held(order.outcome.opposite)
            if held < order.remaining_units:
                order.remaining_units = held
                reason = "ReduceOnlyCancel"
        fills: list[PaperFill] = []
        if request.post_only and self.would_take(order, shared.state, now_ns):
            reason = "PostOnlyCrossCancel"
        else:
            fills, stopped = self.take(order, shared.state, now_ns)
            reason = stopped or reason
        self.finish(order, request.time_in_force == "good_till_canceled", reason, now_ns)
        self.publish(order, fills)
        return order

    # -- taker path ------------------------------------------------------------------------

    def _asks(self, state: OrderbookState, outcome: Side, limit_ticks: int) -> list[Level]:
        asks = state.top_asks(outcome, self.engine.config.max_levels)
        return [level for level in asks if level[0] <= limit_ticks]

    def available(self, state: OrderbookState, outcome: Side, limit_ticks: int, now_ns: int) -> int:
        """Units a taker could buy now up to ``limit_ticks`` (displayed minus what we took)."""
        if state.stale:
            return 0
        asks = self._asks(state, outcome, limit_ticks)
        return sum(size for _, size in self.engine.available(outcome, asks, now_ns))

    def own_crosses(self, order: PaperOrder) -> dict[int, list[PaperOrder]]:
        """Our resting orders ``order`` would trade against, by their price in its frame."""
        crosses: dict[int, list[PaperOrder]] = defaultdict(list)
        opposite = order.outcome.opposite
        reach = PRICE_SCALE - order.limit_ticks  # the lowest limit of ours its own limit meets
        for other in self.open(order.ticker):
            if other.request.outcome is opposite and other.limit_ticks >= reach and other is not order:
                crosses[PRICE_SCALE - other.limit_ticks].append(other)  # what it asks of us
        return crosses

    def would_take(self, order: PaperOrder, state: OrderbookState, now_ns: int) -> bool:
        """Would ``order`` take liquidity (the live book's or one of our own orders)?"""
        return (
            bool(self.own_crosses(order))
            or self.available(state, order.outcome, order.limit_ticks, now_ns) > 0
        )

    def take(
        self, order: PaperOrder, state: OrderbookState, now_ns: int
    ) -> tuple[list[PaperFill], str | None]:
        """Execute ``order`` as a taker; return its fills and why self-trade prevention
        stopped it, if it did (see the module docstring)."""
        if order.remaining_units == 0 or state.stale:
            return [], None
        crosses = self.own_crosses(order)
        at_cross = order.request.self_trade_prevention_type == "taker_at_cross"
        if order.request.time_in_force == "fill_or_kill":
            reach = min(crosses) - 1 if crosses and at_cross else order.limit_ticks
            if self.available(state, order.outcome, reach, now_ns) < order.remaining_units:
                return [], None
        fills: list[PaperFill] = []
        for cross in sorted(crosses):
            fills += self._walk(order, state, cross - 1, now_ns)
            if order.remaining_units == 0:
                return fills, None
            if at_cross:
                return fills, "SelfTradeCancel"
            for resting in crosses[cross]:
                self.cancel(resting, now_ns, "SelfTradeCancel")
        return fills + self._walk(order, state, order.limit_ticks, now_ns), None

    def _walk(self, order: PaperOrder, state: OrderbookState, cap_ticks: int, now_ns: int) -> list[PaperFill]:
        """Take the live book's asks up to ``cap_ticks`` for what ``order`` still wants."""
        if cap_ticks <= 0 or order.remaining_units == 0:
            return []
        asks = state.top_asks(order.outcome, self.engine.config.max_levels)
        fees = self.portfolio.fee_model(order.ticker)
        taken = self.engine.buy(order.outcome, order.remaining_units, asks, now_ns, cap_ticks, fees=fees)
        return [self._fill(order, price, units, fee, True, now_ns) for price, units, fee in taken.levels]

    def _fill(
        self, order: PaperOrder, price: int, units: int, trade_fee_micro: int, is_taker: bool, now_ns: int
    ) -> PaperFill:
        """Book one match of ``order`` (its trade fee computed by the market's fee model)."""
        charged = self.portfolio.record_fill(
            order.order_id, order.ticker, order.outcome, units, price, trade_fee_micro, now_ns
        )
        fee = charged.net_fee_micro
        order.filled_units += units
        order.remaining_units -= units
        order.updated_ns = now_ns
        order.last_update_reason = "Trade"
        if is_taker:
            order.taker_cost_micro += price * units
            order.taker_fee_micro += fee
            self.stats.taker_fills += 1
        else:
            order.maker_cost_micro += price * units
            order.maker_fee_micro += fee
            self.stats.maker_fills += 1
        position = self.portfolio.ledger(order.ticker).position_units
        ids = (str(uuid.uuid4()), order.order_id, order.ticker, order.outcome)
        fill = PaperFill(*ids, units, price, fee, is_taker, now_ns, position, order.exchange_index)
        self.fills.append(fill)
        return fill

    def finish(self, order: PaperOrder, can_rest: bool, cancel_reason: str | None, now_ns: int) -> None:
        """Settle the order's status after a match: resting, executed, or canceled."""
        if cancel_reason is None and order.remaining_units and can_rest:
            order.status = "resting"
            self._resting[order.order_id] = order
            claim = Commitment(
                order.ticker, order.outcome, order.remaining_units, order.limit_ticks, resting=True
            )
            self.portfolio.commit(order.order_id, claim)
            return
        if cancel_reason is None and order.remaining_units == 0:
            order.close("executed", order.last_update_reason, now_ns)
        else:
            order.close("canceled", cancel_reason or order.last_update_reason, now_ns)
        self._resting.pop(order.order_id, None)
        self.portfolio.release(order.order_id)

    # -- maker path ------------------------------------------------------------------------

    def match_resting(self, ticker: str, now_ns: int) -> None:
        """Fill the resting orders of ``ticker`` that the book now trades through (oldest first)."""
        state = self.book(ticker).state
        if state.stale:
            return
        for order in self.open(ticker):
            best = state.best_yes_ask if order.outcome is Side.YES else state.best_no_ask
            if best is None or best > order.limit_ticks:
                continue
            asks = self._asks(state, order.outcome, order.limit_ticks)
            fees = self.portfolio.fee_model(ticker)
            taken = self.engine.buy(
                order.outcome, order.remaining_units, asks, now_ns, order.limit_ticks, fees=fees
            )
            if not taken.filled_units:
                continue
            fee = fees.trade_fee_micro(taken.filled_units, order.limit_ticks, False)
            fill = self._fill(order, order.limit_ticks, taken.filled_units, fee, False, now_ns)
            self.finish(order, True, None, now_ns)
            self.publish(order, [fill])

    # -- cancels and messages --------------------------------------------------------------

    def cancel(self, order: PaperOrder, now_ns: int, reason: str | None = None) -> None:
        """Cancel a resting order (``reason``: Kalshi's ``last_update_reason``, if any)."""
        order.close("canceled", reason, now_ns)
        self._resting.pop(order.order_id, None)
        self.portfolio.release(order.order_id)
        self.stats.cancels += 1
        self.publish(order, [])

    def cancel_all(self, ticker: str | None, now_ns: int, reason: str | None = None) -> int:
        """Cancel every resting order (of ``ticker``); return how many."""
        orders = self.open(ticker)
        for order in orders:
            self.cancel(order, now_ns, reason)
        return len(orders)

    def publish(self, order: PaperOrder, fills: list[PaperFill]) -> None:
        wanted = fills and self.events.streams
        position = self.portfolio.position_message(order.ticker, self.events.user_id) if wanted else None
        self.events.order_changed(order, fills, position)
