"""parse_frame: every Kalshi shape we accept, every frame we must refuse, and encode round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_rl.core.errors import FrameError
from kalshi_rl.core.events import BookDelta, BookSnapshot, LifecycleEvent, Side, TickerUpdate, Trade
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.messages import (
    ErrorReply,
    ListSubscriptions,
    Ok,
    Subscribed,
    Unsubscribed,
    parse_frame,
)
from kalshi_rl.kalshi.timestamps import rfc3339_to_ms

RECV_NS = 1_776_664_537_639_332_000
MARKET = "KXETH15M-26APR200200-00"
MARKET_ID = "257575b1-03b4-4117-8f63-75570423630e"


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame)


def _snapshot(msg_extra: dict[str, Any], **top: Any) -> str:
    frame = {"type": "orderbook_snapshot", "sid": 2, "seq": 2}
    frame.update(top)
    frame["msg"] = {"market_ticker": MARKET, "market_id": MARKET_ID, **msg_extra}
    return _dumps(frame)


def _delta(**msg_fields: Any) -> str:
    msg = {
        "market_ticker": MARKET,
        "market_id": MARKET_ID,
        "price_dollars": "0.9600",
        "delta_fp": "-54.00",
        "side": "yes",
        "ts": "2022-11-22T20:44:01Z",
        "ts_ms": 1669149841000,
    }
    msg.update(msg_fields)
    return _dumps(
        {"type": "orderbook_delta", "sid": 2, "seq": 3, "msg": {k: v for k, v in msg.items() if v is not ...}}
    )


def _trade(**msg_fields: Any) -> str:
    msg = {
        "trade_id": "d91bc706-ee49-470d-82d8-11418bda6fed",
        "market_ticker": "HIGHNY-22DEC23-B53.5",
        "yes_price_dollars": "0.3600",
        "no_price_dollars": "0.6400",
        "count_fp": "136.00",
        "taker_side": "no",
        "taker_outcome_side": "no",
        "taker_book_side": "ask",
        "is_block_trade": False,
        "ts": 1669149841,
        "ts_ms": 1669149841000,
    }
    msg.update(msg_fields)
    return _dumps(
        {"type": "trade", "sid": 11, "seq": 2, "msg": {k: v for k, v in msg.items() if v is not ...}}
    )


def _parse_error(raw: str | bytes) -> FrameError:
    with pytest.raises(FrameError) as caught:
        parse_frame(raw, RECV_NS)
    assert caught.value.reason == str(caught.value)
    return caught.value


# -- orderbook_snapshot ------------------------------------------------------------------


def test_current_snapshot_parses_to_exact_levels() -> None:
    raw = _snapshot(
        {
            "yes_dollars_fp": [["0.0800", "300.00"], ["0.2200", "333.00"]],
            "no_dollars_fp": [["0.5400", "20.00"], ["0.5600", "146.00"]],
        }
    )
    snap = parse_frame(raw, RECV_NS)
    assert snap == BookSnapshot(
        market_ticker=MARKET,
        sid=2,
        seq=2,
        yes_bids=((800, 30_000), (2_200, 33_300)),
        no_bids=((5_400, 2_000), (5_600, 14_600)),
        ts_exchange_ms=None,
        ts_recv_ns=RECV_NS,
    )


def test_snapshot_keeps_sub_cent_prices_and_fractional_sizes_exact() -> None:
    raw = _snapshot({"yes_dollars_fp": [["0.5600", "678.99"], ["0.0520", "75.00"], ["0.0010", "501.00"]]})
    snap = parse_frame(raw, RECV_NS)
    assert isinstance(snap, BookSnapshot)
    assert sorted(snap.yes_bids) == [(10, 50_100), (520, 7_500), (5_600, 67_899)]


def test_legacy_snapshot_in_cents_and_whole_contracts_is_converted() -> None:
    raw = _snapshot({"yes": [[8, 300], [22, 333]], "no": [[54, 20]]})
    snap = parse_frame(raw, RECV_NS)
    assert isinstance(snap, BookSnapshot)
    assert snap.yes_bids == ((800, 30_000), (2_200, 33_300))
    assert snap.no_bids == ((5_400, 2_000),)


def test_snapshot_prefers_current_keys_over_legacy_ones() -> None:
    raw = _snapshot({"yes": [[8, 300]], "yes_dollars_fp": [["0.0850", "300.50"]]})
    snap = parse_frame(raw, RECV_NS)
    assert isinstance(snap, BookSnapshot)
    assert snap.yes_bids == ((850, 30_050),)


@pytest.mark.parametrize(
    "sides",
    [
        {},
        {"yes_dollars_fp": None, "no_dollars_fp": None},
        {"yes_dollars_fp": [], "no_dollars_fp": []},
        {"yes": [], "no": None},
    ],
    ids=["keys-absent", "null", "empty-lists", "legacy-empty"],
)
def test_snapshot_with_empty_sides_parses_to_empty_ladders(sides: dict[str, Any]) -> None:
    snap = parse_frame(_snapshot(sides), RECV_NS)
    assert isinstance(snap, BookSnapshot)
    assert snap.yes_bids == ()
    assert snap.no_bids == ()


def test_snapshot_with_one_side_absent_keeps_the_other() -> None:
    snap = parse_frame(_snapshot({"no_dollars_fp": [["0.0100", "66800.00"]]}), RECV_NS)
    assert isinstance(snap, BookSnapshot)
    assert snap.yes_bids == ()
    assert snap.no_bids == ((100, 6_680_000),)


def test_get_snapshot_reply_with_request_id_parses_as_snapshot() -> None:
    snap = parse_frame(_snapshot({"yes_dollars_fp": [["0.5000", "1.00"]]}, id=127), RECV_NS)
    assert isinstance(snap, BookSnapshot)
    assert snap.seq == 2


# -- orderbook_delta ---------------------------------------------------------------------


def test_current_delta_parses_with_exchange_and_receive_times() -> None:
    delta = parse_frame(_delta(), RECV_NS)
    assert delta == BookDelta(
        market_ticker=MARKET,
        sid=2,
        seq=3,
        side=Side.YES,
        price_ticks=9_600,
        delta_units=-5_400,
        ts_exchange_ms=1669149841000,
        ts_recv_ns=RECV_NS,
    )


def test_delta_with_sub_cent_price_and_fractional_delta_is_exact() -> None:
    delta = parse_frame(_delta(price_dollars="0.0520", delta_fp="-92.57", side="no"), RECV_NS)
    assert isinstance(delta, BookDelta)
    assert (delta.side, delta.price_ticks, delta.delta_units) == (Side.NO, 520, -9_257)


def test_delta_without_ts_ms_takes_exchange_time_from_rfc3339_ts() -> None:
    delta = parse_frame(_delta(ts="2026-04-20T05:55:45.094Z", ts_ms=...), RECV_NS)
    assert isinstance(delta, BookDelta)
    assert delta.ts_exchange_ms == 1776664545094


def test_delta_without_any_time_has_no_exchange_time() -> None:
    delta = parse_frame(_delta(ts=..., ts_ms=...), RECV_NS)
    assert isinstance(delta, BookDelta)
    assert delta.ts_exchange_ms is None


def test_delta_caused_by_our_order_carries_client_order_id() -> None:
    delta = parse_frame(_delta(client_order_id="my-order-1"), RECV_NS)
    assert isinstance(delta, BookDelta)
    assert delta.client_order_id == "my-order-1"


def test_legacy_delta_in_cents_and_whole_contracts_is_converted() -> None:
    raw = _delta(price_dollars=..., delta_fp=..., price=96, delta=-54)
    delta = parse_frame(raw, RECV_NS)
    assert isinstance(delta, BookDelta)
    assert (delta.price_ticks, delta.delta_units) == (9_600, -5_400)


def test_delta_frame_may_be_bytes() -> None:
    delta = parse_frame(_delta().encode(), RECV_NS)
    assert isinstance(delta, BookDelta)


# -- trade -------------------------------------------------------------------------------


def test_current_trade_parses_exactly() -> None:
    trade = parse_frame(_trade(), RECV_NS)
    assert trade == Trade(
        market_ticker="HIGHNY-22DEC23-B53.5",
        sid=11,
        seq=2,
        trade_id="d91bc706-ee49-470d-82d8-11418bda6fed",
        yes_price_ticks=3_600,
        count_units=13_600,
        taker_side=Side.NO,
        ts_exchange_ms=1669149841000,
        ts_recv_ns=RECV_NS,
    )


def test_trade_prefers_taker_outcome_side_over_deprecated_taker_side() -> None:
    trade = parse_frame(_trade(taker_side="no", taker_outcome_side="yes"), RECV_NS)
    assert isinstance(trade, Trade)
    assert trade.taker_side is Side.YES


def test_trade_with_only_deprecated_fields_uses_taker_side_and_ts_seconds() -> None:
    raw = _trade(taker_outcome_side=..., taker_book_side=..., ts_ms=..., taker_side="yes")
    trade = parse_frame(raw, RECV_NS)
    assert isinstance(trade, Trade)
    assert trade.taker_side is Side.YES
    assert trade.ts_exchange_ms == 1669149841000


def test_trade_with_sub_cent_price_and_fractional_count_is_exact() -> None:
    trade = parse_frame(_trade(yes_price_dollars="0.9810", count_fp="10.93"), RECV_NS)
    assert isinstance(trade, Trade)
    assert (trade.yes_price_ticks, trade.count_units) == (9_810, 1_093)


def test_legacy_trade_in_cents_and_whole_contracts_is_converted() -> None:
    raw = _trade(
        yes_price_dollars=..., no_price_dollars=..., count_fp=..., yes_price=36, no_price=64, count=136
    )
    trade = parse_frame(raw, RECV_NS)
    assert isinstance(trade, Trade)
    assert (trade.yes_price_ticks, trade.count_units) == (3_600, 13_600)


# -- ticker ------------------------------------------------------------------------------

_TICKER_MSG = {
    "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1",
    "market_ticker": "FED-23DEC-T3.00",
    "price_dollars": "0.4800",
    "yes_bid_dollars": "0.4500",
    "yes_ask_dollars": "0.5300",
    "volume_fp": "33896.00",
    "open_interest_fp": "20422.00",
    "dollar_volume": 16948,
    "dollar_open_interest": 10211,
    "yes_bid_size_fp": "300.00",
    "yes_ask_size_fp": "150.00",
    "last_trade_size_fp": "25.00",
    "ts": 1669149841,
    "ts_ms": 1669149841000,
    "time": "2022-11-22T20:44:01Z",
}


def test_current_ticker_parses_top_of_book() -> None:
    ticker = parse_frame(_dumps({"type": "ticker", "sid": 11, "msg": _TICKER_MSG}), RECV_NS)
    assert ticker == TickerUpdate(
        market_ticker="FED-23DEC-T3.00",
        yes_bid_ticks=4_500,
        yes_ask_ticks=5_300,
        yes_bid_size_units=30_000,
        yes_ask_size_units=15_000,
        last_price_ticks=4_800,
        ts_exchange_ms=1669149841000,
        ts_recv_ns=RECV_NS,
    )


def test_ticker_of_an_empty_book_reads_bid_zero_and_ask_one() -> None:
    msg = {
        **_TICKER_MSG,
        "yes_bid_dollars": "0.0000",
        "yes_ask_dollars": "1.0000",
        "yes_bid_size_fp": "0.00",
        "yes_ask_size_fp": "0.00",
    }
    ticker = parse_frame(_dumps({"type": "ticker", "sid": 11, "msg": msg}), RECV_NS)
    assert isinstance(ticker, TickerUpdate)
    assert (ticker.yes_bid_ticks, ticker.yes_ask_ticks) == (0, 10_000)
    assert (ticker.yes_bid_size_units, ticker.yes_ask_size_units) == (0, 0)


def test_ticker_without_ts_ms_uses_ts_seconds() -> None:
    msg = {k: v for k, v in _TICKER_MSG.items() if k != "ts_ms"}
    ticker = parse_frame(_dumps({"type": "ticker", "sid": 11, "msg": msg}), RECV_NS)
    assert isinstance(ticker, TickerUpdate)
    assert ticker.ts_exchange_ms == 1669149841000


def test_legacy_ticker_in_cents_is_converted() -> None:
    msg = {"market_ticker": "FED-23DEC-T3.00", "price": 48, "yes_bid": 45, "yes_ask": 53, "ts": 1669149841}
    ticker = parse_frame(_dumps({"type": "ticker", "sid": 11, "msg": msg}), RECV_NS)
    assert isinstance(ticker, TickerUpdate)
    assert (ticker.yes_bid_ticks, ticker.yes_ask_ticks, ticker.last_price_ticks) == (4_500, 5_300, 4_800)


# -- market_lifecycle_v2 -----------------------------------------------------------------


def _lifecycle(msg: dict[str, Any], kind: str = "market_lifecycle_v2") -> str:
    return _dumps({"type": kind, "sid": 13, "seq": 20, "msg": {"market_ticker": MARKET, **msg}})


def test_determined_lifecycle_carries_result_and_exact_settlement() -> None:
    raw = _lifecycle(
        {
            "event_type": "determined",
            "determination_ts": 1776664805,
            "result": "yes",
            "settlement_value": "1.0000",
        }
    )
    event = parse_frame(raw, RECV_NS)
    assert isinstance(event, LifecycleEvent)
    assert event.event_type == "determined"
    assert event.result == "yes"
    assert event.settlement_ticks == 10_000
    assert event.ts_exchange_ms == 1776664805000
    assert (event.sid, event.seq) == (13, 20)


def test_settled_lifecycle_takes_its_time_from_settled_ts() -> None:
    event = parse_frame(_lifecycle({"event_type": "settled", "settled_ts": 1776664814}), RECV_NS)
    assert isinstance(event, LifecycleEvent)
    assert event.ts_exchange_ms == 1776664814000
    assert event.result is None
    assert event.settlement_ticks is None


def test_created_lifecycle_carries_open_and_close_times_and_all_fields() -> None:
    raw = _lifecycle(
        {
            "event_type": "created",
            "open_ts": 1694635200,
            "close_ts": 1694721600,
            "price_level_structure": "tapered_deci_cent",
            "price_ranges": [{"start": "0.0000", "end": "0.1000", "step": "0.0010"}],
        }
    )
    event = parse_frame(raw, RECV_NS)
    assert isinstance(event, LifecycleEvent)
    assert (event.open_ts_ms, event.close_ts_ms) == (1694635200000, 1694721600000)
    assert event.fields["price_level_structure"] == "tapered_deci_cent"


def test_empty_result_reads_as_none() -> None:
    event = parse_frame(_lifecycle({"event_type": "determined", "result": ""}), RECV_NS)
    assert isinstance(event, LifecycleEvent)
    assert event.result is None


def test_legacy_lifecycle_with_settlement_in_cents_is_converted() -> None:
    raw = _lifecycle(
        {"event_type": "determined", "result": "no", "settlement_value": 0}, kind="market_lifecycle"
    )
    event = parse_frame(raw, RECV_NS)
    assert isinstance(event, LifecycleEvent)
    assert event.settlement_ticks == 0
    assert event.result == "no"


def test_lifecycle_accepts_settlement_value_dollars_spelling() -> None:
    raw = _lifecycle({"event_type": "determined", "result": "scalar", "settlement_value_dollars": "0.5250"})
    event = parse_frame(raw, RECV_NS)
    assert isinstance(event, LifecycleEvent)
    assert event.settlement_ticks == 5_250


# -- control replies ---------------------------------------------------------------------


def test_subscribed_reply_takes_sid_from_msg() -> None:
    raw = '{"id": 1, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": 1}}'
    assert parse_frame(raw, RECV_NS) == Subscribed(1, "orderbook_delta", 1)


def test_update_subscription_ok_carries_sid_seq_and_tickers() -> None:
    raw = '{"id": 123, "sid": 456, "seq": 222, "type": "ok", "msg": {"market_tickers": ["MARKET-1", "MARKET-2"]}}'
    assert parse_frame(raw, RECV_NS) == Ok(123, 456, 222, ("MARKET-1", "MARKET-2"))


def test_ok_without_msg_or_seq_parses() -> None:
    assert parse_frame('{"id": 5, "type": "ok"}', RECV_NS) == Ok(5, None, None, ())


def test_list_subscriptions_reply_is_type_ok_with_a_list() -> None:
    subs = [{"channel": "orderbook_delta", "sid": 1}, {"channel": "ticker", "sid": 2}]
    reply = parse_frame(_dumps({"id": 3, "type": "ok", "msg": subs}), RECV_NS)
    assert reply == ListSubscriptions(3, tuple(subs))


def test_list_subscriptions_type_name_is_also_accepted() -> None:
    subs = [{"channel": "fill", "sid": 3}]
    reply = parse_frame(_dumps({"id": 3, "type": "list_subscriptions", "msg": subs}), RECV_NS)
    assert reply == ListSubscriptions(3, tuple(subs))


def test_unsubscribed_reply_carries_top_level_sid_and_seq() -> None:
    raw = '{"id": 102, "sid": 2, "seq": 7, "type": "unsubscribed"}'
    assert parse_frame(raw, RECV_NS) == Unsubscribed(102, 2, 7)


def test_command_error_has_no_sid() -> None:
    raw = '{"id": 123, "type": "error", "msg": {"code": 7, "msg": "Unknown subscription ID"}}'
    reply = parse_frame(raw, RECV_NS)
    assert reply == ErrorReply(123, 7, "Unknown subscription ID")
    assert isinstance(reply, ErrorReply)
    assert not reply.is_terminal


@pytest.mark.parametrize("code", [10, 25])
def test_subscription_scoped_terminal_error_carries_sid_and_seq(code: int) -> None:
    raw = _dumps({"id": 9, "sid": 4, "seq": 88, "type": "error", "msg": {"code": code, "msg": "x"}})
    reply = parse_frame(raw, RECV_NS)
    assert isinstance(reply, ErrorReply)
    assert (reply.sid, reply.seq, reply.code) == (4, 88, code)
    assert reply.is_terminal


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["{", "", "not json", '{"type": "ok"', b"\x80\x81"])
def test_bad_json_is_refused(raw: str | bytes) -> None:
    assert "not JSON" in _parse_error(raw).reason


@pytest.mark.parametrize(
    ("raw", "kind"), [("[]", "list"), ("1", "int"), ("null", "NoneType"), ('"ok"', "str")]
)
def test_non_object_json_is_refused(raw: str, kind: str) -> None:
    reason = _parse_error(raw).reason
    assert "expected a JSON object" in reason
    assert kind in reason


@pytest.mark.parametrize(
    "raw", ['{"type": "ticker_v2", "msg": {}}', '{"msg": {}}', '{"type": 5}', '{"type": null}']
)
def test_unknown_message_type_is_refused(raw: str) -> None:
    assert "unknown message type" in _parse_error(raw).reason


@pytest.mark.parametrize(
    ("raw", "missing"),
    [
        (_delta(side=...), "side"),
        (_delta(delta_fp=...), "delta_fp"),
        (_delta(price_dollars=...), "price"),
        (_delta(market_ticker=...), "market_ticker"),
        ('{"type": "orderbook_delta", "sid": 1, "seq": 1}', "msg"),
        ('{"type": "orderbook_snapshot", "sid": 1, "msg": {"market_ticker": "X"}}', "seq"),
        ('{"type": "orderbook_snapshot", "seq": 1, "msg": {"market_ticker": "X"}}', "sid"),
        (_trade(trade_id=...), "trade_id"),
        (_trade(taker_side=..., taker_outcome_side=...), "taker_side"),
        ('{"type": "error", "msg": {"msg": "x"}}', "code"),
        ('{"type": "subscribed", "msg": {"channel": "ticker"}}', "sid"),
        ('{"type": "unsubscribed", "id": 1}', "sid"),
        ('{"type": "market_lifecycle_v2", "sid": 1, "seq": 1, "msg": {"market_ticker": "X"}}', "event_type"),
        ('{"type": "ticker", "sid": 1, "msg": {"yes_bid_dollars": "0.5000"}}', "market_ticker"),
    ],
)
def test_frame_missing_a_required_field_is_refused_naming_it(raw: str, missing: str) -> None:
    error = _parse_error(raw)
    assert "malformed" in error.reason
    assert missing in error.reason


@pytest.mark.parametrize("price", ["0.0000", "1.0000", "1.2000", "0", "1"])
def test_delta_price_outside_the_open_unit_interval_is_refused(price: str) -> None:
    error = _parse_error(_delta(price_dollars=price))
    assert "outside (0, 1)" in error.reason
    assert error.market_ticker == MARKET


@pytest.mark.parametrize("price", ["0.0000", "1.0000", "1.2000"])
def test_snapshot_price_outside_the_open_unit_interval_is_refused(price: str) -> None:
    assert "outside (0, 1)" in _parse_error(_snapshot({"no_dollars_fp": [[price, "5.00"]]})).reason


@pytest.mark.parametrize("price", ["0.0000", "1.0000"])
def test_trade_price_outside_the_open_unit_interval_is_refused(price: str) -> None:
    assert "outside (0, 1)" in _parse_error(_trade(yes_price_dollars=price)).reason


def test_legacy_delta_at_100_cents_is_refused() -> None:
    assert (
        "outside (0, 1)" in _parse_error(_delta(price_dollars=..., delta_fp=..., price=100, delta=5)).reason
    )


@pytest.mark.parametrize(
    "raw", [_delta(delta_fp="0.00"), _delta(price_dollars=..., delta_fp=..., price=50, delta=0)]
)
def test_zero_delta_is_refused(raw: str) -> None:
    assert "zero delta" in _parse_error(raw).reason


@pytest.mark.parametrize("size", ["0.00", "-1.00"])
def test_snapshot_level_with_non_positive_size_is_refused(size: str) -> None:
    reason = _parse_error(_snapshot({"yes_dollars_fp": [["0.5000", "3.00"], ["0.4000", size]]})).reason
    assert "0.4000" in reason
    assert size in reason


def test_snapshot_repeating_a_level_is_refused() -> None:
    raw = _snapshot({"yes_dollars_fp": [["0.5000", "3.00"], ["0.5000", "4.00"]]})
    assert "repeats the level at 0.5000" in _parse_error(raw).reason


def test_snapshot_repeating_a_level_in_another_spelling_is_refused() -> None:
    raw = _snapshot({"no_dollars_fp": [["0.5", "3.00"], ["0.5000", "4.00"]]})
    assert "repeats the level" in _parse_error(raw).reason


@pytest.mark.parametrize("level", [["0.5000"], ["0.5000", "1.00", "x"], "ab", 5])
def test_snapshot_level_of_the_wrong_shape_is_refused(level: Any) -> None:
    _parse_error(_snapshot({"yes_dollars_fp": [level]}))


@pytest.mark.parametrize("side", ["maybe", "YES", "", None, "bid"])
def test_delta_on_an_unknown_side_is_refused(side: Any) -> None:
    error = _parse_error(_delta(side=side))
    assert "unknown side" in error.reason
    assert error.market_ticker == MARKET


@pytest.mark.parametrize("side", ["maybe", "bid"])
def test_trade_with_an_unknown_taker_side_is_refused(side: str) -> None:
    assert "unknown taker side" in _parse_error(_trade(taker_outcome_side=side)).reason


def test_trade_with_zero_count_is_refused() -> None:
    assert "non-positive count" in _parse_error(_trade(count_fp="0.00")).reason


@pytest.mark.parametrize("seq", ["3", 3.0, True, None, [3]])
def test_delta_with_non_integer_seq_is_refused(seq: Any) -> None:
    frame = json.loads(_delta())
    frame["seq"] = seq
    assert "expected integer seq" in _parse_error(_dumps(frame)).reason


@pytest.mark.parametrize("seq", ["3", 3.5, False])
def test_snapshot_trade_and_reply_with_non_integer_seq_are_refused(seq: Any) -> None:
    for raw in (_snapshot({}), _trade(), '{"id": 1, "sid": 2, "seq": 7, "type": "unsubscribed"}'):
        frame = json.loads(raw)
        frame["seq"] = seq
        assert "expected integer seq" in _parse_error(_dumps(frame)).reason


def test_non_integer_sid_is_refused() -> None:
    frame = json.loads(_delta())
    frame["sid"] = "2"
    assert "expected integer sid" in _parse_error(_dumps(frame)).reason


def test_non_integer_ts_ms_is_refused() -> None:
    assert "ts_ms" in _parse_error(_delta(ts_ms="1669149841000")).reason


def test_unparseable_ts_is_refused() -> None:
    assert "RFC 3339" in _parse_error(_delta(ts_ms=..., ts="yesterday")).reason


@pytest.mark.parametrize(
    "fields",
    [{"price_dollars": 0.96}, {"delta_fp": -54}, {"price_dollars": "0.96000"}, {"delta_fp": "1.001"}],
)
def test_delta_with_float_or_over_precise_values_is_refused(fields: dict[str, Any]) -> None:
    _parse_error(_delta(**fields))


def test_empty_market_ticker_is_refused() -> None:
    assert "market_ticker" in _parse_error(_delta(market_ticker="")).reason


def test_error_with_non_integer_code_is_refused() -> None:
    assert "code" in _parse_error('{"type": "error", "msg": {"code": "7", "msg": "x"}}').reason


def test_ok_with_market_tickers_not_a_list_is_refused() -> None:
    _parse_error('{"id": 1, "type": "ok", "msg": {"market_tickers": "MKT-1"}}')


def test_delta_price_in_non_ascii_digits_is_refused() -> None:
    _parse_error(_delta(price_dollars="\u0660.\u0669\u0666"))


# -- encode -> parse round trips ---------------------------------------------------------

_prices = st.integers(min_value=1, max_value=9_999)
_sizes = st.integers(min_value=1, max_value=10**12)
_ladders = st.dictionaries(_prices, _sizes, max_size=20).map(lambda d: sorted(d.items()))
_ts_ms = st.integers(min_value=0, max_value=4_102_444_800_000)  # up to 2100
_sides = st.sampled_from(Side)


@settings(max_examples=200)
@given(st.integers(1, 2**31), st.integers(0, 2**40), _ladders, _ladders)
def test_snapshot_frame_round_trips(sid: int, seq: int, yes: list, no: list) -> None:
    raw = encode.snapshot_frame(sid, seq, MARKET, MARKET_ID, yes, no)
    msg = json.loads(raw)["msg"]
    assert ("yes_dollars_fp" in msg) == bool(yes)  # Kalshi omits an empty side
    assert ("no_dollars_fp" in msg) == bool(no)
    snap = parse_frame(raw, RECV_NS)
    assert snap == BookSnapshot(MARKET, sid, seq, tuple(yes), tuple(no), None, RECV_NS)


def test_snapshot_frame_for_get_snapshot_carries_the_request_id() -> None:
    raw = encode.snapshot_frame(1, 9, MARKET, MARKET_ID, [(5_000, 100)], [], request_id=127)
    assert json.loads(raw)["id"] == 127
    assert isinstance(parse_frame(raw, RECV_NS), BookSnapshot)


@settings(max_examples=200)
@given(
    st.integers(1, 1000),
    st.integers(0, 2**40),
    _sides,
    _prices,
    st.integers(-(10**12), 10**12).filter(bool),
    _ts_ms,
)
def test_delta_frame_round_trips(sid: int, seq: int, side: Side, price: int, delta: int, ts_ms: int) -> None:
    raw = encode.delta_frame(sid, seq, MARKET, MARKET_ID, side, price, delta, ts_ms)
    assert parse_frame(raw, RECV_NS) == BookDelta(MARKET, sid, seq, side, price, delta, ts_ms, RECV_NS)
    assert rfc3339_to_ms(json.loads(raw)["msg"]["ts"]) == ts_ms


@settings(max_examples=200)
@given(st.integers(1, 1000), st.integers(0, 2**40), _prices, _sizes, _sides, _ts_ms)
def test_trade_frame_round_trips(sid: int, seq: int, price: int, count: int, taker: Side, ts_ms: int) -> None:
    raw = encode.trade_frame(sid, seq, MARKET, "t-1", price, count, taker, ts_ms)
    msg = json.loads(raw)["msg"]
    assert (
        int(msg["yes_price_dollars"].replace(".", "")) + int(msg["no_price_dollars"].replace(".", ""))
        == 10_000
    )
    assert parse_frame(raw, RECV_NS) == Trade(MARKET, sid, seq, "t-1", price, count, taker, ts_ms, RECV_NS)


def test_lifecycle_frame_round_trips() -> None:
    raw = encode.lifecycle_frame(
        3, 20, MARKET, "determined", result="yes", settlement_value="1.0000", determination_ts=1776664805
    )
    event = parse_frame(raw, RECV_NS)
    assert isinstance(event, LifecycleEvent)
    assert (event.market_ticker, event.event_type, event.result) == (MARKET, "determined", "yes")
    assert (event.settlement_ticks, event.ts_exchange_ms, event.sid, event.seq) == (
        10_000,
        1776664805000,
        3,
        20,
    )


@pytest.mark.parametrize("request_id", [1, None])
def test_subscribed_frame_round_trips(request_id: int | None) -> None:
    raw = encode.subscribed_frame(request_id, "trade", 2)
    assert parse_frame(raw, RECV_NS) == Subscribed(request_id, "trade", 2)


def test_unsubscribed_frame_round_trips() -> None:
    assert parse_frame(encode.unsubscribed_frame(102, 2, 7), RECV_NS) == Unsubscribed(102, 2, 7)


def test_ok_frame_round_trips() -> None:
    raw = encode.ok_frame(123, 456, 222, ["MARKET-1", "MARKET-2"])
    assert parse_frame(raw, RECV_NS) == Ok(123, 456, 222, ("MARKET-1", "MARKET-2"))


@pytest.mark.parametrize(("sid", "seq"), [(None, None), (4, None), (4, 88)])
def test_error_frame_round_trips(sid: int | None, seq: int | None) -> None:
    raw = encode.error_frame(9, 25, "Subscription buffer overflow", sid, seq)
    assert parse_frame(raw, RECV_NS) == ErrorReply(9, 25, "Subscription buffer overflow", sid, seq)


def test_command_builds_kalshi_subscribe_shape() -> None:
    raw = encode.command(1, "subscribe", channels=["orderbook_delta"], market_tickers=[MARKET])
    assert json.loads(raw) == {
        "id": 1,
        "cmd": "subscribe",
        "params": {"channels": ["orderbook_delta"], "market_tickers": [MARKET]},
    }
    assert json.loads(encode.command(3, "list_subscriptions")) == {"id": 3, "cmd": "list_subscriptions"}


@pytest.mark.parametrize(
    ("ts_ms", "text"),
    [
        (1776664545094, "2026-04-20T05:55:45.094Z"),
        (1776664685000, "2026-04-20T05:58:05.000Z"),
        (0, "1970-01-01T00:00:00.000Z"),
    ],
)
def test_rfc3339_writes_milliseconds_zero_padded(ts_ms: int, text: str) -> None:
    assert encode.rfc3339(ts_ms) == text
