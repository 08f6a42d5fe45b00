"""Contract: every shape the paper client returns or streams is the one Kalshi documents.

The expectations below are written by hand from Kalshi's published documents, as stored in the
repository TexasCoding/kalshi-python-sdk at commit bcd7533ecf15974667320f5cc8932818a1351b3c:

- REST: ``specs/openapi.yaml``, "Kalshi Trade API Manual Endpoints" **3.31.0** — schemas
  ``CreateOrderV2Response``, ``BatchCreateOrdersV2Response``, ``CancelOrderV2Response``,
  ``BatchCancelOrdersV2Response``, ``AmendOrderV2Response``, ``DecreaseOrderV2Response``,
  ``Order``, ``GetOrder(s)Response``, ``Fill``, ``GetFillsResponse``, ``MarketPosition``,
  ``EventPosition``, ``GetPositionsResponse``, ``Settlement``, ``GetSettlementsResponse``,
  ``GetBalanceResponse``, ``IndexedBalance``, ``ErrorResponse``; ``x-omitempty: false`` marks a
  field Kalshi always sends (null when it has no value).
- WebSocket: ``specs/asyncapi.yaml``, "Kalshi Market Data WebSocket API" **2.0.0** — payloads
  ``fill``, ``userOrder`` (channel ``user_orders``), ``marketPosition``.
- Rate limits: docs.kalshi.com/getting_started/rate_limits (copy downloaded 2026-06-06): a 429
  body is ``{"error": "too many requests"}``. Error bodies wrap ``ErrorResponse`` in ``error``.

A field is checked for presence (required, or always sent), JSON type and format (date-time,
uuid, fixed-point dollars and counts), enum values and nullability; a field the document does
not list fails the test (so a removed field such as ``resting_orders_count`` or ``service``
cannot come back).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pytest

from kalshi_rl.trading.kalshi_shapes import SUCCESS_STATUS
from kalshi_rl.trading.orders import KalshiApiError
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient
from tests.trading.conftest import T0_NS, TICKER, Clock, add_yes_ask, determine, make_book, market_info, paper

YES_NO = ("yes", "no")
BID_ASK = ("bid", "ask")
STP = ("taker_at_cross", "maker")
DOLLARS = re.compile(r"-?\d+\.\d{1,6}\Z")  # FixedPointDollars: "responses emit up to 6" decimals
COUNT = re.compile(r"-?\d+\.\d{2}\Z")  # FixedPointCount: "responses always emit 2 decimals"


@dataclass(frozen=True)
class F:
    """One documented field: JSON kind, required (or always sent), enum, nullable, items."""

    kind: str
    present: bool = False
    enum: tuple[str, ...] | None = None
    nullable: bool = False
    items: dict[str, F] | None = None


def req(kind: str, enum: tuple[str, ...] | None = None, items: dict[str, F] | None = None) -> F:
    return F(kind, True, enum, items=items)


def opt(kind: str, enum: tuple[str, ...] | None = None, nullable: bool = False) -> F:
    return F(kind, False, enum, nullable)


ERROR = {"code": opt("string"), "message": opt("string"), "details": opt("string")}
ACK = {
    "order_id": req("string"),
    "client_order_id": opt("string"),
    "fill_count": req("count"),
    "remaining_count": req("count"),
    "average_fill_price": opt("dollars"),
    "average_fee_paid": opt("dollars"),
    "ts_ms": req("integer"),
}
BATCH_CREATE_ENTRY = {
    "order_id": opt("string"),
    "client_order_id": opt("string", nullable=True),
    "fill_count": F("count", True, nullable=True),  # x-omitempty: false
    "remaining_count": F("count", True, nullable=True),
    "average_fill_price": F("dollars", True, nullable=True),
    "average_fee_paid": F("dollars", True, nullable=True),
    "ts_ms": F("integer", True, nullable=True),
    "error": F("object", nullable=True, items=ERROR),
}
CANCEL = {
    "order_id": req("string"),
    "client_order_id": opt("string"),
    "reduced_by": req("count"),
    "ts_ms": req("integer"),
}
BATCH_CANCEL_ENTRY = {
    "order_id": req("string"),
    "client_order_id": opt("string", nullable=True),
    "reduced_by": req("count"),
    "ts_ms": F("integer", True, nullable=True),  # x-omitempty: false
    "error": F("object", nullable=True, items=ERROR),
}
AMEND = {
    "order_id": req("string"),
    "client_order_id": opt("string"),
    "remaining_count": F("count", True, nullable=True),  # x-omitempty: false
    "fill_count": F("count", True, nullable=True),
    "average_fill_price": F("dollars", True, nullable=True),
    "average_fee_paid": F("dollars", True, nullable=True),
    "ts_ms": req("integer"),
}
DECREASE = {
    "order_id": req("string"),
    "client_order_id": opt("string"),
    "remaining_count": req("count"),
    "ts_ms": req("integer"),
}
ORDER = {
    "order_id": req("string"),
    "user_id": req("string"),
    "client_order_id": req("string"),
    "ticker": req("string"),
    "side": opt("string", YES_NO),
    "action": opt("string", ("buy", "sell")),
    "outcome_side": req("string", YES_NO),
    "book_side": req("string", BID_ASK),
    "type": req("string", ("limit", "market")),
    "status": req("string", ("resting", "canceled", "executed")),
    "yes_price_dollars": req("dollars"),
    "no_price_dollars": req("dollars"),
    "fill_count_fp": req("count"),
    "remaining_count_fp": req("count"),
    "initial_count_fp": req("count"),
    "taker_fill_cost_dollars": req("dollars"),
    "maker_fill_cost_dollars": req("dollars"),
    "taker_fees_dollars": req("dollars"),
    "maker_fees_dollars": req("dollars"),
    "expiration_time": opt("date-time", nullable=True),
    "created_time": F("date-time", True, nullable=True),  # x-omitempty: false
    "last_update_time": opt("date-time", nullable=True),
    "self_trade_prevention_type": F("string", True, STP, nullable=True),  # x-omitempty: false
    "order_group_id": opt("string", nullable=True),
    "cancel_order_on_pause": F("boolean", True),  # added after 3.13.0; we always say it
    "subaccount_number": opt("integer", nullable=True),
    "exchange_index": F("integer", True),  # x-omitempty: false
}
FILL = {
    "fill_id": req("string"),
    "exchange_index": req("integer"),
    "trade_id": req("string"),
    "order_id": req("string"),
    "ticker": req("string"),
    "market_ticker": req("string"),
    "side": opt("string", YES_NO),
    "action": opt("string", ("buy", "sell")),
    "outcome_side": req("string", YES_NO),
    "book_side": req("string", BID_ASK),
    "count_fp": req("count"),
    "yes_price_dollars": req("dollars"),
    "no_price_dollars": req("dollars"),
    "is_taker": req("boolean"),
    "created_time": opt("date-time"),
    "fee_cost": req("dollars"),
    "subaccount_number": opt("integer", nullable=True),
    "ts": opt("integer"),
}
MARKET_POSITION = {
    "ticker": req("string"),
    "exchange_index": req("integer"),
    "total_traded_dollars": req("dollars"),
    "position_fp": req("count"),
    "market_exposure_dollars": req("dollars"),
    "realized_pnl_dollars": req("dollars"),
    "fees_paid_dollars": req("dollars"),
    "last_updated_ts": req("date-time"),
}
EVENT_POSITION = {
    "event_ticker": req("string"),
    "total_cost_dollars": req("dollars"),
    "total_cost_shares_fp": req("count"),
    "event_exposure_dollars": req("dollars"),
    "realized_pnl_dollars": req("dollars"),
    "fees_paid_dollars": req("dollars"),
}
SETTLEMENT = {
    "ticker": req("string"),
    "exchange_index": req("integer"),
    "event_ticker": req("string"),
    "market_result": req("string", ("yes", "no", "scalar")),
    "yes_count_fp": req("count"),
    "yes_total_cost_dollars": req("dollars"),
    "no_count_fp": req("count"),
    "no_total_cost_dollars": req("dollars"),
    "revenue": req("integer"),
    "settled_time": req("date-time"),
    "fee_cost": req("dollars"),
    "value": opt("integer", nullable=True),
}
BALANCE = {
    "balance": req("integer"),
    "balance_dollars": req("dollars"),
    "portfolio_value": req("integer"),
    "updated_ts": req("integer"),
    "balance_breakdown": F(
        "array", True, items={"exchange_index": req("integer"), "balance": req("dollars")}
    ),
}
WS_FILL = {
    "trade_id": req("uuid"),
    "order_id": req("uuid"),
    "client_order_id": opt("string"),
    "market_ticker": req("string"),
    "exchange_index": req("integer"),
    "is_taker": req("boolean"),
    "side": req("string", YES_NO),
    "ts": req("integer"),
    "ts_ms": req("integer"),
    "yes_price_dollars": req("dollars"),
    "count_fp": req("count"),
    "fee_cost": req("dollars"),
    "action": req("string", ("buy", "sell", "sell_partial", "sell_to_close", "")),
    "post_position_fp": req("count"),
    "purchased_side": req("string", YES_NO),
    "outcome_side": req("string", YES_NO),
    "book_side": req("string", BID_ASK),
    "subaccount": opt("integer"),
}
WS_USER_ORDER = {
    "order_id": req("uuid"),
    "user_id": req("uuid"),
    "ticker": req("string"),
    "exchange_index": req("integer"),
    "status": req("string", ("resting", "canceled", "executed", "unknown")),
    "side": req("string", YES_NO),
    "is_yes": req("boolean"),
    "outcome_side": req("string", YES_NO),
    "book_side": req("string", BID_ASK),
    "yes_price_dollars": req("dollars"),
    "fill_count_fp": req("count"),
    "remaining_count_fp": req("count"),
    "initial_count_fp": req("count"),
    "taker_fill_cost_dollars": req("dollars"),
    "maker_fill_cost_dollars": req("dollars"),
    "taker_fees_dollars": req("dollars"),
    "maker_fees_dollars": req("dollars"),
    "client_order_id": req("string"),
    "order_group_id": opt("string"),
    "self_trade_prevention_type": opt("string", STP),
    "created_time": F("date-time", True, nullable=True),
    "last_update_time": opt("date-time"),
    "expiration_time": opt("date-time"),
    "expiration_ts_ms": opt("integer"),
    "created_ts_ms": F("integer", True, nullable=True),
    "last_updated_ts_ms": opt("integer"),
    "last_update_reason": opt(
        "string",
        (
            "Decrease",
            "Amend",
            "MarginCancel",
            "SelfTradeCancel",
            "ExpiryCancel",
            "CloseCancel",
            "HaltCancel",
            "Trade",
            "PostOnlyCrossCancel",
            "ReduceOnlyCancel",
        ),
    ),
    "subaccount_number": opt("integer"),
}
WS_MARKET_POSITION = {
    "user_id": req("string"),
    "market_ticker": req("string"),
    "position_fp": req("count"),
    "position_cost_dollars": req("dollars"),
    "realized_pnl_dollars": req("dollars"),
    "fees_paid_dollars": req("dollars"),
    "position_fee_cost_dollars": req("dollars"),
    "volume_fp": req("count"),
    "subaccount": opt("integer"),
}


def _value(value: Any, field: F, where: str) -> None:
    if value is None:
        assert field.nullable, f"{where} is null but not nullable"
        return
    kind = field.kind
    if kind in ("string", "uuid", "date-time", "dollars", "count"):
        assert isinstance(value, str), f"{where}: expected a string, got {value!r}"
    if kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), (
            f"{where}: expected an integer, got {value!r}"
        )
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: expected a boolean, got {value!r}"
    elif kind == "uuid":
        assert str(uuid.UUID(value)) == value.lower(), f"{where}: not a uuid: {value!r}"
    elif kind == "date-time":
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z", value), (
            f"{where}: {value!r}"
        )
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif kind == "dollars":
        assert DOLLARS.match(value), f"{where}: not fixed-point dollars: {value!r}"
    elif kind == "count":
        assert COUNT.match(value), f"{where}: not a fixed-point count: {value!r}"
    elif kind == "array":
        assert isinstance(value, list), f"{where}: expected an array"
        for i, item in enumerate(value):
            check(item, field.items or {}, f"{where}[{i}]")
    elif kind == "object":
        check(value, field.items or {}, where)
    if field.enum is not None:
        assert value in field.enum, f"{where}: {value!r} is not one of {field.enum}"


def check(shape: Any, schema: dict[str, F], where: str) -> None:
    """Assert that ``shape`` is a JSON object with exactly ``schema``'s fields, well typed."""
    assert isinstance(shape, dict), f"{where}: expected an object, got {shape!r}"
    unknown = set(shape) - set(schema)
    assert not unknown, f"{where}: fields the document does not list: {sorted(unknown)}"
    for name, field in schema.items():
        if name not in shape:
            assert not field.present, f"{where}: missing {name}"
            continue
        _value(shape[name], field, f"{where}.{name}")


def listing(items: str, schema: dict[str, F], cursor_required: bool) -> dict[str, F]:
    return {items: req("array", items=schema), "cursor": F("string", cursor_required)}


# -- a session that reaches every shape ---------------------------------------------------------

BOOK = {"yes_bids": [("0.5200", "2.00"), ("0.4600", "5.00")], "yes_asks": [("0.5600", "10.00")]}
GTC = {"time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"}


def v2(side: str, count: str, price: str, **fields: Any) -> dict[str, Any]:
    return {"ticker": TICKER, "side": side, "count": count, "price": price, **GTC, **fields}


@pytest.fixture
async def session(clock: Clock) -> tuple[KalshiPaperTradingClient, dict[str, Any], list[dict[str, Any]]]:
    """A client on a shard-2 market that went through every kind of answer and message."""
    book = make_book(**BOOK, info=replace(market_info(), raw={"exchange_index": 2}))
    client = paper(book, clock=clock)
    stream = client.subscribe_user_stream()
    answers: dict[str, Any] = {}
    expiry = T0_NS // 1_000_000_000 + 3_600
    answers["resting"] = await client.create_order_json(
        v2("bid", "5.00", "0.5000", expiration_time=expiry, cancel_order_on_pause=True, client_order_id="r")
    )
    answers["filled"] = await client.create_order_json(
        v2("bid", "3.00", "0.5600", time_in_force="immediate_or_cancel")
    )
    answers["self_trade"] = await client.create_order_json(v2("ask", "5.00", "0.4500"))
    answers["post_only"] = await client.create_order_json(v2("bid", "1.00", "0.5600", post_only=True))
    prices = ("0.4000", "0.4100", "0.3000", "0.4050")  # the last is off the cent grid
    answers["batch"] = await client.batch_create_orders([v2("bid", "1.00", price) for price in prices])
    answers["amend"] = await client.amend_order(answers["resting"]["order_id"], 6, "0.5100")
    answers["amend_crossing"] = await client.amend_order(answers["resting"]["order_id"], 12, "0.5600")
    answers["decrease"] = await client.decrease_order(answers["resting"]["order_id"], reduce_by=1)
    answers["cancel"] = await client.cancel_order(answers["batch"]["orders"][0]["order_id"])
    answers["batch_cancel"] = await client.batch_cancel_orders(
        [{"order_id": answers["resting"]["order_id"]}, {"order_id": "gone"}]
    )
    clock.advance_ms(10)
    add_yes_ask(book, "0.3900", "1.00")
    client.check_market(TICKER)  # a maker fill
    answers["orders"] = await client.get_orders()
    answers["order"] = await client.get_order(answers["filled"]["order_id"])
    answers["fills"] = await client.get_fills()
    answers["positions"] = await client.get_positions()
    answers["balance"] = await client.get_balance()
    determine(book, "yes")
    await client.settle_market(TICKER)
    answers["settlements"] = await client.get_settlements()
    messages = [stream.get_nowait() for _ in range(stream.qsize())]
    return client, answers, messages


async def test_order_answers_have_kalshis_shapes(session: Any) -> None:
    _, answers, _ = session
    for name in ("resting", "filled", "self_trade", "post_only"):
        check(answers[name], ACK, name)
    assert "average_fill_price" in answers["filled"] and "average_fill_price" not in answers["resting"]
    check(answers["batch"], {"orders": req("array", items=BATCH_CREATE_ENTRY)}, "batch")
    *accepted, refused = answers["batch"]["orders"]
    assert all("error" not in entry for entry in accepted)  # never "error": null
    assert refused["error"]["code"] == "invalid_price" and "order_id" not in refused
    check(answers["amend"], AMEND, "amend")
    check(answers["amend_crossing"], AMEND, "amend_crossing")
    assert answers["amend_crossing"]["fill_count"] != "0.00"
    check(answers["decrease"], DECREASE, "decrease")
    check(answers["cancel"], CANCEL, "cancel")
    check(answers["batch_cancel"], {"orders": req("array", items=BATCH_CANCEL_ENTRY)}, "batch_cancel")


async def test_reads_have_kalshis_shapes(session: Any) -> None:
    _, answers, _ = session
    check(answers["orders"], listing("orders", ORDER, True), "GetOrdersResponse")
    assert {o["status"] for o in answers["orders"]["orders"]} == {"resting", "canceled", "executed"}
    check(answers["order"], {"order": req("object", items=ORDER)}, "GetOrderResponse")
    check(answers["fills"], listing("fills", FILL, True), "GetFillsResponse")
    assert {f["is_taker"] for f in answers["fills"]["fills"]} == {True, False}
    positions = {
        "market_positions": req("array", items=MARKET_POSITION),
        "event_positions": req("array", items=EVENT_POSITION),
        "cursor": opt("string"),
    }
    check(answers["positions"], positions, "GetPositionsResponse")
    assert answers["positions"]["event_positions"]  # filled in, not []
    check(answers["balance"], BALANCE, "GetBalanceResponse")
    check(answers["settlements"], listing("settlements", SETTLEMENT, False), "GetSettlementsResponse")
    assert answers["settlements"]["settlements"]
    shards = {f["exchange_index"] for f in answers["fills"]["fills"]}
    shards |= {p["exchange_index"] for p in answers["positions"]["market_positions"]}
    shards |= {s["exchange_index"] for s in answers["settlements"]["settlements"]}
    assert shards == {2}  # the market's own shard, from its REST data


async def test_user_stream_messages_have_kalshis_shapes(session: Any) -> None:
    _, _, messages = session
    schemas = {"fill": WS_FILL, "user_order": WS_USER_ORDER, "market_position": WS_MARKET_POSITION}
    for i, message in enumerate(messages):
        assert set(message) == {"type", "sid", "msg"} and isinstance(message["sid"], int)
        check(message["msg"], schemas[message["type"]], f"{message['type']}[{i}]")
    orders = [m["msg"] for m in messages if m["type"] == "user_order"]
    reasons = {m.get("last_update_reason") for m in orders}
    assert {"Trade", "Amend", "Decrease", "SelfTradeCancel", "PostOnlyCrossCancel", "CloseCancel"} <= reasons
    assert any("expiration_ts_ms" in m for m in orders)
    assert {m["type"] for m in messages} == set(schemas)


@pytest.mark.parametrize("status", [400, 404, 409])
async def test_errors_are_wrapped_error_responses(status: int) -> None:
    client = paper(make_book(**BOOK, info=market_info()))
    await client.create_order(TICKER, "yes", "limit", 1, "0.4000", client_order_id="taken")
    calls = {
        400: lambda: client.create_order_json({"ticker": TICKER}),
        404: lambda: client.cancel_order("nope"),
        409: lambda: client.create_order(TICKER, "yes", "limit", 1, "0.4000", client_order_id="taken"),
    }
    with pytest.raises(KalshiApiError) as error:
        await calls[status]()
    assert error.value.status == status
    check(error.value.body, {"error": req("object", items=ERROR)}, "error body")


async def test_a_rate_limited_request_answers_429_with_the_documented_body(clock: Clock) -> None:
    client = paper(make_book(**BOOK), clock=clock, rate_limit_tier="basic")
    for _ in range(20):
        await client.get_balance()
    with pytest.raises(KalshiApiError) as error:
        await client.get_balance()
    assert (error.value.status, error.value.body) == (429, {"error": "too many requests"})


async def test_success_statuses_are_the_documented_ones() -> None:
    """OpenAPI 3.31.0: create and batch create answer 201, cancel-all 204 (no body)."""
    assert SUCCESS_STATUS == {
        "create_order": 201,
        "create_order_v2": 201,
        "batch_create_orders": 201,
        "cancel_all_orders": 204,
    }
    client = paper(make_book(**BOOK))
    for price in ("0.4000", "0.4100"):
        await client.create_order_json(v2("bid", "1.00", price))
    assert await client.cancel_all_orders() is None
    assert client.orders_open() == [] and client.portfolio.reserved_micro() == 0
