"""``KalshiPaperTradingClient``: Kalshi's order and portfolio API, filled against the live book.

Requests are checked the way Kalshi checks them (``order_requests``, ``market_rules``); a
refused request raises ``KalshiApiError`` (Kalshi's status, code and error body) and changes
nothing. An accepted order waits a seeded latency in event time, is checked again (the market
may have closed or paused), then executes as a taker against the live shared book through the
one ``FillEngine`` the training env uses: a depth walk bounded by the limit and ``max_levels``,
partial fills, Kalshi's taker fee per level, and memory of the liquidity it took. What is left
is canceled (immediate_or_cancel, market), or, for fill_or_kill, nothing fills unless everything
can; a good_till_canceled remainder rests. A stale book (no snapshot yet, or a sequence gap
being resynced) shows no liquidity: nothing fills on it. Self-trade prevention, post-only and
reduce-only are ``order_manager``'s; expiry, pauses, closes and settlement ``order_lifecycle``'s.

**Maker fills.** A resting order to buy a side up to ``p`` (in that side's frame) fills when
the book trades through it: on each update of the book, if that side's best ask is at or
below ``p``, the order fills min(remaining, the size displayed at or below ``p`` minus what this
client already took there) at ``p`` itself, as a maker (zero fee unless the series charges
maker fees). Resting orders are matched oldest first and share the taken-liquidity memory with
takers, so a displayed lot is not filled twice while that memory lasts (``restore_ms`` of event
time). Queue position is not modelled. Cancel, amend and decrease act at once (no latency).

**Collateral.** Buying costs price × count + fee. Every open order reserves its worst case
(``Portfolio``); an order whose worst case exceeds the available balance is refused with
``insufficient_balance``.

Every order change is upserted to ``rl_orders`` and every fill inserted into ``rl_fills`` through
``OrderWriteQueue`` (never awaited), and published to user streams in Kalshi's WS shapes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from typing import Any

from kalshi_rl.core.errors import LiveModeRefusedError
from kalshi_rl.core.events import Side
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.sql_queue import OrderWriteQueue
from kalshi_rl.execution.fill_engine import FillConfig, FillEngine
from kalshi_rl.execution.position import PositionLedger
from kalshi_rl.trading import kalshi_shapes as shapes
from kalshi_rl.trading import order_changes, order_lifecycle
from kalshi_rl.trading.order_events import OrderEvents
from kalshi_rl.trading.order_manager import OrderManager, PaperStats
from kalshi_rl.trading.order_requests import OrderRequest, parse_cancel_item, parse_order, parse_v2_body
from kalshi_rl.trading.orders import KalshiApiError, invalid_parameters
from kalshi_rl.trading.paper_reads import PaperReads
from kalshi_rl.trading.portfolio import Portfolio
from kalshi_rl.trading.rest_limits import CANCEL_COST, TIERS, RateLimiter

logger = logging.getLogger(__name__)

TRADING_MODES = ("paper", "live")
PAPER_USER_ID = "5a7e0d3c-3a4e-4b8f-9b1e-0c6a1f2d9e47"
"""The paper account's user id (Kalshi's ``user_order.user_id`` is a UUID)."""
Count = int | Decimal | str
Price = str | int | Decimal


@dataclass(frozen=True)
class PaperConfig:
    """The paper account and its fill model (``fill``'s own latency is replaced by ours)."""

    starting_balance_dollars: Decimal = Decimal(1_000)
    latency_min_ms: float = 10.0
    latency_max_ms: float = 100.0
    fill: FillConfig = field(default_factory=FillConfig)
    seed: int = 0
    user_id: str = PAPER_USER_ID
    watch_interval_s: float = 1.0  # the watcher also wakes this often to notice a close time
    rate_limit_tier: str | None = None  # Kalshi's usage tier to enforce (rest_limits); None: off

    def __post_init__(self) -> None:
        micro = Decimal(self.starting_balance_dollars).scaleb(6)
        if micro < 0 or micro != micro.to_integral_value():
            raise ValueError(f"starting balance must be >= 0 dollars, exact to $0.000001, got {micro}")
        if self.rate_limit_tier is not None and self.rate_limit_tier not in TIERS:
            raise ValueError(
                f"rate_limit_tier must be one of {', '.join(TIERS)}, got {self.rate_limit_tier!r}"
            )
        self.fill_config()  # validates the latency range

    @property
    def starting_balance_micro(self) -> int:
        return int(Decimal(self.starting_balance_dollars).scaleb(6))

    def fill_config(self) -> FillConfig:
        return replace(self.fill, latency_min_ms=self.latency_min_ms, latency_max_ms=self.latency_max_ms)


class KalshiPaperTradingClient(PaperReads):
    """Paper trading with Kalshi's current REST shapes; see the module docstring."""

    def __init__(
        self,
        books: dict[str, SharedOrderbookState],
        config: PaperConfig | None = None,
        order_queue: OrderWriteQueue | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.books = books
        self.config = config or PaperConfig()
        self.clock_ns = clock_ns
        fill = self.config.fill_config()
        self.engine = FillEngine(fill, seed=self.config.seed)
        self.portfolio = Portfolio(
            self.config.starting_balance_micro, fill.fees, books, slack_matches=fill.max_levels + 2
        )
        self.events = OrderEvents(order_queue, self.config.user_id)
        self.orders = OrderManager(books, self.engine, self.portfolio, self.events)
        tier = self.config.rate_limit_tier
        self.rate_limiter = RateLimiter(TIERS[tier], clock_ns) if tier else None
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._follower: asyncio.Task[None] | None = None

    @property
    def stats(self) -> PaperStats:
        return self.orders.stats

    def _begin(self, write: bool, tokens: int = 10) -> int:
        """Start a request: pay its tokens (429 if the tier's budget cannot), expire what is due."""
        if self.rate_limiter is not None:
            self.rate_limiter.spend(write, tokens)
        now = self.clock_ns()
        order_lifecycle.expire(self.orders, now)
        return now

    # -- orders ----------------------------------------------------------------------------

    async def create_order(
        self,
        market_ticker: str,
        side: str,
        order_type: str,
        quantity: Count,
        price: Price | None = None,
        *,
        action: str = "buy",
        time_in_force: str | None = None,
        client_order_id: str | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        self_trade_prevention_type: str = "taker_at_cross",
        expiration_time: int | None = None,
        cancel_order_on_pause: bool = False,
    ) -> dict[str, Any]:
        """Create an order in the spec's form (``price`` in ``side``'s frame; a market order is
        capped at $0.9999): the V2 request it stands for, with ``taker_at_cross`` unless told."""
        options: dict[str, Any] = {"action": action, "time_in_force": time_in_force}
        options.update(client_order_id=client_order_id, reduce_only=reduce_only, post_only=post_only)
        options.update(self_trade_prevention_type=self_trade_prevention_type)
        options.update(expiration_time=expiration_time, cancel_order_on_pause=cancel_order_on_pause)
        return await self._submit(
            lambda: parse_order(market_ticker, side, order_type, quantity, price, **options)
        )

    async def create_order_v2(
        self,
        ticker: str,
        side: str,
        count: str,
        price: str,
        time_in_force: str,
        self_trade_prevention_type: str,
        client_order_id: str | None = None,
        *,
        post_only: bool | None = None,
        reduce_only: bool | None = None,
        expiration_time: int | None = None,
        cancel_order_on_pause: bool | None = None,
        subaccount: int | None = None,
        order_group_id: str | None = None,
        exchange_index: int | None = None,
    ) -> dict[str, Any]:
        """``POST /portfolio/events/orders`` with these fields (None: left out of the body)."""
        fields: dict[str, object] = {
            "ticker": ticker,
            "side": side,
            "count": count,
            "price": price,
            "time_in_force": time_in_force,
            "self_trade_prevention_type": self_trade_prevention_type,
            "client_order_id": client_order_id,
            "post_only": post_only,
            "reduce_only": reduce_only,
            "expiration_time": expiration_time,
            "cancel_order_on_pause": cancel_order_on_pause,
            "subaccount": subaccount,
            "order_group_id": order_group_id,
            "exchange_index": exchange_index,
        }
        return await self.create_order_json({k: v for k, v in fields.items() if v is not None})

    async def create_order_json(self, body: object) -> dict[str, Any]:
        """``POST /portfolio/events/orders`` with a ``CreateOrderV2Request`` JSON object."""
        return await self._submit(lambda: parse_v2_body(body))

    async def _submit(self, parse: Callable[[], OrderRequest], tokens: int = 10) -> dict[str, Any]:
        try:
            now = self._begin(True, tokens)
            request = parse()
            order_id, client_order_id = self.orders.admit(request, now)
        except KalshiApiError:
            self.stats.orders_rejected += 1
            raise
        try:
            latency_ns = self.engine.latency_ns()
            if latency_ns:
                await asyncio.sleep(latency_ns / 1e9)
            order = self.orders.arrive(order_id, client_order_id, request, self.clock_ns())
        except BaseException as exc:  # refused on arrival, or the caller gave up: undo the admission
            self.orders.abandon(order_id, client_order_id)
            if isinstance(exc, KalshiApiError):
                self.stats.orders_rejected += 1
            raise
        return shapes.ack_json(order, self.clock_ns())

    async def amend_order(self, order_id: str, new_quantity: Count, new_price: Price) -> dict[str, Any]:
        """Amend a resting order: ``new_quantity`` is its new total (filled + remaining) and
        ``new_price`` is in the order side's frame. Returns ``AmendOrderV2Response``."""
        now = self._begin(True)
        return order_changes.amend(self.orders, order_id, new_quantity, new_price, now)

    async def amend_order_v2(self, order_id: str, body: object) -> dict[str, Any]:
        """``POST /portfolio/events/orders/{order_id}/amend`` with an ``AmendOrderV2Request``."""
        now = self._begin(True)
        return order_changes.amend_v2(self.orders, order_id, body, now)

    async def decrease_order(
        self, order_id: str, reduce_by: Count | None = None, reduce_to: Count | None = None
    ) -> dict[str, Any]:
        """Reduce a resting order by ``reduce_by`` or to ``reduce_to`` contracts (exactly one)."""
        now = self._begin(True)
        return order_changes.decrease(self.orders, order_id, reduce_by, reduce_to, now)

    async def cancel_order(self, order_id: str) -> dict[str, Any]:
        """Cancel a resting order; 404 ``not_found`` if unknown, canceled or executed."""
        return self._cancel(order_id, self._begin(True, CANCEL_COST))

    def _cancel(self, order_id: str, now_ns: int) -> dict[str, Any]:
        order = self.orders.resting(order_id)
        reduced = order.remaining_units
        self.orders.cancel(order, now_ns)
        return shapes.cancel_json(order, reduced, now_ns)

    async def cancel_all_orders(self) -> None:
        """``DELETE /portfolio/events/orders``: cancel every resting order (Kalshi answers 204)."""
        self.orders.cancel_all(None, self._begin(True, CANCEL_COST))

    async def batch_create_orders(self, orders: object) -> dict[str, Any]:
        """``POST .../orders/batched``: V2 requests; each entry answers for itself (an ack, or
        ``{client_order_id?, error}``); the whole batch pays 10 tokens per order up front."""
        if not isinstance(orders, list):
            raise invalid_parameters("orders must be a list of CreateOrderV2Request objects")
        self._begin(True, 10 * len(orders))

        async def one(item: object) -> dict[str, Any]:
            try:
                return shapes.batch_create_entry(await self._submit(lambda: parse_v2_body(item), tokens=0))
            except KalshiApiError as exc:
                cid = item.get("client_order_id") if isinstance(item, dict) else None
                return shapes.batch_create_error(cid, exc)

        return {"orders": list(await asyncio.gather(*(one(item) for item in orders)))}

    async def batch_cancel_orders(self, orders: object) -> dict[str, Any]:
        """``DELETE .../orders/batched``: ``[{order_id, ...}]``; each entry answers for itself
        (``reduced_by`` 0 and an ``error`` when it failed); 2 tokens per order."""
        if not isinstance(orders, list):
            raise invalid_parameters("orders must be a list of {order_id} objects")
        now = self._begin(True, CANCEL_COST * len(orders))
        answers = []
        for item in orders:
            order_id = item.get("order_id") if isinstance(item, dict) else None
            try:
                answers.append(self._cancel(parse_cancel_item(item), now))
            except KalshiApiError as exc:
                answers.append(shapes.batch_cancel_error(str(order_id or ""), exc))
        return {"orders": answers}

    def ledger(self, market_ticker: str) -> PositionLedger:
        """The exact position ledger of one market (what the actor reads)."""
        return self.portfolio.ledger(market_ticker)

    def _best_bid(self, ticker: str, side: Side) -> int | None:
        state = self.books[ticker].state
        return state.best_yes_bid if side is Side.YES else state.best_no_bid

    # -- markets, user streams, the watcher ------------------------------------------------

    async def settle_market(self, ticker: str) -> dict[str, Any] | None:
        """Cancel ``ticker``'s resting orders and, if its result is known, settle it (once);
        return the Settlement record, or None if there is nothing (more) to settle."""
        return order_lifecycle.settle(self.orders, ticker, self.clock_ns())

    def check_market(self, ticker: str) -> None:
        """Expire, match resting orders against ``ticker``'s book, or react to its lifecycle."""
        order_lifecycle.check_market(self.orders, ticker, self.clock_ns())

    def subscribe_user_stream(self, maxsize: int = 1_000) -> asyncio.Queue[dict[str, Any]]:
        """A queue of ``fill``/``user_order``/``market_position`` messages in Kalshi's WS shapes;
        when it is full the oldest message is dropped (the client never waits for a reader)."""
        return self.events.streams.subscribe(maxsize)

    def unsubscribe_user_stream(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.events.streams.unsubscribe(queue)

    async def start(self) -> None:
        """Start watching every book (resting-order fills, expiries, pauses, closes, settlements),
        and every book added to ``books`` later (a series' next market) within a watch interval."""
        if self._follower is not None:
            return
        self._watch_new_books()
        self._follower = asyncio.create_task(self._follow_books(), name="paper-follow-books")
        self._follower.add_done_callback(_report_crash)

    def _watch_new_books(self) -> None:
        for ticker, shared in list(self.books.items()):
            if ticker not in self._watchers and ticker not in self.orders.settled:
                task = asyncio.create_task(self._watch(ticker, shared), name=f"paper-watch-{ticker}")
                task.add_done_callback(_report_crash)
                task.add_done_callback(partial(self._forget_watcher, ticker))  # memory stays bounded
                self._watchers[ticker] = task

    def _forget_watcher(self, ticker: str, _: asyncio.Task[None]) -> None:
        self._watchers.pop(ticker, None)

    async def _follow_books(self) -> None:
        while True:
            await asyncio.sleep(self.config.watch_interval_s)
            self._watch_new_books()

    def _wake_after_s(self, ticker: str) -> float:
        """How long the watcher may sleep: its interval, or until the next expiry if sooner."""
        expiry = order_lifecycle.next_expiry_ns(self.orders, ticker)
        if expiry is None:
            return self.config.watch_interval_s
        return max(0.0, min(self.config.watch_interval_s, (expiry - self.clock_ns()) / 1e9))

    async def _watch(self, ticker: str, shared: SharedOrderbookState) -> None:
        subscription = shared.subscribe()
        try:
            while ticker not in self.orders.settled:
                if await subscription.wait(self._wake_after_s(ticker)):
                    subscription.mark_seen()  # check_market reads the live book itself
                try:
                    self.check_market(ticker)
                except Exception:  # one bad update must not stop the fills of the others
                    self.stats.watcher_errors += 1
                    logger.exception("paper watcher of %s failed on an update", ticker)
        finally:
            subscription.close()

    async def close(self) -> None:
        """Stop the watchers (orders and positions stay as they are)."""
        tasks = [*self._watchers.values(), *([self._follower] if self._follower else [])]
        self._follower = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watchers.clear()


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("paper watcher %s stopped", task.get_name(), exc_info=task.exception())


def create_trading_client(
    mode: str,
    config: PaperConfig | None = None,
    *,
    books: dict[str, SharedOrderbookState] | None = None,
    order_queue: OrderWriteQueue | None = None,
    clock_ns: Callable[[], int] = time.time_ns,
) -> KalshiPaperTradingClient:
    """Return the trading client for ``mode``: "paper" only; "live" is refused."""
    if mode == "paper":
        return KalshiPaperTradingClient(books if books is not None else {}, config, order_queue, clock_ns)
    if mode == "live":
        raise LiveModeRefusedError("create_trading_client")
    raise ValueError(
        f"unknown trading mode {mode!r}: expected one of {', '.join(TRADING_MODES)} (live is refused)"
    )
