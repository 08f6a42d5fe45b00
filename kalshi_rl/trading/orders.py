"""Paper orders: a request checked the way Kalshi checks it, and the order's live state.

Every order is held in one normal form, whatever API created it: *buy* ``outcome`` (YES or NO)
up to ``limit_ticks`` in that outcome's own price frame. Kalshi's mapping (DESIGN §4) follows:
yes/buy → bid @p, yes/sell → ask @p, no/buy → ask @(1−p), no/sell → bid @(1−p), where a *bid*
buys YES and an *ask* buys NO (sells YES). Selling what you do not hold opens the other side,
because Kalshi nets YES against NO. The caller's own ``side``/``action`` are kept for the
legacy fields of Kalshi's Order and Fill.

A market order is an immediate-or-cancel order capped at the highest price an ask can have
($0.9999), the way Kalshi caps market buys; so every order has a limit, and its worst-case cost
is known before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kalshi_rl.core.errors import InvalidValueError, KalshiRLError
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

ORDER_TYPES = ("market", "limit")
ACTIONS = ("buy", "sell")
TIME_IN_FORCE = ("fill_or_kill", "good_till_canceled", "immediate_or_cancel")
MARKET_CAP_TICKS = PRICE_SCALE - 1
"""The worst price of a market order: no ask can be above $0.9999 (the lowest bid is $0.0001)."""


class KalshiApiError(KalshiRLError):
    """A request Kalshi would refuse: HTTP ``status``, Kalshi's ``code`` and a message.

    ``body`` is Kalshi's nested error shape, ``{"error": {"code", "message", "service"}}``.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "service": "paper"}}


def invalid_order(message: str) -> KalshiApiError:
    return KalshiApiError(400, "invalid_order", message)


def invalid_price(message: str) -> KalshiApiError:
    return KalshiApiError(400, "invalid_price", message)


def not_found(message: str) -> KalshiApiError:
    return KalshiApiError(404, "not_found", message)


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
    post_only: bool
    reduce_only: bool

    @property
    def outcome(self) -> Side:
        """The side whose contracts this order buys (Kalshi's ``outcome_side``)."""
        return self.side if self.action == "buy" else self.side.opposite

    @property
    def book_side(self) -> str:
        return "bid" if self.outcome is Side.YES else "ask"


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
) -> OrderRequest:
    """Check a create-order request (the spec's form) and return it in normal form.

    ``price`` is in ``side``'s frame. Raises ``KalshiApiError`` (``invalid_order`` or
    ``invalid_price``) for anything Kalshi would refuse on its face; the market's price grid,
    state and the balance are checked by the client.
    """
    if not isinstance(market_ticker, str) or not market_ticker:
        raise invalid_order(f"expected a market ticker, got {market_ticker!r}")
    if side not in ("yes", "no"):
        raise invalid_order(f"expected side 'yes' or 'no', got {side!r}")
    if action not in ACTIONS:
        raise invalid_order(f"expected action 'buy' or 'sell', got {action!r}")
    if order_type not in ORDER_TYPES:
        raise invalid_order(f"expected order type 'market' or 'limit', got {order_type!r}")
    tif = time_in_force
    if tif is None:
        tif = "good_till_canceled" if order_type == "limit" else "immediate_or_cancel"
    if tif not in TIME_IN_FORCE:
        raise invalid_order(f"expected time_in_force in {', '.join(TIME_IN_FORCE)}, got {time_in_force!r}")
    if order_type == "market" and tif == "good_till_canceled":
        raise invalid_order("a market order cannot rest: use immediate_or_cancel or fill_or_kill")
    if client_order_id is not None and (not isinstance(client_order_id, str) or not client_order_id):
        raise invalid_order(f"expected client_order_id as a non-empty string, got {client_order_id!r}")
    if client_order_id is not None and "\x00" in client_order_id:
        # PostgreSQL text cannot hold NUL: the order's rl_orders row could never be written.
        raise invalid_order(f"client_order_id must not contain a NUL character, got {client_order_id!r}")
    if not isinstance(post_only, bool) or not isinstance(reduce_only, bool):
        raise invalid_order("post_only and reduce_only must be booleans")
    if post_only and tif != "good_till_canceled":
        raise invalid_order(f"a post-only order must be a good_till_canceled limit order, got {tif}")
    units = parse_count(quantity)
    chosen = Side(side)
    if price is None:
        if order_type == "limit":
            raise invalid_price("a limit order needs a price")
        limit = MARKET_CAP_TICKS
    else:
        ticks = parse_price(price)
        limit = ticks if action == "buy" else PRICE_SCALE - ticks
    return OrderRequest(
        ticker=market_ticker,
        side=chosen,
        action=str(action),
        order_type=str(order_type),
        units=units,
        limit_ticks=limit,
        time_in_force=str(tif),
        client_order_id=client_order_id,
        post_only=post_only,
        reduce_only=reduce_only,
    )


def parse_v2_order(
    ticker: object,
    side: object,
    count: object,
    price: object,
    time_in_force: object,
    client_order_id: object = None,
    post_only: object = False,
    reduce_only: object = False,
) -> OrderRequest:
    """Check a V2 request (``side`` bid|ask on the YES leg, ``price`` a YES price)."""
    if side not in ("bid", "ask"):
        raise invalid_order(f"expected side 'bid' (buy YES) or 'ask' (sell YES), got {side!r}")
    if price is None:
        raise invalid_price("a V2 order needs a YES price")
    return parse_order(
        ticker,
        "yes",
        "limit",
        count,
        price,
        action="buy" if side == "bid" else "sell",
        time_in_force=time_in_force,
        client_order_id=client_order_id,
        reduce_only=reduce_only,
        post_only=post_only,
    )


_V2_KEYS = frozenset(
    {"ticker", "side", "count", "price", "time_in_force", "client_order_id", "post_only", "reduce_only"}
    | {
        "self_trade_prevention_type",
        "expiration_time",
        "cancel_order_on_pause",
        "subaccount",
        "exchange_index",
    }
)
_SPEC_KEYS = frozenset(
    {"market_ticker", "ticker", "side", "order_type", "type", "quantity", "count", "price", "action"}
    | {"time_in_force", "client_order_id", "reduce_only", "post_only"}
)


def parse_batch_item(item: object) -> OrderRequest:
    """Check one order of a batch: a V2 request (``side`` bid|ask) or the spec's form."""
    if not isinstance(item, dict):
        raise invalid_order(f"expected each batch order as an object, got {type(item).__name__}")
    v2 = item.get("side") in ("bid", "ask")
    unknown = set(item) - (_V2_KEYS if v2 else _SPEC_KEYS)
    if unknown:
        raise invalid_order(f"unexpected field(s) in batch order: {', '.join(sorted(unknown))}")
    if v2:
        return parse_v2_order(
            item.get("ticker"),
            item["side"],
            item.get("count"),
            item.get("price"),
            item.get("time_in_force"),
            item.get("client_order_id"),
            item.get("post_only", False),
            item.get("reduce_only", False),
        )
    return parse_order(
        item.get("market_ticker", item.get("ticker")),
        item.get("side"),
        item.get("order_type", item.get("type")),
        item.get("quantity", item.get("count")),
        item.get("price"),
        action=item.get("action", "buy"),
        time_in_force=item.get("time_in_force"),
        client_order_id=item.get("client_order_id"),
        reduce_only=item.get("reduce_only", False),
        post_only=item.get("post_only", False),
    )


@dataclass
class PaperOrder:
    """One order's state. Money: costs in micro-dollars (outcome frame), fees in ticks."""

    order_id: str
    request: OrderRequest
    client_order_id: str
    limit_ticks: int  # outcome frame; changed by amend
    created_ns: int
    updated_ns: int
    initial_units: int
    remaining_units: int
    status: str = "resting"
    filled_units: int = 0
    taker_cost_micro: int = 0
    maker_cost_micro: int = 0
    taker_fee_ticks: int = 0
    maker_fee_ticks: int = 0
    rounding_fee_micro: int = 0  # Kalshi's balance-rounding fee for this order (< $0.0001)

    @classmethod
    def new(cls, order_id: str, client_order_id: str, request: OrderRequest, now_ns: int) -> PaperOrder:
        """A new order for ``request``, nothing filled yet."""
        units = request.units
        return cls(order_id, request, client_order_id, request.limit_ticks, now_ns, now_ns, units, units)

    @property
    def ticker(self) -> str:
        return self.request.ticker

    @property
    def outcome(self) -> Side:
        return self.request.outcome

    @property
    def yes_price_ticks(self) -> int:
        return self.limit_ticks if self.outcome is Side.YES else PRICE_SCALE - self.limit_ticks

    def side_frame(self, outcome_ticks: int) -> int:
        """Return an outcome-frame price in the frame of the caller's ``side``."""
        return outcome_ticks if self.request.side is self.outcome else PRICE_SCALE - outcome_ticks

    @property
    def fill_cost_micro(self) -> int:
        return self.taker_cost_micro + self.maker_cost_micro

    @property
    def fee_ticks(self) -> int:
        return self.taker_fee_ticks + self.maker_fee_ticks


@dataclass(frozen=True)
class PaperFill:
    """One fill: ``units`` of ``outcome`` bought at ``price_ticks`` (outcome frame)."""

    fill_id: str
    order_id: str
    ticker: str
    outcome: Side
    units: int
    price_ticks: int
    fee_ticks: int
    is_taker: bool
    ts_ns: int
    post_position_units: int

    @property
    def yes_price_ticks(self) -> int:
        return self.price_ticks if self.outcome is Side.YES else PRICE_SCALE - self.price_ticks
