"""What leaves the paper client: rl_orders/rl_fills rows, user streams, the factory.

Every database test runs twice, on SQLite and on PostgreSQL (the ``database`` fixture), and
reads the rows back with their exact types: UUIDs, NUMERIC prices and counts, JSONB, and
timestamps to the microsecond.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from kalshi_rl.core.errors import LiveModeRefusedError
from kalshi_rl.core.events import Side
from kalshi_rl.data.sql_queue import OrderWriteQueue
from kalshi_rl.data.storage.schema import rl_fills, rl_orders
from kalshi_rl.trading.orders import KalshiApiError
from kalshi_rl.trading.paper_client import (
    PAPER_USER_ID,
    KalshiPaperTradingClient,
    PaperConfig,
    create_trading_client,
)
from tests.trading.conftest import T0_NS, TICKER, Clock, eventually, make_book

BOOK = {"yes_bids": [("0.4000", "50.00")], "yes_asks": [("0.5200", "3.00"), ("0.5300", "10.00")]}
ZERO_LATENCY = PaperConfig(latency_min_ms=0.0, latency_max_ms=0.0)
T0 = datetime.fromtimestamp(T0_NS // 1_000_000_000, UTC)


def stored_time(engine: Engine, value: datetime) -> datetime:
    """A TIMESTAMPTZ as read back: PostgreSQL keeps the zone; SQLite has no such type and
    returns the (UTC) wall time naive, so it is read as UTC."""
    if engine.dialect.name == "postgresql":
        assert value.tzinfo is not None
        return value
    assert value.tzinfo is None
    return value.replace(tzinfo=UTC)


def rows(engine: Engine, table: Any, *order: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(table).order_by(*order)))


async def test_orders_and_fills_land_in_the_database_and_order_rows_are_updated(database: Engine) -> None:
    engine = database
    queue = OrderWriteQueue(engine, flush_interval_s=0.05)
    queue.start()
    book = make_book(**BOOK)
    clock = Clock()
    client = KalshiPaperTradingClient({TICKER: book}, ZERO_LATENCY, order_queue=queue, clock_ns=clock)
    await client.start()
    try:
        taker = await client.create_order(TICKER, "yes", "market", 5, client_order_id="taker")
        maker = await client.create_order(TICKER, "no", "limit", 4, "0.5500", client_order_id="maker")
        clock.now_ns += 1_234_567_891  # the maker fill and the cancel happen 1.234567891 s later
        book.state.apply_delta(Side.YES, 4_600, 100)  # a YES bid at 0.46 = a NO ask at 0.54 <= 0.55
        book.touch()
        await eventually(lambda: client.stats.maker_fills == 1)
        await client.cancel_order(maker["order_id"])
    finally:
        await client.close()
        await queue.close()
    assert queue.stats.healthy and queue.depth == 0
    orders = {row.client_order_id: row for row in rows(engine, rl_orders)}
    fills = rows(engine, rl_fills, rl_fills.c.price)
    assert set(orders) == {"taker", "maker"}  # one row per order, upserted as it changed
    first = orders["taker"]
    assert type(first.id) is uuid.UUID and first.id == uuid.UUID(taker["order_id"])
    assert (first.side, first.direction, first.order_type, first.status) == (
        "yes",
        "buy",
        "market",
        "executed",
    )
    assert (first.quantity, first.remaining_quantity, first.filled_quantity) == (Decimal(5), 0, Decimal(5))
    assert first.price is None and first.book_side == "bid" and first.time_in_force == "immediate_or_cancel"
    assert first.average_fill_price == Decimal("0.5240")  # (3 x 0.52 + 2 x 0.53) / 5
    assert first.fill_cost == Decimal("2.6200")
    # Net fees at $0.01 member precision: 3 @ 0.52 (trade fee 0.052416, -1.612416 floored to -1.62:
    # 0.06) + 2 @ 0.53 (0.034874, -1.094874 -> -1.10, minus the accumulated $0.01: 0.03).
    assert first.fees == Decimal("0.09")
    second = orders["maker"]
    assert (second.side, second.status, second.price, second.yes_price) == (
        "no",
        "canceled",
        Decimal("0.55"),
        Decimal("0.45"),
    )
    assert (second.filled_quantity, second.remaining_quantity) == (Decimal(1), Decimal(0))
    assert second.average_fill_price == Decimal("0.55")
    assert [(f.price, f.quantity, f.execution_type, f.is_taker) for f in fills] == [
        (Decimal("0.52"), Decimal(3), "market", True),
        (Decimal("0.53"), Decimal(2), "market", True),
        (Decimal("0.55"), Decimal(1), "limit", False),
    ]
    assert fills[2].order_id == second.id and fills[2].side == "no" and fills[2].yes_price == Decimal("0.45")
    assert fills[0].fee == Decimal("0.06") and fills[0].trade_id
    # Exact types and instants: NUMERIC as Decimal, UUIDs as UUID, timestamps to the microsecond.
    money = [
        first.quantity,
        first.average_fill_price,
        first.fill_cost,
        first.fees,
        second.price,
        fills[0].price,
    ]
    assert all(type(value) is Decimal for value in money)
    assert all(type(f.id) is uuid.UUID and type(f.order_id) is uuid.UUID for f in fills)
    later = T0.replace(second=T0.second + 1, microsecond=234_567)  # ns are cut to microseconds
    assert stored_time(engine, first.created_at) == stored_time(engine, first.updated_at) == T0
    assert stored_time(engine, second.created_at) == T0
    assert stored_time(engine, second.updated_at) == later
    assert [stored_time(engine, f.timestamp) for f in fills] == [T0, T0, later]
    assert [f.is_taker for f in fills] == [True, True, False]


async def test_sub_cent_prices_fractional_counts_and_fine_money_are_stored_exactly(database: Engine) -> None:
    queue = OrderWriteQueue(database, flush_interval_s=0.05)
    queue.start()
    book = make_book(yes_asks=[("0.0520", "678.99"), ("0.0530", "100.00")])
    client = KalshiPaperTradingClient({TICKER: book}, ZERO_LATENCY, order_queue=queue, clock_ns=Clock())
    try:
        await client.create_order(
            TICKER, "yes", "limit", "700.00", "0.0530", time_in_force="immediate_or_cancel"
        )
    finally:
        await queue.close()
    (order,) = rows(database, rl_orders)
    assert (order.quantity, order.filled_quantity, order.price, order.yes_price) == (
        Decimal("700.00"),
        Decimal("700.00"),
        Decimal("0.0530"),
        Decimal("0.0530"),
    )
    assert order.fill_cost == Decimal("36.421010")  # 678.99 x 0.0520 + 21.01 x 0.0530 = 35.30748 + 1.11353
    assert order.average_fill_price == Decimal("0.05203001")  # 36.42101 / 700 = 0.0520300142.. (8 places)
    # Net fees 2.352520 + 0.066470 (see test_paper_fills): 6-decimal money, stored exactly.
    assert order.fees == Decimal("2.418990")
    fills = rows(database, rl_fills, rl_fills.c.price)
    assert [(f.quantity, f.price, f.fee) for f in fills] == [
        (Decimal("678.99"), Decimal("0.0520"), Decimal("2.352520")),
        (Decimal("21.01"), Decimal("0.0530"), Decimal("0.066470")),
    ]


async def test_an_order_whose_row_could_not_be_stored_is_refused_and_the_queue_keeps_writing(
    database: Engine,
) -> None:
    """PostgreSQL text cannot hold a NUL character: such an order was accepted, then its row
    failed every flush and held back every row queued after it (SQLite stored it)."""
    queue = OrderWriteQueue(database, flush_interval_s=0.05)
    queue.start()
    client = KalshiPaperTradingClient(
        {TICKER: make_book(**BOOK)}, ZERO_LATENCY, order_queue=queue, clock_ns=Clock()
    )
    try:
        with pytest.raises(KalshiApiError) as error:
            await client.create_order(TICKER, "yes", "market", 1, client_order_id="nul\x00id")
        assert error.value.code == "invalid_order" and "NUL" in error.value.message
        await client.create_order(TICKER, "yes", "market", 1, client_order_id="after")
    finally:
        await queue.close()
    assert queue.stats.healthy and queue.depth == 0
    assert [row.client_order_id for row in rows(database, rl_orders)] == ["after"]


async def test_user_stream_receives_fill_order_and_position_messages() -> None:
    client = KalshiPaperTradingClient({TICKER: make_book(**BOOK)}, ZERO_LATENCY, clock_ns=Clock())
    stream = client.subscribe_user_stream()
    await client.create_order(TICKER, "yes", "market", 4, client_order_id="s-1")
    messages = [stream.get_nowait() for _ in range(stream.qsize())]
    assert [m["type"] for m in messages] == ["fill", "fill", "user_order", "market_position"]
    fill = messages[0]["msg"]
    assert {
        "trade_id",
        "order_id",
        "client_order_id",
        "market_ticker",
        "is_taker",
        "side",
        "yes_price_dollars",
    } <= set(fill)
    assert {
        "count_fp",
        "fee_cost",
        "action",
        "ts",
        "ts_ms",
        "post_position_fp",
        "outcome_side",
        "book_side",
    } <= set(fill)
    assert fill["client_order_id"] == "s-1" and fill["market_ticker"] == TICKER
    order = messages[2]["msg"]
    assert order["ticker"] == TICKER and order["status"] == "executed" and order["is_yes"] is True
    assert order["fill_count_fp"] == "4.00" and order["initial_count_fp"] == "4.00"
    position = messages[3]["msg"]
    assert position == {
        "user_id": PAPER_USER_ID,
        "market_ticker": TICKER,
        "position_fp": "4.00",
        "position_cost_dollars": "2.0900",  # 3 x 0.52 + 1 x 0.53
        "realized_pnl_dollars": "-0.0700",
        "fees_paid_dollars": "0.0700",  # 0.0525 + 0.0175 (1 @ 0.53: 0.017437)
        "position_fee_cost_dollars": "0.0700",
        "volume_fp": "4.00",
    }
    assert {m["sid"] for m in messages} == {1}
    client.unsubscribe_user_stream(stream)
    await client.create_order(TICKER, "yes", "market", 1)
    assert stream.empty()


async def test_a_full_user_stream_drops_its_oldest_message_and_never_blocks() -> None:
    client = KalshiPaperTradingClient({TICKER: make_book(**BOOK)}, ZERO_LATENCY, clock_ns=Clock())
    small = client.subscribe_user_stream(maxsize=2)
    await client.create_order(TICKER, "yes", "market", 4)  # fill, fill, user_order, market_position
    assert [small.get_nowait()["type"] for _ in range(2)] == ["user_order", "market_position"]
    assert client.events.streams.dropped == 2


def test_live_mode_is_refused_and_unknown_modes_are_errors() -> None:
    assert isinstance(create_trading_client("paper", ZERO_LATENCY), KalshiPaperTradingClient)
    with pytest.raises(LiveModeRefusedError):
        create_trading_client("live", ZERO_LATENCY)
    with pytest.raises(ValueError, match="paper"):
        create_trading_client("sandbox", ZERO_LATENCY)
