"""What leaves the paper client: rl_orders/rl_fills rows (real SQLite), user streams, the factory."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from kalshi_rl.core.errors import LiveModeRefusedError
from kalshi_rl.core.events import Side
from kalshi_rl.data.sql_queue import OrderWriteQueue
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.data.storage.schema import rl_fills, rl_orders
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient, PaperConfig, create_trading_client
from tests.trading.conftest import TICKER, Clock, eventually, make_book

BOOK = {"yes_bids": [("0.4000", "50.00")], "yes_asks": [("0.5200", "3.00"), ("0.5300", "10.00")]}
ZERO_LATENCY = PaperConfig(latency_min_ms=0.0, latency_max_ms=0.0)


async def test_orders_and_fills_land_in_the_database_and_order_rows_are_updated(tmp_path: Path) -> None:
    engine = open_database(None, tmp_path)
    queue = OrderWriteQueue(engine, flush_interval_s=0.05)
    queue.start()
    book = make_book(**BOOK)
    client = KalshiPaperTradingClient({TICKER: book}, ZERO_LATENCY, order_queue=queue, clock_ns=Clock())
    await client.start()
    try:
        taker = await client.create_order(TICKER, "yes", "market", 5, client_order_id="taker")
        maker = await client.create_order(TICKER, "no", "limit", 4, "0.5500", client_order_id="maker")
        book.state.apply_delta(Side.YES, 4_600, 100)  # a YES bid at 0.46 = a NO ask at 0.54 <= 0.55
        book.touch()
        await eventually(lambda: client.stats.maker_fills == 1)
        await client.cancel_order(maker["order_id"])
    finally:
        await client.close()
        await queue.close()
    with engine.connect() as connection:
        orders = {row.client_order_id: row for row in connection.execute(select(rl_orders))}
        fills = list(connection.execute(select(rl_fills).order_by(rl_fills.c.price)))
    assert set(orders) == {"taker", "maker"}  # one row per order, upserted as it changed
    first = orders["taker"]
    assert first.id == uuid.UUID(taker["order_id"])
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
    assert first.fees == Decimal("0.0874")  # 0.0525 (3 @ 0.52: 0.052416) + 0.0349 (2 @ 0.53: 0.034874)
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
    assert fills[0].fee == Decimal("0.0525") and fills[0].trade_id


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
        "user_id": "paper-user",
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
