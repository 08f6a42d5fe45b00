"""Order requests checked the way Kalshi checks them, before they reach a market.

The reference is Kalshi's OpenAPI 3.31.0 ``CreateOrderV2Request`` (``POST
/portfolio/events/orders``): required ``ticker``, ``side`` (``bid`` buys YES, ``ask`` sells YES),
``count`` (a fixed-point string), ``price`` (the YES price, a dollar string), ``time_in_force``
and ``self_trade_prevention_type``; optional ``client_order_id``, ``expiration_time`` (integer
Unix seconds, only with ``good_till_canceled``: "The ``immediate_or_cancel`` time-in-force value
cannot be combined with ``expiration_time``"), ``post_only``, ``cancel_order_on_pause``,
``reduce_only`` ("rejected unless time_in_force is immediate_or_cancel"), ``subaccount``,
``order_group_id`` and ``exchange_index``. A request that does not fit the schema (a missing
field, a wrong JSON type, a value outside an enum, an unknown field) is refused with 400
``invalid_parameters``; an order rule with 400 ``invalid_order``; a price with ``invalid_price``.

The spec's ``create_order(market_ticker, side, order_type, quantity, price, action=...)`` is a
Python convenience over the same request: ``price`` is in ``side``'s frame, and a *market*
order is an immediate-or-cancel order capped at the highest price an ask can have ($0.9999),
the way Kalshi caps market buys; so every order has a limit, and its worst case is known.

Two rules are stricter than the document says, on purpose (a paper strategy must never meet a
refusal on Kalshi): ``post_only`` is accepted only on ``good_till_canceled`` orders, and
``expiration_time`` only on ``good_till_canceled`` (the document allows it nowhere else).
The paper account is one primary account: ``subaccount`` other than 0 and any
``order_group_id`` are refused, since no such subaccount or group exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from kalshi_rl.core.errors import InvalidValueError
from kalshi_rl.core.events import Side
from kalshi_rl.core.units import (
    PRICE_SCALE,
    cents_to_ticks,
    contracts_to_units,
    parse_count_fp,
    parse_price_dollars,
    ticks_from_decimal,
    units_from_decimal,
)
from kalshi_rl.trading.orders import invalid_order, invalid_parameters, invalid_price, not_found

ORDER_TYPES = ("market", "limit")
ACTIONS = ("buy", "sell")
BOOK_SIDES = ("bid", "ask")
TIME_IN_FORCE = ("fill_or_kill", "good_till_canceled", "immediate_or_cancel")
SELF_TRADE_PREVENTION = ("taker_at_cross", "maker")
MARKET_CAP_TICKS = PRICE_SCALE - 1
"""The worst price of a market order: no ask can be above $0.9999 (the lowest bid is $0.0001)."""
_V2_PRICE = re.compile(r"\d\.\d{2,4}\Z", re.ASCII)  # "Most request fields accept 2-4 decimal places"


def parse_count(value: object, what: str = "count", allow_zero: bool = False) -> int:
    """Return the units in a count (int contracts, ``Decimal`` or fixed-point string), > 0."""
    try:
        if isinstance(value, bool):
            raise InvalidValueError(f"a {what} cannot be a boolean")
        if isinstance(value, int):
            units = contracts_to_units(value)
        elif isinstance(value, Decimal):
            units = units_from_decimal(value)
        elif isinstance(value, str):
            units = parse_count_fp(value)
        else:
            raise InvalidValueError(f"unsupported type {type(value).__name__}")
    except (InvalidValueError, ArithmeticError) as exc:
        raise invalid_order(
            f"expected {what} as a positive multiple of 0.01 contract (int, Decimal or '10.00'), "
            f"got {value!r} ({exc})"
        ) from None
    if units < 0 or (units == 0 and not allow_zero):
        raise invalid_order(
            f"expected a {'non-negative' if allow_zero else 'positive'} {what}, got {value!r}"
        )
    return units


def parse_price(value: object) -> int:
    """Return the ticks in a price: a dollar string ``"0.5600"``, a ``Decimal`` or int cents."""
    try:
        if isinstance(value, bool):
            raise InvalidValueError("a price cannot be a boolean")
        if isinstance(value, int):
            ticks = cents_to_ticks(value)
        elif isinstance(value, Decimal):
            ticks = ticks_from_decimal(value)
        elif isinstance(value, str):
            ticks = parse_price_dollars(value)
        else:
            raise InvalidValueError(f"unsupported type {type(value).__name__}")
    except (InvalidValueError, ArithmeticError) as exc:
        raise invalid_price(
            f"expected a dollar price like '0.5600' or int cents, got {value!r} ({exc})"
        ) from None
    if not 0 < ticks < PRICE_SCALE:
        raise invalid_price(f"expected a price strictly between $0 and $1, got {value!r}")
    return ticks


@dataclass(frozen=True)
class OrderRequest:
    """A checked order: buy ``outcome`` up to ``limit_ticks`` (outcome frame)."""

    ticker: str
    side: Side  # the caller's side (legacy field)
    action: str  # the caller's action (legacy field)
    order_type: str
    units: int
    limit_ticks: int
    time_in_force: str
    client_order_id: str | None
    post_only: bool = False
    reduce_only: bool = False
    self_trade_prevention_type: str = "taker_at_cross"
    expiration_time: int | None = None  # Unix seconds (good_till_canceled only)
    cancel_order_on_pause: bool = False
    exchange_index: int | None = None  # the shard asked for; None or -1 route by ticker

    @cached_property
    def outcome(self) -> Side:
        """The side whose contracts this order buys (Kalshi's ``outcome_side``)."""
        return self.side if self.action == "buy" else self.side.opposite

    @property
    def book_side(self) -> str:
        return "bid" if self.outcome is Side.YES else "ask"


def _enum(value: object, name: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise invalid_parameters(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise invalid_parameters(f"{name} must be a boolean, got {value!r}")
    return value


def _integer(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_parameters(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise invalid_parameters(f"{name} must be >= {minimum}, got {value}")
    return value


def check_client_order_id(value: object) -> str | None:
    """A client order id: absent, or a non-empty string a database row can hold."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise invalid_parameters(f"client_order_id must be a non-empty string, got {value!r}")
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL: the order's rl_orders row could never be written.
        raise invalid_order(f"client_order_id must not contain a NUL character, got {value!r}")
    return value


def check_account(subaccount: object, order_group_id: object) -> None:
    """Refuse a subaccount or order group the paper account does not have."""
    if subaccount is not None and _integer(subaccount, "subaccount", 0) != 0:
        raise invalid_order(f"subaccount {subaccount} does not exist: the paper account has only 0")
    if order_group_id is not None:
        if not isinstance(order_group_id, str):
            raise invalid_parameters(f"order_group_id must be a string, got {order_group_id!r}")
        raise not_found(f"order group {order_group_id!r} not found (the paper client has none)")


def parse_order(
    market_ticker: object,
    side: object,
    order_type: object,
    quantity: object,
    price: object = None,
    *,
    action: object = "buy",
    time_in_force: object = None,
    client_order_id: object = None,
    reduce_only: object = False,
    post_only: object = False,
    self_trade_prevention_type: object = "taker_at_cross",
    expiration_time: object = None,
    cancel_order_on_pause: object = False,
    exchange_index: object = None,
) -> OrderRequest:
    """Check a create-order request (the spec's form) and return it in normal form.

    ``price`` is in ``side``'s frame. Raises ``KalshiApiError`` for anything Kalshi would refuse
    on its face; the market's state, price grid and the balance are checked on admission.
    """
    if not isinstance(market_ticker, str) or not market_ticker:
        raise invalid_parameters(f"expected a market ticker, got {market_ticker!r}")
    chosen = Side(_enum(side, "side", ("yes", "no")))
    direction = _enum(action, "action", ACTIONS)
    kind = _enum(order_type, "order type", ORDER_TYPES)
    tif = time_in_force
    if tif is None:
        tif = "good_till_canceled" if kind == "limit" else "immediate_or_cancel"
    tif = _enum(tif, "time_in_force", TIME_IN_FORCE)
    if kind == "market" and tif == "good_till_canceled":
        raise invalid_order("a market order cannot rest: use immediate_or_cancel or fill_or_kill")
    stp = _enum(self_trade_prevention_type, "self_trade_prevention_type", SELF_TRADE_PREVENTION)
    expiry = None if expiration_time is None else _integer(expiration_time, "expiration_time", 0)
    shard = None if exchange_index is None else _integer(exchange_index, "exchange_index", -1)
    flags = [
        _flag(flag, name)
        for flag, name in (
            (post_only, "post_only"),
            (reduce_only, "reduce_only"),
            (cancel_order_on_pause, "cancel_order_on_pause"),
        )
    ]
    units = parse_count(quantity)
    if price is None:
        if kind == "limit":
            raise invalid_price("a limit order needs a price")
        limit = MARKET_CAP_TICKS
    else:
        ticks = parse_price(price)
        limit = ticks if direction == "buy" else PRICE_SCALE - ticks
    request = OrderRequest(
        ticker=market_ticker,
        side=chosen,
        action=direction,
        order_type=kind,
        units=units,
        limit_ticks=limit,
        time_in_force=tif,
        client_order_id=check_client_order_id(client_order_id),
        post_only=flags[0],
        reduce_only=flags[1],
        self_trade_prevention_type=stp,
        expiration_time=expiry,
        cancel_order_on_pause=flags[2],
        exchange_index=shard,
    )
    _check_rules(request)
    return request


def _check_rules(request: OrderRequest) -> None:
    tif = request.time_in_force
    if request.reduce_only and tif != "immediate_or_cancel":
        raise invalid_order(f"a reduce_only order must be immediate_or_cancel, got {tif}")
    if request.expiration_time is not None and tif != "good_till_canceled":
        raise invalid_order(f"expiration_time needs time_in_force good_till_canceled, got {tif}")
    if request.post_only and tif != "good_till_canceled":
        raise invalid_order(f"a post-only order must be a good_till_canceled limit order, got {tif}")


V2_REQUIRED = ("ticker", "side", "count", "price", "time_in_force", "self_trade_prevention_type")
V2_OPTIONAL = (
    "client_order_id",
    "expiration_time",
    "post_only",
    "cancel_order_on_pause",
    "reduce_only",
    "subaccount",
    "order_group_id",
    "exchange_index",
)


def parse_v2_body(body: object) -> OrderRequest:
    """Check a ``CreateOrderV2Request`` JSON object (``null`` counts as absent when optional)."""
    if not isinstance(body, dict):
        raise invalid_parameters(f"expected the order as a JSON object, got {type(body).__name__}")
    unknown = sorted(str(key) for key in body if key not in V2_REQUIRED and key not in V2_OPTIONAL)
    if unknown:
        raise invalid_parameters(f"unknown field(s) in the order: {', '.join(unknown)}")
    missing = [key for key in V2_REQUIRED if body.get(key) is None]
    if missing:
        raise invalid_parameters(f"missing required field(s): {', '.join(missing)}")
    for key in ("ticker", "count", "price"):
        if not isinstance(body[key], str):
            raise invalid_parameters(f"{key} must be a string, got {body[key]!r}")
    side = _enum(body["side"], "side", BOOK_SIDES)
    check_account(body.get("subaccount"), body.get("order_group_id"))
    try:
        parse_count_fp(body["count"])
    except InvalidValueError as exc:
        raise invalid_parameters(f"count must be a fixed-point string like '10.00': {exc}") from None
    if not _V2_PRICE.match(body["price"]):
        raise invalid_parameters(f"price must be a dollar string like '0.5600', got {body['price']!r}")
    return parse_order(
        body["ticker"],
        "yes",
        "limit",
        body["count"],
        body["price"],
        action="buy" if side == "bid" else "sell",
        time_in_force=body["time_in_force"],
        client_order_id=body.get("client_order_id"),
        reduce_only=_optional(body, "reduce_only", False),
        post_only=_optional(body, "post_only", False),
        self_trade_prevention_type=body["self_trade_prevention_type"],
        expiration_time=body.get("expiration_time"),
        cancel_order_on_pause=_optional(body, "cancel_order_on_pause", False),
        exchange_index=body.get("exchange_index"),
    )


def _optional(body: dict[str, object], key: str, default: object) -> object:
    value = body.get(key)
    return default if value is None else value


def parse_cancel_item(item: object) -> str:
    """Check one entry of a batch cancel (``{order_id, subaccount?, exchange_index?,
    market_ticker?}``) and return its order id."""
    if not isinstance(item, dict):
        raise invalid_parameters(f"expected each order to cancel as an object, got {type(item).__name__}")
    unknown = sorted(
        str(k) for k in item if k not in ("order_id", "subaccount", "exchange_index", "market_ticker")
    )
    if unknown:
        raise invalid_parameters(f"unknown field(s) in the cancel: {', '.join(unknown)}")
    order_id = item.get("order_id")
    if not isinstance(order_id, str) or not order_id:
        raise invalid_parameters(f"order_id must be a non-empty string, got {order_id!r}")
    check_account(item.get("subaccount"), None)
    if item.get("exchange_index") is not None:
        _integer(item["exchange_index"], "exchange_index", -1)
    ticker = item.get("market_ticker")
    if ticker is not None and (not isinstance(ticker, str) or not ticker):
        raise invalid_parameters(f"market_ticker must be a non-empty string, got {ticker!r}")
    return order_id
