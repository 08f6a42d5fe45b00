"""Contract: every WebSocket frame type the feed parses, against Kalshi's AsyncAPI document.

Document: "Kalshi Market Data WebSocket API", AsyncAPI 2.0.0 (a copy of
docs.kalshi.com/asyncapi.yaml), repository TexasCoding/kalshi-python-sdk, ``specs/asyncapi.yaml``
at commit bcd7533ecf15974667320f5cc8932818a1351b3c. The expectations below are our own
transcription (payload schemas ``orderbookSnapshotPayload``, ``orderbookDeltaPayload``,
``tradePayload``, ``tickerPayload``, ``marketLifecycleV2Payload``, ``marketMetadataUpdatedPayload``,
``eventLifecyclePayload``, ``eventFeeUpdatePayload``, ``subscribedResponsePayload``,
``unsubscribedResponsePayload``, ``okResponsePayload``, ``listSubscriptionsResponsePayload``,
``errorResponsePayload``, and the documented examples), not a copy of the document.

For each payload every documented field is either **read** by our parser or **ignored** on
purpose (``IGNORED``, with why). For every read field: the documented example parses; a
missing required field, a value of the wrong JSON type, and a value outside a documented enum
are refused with a reason (the caller quarantines the frame); every documented enum value is
accepted. Two enums are deliberately open: ``error.msg.code`` (a refusal with a new code is
still a refusal, and hiding it would be worse) and ``price_level_structure`` (Kalshi adds
structures; the grid is read from ``price_ranges``). Then the encoder the local exchange uses
(``kalshi/encode.py``) is checked to emit exactly the documented fields, required ones included.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest

from kalshi_rl.core.errors import FrameError
from kalshi_rl.core.events import (
    BookDelta,
    BookSnapshot,
    EventFeeUpdate,
    EventLifecycle,
    LifecycleEvent,
    Side,
    TickerUpdate,
    Trade,
)
from kalshi_rl.core.fee_schedule import FeeSchedule, FeeSource, FeeType
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.messages import ErrorReply, ListSubscriptions, Ok, Subscribed, Unsubscribed, parse_frame


@dataclass(frozen=True)
class F:
    """One documented field: its JSON type(s), whether required, its enum (empty: open)."""

    kinds: tuple[str, ...]
    required: bool = False
    enum: tuple[Any, ...] = ()


def req(*kinds: str, enum: tuple[Any, ...] = ()) -> F:
    return F(kinds, True, enum)


def opt(*kinds: str, enum: tuple[Any, ...] = ()) -> F:
    return F(kinds, False, enum)


SIDE = ("yes", "no")
EVENT_TYPES = (
    "created",
    "deactivated",
    "activated",
    "close_date_updated",
    "determined",
    "settled",
    "price_level_structure_updated",
)
PRICE_LEVEL_STRUCTURES = (
    "banded_centi_cent",
    "",
    "linear_cent",
    "deci_cent",
    "tapered_deci_cent",
    "center_whole_edge_half_cent",
    "center_whole_edge_quint_cent",
    "center_half_edge_half_cent",
    "center_half_edge_quint_cent",
    "center_half_edge_deci_cent",
    "center_quint_edge_quint_cent",
    "center_quint_edge_deci_cent",
    "center_centi_edge_centi_cent",
    "center_deci_edge_centi_cent",
)
FEE_TYPES = (
    "quadratic",
    "quadratic_with_maker_fees",
    "quadratic_with_combo_maker_fees",
    "flat",
    "margin_market_maker_program_fees",
)
ERROR_CODES = (1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28)


@dataclass(frozen=True)
class Payload:
    """A documented payload: top-level fields, ``msg`` fields, and the document's example."""

    top: dict[str, F]
    msg: dict[str, F]
    example: dict[str, Any]
    parsed: type


SEQUENCED = {"type": req("string"), "sid": req("integer"), "seq": req("integer"), "msg": req("object")}

PAYLOADS: dict[str, Payload] = {
    "orderbook_snapshot": Payload(
        {**SEQUENCED, "id": opt("integer")},
        {
            "market_ticker": req("string"),
            "market_id": req("string"),
            "yes_dollars_fp": opt("array"),
            "no_dollars_fp": opt("array"),
        },
        {
            "type": "orderbook_snapshot",
            "sid": 2,
            "seq": 2,
            "msg": {
                "market_ticker": "FED-23DEC-T3.00",
                "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1",
                "yes_dollars_fp": [["0.0800", "300.00"], ["0.2200", "333.00"]],
                "no_dollars_fp": [["0.5400", "20.00"], ["0.5600", "146.00"]],
            },
        },
        BookSnapshot,
    ),
    "orderbook_delta": Payload(
        SEQUENCED,
        {
            "market_ticker": req("string"),
            "market_id": req("string"),
            "price_dollars": req("string"),
            "delta_fp": req("string"),
            "side": req("string", enum=SIDE),
            "client_order_id": opt("string"),
            "ts": opt("string"),
            "ts_ms": opt("integer"),
            "subaccount": opt("integer"),
        },
        {
            "type": "orderbook_delta",
            "sid": 2,
            "seq": 3,
            "msg": {
                "market_ticker": "FED-23DEC-T3.00",
                "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1",
                "price_dollars": "0.9600",
                "delta_fp": "-54.00",
                "side": "yes",
                "ts": "2022-11-22T20:44:01Z",
                "ts_ms": 1669149841000,
            },
        },
        BookDelta,
    ),
    "trade": Payload(
        SEQUENCED,
        {
            "trade_id": req("string"),
            "market_ticker": req("string"),
            "yes_price_dollars": req("string"),
            "no_price_dollars": req("string"),
            "count_fp": req("string"),
            "taker_side": req("string", enum=SIDE),
            "taker_outcome_side": req("string", enum=SIDE),
            "taker_book_side": req("string", enum=("bid", "ask")),
            "is_block_trade": req("boolean"),
            "ts": req("integer"),
            "ts_ms": req("integer"),
        },
        {
            "type": "trade",
            "sid": 11,
            "seq": 2,
            "msg": {
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
            },
        },
        Trade,
    ),
    "ticker": Payload(
        {"type": req("string"), "sid": req("integer"), "msg": req("object")},
        {
            "market_id": req("string"),
            "market_ticker": req("string"),
            "price_dollars": req("string"),
            "yes_bid_dollars": req("string"),
            "yes_ask_dollars": req("string"),
            "volume_fp": req("string"),
            "open_interest_fp": req("string"),
            "dollar_volume": req("integer"),
            "dollar_open_interest": req("integer"),
            "yes_bid_size_fp": req("string"),
            "yes_ask_size_fp": req("string"),
            "last_trade_size_fp": req("string"),
            "ts": req("integer"),
            "ts_ms": req("integer"),
            "time": req("string"),
        },
        {
            "type": "ticker",
            "sid": 11,
            "msg": {
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
            },
        },
        TickerUpdate,
    ),
    "market_lifecycle_v2": Payload(
        SEQUENCED,
        {
            "market_ticker": req("string"),
            "exchange_index": opt("integer"),
            "open_ts": opt("integer"),
            "close_ts": opt("integer"),
            "determination_ts": opt("integer"),
            "settled_ts": opt("integer"),
            "result": opt("string"),
            "settlement_value": opt("string"),
            "is_deactivated": opt("boolean"),
            "additional_metadata": opt("object"),
            "event_type": req("string", enum=EVENT_TYPES),
            "price_level_structure": opt("string"),
            "price_ranges": opt("array"),
        },
        {
            "type": "market_lifecycle_v2",
            "sid": 13,
            "seq": 3,
            "msg": {
                "market_ticker": "INXD-23SEP14-B4487",
                "exchange_index": 0,
                "open_ts": 1694635200,
                "close_ts": 1694721600,
                "additional_metadata": {
                    "name": "S&P 500 daily return on Sep 14",
                    "title": "S&P 500 closes up by 0.02% or more",
                    "yes_sub_title": "S&P 500 closes up 0.02%+",
                    "no_sub_title": "S&P 500 closes up <0.02%",
                    "rules_primary": "The S&P 500 index level at 4:00 PM ET...",
                    "rules_secondary": "",
                    "can_close_early": True,
                    "event_ticker": "INXD-23SEP14",
                    "expected_expiration_ts": 1694721600,
                    "strike_type": "greater",
                    "floor_strike": 4487,
                },
                "event_type": "created",
                "price_level_structure": "linear_cent",
            },
        },
        LifecycleEvent,
    ),
    "market_lifecycle_v2 metadata_updated": Payload(
        SEQUENCED,
        {
            "event_type": req("string", enum=("metadata_updated",)),
            "market_ticker": req("string"),
            "strike_type": opt("string"),
            "floor_strike": opt("number"),
            "cap_strike": opt("number"),
            "custom_strike": opt("object"),
            "yes_sub_title": opt("string"),
        },
        {
            "type": "market_lifecycle_v2",
            "sid": 13,
            "seq": 5,
            "msg": {
                "event_type": "metadata_updated",
                "market_ticker": "KXBTC-25APR30-T0915-B95000",
                "strike_type": "between",
                "floor_strike": 95000,
                "cap_strike": 95250,
            },
        },
        LifecycleEvent,
    ),
    "event_lifecycle": Payload(
        SEQUENCED,
        {
            "event_ticker": req("string"),
            "exchange_index": req("integer"),
            "title": req("string"),
            "subtitle": req("string"),
            "collateral_return_type": req("string", enum=("MECNET", "DIRECNET", "")),
            "series_ticker": req("string"),
            "strike_date": opt("integer"),
            "strike_period": opt("string"),
        },
        {
            "type": "event_lifecycle",
            "sid": 5,
            "seq": 8,
            "msg": {
                "event_ticker": "KXQUICKSETTLE-26JAN25H2150",
                "exchange_index": 0,
                "title": "What will 1+1 equal on Jan 25 at 21:50?",
                "subtitle": "Jan 25 at 21:50",
                "collateral_return_type": "MECNET",
                "series_ticker": "KXQUICKSETTLE",
            },
        },
        EventLifecycle,
    ),
    "event_fee_update": Payload(
        SEQUENCED,
        {
            "event_ticker": req("string"),
            "fee_type_override": req("string", "null", enum=(*FEE_TYPES, None)),
            "fee_multiplier_override": req("number", "null"),
        },
        {
            "type": "event_fee_update",
            "sid": 5,
            "seq": 9,
            "msg": {
                "event_ticker": "KXBTCD-26MAY2018",
                "fee_type_override": "quadratic",
                "fee_multiplier_override": 1,
            },
        },
        EventFeeUpdate,
    ),
    "subscribed": Payload(
        {"type": req("string"), "id": opt("integer"), "msg": req("object")},
        {"channel": req("string"), "sid": req("integer")},
        {"id": 1, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": 1}},
        Subscribed,
    ),
    "unsubscribed": Payload(
        {"type": req("string"), "id": opt("integer"), "sid": req("integer"), "seq": req("integer")},
        {},
        {"id": 102, "sid": 2, "seq": 7, "type": "unsubscribed"},
        Unsubscribed,
    ),
    "ok": Payload(
        {
            "type": req("string"),
            "id": opt("integer"),
            "sid": opt("integer"),
            "seq": opt("integer"),
            "msg": opt("object"),
        },
        {"market_tickers": opt("array"), "market_ids": opt("array")},
        {
            "id": 123,
            "sid": 456,
            "seq": 222,
            "type": "ok",
            "msg": {"market_tickers": ["MARKET-1", "MARKET-2", "MARKET-3"]},
        },
        Ok,
    ),
    "list_subscriptions": Payload(
        {"type": req("string"), "id": opt("integer"), "msg": req("array")},
        {},
        {
            "id": 3,
            "type": "ok",
            "msg": [
                {"channel": "orderbook_delta", "sid": 1},
                {"channel": "ticker", "sid": 2},
                {"channel": "fill", "sid": 3},
            ],
        },
        ListSubscriptions,
    ),
    "error": Payload(
        {
            "type": req("string"),
            "id": opt("integer"),
            "sid": opt("integer"),
            "seq": opt("integer"),
            "msg": req("object"),
        },
        {
            "code": req("integer", enum=ERROR_CODES),
            "msg": req("string"),
            "market_ticker": opt("string"),
            "market_tickers": opt("array"),
        },
        {"id": 123, "type": "error", "msg": {"code": 7, "msg": "Unknown subscription ID"}},
        ErrorReply,
    ),
}

IGNORED: dict[tuple[str, str], str] = {
    ("orderbook_snapshot", "msg.market_id"): "the ticker names the market",
    ("orderbook_delta", "msg.market_id"): "the ticker names the market",
    ("orderbook_delta", "msg.subaccount"): "set only for our own orders; we do not trade live",
    ("trade", "msg.no_price_dollars"): "always 1 - yes_price_dollars",
    ("trade", "msg.taker_book_side"): "the same bit as taker_outcome_side",
    ("trade", "msg.is_block_trade"): "stored with the raw frame; the book does not depend on it",
    ("ticker", "msg.market_id"): "the ticker names the market",
    ("ticker", "msg.volume_fp"): "not used by the cross-checks",
    ("ticker", "msg.open_interest_fp"): "not used by the cross-checks",
    ("ticker", "msg.dollar_volume"): "not used by the cross-checks",
    ("ticker", "msg.dollar_open_interest"): "not used by the cross-checks",
    ("ticker", "msg.last_trade_size_fp"): "not used by the cross-checks",
    ("ticker", "msg.time"): "ts_ms says the same, exactly",
    ("ok", "msg.market_ids"): "we subscribe by ticker",
}
FALLBACK: dict[tuple[str, str], str] = {
    # Read only when another field is absent (older shapes, deprecated fields): a frame that has
    # the preferred field is not refused for this one being absent or of another type.
    ("orderbook_delta", "msg.ts"): "ts_ms is read first",
    ("trade", "msg.ts"): "ts_ms is read first",
    ("trade", "msg.ts_ms"): "falls back to ts (seconds)",
    ("trade", "msg.taker_side"): "deprecated; taker_outcome_side is read first",
    ("trade", "msg.taker_outcome_side"): "falls back to the deprecated taker_side",
    ("ticker", "msg.ts"): "ts_ms is read first",
    ("ticker", "msg.ts_ms"): "falls back to ts (seconds)",
    ("ticker", "msg.yes_bid_size_fp"): "a size the cross-checks can do without",
    ("ticker", "msg.yes_ask_size_fp"): "a size the cross-checks can do without",
    ("error", "msg.msg"): "an error keeps its code's meaning whatever its text",
    ("list_subscriptions", "msg"): "without a list it is the update_subscription ok",
}
OPEN_ENUMS = {("error", "msg.code"), ("market_lifecycle_v2", "msg.price_level_structure")}


def raw(payload: dict[str, Any]) -> str:
    return json.dumps(payload)


def changed(example: dict[str, Any], path: tuple[str, ...], value: Any = ...) -> dict[str, Any]:
    """A copy of ``example`` with the field at ``path`` set to ``value`` (``...``: removed)."""
    frame = copy.deepcopy(example)
    target = frame
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return frame


def refused(frame: dict[str, Any]) -> FrameError:
    with pytest.raises(FrameError) as caught:
        parse_frame(raw(frame), 1)
    assert caught.value.reason  # always a reason to quarantine it with
    return caught.value


Documented = tuple[str, tuple[str, ...], F]


def documented() -> list[Documented]:
    out = []
    for name, payload in PAYLOADS.items():
        out += [(name, (field,), spec) for field, spec in payload.top.items() if field != "type"]
        out += [(name, ("msg", field), spec) for field, spec in payload.msg.items()]
    return out


def key(name: str, path: tuple[str, ...]) -> tuple[str, str]:
    return name.split(" ")[0], ".".join(path)


READ = [d for d in documented() if key(d[0], d[1]) not in IGNORED]
CHECKED = [d for d in READ if key(d[0], d[1]) not in FALLBACK]
_WRONG = {"string": 5, "integer": "5", "number": "5", "boolean": "true", "object": 5, "array": 5}


def _id(value: object) -> str:
    return ".".join(value) if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize("name", PAYLOADS)
def test_the_documented_example_parses(name: str) -> None:
    payload = PAYLOADS[name]
    message = parse_frame(raw(payload.example), 1)
    assert type(message) is payload.parsed


def test_the_examples_parse_to_their_documented_values() -> None:
    snap = parse_frame(raw(PAYLOADS["orderbook_snapshot"].example), 1)
    assert isinstance(snap, BookSnapshot) and snap.no_bids == ((5_400, 2_000), (5_600, 14_600))
    delta = parse_frame(raw(PAYLOADS["orderbook_delta"].example), 1)
    assert isinstance(delta, BookDelta)
    assert (delta.price_ticks, delta.delta_units, delta.side) == (9_600, -5_400, Side.YES)
    fee = parse_frame(raw(PAYLOADS["event_fee_update"].example), 1)
    assert isinstance(fee, EventFeeUpdate)
    assert fee.fee_override == FeeSchedule(FeeType.QUADRATIC, Fraction(1), FeeSource.EVENT_OVERRIDE)


def test_the_exceptions_name_documented_fields() -> None:
    fields = {key(name, path) for name, path, _ in documented()}
    assert set(IGNORED) <= fields and set(FALLBACK) <= fields and fields >= OPEN_ENUMS


@pytest.mark.parametrize(("name", "path"), [(n, p) for n, p, spec in CHECKED if spec.required], ids=_id)
def test_a_read_required_field_missing_is_refused(name: str, path: tuple[str, ...]) -> None:
    error = refused(changed(PAYLOADS[name].example, path))
    assert path[-1] in error.reason or "malformed" in error.reason


@pytest.mark.parametrize(("name", "path", "kinds"), [(n, p, spec.kinds) for n, p, spec in CHECKED], ids=_id)
def test_a_read_field_of_the_wrong_type_is_refused(
    name: str, path: tuple[str, ...], kinds: tuple[str, ...]
) -> None:
    wrong = next(_WRONG[kind] for kind in kinds if kind in _WRONG)
    if "string" in kinds and wrong == "5":
        wrong = 5
    refused(changed(PAYLOADS[name].example, path, wrong))


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [(n, p, v) for n, p, spec in READ if key(n, p) not in OPEN_ENUMS for v in spec.enum],
    ids=_id,
)
def test_every_documented_enum_value_is_accepted(name: str, path: tuple[str, ...], value: Any) -> None:
    frame = changed(PAYLOADS[name].example, path, value)
    if name == "event_fee_update" and value is None:
        frame["msg"]["fee_multiplier_override"] = None  # the documented "cleared" pair
    if name == "market_lifecycle_v2":
        frame["msg"].update(_EVENT_FIELDS.get(value, {}))
    assert type(parse_frame(raw(frame), 1)) is PAYLOADS[name].parsed


_EVENT_FIELDS = {
    "close_date_updated": {"close_ts": 1694721600},
    "price_level_structure_updated": {
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0010"}]
    },
}


@pytest.mark.parametrize(
    ("name", "path", "kinds"),
    [(n, p, spec.kinds) for n, p, spec in CHECKED if spec.enum and key(n, p) not in OPEN_ENUMS],
    ids=_id,
)
def test_a_value_outside_a_documented_enum_is_refused(
    name: str, path: tuple[str, ...], kinds: tuple[str, ...]
) -> None:
    refused(changed(PAYLOADS[name].example, path, 999 if "integer" in kinds else "not_documented"))


@pytest.mark.parametrize("structure", PRICE_LEVEL_STRUCTURES)
def test_every_documented_price_level_structure_is_accepted(structure: str) -> None:
    frame = changed(PAYLOADS["market_lifecycle_v2"].example, ("msg", "price_level_structure"), structure)
    assert isinstance(parse_frame(raw(frame), 1), LifecycleEvent)


@pytest.mark.parametrize("code", ERROR_CODES)
def test_every_documented_error_code_is_an_error_reply(code: int) -> None:
    reply = parse_frame(raw(changed(PAYLOADS["error"].example, ("msg", "code"), code)), 1)
    assert isinstance(reply, ErrorReply) and reply.code == code


def test_sequence_numbers_are_read_from_every_sequenced_payload() -> None:
    for name, payload in PAYLOADS.items():
        if "seq" in payload.top and payload.top["seq"].required and "sid" in payload.top:
            message = parse_frame(raw(payload.example), 1)
            assert (message.sid, message.seq) == (payload.example["sid"], payload.example["seq"]), name  # type: ignore[union-attr]


# -- the encoder the local exchange speaks with -------------------------------------------------


def documented_shape(name: str, frame: dict[str, Any]) -> None:
    """Assert ``frame`` carries every required field of ``name`` and no undocumented one."""
    payload = PAYLOADS[name]
    for scope, fields, body in (("top", payload.top, frame), ("msg", payload.msg, frame.get("msg"))):
        if scope == "msg" and not isinstance(body, dict):
            continue
        assert isinstance(body, dict)
        assert set(body) <= set(fields), f"{name} {scope}: not documented: {set(body) - set(fields)}"
        missing = {f for f, spec in fields.items() if spec.required} - set(body)
        assert not missing, f"{name} {scope}: required but missing: {missing}"
        for field, value in body.items():
            kinds = fields[field].kinds
            kind = _json_kind(value)
            if kind == "integer" and "number" in kinds:
                kind = "number"  # JSON Schema: an integer is a number
            assert kind in kinds, f"{name}.{field}: {kind} is not {kinds}"
            if fields[field].enum:
                assert value in fields[field].enum, f"{name}.{field}: {value!r} not documented"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


TICKER_VALUES = encode.TickerValues(
    4_800, 4_500, 5_300, 30_000, 15_000, 3_389_600, 2_042_200, 16948, 10211, 2_500
)
ENCODED = {
    "orderbook_snapshot": encode.snapshot_frame(
        2, 2, "FED-23DEC-T3.00", "m", [(800, 30_000)], [(5_400, 2_000)]
    ),
    "orderbook_delta": encode.delta_frame(
        2, 3, "FED-23DEC-T3.00", "m", Side.YES, 9_600, -5_400, 1669149841000
    ),
    "trade": encode.trade_frame(11, 2, "HIGHNY-22DEC23-B53.5", "t", 3_600, 13_600, Side.NO, 1669149841000),
    "ticker": encode.ticker_frame(11, "FED-23DEC-T3.00", "m", TICKER_VALUES, 1669149841000),
    "market_lifecycle_v2": encode.lifecycle_frame(13, 4, "M", "deactivated", is_deactivated=True),
    "event_lifecycle": encode.event_lifecycle_frame(
        5, 8, event_ticker="E", series_ticker="S", title="t", subtitle="s", collateral_return_type="MECNET"
    ),
    "event_fee_update": encode.event_fee_update_frame(
        5, 9, "E", FeeSchedule(FeeType.QUADRATIC, Fraction(1), FeeSource.EVENT_OVERRIDE)
    ),
    "subscribed": encode.subscribed_frame(1, "orderbook_delta", 1),
    "unsubscribed": encode.unsubscribed_frame(102, 2, 7),
    "ok": encode.ok_frame(123, 456, 222, ["MARKET-1"]),
    "list_subscriptions": encode.list_subscriptions_frame(3, [{"channel": "orderbook_delta", "sid": 1}]),
    "error": encode.error_frame(123, 11, "Invalid parameter", market_ticker="X"),
}


@pytest.mark.parametrize("name", ENCODED)
def test_the_encoder_emits_exactly_the_documented_fields(name: str) -> None:
    frame = json.loads(ENCODED[name])
    documented_shape(name, frame)
    assert type(parse_frame(ENCODED[name], 1)) is PAYLOADS[name].parsed


def test_the_encoder_clears_a_fee_override_with_both_values_null() -> None:
    frame = json.loads(encode.event_fee_update_frame(5, 10, "E", None))
    documented_shape("event_fee_update", frame)
    assert frame["msg"]["fee_type_override"] is None and frame["msg"]["fee_multiplier_override"] is None


def test_the_encoder_omits_id_where_kalshi_omits_it() -> None:
    for frame in (encode.subscribed_frame(None, "trade", 2), encode.unsubscribed_frame(None, 2, 7)):
        assert "id" not in json.loads(frame)
