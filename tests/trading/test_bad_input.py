"""Malformed requests get Kalshi's 400, never a crash and never a changed balance.

Every field of ``CreateOrderV2Request`` (OpenAPI 3.31.0): missing when required, of the wrong
JSON type, outside its enum; the same for amend, decrease, batch and the reads' parameters;
and a fuzz over arbitrary JSON bodies.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalshi_rl.trading.order_requests import V2_OPTIONAL, V2_REQUIRED
from kalshi_rl.trading.orders import KalshiApiError
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient
from tests.trading.conftest import TICKER, make_book, market_info, paper

BOOK = {"yes_bids": [("0.4000", "50.00")], "yes_asks": [("0.5600", "10.00")]}
VALID = {
    "ticker": TICKER,
    "side": "bid",
    "count": "2.00",
    "price": "0.5000",
    "time_in_force": "good_till_canceled",
    "self_trade_prevention_type": "taker_at_cross",
}


def _client() -> KalshiPaperTradingClient:
    return paper(make_book(**BOOK, info=market_info()))


def _snapshot(client: KalshiPaperTradingClient) -> tuple[Any, ...]:
    return (
        client.portfolio.cash_micro,
        client.portfolio.reserved_micro(),
        [
            (o.order_id, o.status, o.remaining_units, o.limit_ticks, o.expiration_time)
            for o in client.orders.all.values()
        ],
        len(client.orders.fills),
        set(client.orders.client_ids),
    )


async def _refused(client: KalshiPaperTradingClient, call: Any, code: str = "invalid_parameters") -> None:
    before = _snapshot(client)
    with pytest.raises(KalshiApiError) as error:
        await call
    assert (error.value.status, error.value.code) == (400, code), error.value
    assert error.value.body == {"error": {"code": code, "message": error.value.message}}
    assert _snapshot(client) == before


WRONG_TYPES: list[tuple[str, Any]] = [
    ("ticker", 5),
    ("ticker", ""),
    ("side", "yes"),  # a V1 side
    ("side", "BID"),
    ("count", 2),  # FixedPointCount is a string
    ("count", "2.001"),
    ("count", "two"),
    ("price", 0.5),
    ("price", 50),  # V1 cents
    ("price", "0.5"),  # "2-4 decimal places"
    ("price", "0.50000"),
    ("time_in_force", "gtc"),
    ("time_in_force", True),
    ("self_trade_prevention_type", "cancel_both"),
    ("self_trade_prevention_type", 1),
    ("expiration_time", "1800000060"),
    ("expiration_time", True),
    ("expiration_time", 1.8e9),
    ("post_only", "false"),
    ("post_only", 0),
    ("reduce_only", 1),
    ("cancel_order_on_pause", "true"),
    ("subaccount", -1),
    ("subaccount", "0"),
    ("exchange_index", -2),
    ("exchange_index", "0"),
    ("exchange_index", 1.0),
    ("order_group_id", 7),
    ("client_order_id", 7),
    ("client_order_id", ""),
    ("yes_price", 50),  # an unknown field (a V1 one)
    ("action", "buy"),
]


@pytest.mark.parametrize("field", V2_REQUIRED)
async def test_a_missing_required_field_is_invalid_parameters(field: str) -> None:
    client = _client()
    body = {k: v for k, v in VALID.items() if k != field}
    await _refused(client, client.create_order_json(body))
    await _refused(client, client.create_order_json({**body, field: None}))  # null is missing too


@pytest.mark.parametrize(("field", "value"), WRONG_TYPES)
async def test_a_wrong_type_or_unknown_value_is_invalid_parameters(field: str, value: Any) -> None:
    client = _client()
    await _refused(client, client.create_order_json({**VALID, field: value}))


@pytest.mark.parametrize("body", [None, [], "order", 5, [VALID]])
async def test_a_body_that_is_not_an_object_is_invalid_parameters(body: Any) -> None:
    client = _client()
    await _refused(client, client.create_order_json(body))


async def test_null_optional_fields_are_absent_fields() -> None:
    client = _client()
    ack = await client.create_order_json({**VALID, **dict.fromkeys(V2_OPTIONAL)})
    assert ack["remaining_count"] == "2.00"


AMEND = {"ticker": TICKER, "side": "bid", "price": "0.5100", "count": "3.00"}


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in AMEND.items() if k != "count"},
        {**AMEND, "count": 3},
        {**AMEND, "price": 51},
        {**AMEND, "side": "yes"},
        {**AMEND, "expiration_time": -1},
        {**AMEND, "expiration_time": "0"},
        {**AMEND, "exchange_index": "0"},
        {**AMEND, "updated_client_order_id": 5},
        {**AMEND, "action": "buy"},
        "amend",
    ],
)
async def test_a_malformed_amend_is_invalid_parameters(body: Any) -> None:
    client = _client()
    ack = await client.create_order_json(VALID)
    await _refused(client, client.amend_order_v2(ack["order_id"], body))


async def test_an_amend_of_another_side_or_market_is_invalid_order() -> None:
    client = _client()
    ack = await client.create_order_json(VALID)
    await _refused(client, client.amend_order_v2(ack["order_id"], {**AMEND, "side": "ask"}), "invalid_order")
    await _refused(
        client, client.amend_order_v2(ack["order_id"], {**AMEND, "ticker": "KXOTHER"}), "invalid_order"
    )


@pytest.mark.parametrize(
    "change",
    [{"reduce_by": "x"}, {"reduce_to": -1}, {"reduce_by": True}, {}, {"reduce_by": 1, "reduce_to": 1}],
)
async def test_a_malformed_decrease_is_refused(change: dict[str, Any]) -> None:
    client = _client()
    ack = await client.create_order_json(VALID)
    await _refused(client, client.decrease_order(ack["order_id"], **change), "invalid_order")


async def test_a_malformed_batch_is_refused_whole_or_per_entry() -> None:
    client = _client()
    await _refused(client, client.batch_create_orders({"orders": [VALID]}))
    await _refused(client, client.batch_cancel_orders("all"))
    before = _snapshot(client)
    answer = await client.batch_create_orders([None, {**VALID, "count": 2}, {**VALID, "side": "yes"}])
    assert [entry["error"]["code"] for entry in answer["orders"]] == ["invalid_parameters"] * 3
    assert _snapshot(client) == before
    canceled = await client.batch_cancel_orders(
        [{"order_id": 5}, {"id": "x"}, "x", {"order_id": "x", "subaccount": "0"}]
    )
    assert [entry["error"]["code"] for entry in canceled["orders"]] == ["invalid_parameters"] * 4
    assert all(entry["reduced_by"] == "0.00" for entry in canceled["orders"])


@pytest.mark.parametrize(
    ("read", "kwargs"),
    [
        ("get_orders", {"status": "open"}),
        ("get_orders", {"limit": 0}),
        ("get_orders", {"limit": 1001}),
        ("get_orders", {"limit": "10"}),
        ("get_orders", {"cursor": "not-one-of-ours"}),
        ("get_orders", {"event_ticker": ",".join(f"E{i}" for i in range(11))}),
        ("get_fills", {"limit": True}),
        ("get_fills", {"ticker": 5}),
        ("get_positions", {"count_filter": "volume"}),
        ("get_positions", {"cursor": 3}),
        ("get_settlements", {"limit": -1}),
    ],
)
async def test_malformed_read_parameters_are_invalid_parameters(read: str, kwargs: dict[str, Any]) -> None:
    client = _client()
    await _refused(client, getattr(client, read)(**kwargs))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
FIELD_VALUES = st.sampled_from(
    [
        *VALID.values(),
        "ask",
        "0.4000",
        "0.5650",
        "1.00",
        "immediate_or_cancel",
        "fill_or_kill",
        "maker",
        0,
        -1,
        1,
    ]
)


BODIES = st.builds(
    lambda changes, dropped: {k: v for k, v in {**VALID, **changes}.items() if k not in dropped},
    st.dictionaries(st.sampled_from([*V2_REQUIRED, *V2_OPTIONAL, "extra"]), FIELD_VALUES | JSON, max_size=4),
    st.sets(st.sampled_from(V2_REQUIRED), max_size=2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(BODIES)
async def test_any_json_body_is_an_ack_or_a_kalshi_error_and_the_books_balance(body: dict[str, Any]) -> None:
    client = _client()
    refusal: KalshiApiError | None = None
    try:
        ack = await client.create_order_json(body)
    except KalshiApiError as error:
        refusal = error
    if refusal is not None:
        assert refusal.status in (400, 404, 409) and set(refusal.body["error"]) == {"code", "message"}
        assert client.orders.all == {} and client.portfolio.reserved_micro() == 0
        return
    assert set(ack) <= {
        "order_id",
        "client_order_id",
        "fill_count",
        "remaining_count",
        "average_fill_price",
        "average_fee_paid",
        "ts_ms",
    }
    portfolio = client.portfolio
    assert portfolio.available_micro >= 0
    fees = sum(f.fee_micro for f in client.orders.fills)
    cost = sum(f.price_ticks * f.units for f in client.orders.fills)
    assert portfolio.cash_micro == portfolio.starting_balance_micro - cost - fees
