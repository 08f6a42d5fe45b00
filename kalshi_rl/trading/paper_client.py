"""``KalshiPaperTradingClient``: Kalshi's order and portfolio API, filled against the live book.

Orders are checked the way Kalshi checks them (``orders.py``); a refused order raises
``KalshiApiError`` and changes nothing. An accepted order waits a seeded latency in event time,
is checked again (the market may have closed), then executes as a taker against the live
shared book through the one ``FillEngine`` the training env uses: a depth walk bounded by the
limit and ``max_levels``, partial fills, Kalshi's taker fee per level, and memory of the
liquidity it took. What is left is canceled (immediate_or_cancel, market), or, for
fill_or_kill, nothing fills unless everything can; a good_till_canceled remainder rests. A stale
book (no snapshot yet, or a sequence gap being resynced) shows no liquidity: nothing fills on it.

**Maker fills.** A resting order to buy a side up to ``p`` (in that side's frame) fills when
the book trades through it: on each update of the book, if that side's best ask is at or
below ``p``, the order fills min(remaining, the size displayed at or below ``p`` minus what this
client already took there) at ``p`` itself, as a maker (``FeeModel.fee_ticks(taker=False)``:
zero unless the series charges maker fees). Resting orders are matched oldest first and share
the taken-liquidity memory with takers, so a displayed lot is not filled twice while that
memory lasts (``restore_ms`` of event time). Queue position is not modelled. Cancel, amend and decrease act at once (no latency); an amend whose
new price crosses the book fills as a taker immediately.

**Collateral.** Buying costs price × count + fee. Every open order reserves its worst case
(``Portfolio``); an order whose worst case exceeds the available balance is refused with
``insufficient_balance``.

**Settlement.** When a market closes, its resting orders are canceled; once its result is known
(``determined`` with a settlement value), positions settle at 0/1 through
``PositionLedger.settle`` and a Settlement record is kept.

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
from typing import Any

from kalshi_rl.core.errors import LiveModeRefusedError
from kalshi_rl.core.events import Side
from kalshi_rl.data.shared_state import SharedOrderbookState
from kalshi_rl.data.sql_queue import OrderWriteQueue
from kalshi_rl.execution.fill_engine import FillConfig, FillEngine
from kalshi_rl.execution.position import PositionLedger
from kalshi_rl.trading import kalshi_shapes as shapes
from kalshi_rl.trading.order_manager import OrderManager, PaperStats
from kalshi_rl.trading.orders import (
    KalshiApiError,
    OrderRequest,
    parse_batch_item,
    parse_order,
    parse_v2_order,
)
from kalshi_rl.trading.portfolio import Portfolio

logger = logging.getLogger(__name__)

TRADING_MODES = ("paper", "live")
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
    user_id: str = "paper-user"
    watch_interval_s: float = 1.0  # the watcher also wakes this often to notice a close time

    def __post_init__(self) -> None:
        micro = Decimal(self.starting_balance_dollars).scaleb(6)
        if micro < 0 or micro != micro.to_integral_value():
            raise ValueError(f"starting balance must be >= 0 dollars, exact to $0.000001, got {micro}")
        self.fill_config()  # validates the latency range

    @property
    def starting_balance_micro(self) -> int:
        return int(Decimal(self.starting_balance_dollars).scaleb(6))

    def fill_config(self) -> FillConfig:
        return replace(self.fill, latency_min_ms=self.latency_min_ms, latency_max_ms=self.latency_max_ms)


class KalshiPaperTradingClient:
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
            self.config.starting_balance_micro, fill.fees, slack_ticks=fill.max_levels + 2
        )
        self.events = shapes.OrderEvents(order_queue, self.config.user_id)
        self.orders = OrderManager(books, self.engine, self.portfolio, self.events)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def stats(self) -> PaperStats:
        return self.orders.stats

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
    ) -> dict[str, Any]:
        """Create an order (``price`` in ``side``'s frame); return Kalshi's flat V2 ack."""
        options = {"action": action, "time_in_force": time_in_force, "client_order_id": client_order_id}
        flags = {"reduce_only": reduce_only, "post_only": post_only}
        return await self._submit(
            lambda: parse_order(market_ticker, side, order_type, quantity, price, **options, **flags)
        )

    async def create_order_v2(
        self,
        ticker: str,
        side: str,
        count: Count,
        price: str,
        time_in_force: str,
        client_order_id: str | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> dict[str, Any]:
        """Create a V2 order (``side`` bid|ask, ``price`` the YES price); return the flat ack."""
        args = (ticker, side, count, price, time_in_force, client_order_id, post_only, reduce_only)
        return await self._submit(lambda: parse_v2_order(*args))

    async def _submit(self, parse: Callable[[], OrderRequest]) -> dict[str, Any]:
        try:
            request = parse()
            order_id, client_order_id = self.orders.admit(request, self.clock_ns())
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
        ``new_price`` is in the order side's frame, as Kalshi's amend. Returns the V2 response."""
        order = self.orders.amend(order_id, new_quantity, new_price, self.clock_ns())
        return shapes.ack_json(order, self.clock_ns())

    async def decrease_order(
        self, order_id: str, reduce_by: Count | None = None, reduce_to: Count | None = None
    ) -> dict[str, Any]:
        """Reduce a resting order by ``reduce_by`` or to ``reduce_to`` contracts (exactly one)."""
        order = self.orders.decrease(order_id, reduce_by, reduce_to, self.clock_ns())
        return shapes.decrease_json(order, self.clock_ns())

    async def cancel_order(self, order_id: str) -> dict[str, Any]:
        """Cancel a resting order; 404 ``not_found`` if unknown, canceled or executed."""
        order = self.orders.resting(order_id)
        reduced = order.remaining_units
        self.orders.cancel(order, self.clock_ns())
        return shapes.cancel_json(order, reduced, self.clock_ns())

    async def batch_create_orders(self, orders: list[dict[str, Any]]) -> dict[str, Any]:
        """Create several orders (V2 or the spec's form); each answer carries its own ``error``."""

        async def one(item: dict[str, Any]) -> dict[str, Any]:
            try:
                return {**await self._submit(lambda: parse_batch_item(item)), "error": None}
            except KalshiApiError as exc:
                cid = item.get("client_order_id") if isinstance(item, dict) else None
                ids = {
                    "order_id": None,
                    "client_order_id": cid,
                    "fill_count": "0.00",
                    "remaining_count": "0.00",
                }
                return shapes.batch_error(ids, exc.body["error"], self.clock_ns())

        return {"orders": list(await asyncio.gather(*(one(item) for item in orders)))}

    async def batch_cancel_orders(self, order_ids: list[str]) -> dict[str, Any]:
        """Cancel several orders; each answer carries its own ``error`` (``reduced_by`` 0 then)."""
        answers = []
        for order_id in order_ids:
            try:
                answers.append({**await self.cancel_order(order_id), "error": None})
            except KalshiApiError as exc:
                ids = {"order_id": order_id, "client_order_id": None, "reduced_by": "0.00"}
                answers.append(shapes.batch_error(ids, exc.body["error"], self.clock_ns()))
        return {"orders": answers}

    # -- reads -----------------------------------------------------------------------------

    async def get_orders(self, ticker: str | None = None, status: str | None = None) -> dict[str, Any]:
        """Orders, newest first, optionally of one market and one status."""
        chosen = [
            shapes.order_json(o, self.config.user_id)
            for o in reversed(self.orders.all.values())
            if (ticker is None or o.ticker == ticker) and (status is None or o.status == status)
        ]
        return {"orders": chosen, "cursor": ""}

    async def get_order(self, order_id: str) -> dict[str, Any]:
        return {"order": shapes.order_json(self.orders.get(order_id), self.config.user_id)}

    def orders_open(self, ticker: str | None = None) -> list[dict[str, Any]]:
        """The resting orders (Kalshi's Order shape), oldest first."""
        return [shapes.order_json(o, self.config.user_id) for o in self.orders.open(ticker)]

    async def get_positions(self) -> dict[str, Any]:
        positions = [self.portfolio.market_position(t) for t in sorted(self.portfolio.ledgers)]
        return {"market_positions": positions, "event_positions": [], "cursor": ""}

    async def get_fills(self, ticker: str | None = None, order_id: str | None = None) -> dict[str, Any]:
        """Fills, newest first, optionally of one market or one order."""
        chosen = [
            shapes.fill_json(f, self.orders.all[f.order_id])
            for f in reversed(self.orders.fills)
            if (ticker is None or f.ticker == ticker) and (order_id is None or f.order_id == order_id)
        ]
        return {"fills": chosen, "cursor": ""}

    async def get_balance(self) -> dict[str, Any]:
        return self.portfolio.balance(self._best_bid, self.clock_ns())

    async def get_settlements(self) -> dict[str, Any]:
        return {"settlements": list(reversed(self.portfolio.settlements)), "cursor": ""}

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
        return self.orders.settle(ticker, self.clock_ns())

    def check_market(self, ticker: str) -> None:
        """Match resting orders against ``ticker``'s book, or react to its close/settlement."""
        self.orders.check_market(ticker, self.clock_ns())

    def subscribe_user_stream(self, maxsize: int = 1_000) -> asyncio.Queue[dict[str, Any]]:
        """A queue of ``fill``/``user_order``/``market_position`` messages in Kalshi's WS shapes;
        when it is full the oldest message is dropped (the client never waits for a reader)."""
        return self.events.streams.subscribe(maxsize)

    def unsubscribe_user_stream(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.events.streams.unsubscribe(queue)

    async def start(self) -> None:
        """Start watching every book (resting-order fills, closes, settlements)."""
        if self._tasks:
            return
        for ticker, shared in self.books.items():
            task = asyncio.create_task(self._watch(ticker, shared), name=f"paper-watch-{ticker}")
            task.add_done_callback(_report_crash)
            self._tasks.append(task)

    async def _watch(self, ticker: str, shared: SharedOrderbookState) -> None:
        subscription = shared.subscribe()
        try:
            while ticker not in self.orders.settled:
                if await subscription.wait(self.config.watch_interval_s):
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
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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
