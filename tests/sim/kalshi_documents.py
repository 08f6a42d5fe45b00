"""Expectations written by hand from Kalshi's published documents, and a checker for them.

Sources (read, not copied; the expectations below are our own transcription):

- **AsyncAPI 2.0.0**, "Kalshi Market Data WebSocket API" (a copy of docs.kalshi.com/asyncapi.yaml):
  repository TexasCoding/kalshi-python-sdk, ``specs/asyncapi.yaml`` at commit
  bcd7533ecf15974667320f5cc8932818a1351b3c. Payloads: subscribedResponsePayload,
  unsubscribedResponsePayload, okResponsePayload, listSubscriptionsResponsePayload,
  errorResponsePayload, orderbookSnapshotPayload, orderbookDeltaPayload, tickerPayload,
  tradePayload, marketLifecycleV2Payload (+ lifecycleAdditionalMetadata,
  lifecyclePriceLevelStructure), marketMetadataUpdatedPayload, eventLifecyclePayload,
  eventFeeUpdatePayload; subscriptionId / sequenceNumber (minimum 1), commandId (minimum 0).
- **OpenAPI 3.31.0**, "Kalshi Trade API Manual Endpoints": same repository, ``specs/openapi.yaml``
  at the same commit. Schemas: Market, PriceRange, GetMarketsResponse, GetMarketResponse,
  GetMarketOrderbookResponse / OrderbookCountFp / PriceLevelDollarsCountFp, Series,
  GetSeriesResponse, EventData, GetEventResponse, SettlementSource, ErrorResponse,
  FixedPointDollars, FixedPointCount, FeeType.

A ``Spec`` maps every documented field of an object to a ``Field``; ``check`` fails on a
missing required field, a field the document does not have, a wrong JSON type, a value
outside the documented enum or const, or a malformed documented format.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union

_DOLLARS = re.compile(r"\d+\.\d{2,6}\Z")  # FixedPointDollars: "0.5600" (responses: up to 6 decimals)
_COUNT = re.compile(r"-?\d+\.\d{2}\Z")  # FixedPointCount: "10.00" (responses: always 2 decimals)


@dataclass(frozen=True)
class Field:
    """One documented field: JSON kind (or nested ``Spec`` / ``Array``), required, constraints."""

    kind: Kind
    required: bool = False
    enum: tuple[Any, ...] | None = None
    nullable: bool = False
    minimum: int | None = None
    fmt: str | None = None  # date-time, uuid, dollars, count


@dataclass(frozen=True)
class Array:
    items: Kind
    min_items: int = 0
    max_items: int | None = None


Spec = dict[str, Field]
Kind = Union[str, "Array", Spec]


def req(kind: Kind, **kw: Any) -> Field:
    return Field(kind, True, **kw)


def opt(kind: Kind, **kw: Any) -> Field:
    return Field(kind, False, **kw)


def const(value: str) -> Field:
    return Field("string", True, enum=(value,))


def check(value: Any, spec: Spec, path: str = "$") -> None:
    """Assert that ``value`` is an object with exactly the documented fields of ``spec``."""
    assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
    unknown = set(value) - set(spec)
    assert not unknown, f"{path}: fields not in the document: {sorted(unknown)}"
    for name, field in spec.items():
        if name not in value:
            assert not field.required, f"{path}: required field {name!r} missing"
            continue
        _check_field(value[name], field, f"{path}.{name}")


def _check_field(value: Any, field: Field, path: str) -> None:
    if value is None:
        assert field.nullable, f"{path}: null where the document allows none"
        return
    _check_kind(value, field.kind, path)
    if field.enum is not None:
        assert value in field.enum, f"{path}: {value!r} not in {field.enum}"
    if field.minimum is not None:
        assert value >= field.minimum, f"{path}: {value} < minimum {field.minimum}"
    if field.fmt == "date-time":
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif field.fmt == "uuid":
        uuid.UUID(value)
    elif field.fmt == "dollars":
        assert _DOLLARS.match(value), f"{path}: {value!r} is not a FixedPointDollars string"
    elif field.fmt == "count":
        assert _COUNT.match(value), f"{path}: {value!r} is not a FixedPointCount string"


def _check_kind(value: Any, kind: Kind, path: str) -> None:
    if isinstance(kind, dict):
        check(value, kind, path)
    elif isinstance(kind, Array):
        assert isinstance(value, list), f"{path}: expected an array, got {value!r}"
        assert len(value) >= kind.min_items, f"{path}: fewer than {kind.min_items} items"
        assert kind.max_items is None or len(value) <= kind.max_items, (
            f"{path}: more than {kind.max_items} items"
        )
        for index, item in enumerate(value):
            _check_kind(item, kind.items, f"{path}[{index}]")
    elif kind == "integer":
        assert type(value) is int, f"{path}: expected an integer, got {value!r}"
    elif kind == "number":
        assert type(value) in (int, float), f"{path}: expected a number, got {value!r}"
    elif kind == "boolean":
        assert type(value) is bool, f"{path}: expected a boolean, got {value!r}"
    elif kind == "string":
        assert type(value) is str, f"{path}: expected a string, got {value!r}"
    elif kind == "object":
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
    else:
        raise AssertionError(f"unknown kind {kind!r}")


# -- AsyncAPI 2.0.0 ---------------------------------------------------------------------------

COMMAND_ID = opt("integer", minimum=0)
SID = req("integer", minimum=1)
SEQ = req("integer", minimum=1)
ERROR_CODES = (1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28)
LIFECYCLE_EVENT_TYPES = (
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
WS_FEE_TYPES = (
    "quadratic",
    "quadratic_with_maker_fees",
    "quadratic_with_combo_maker_fees",
    "flat",
    "margin_market_maker_program_fees",
)

SUBSCRIBED: Spec = {
    "type": const("subscribed"),
    "id": COMMAND_ID,
    "msg": req({"channel": req("string"), "sid": SID}),
}
UNSUBSCRIBED: Spec = {"type": const("unsubscribed"), "id": COMMAND_ID, "sid": SID, "seq": SEQ}
OK: Spec = {
    "type": const("ok"),
    "id": COMMAND_ID,
    "sid": opt("integer", minimum=1),
    "seq": opt("integer", minimum=1),
    "msg": opt({"market_tickers": opt(Array("string")), "market_ids": opt(Array("string"))}),
}
LIST_SUBSCRIPTIONS: Spec = {
    "type": const("ok"),
    "id": COMMAND_ID,
    "msg": req(Array({"channel": req("string"), "sid": SID})),
}
ERROR: Spec = {
    "type": const("error"),
    "id": COMMAND_ID,
    "sid": opt("integer", minimum=1),
    "seq": opt("integer", minimum=1),
    "msg": req(
        {
            "code": req("integer", enum=ERROR_CODES),
            "msg": req("string"),
            "market_ticker": opt("string"),
            "market_tickers": opt(Array("string")),
        }
    ),
}
_LEVEL = Array("string", 2, 2)
SNAPSHOT: Spec = {
    "type": const("orderbook_snapshot"),
    "id": COMMAND_ID,
    "sid": SID,
    "seq": SEQ,
    "msg": req(
        {
            "market_ticker": req("string"),
            "market_id": req("string", fmt="uuid"),
            "yes_dollars_fp": opt(Array(_LEVEL)),
            "no_dollars_fp": opt(Array(_LEVEL)),
        }
    ),
}
DELTA: Spec = {
    "type": const("orderbook_delta"),
    "sid": SID,
    "seq": SEQ,
    "msg": req(
        {
            "market_ticker": req("string"),
            "market_id": req("string", fmt="uuid"),
            "price_dollars": req("string", fmt="dollars"),
            "delta_fp": req("string", fmt="count"),
            "side": req("string", enum=("yes", "no")),
            "client_order_id": opt("string"),
            "ts": opt("string", fmt="date-time"),
            "ts_ms": opt("integer"),
            "subaccount": opt("integer"),
        }
    ),
}
TICKER: Spec = {
    "type": const("ticker"),
    "sid": SID,
    "msg": req(
        {
            "market_id": req("string", fmt="uuid"),
            "market_ticker": req("string"),
            "price_dollars": req("string", fmt="dollars"),
            "yes_bid_dollars": req("string", fmt="dollars"),
            "yes_ask_dollars": req("string", fmt="dollars"),
            "volume_fp": req("string", fmt="count"),
            "open_interest_fp": req("string", fmt="count"),
            "dollar_volume": req("integer"),
            "dollar_open_interest": req("integer"),
            "yes_bid_size_fp": req("string", fmt="count"),
            "yes_ask_size_fp": req("string", fmt="count"),
            "last_trade_size_fp": req("string", fmt="count"),
            "ts": req("integer"),
            "ts_ms": req("integer"),
            "time": req("string", fmt="date-time"),
        }
    ),
}
TRADE: Spec = {
    "type": const("trade"),
    "sid": SID,
    "seq": SEQ,
    "msg": req(
        {
            "trade_id": req("string", fmt="uuid"),
            "market_ticker": req("string"),
            "yes_price_dollars": req("string", fmt="dollars"),
            "no_price_dollars": req("string", fmt="dollars"),
            "count_fp": req("string", fmt="count"),
            "taker_side": req("string", enum=("yes", "no")),
            "taker_outcome_side": req("string", enum=("yes", "no")),
            "taker_book_side": req("string", enum=("bid", "ask")),
            "is_block_trade": req("boolean"),
            "ts": req("integer"),
            "ts_ms": req("integer"),
        }
    ),
}
_ADDITIONAL_METADATA: Spec = {
    "name": req("string"),
    "title": req("string"),
    "yes_sub_title": req("string"),
    "no_sub_title": req("string"),
    "rules_primary": req("string"),
    "rules_secondary": req("string"),
    "can_close_early": req("boolean"),
    "event_ticker": req("string"),
    "expected_expiration_ts": req("integer"),
    "strike_type": opt("string"),
    "floor_strike": opt("number"),
    "cap_strike": opt("number"),
    "custom_strike": opt("object"),
}
_PRICE_RANGE: Spec = {"start": req("string"), "end": req("string"), "step": req("string")}
MARKET_LIFECYCLE: Spec = {
    "type": const("market_lifecycle_v2"),
    "sid": SID,
    "seq": SEQ,
    "msg": req(
        {
            "market_ticker": req("string"),
            "exchange_index": opt("integer"),
            "open_ts": opt("integer"),
            "close_ts": opt("integer"),
            "determination_ts": opt("integer"),
            "settled_ts": opt("integer"),
            "result": opt("string"),
            "settlement_value": opt("string", fmt="dollars"),
            "is_deactivated": opt("boolean"),
            "additional_metadata": opt(_ADDITIONAL_METADATA),
            "event_type": req("string", enum=LIFECYCLE_EVENT_TYPES),
            "price_level_structure": opt("string", enum=PRICE_LEVEL_STRUCTURES),
            "price_ranges": opt(Array(_PRICE_RANGE)),
        }
    ),
}
LIFECYCLE_KEYS: dict[str, frozenset[str]] = {
    "created": frozenset(
        {
            "exchange_index",
            "open_ts",
            "close_ts",
            "additional_metadata",
            "price_level_structure",
            "price_ranges",
        }
    ),
    "deactivated": frozenset({"is_deactivated"}),
    "activated": frozenset({"is_deactivated"}),
    "close_date_updated": frozenset({"close_ts"}),
    "determined": frozenset({"determination_ts", "result", "settlement_value"}),
    "settled": frozenset({"settled_ts"}),
    "price_level_structure_updated": frozenset({"price_level_structure", "price_ranges"}),
}
"""The optional keys each event type may carry ("This key will ONLY exist when ...")."""
METADATA_UPDATED: Spec = {
    "type": const("market_lifecycle_v2"),
    "sid": SID,
    "seq": SEQ,
    "msg": req(
        {
            "event_type": req("string", enum=("metadata_updated",)),
            "market_ticker": req("string"),
            "strike_type": opt("string"),
            "floor_strike": opt("number"),
            "cap_strike": opt("number"),
            "custom_strike": opt("object"),
            "yes_sub_title": opt("string"),
        }
    ),
}
EVENT_LIFECYCLE: Spec = {
    "type": const("event_lifecycle"),
    "sid": SID,
    "seq": SEQ,
    "msg": req(
        {
            "event_ticker": req("string"),
            "exchange_index": req("integer"),
            "title": req("string"),
            "subtitle": req("string"),
            "collateral_return_type": req("string", enum=("MECNET", "DIRECNET", "")),
            "series_ticker": req("string"),
            "strike_date": opt("integer"),
            "strike_period": opt("string"),
        }
    ),
}
EVENT_FEE_UPDATE: Spec = {
    "type": const("event_fee_update"),
    "sid": SID,
    "seq": SEQ,
    "msg": req(
        {
            "event_ticker": req("string"),
            "fee_type_override": req("string", enum=WS_FEE_TYPES, nullable=True),
            "fee_multiplier_override": req("number", nullable=True),
        }
    ),
}


def frame_spec(frame: dict[str, Any]) -> Spec:
    """Return the payload a frame must match, chosen by its ``type`` (and ``msg`` shape)."""
    kind = frame.get("type")
    if kind == "ok":
        return LIST_SUBSCRIPTIONS if isinstance(frame.get("msg"), list) else OK
    if kind == "market_lifecycle_v2":
        return METADATA_UPDATED if frame["msg"].get("event_type") == "metadata_updated" else MARKET_LIFECYCLE
    specs = {
        "subscribed": SUBSCRIBED,
        "unsubscribed": UNSUBSCRIBED,
        "error": ERROR,
        "orderbook_snapshot": SNAPSHOT,
        "orderbook_delta": DELTA,
        "ticker": TICKER,
        "trade": TRADE,
        "event_lifecycle": EVENT_LIFECYCLE,
        "event_fee_update": EVENT_FEE_UPDATE,
    }
    assert kind in specs, f"a frame type the document does not have: {kind!r}"
    return specs[kind]
