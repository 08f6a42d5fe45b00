"""Changes to a resting order: amend (the spec's form and Kalshi's V2) and decrease.

A change acts at once (no latency) and either applies completely or raises ``KalshiApiError``
and changes nothing. An amend is Kalshi's ``AmendOrderV2`` (OpenAPI 3.31.0): ``count`` is "the
updated total/max fillable count, equal to already filled count plus desired resting remaining
count"; ``expiration_time`` is omitted to keep the expiry, 0 to remove it, else a future Unix
second. A price that now crosses fills at once as a taker, under the order's own self-trade
prevention; a post-only order that would cross is canceled (``PostOnlyCrossCancel``).
"""

from __future__ import annotations

from typing import Any

from kalshi_rl.core.errors import InvalidValueError
from kalshi_rl.core.events import Side
from kalshi_rl.core.units import PRICE_SCALE, format_count, parse_count_fp
from kalshi_rl.trading import kalshi_shapes as shapes
from kalshi_rl.trading.market_rules import check_price, check_tradable, exchange_index_of
from kalshi_rl.trading.order_manager import OrderManager
from kalshi_rl.trading.order_requests import BOOK_SIDES, check_client_order_id, parse_count, parse_price
from kalshi_rl.trading.orders import KalshiApiError, PaperFill, PaperOrder, invalid_order, invalid_parameters
from kalshi_rl.trading.portfolio import Commitment

AMEND_FIELDS = ("ticker", "side", "price", "count", "client_order_id", "updated_client_order_id")
AMEND_OPTIONAL = ("expiration_time", "exchange_index")


def amend(
    orders: OrderManager, order_id: str, new_quantity: object, new_price: object, now_ns: int
) -> dict[str, Any]:
    """The spec's amend: ``new_quantity`` is the new total, ``new_price`` in the order side's frame."""
    order = orders.resting(order_id)
    total = parse_count(new_quantity)
    side_ticks = parse_price(new_price)
    limit = side_ticks if order.request.action == "buy" else PRICE_SCALE - side_ticks
    return _apply(orders, order, total, limit, now_ns)


def amend_v2(orders: OrderManager, order_id: str, body: object, now_ns: int) -> dict[str, Any]:
    """Kalshi's ``AmendOrderV2Request`` (``side`` and ``ticker`` must be the order's own)."""
    if not isinstance(body, dict):
        raise invalid_parameters(f"expected the amend as a JSON object, got {type(body).__name__}")
    unknown = sorted(str(k) for k in body if k not in AMEND_FIELDS and k not in AMEND_OPTIONAL)
    if unknown:
        raise invalid_parameters(f"unknown field(s) in the amend: {', '.join(unknown)}")
    missing = [key for key in ("ticker", "side", "price", "count") if body.get(key) is None]
    if missing:
        raise invalid_parameters(f"missing required field(s): {', '.join(missing)}")
    for key in ("ticker", "price", "count"):
        if not isinstance(body[key], str):
            raise invalid_parameters(f"{key} must be a string, got {body[key]!r}")
    if body["side"] not in BOOK_SIDES:
        raise invalid_parameters(f"side must be bid or ask, got {body['side']!r}")
    expiry = body.get("expiration_time")  # absent or null: keep the expiry
    if expiry is not None and (isinstance(expiry, bool) or not isinstance(expiry, int) or expiry < 0):
        raise invalid_parameters(f"expiration_time must be an integer >= 0, got {expiry!r}")
    shard = body.get("exchange_index")
    if shard is not None and (isinstance(shard, bool) or not isinstance(shard, int) or shard < -1):
        raise invalid_parameters(f"exchange_index must be an integer >= -1, got {shard!r}")
    try:
        total = parse_count_fp(body["count"])
    except InvalidValueError as exc:
        raise invalid_parameters(f"count must be a fixed-point string like '10.00': {exc}") from None
    yes = parse_price(body["price"])
    new_id = check_client_order_id(body.get("updated_client_order_id"))
    check_client_order_id(body.get("client_order_id"))
    order = orders.resting(order_id)
    if body["ticker"] != order.ticker or body["side"] != order.request.book_side:
        raise invalid_order(f"order {order_id} is a {order.request.book_side} on {order.ticker}")
    if body.get("client_order_id") not in (None, order.client_order_id):
        raise invalid_order(f"client_order_id {body['client_order_id']!r} is not order {order_id}'s")
    if shard not in (None, -1, exchange_index_of(orders.book(order.ticker))):
        raise KalshiApiError(404, "not_found", f"order {order_id} is not on exchange shard {shard}")
    limit = yes if order.outcome is Side.YES else PRICE_SCALE - yes
    return _apply(orders, order, total, limit, now_ns, expiry, new_id)


def _apply(
    orders: OrderManager,
    order: PaperOrder,
    total: int,
    limit: int,
    now_ns: int,
    expiration_time: int | None = None,
    new_client_order_id: str | None = None,
) -> dict[str, Any]:
    shared = orders.book(order.ticker)
    check_tradable(shared, now_ns)
    if total <= order.filled_units:
        raise invalid_order(
            f"amended count {format_count(total)} must exceed the {format_count(order.filled_units)} already filled"
        )
    check_price(shared, limit if order.outcome is Side.YES else PRICE_SCALE - limit)
    if expiration_time and expiration_time * 1_000_000_000 <= now_ns:
        raise invalid_order(f"expiration_time {expiration_time} is not in the future")
    if new_client_order_id is not None and new_client_order_id in orders.client_ids:
        raise KalshiApiError(
            409, "order_already_exists", f"client_order_id {new_client_order_id!r} was already used"
        )
    remaining = total - order.filled_units
    claim = Commitment(order.ticker, order.outcome, remaining, limit, resting=True)
    orders.portfolio.reserve(order.order_id, claim)  # raises insufficient_balance, changing nothing
    size_changed = remaining != order.remaining_units
    order.limit_ticks = limit
    order.remaining_units = remaining
    order.updated_ns = now_ns
    order.last_update_reason = "Amend"
    if expiration_time is not None:  # 0 removes the expiry
        order.expiration_time = expiration_time or None
    if new_client_order_id is not None:
        orders.client_ids.add(new_client_order_id)
        order.client_order_id = new_client_order_id
    fills: list[PaperFill] = []
    if order.request.post_only and orders.would_take(order, shared.state, now_ns):
        reason: str | None = "PostOnlyCrossCancel"
    else:
        fills, reason = orders.take(order, shared.state, now_ns)
    orders.finish(order, True, reason, now_ns)
    orders.publish(order, fills)
    return shapes.amend_json(order, fills, size_changed, now_ns)


def decrease(
    orders: OrderManager, order_id: str, reduce_by: object, reduce_to: object, now_ns: int
) -> dict[str, Any]:
    """Reduce a resting order (exactly one of ``reduce_by``/``reduce_to``); at 0 it is canceled."""
    order = orders.resting(order_id)
    if (reduce_by is None) == (reduce_to is None):
        raise invalid_order("give exactly one of reduce_by and reduce_to")
    if reduce_by is not None:
        remaining = max(0, order.remaining_units - parse_count(reduce_by, "reduce_by"))
    else:
        remaining = parse_count(reduce_to, "reduce_to", allow_zero=True)
        if remaining > order.remaining_units:
            raise invalid_order(
                f"reduce_to {format_count(remaining)} exceeds the remaining {format_count(order.remaining_units)}"
            )
    if remaining == 0:
        orders.cancel(order, now_ns, "Decrease")
        return shapes.decrease_json(order, now_ns)
    order.remaining_units = remaining
    order.updated_ns = now_ns
    order.last_update_reason = "Decrease"
    orders.portfolio.commit(
        order_id, Commitment(order.ticker, order.outcome, remaining, order.limit_ticks, resting=True)
    )
    orders.publish(order, [])
    return shapes.decrease_json(order, now_ns)
