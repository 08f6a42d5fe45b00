"""Kalshi's JSON shapes for the paper client's answers and user-stream messages.

The references are Kalshi's OpenAPI 3.31.0 (REST: ``CreateOrderV2Response``, ``Order``,
``Fill``, ``MarketPosition``, ``EventPosition``, ``Settlement``, ``GetBalanceResponse``, the
V2 cancel/amend/decrease/batch responses) and AsyncAPI 2.0.0 (WS: ``fill``, ``user_order``,
``market_position``), both from TexasCoding/kalshi-python-sdk ``specs/`` @ bcd7533. An optional field we have no
value for is *omitted*, except where the OpenAPI marks it ``x-omitempty: false`` (Kalshi's
server then sends it as ``null``: the amend response's counts and averages, a batch entry's
counts, averages and ``ts_ms``); nothing the documents do not list is sent.

Formatting: prices as 4-decimal dollar strings, counts as 2-decimal fixed-point strings, order
costs and fees as 6-decimal dollars (as Kalshi's ``fee_cost`` and ``user_order`` do), other
money as 4-decimal dollars, or 6 when a fractional count makes it finer than $0.0001. Averages
(``average_fill_price``, ``average_fee_paid``) are not exact in general and are rounded
half-even to $0.0001. V2 answers price the YES leg.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from kalshi_rl.core.units import PRICE_SCALE, count_decimal, format_count, format_price
from kalshi_rl.execution.position import PositionLedger
from kalshi_rl.trading.orders import KalshiApiError, PaperFill, PaperOrder

_TICK = Decimal(1).scaleb(-4)
FEE_TICK_MICRO = 100
MARKET_POSITION_FIELDS = (
    "ticker",
    "total_traded_dollars",
    "position_fp",
    "market_exposure_dollars",
    "realized_pnl_dollars",
    "fees_paid_dollars",
    "last_updated_ts",
)
SETTLEMENT_FIELDS = (
    "ticker",
    "event_ticker",
    "market_result",
    "yes_count_fp",
    "yes_total_cost_dollars",
    "no_count_fp",
    "no_total_cost_dollars",
    "revenue",
    "settled_time",
    "fee_cost",
    "value",
)
SUCCESS_STATUS = {
    "create_order": 201,
    "create_order_v2": 201,
    "batch_create_orders": 201,
    "cancel_all_orders": 204,
}
"""HTTP status of a successful answer where OpenAPI 3.31.0 documents one other than 200."""


def micro_decimal(micro: int) -> Decimal:
    """Return micro-dollars as an exact ``Decimal`` number of dollars."""
    return Decimal(micro).scaleb(-6)


def dollars(micro: int) -> str:
    """Format money: 4 decimals, or 6 when the amount is finer than $0.0001."""
    places = 4 if micro % FEE_TICK_MICRO == 0 else 6
    return f"{micro_decimal(micro):.{places}f}"


def dollars6(micro: int) -> str:
    return f"{micro_decimal(micro):.6f}"


def rfc3339(ns: int) -> str:
    """Return an RFC 3339 UTC timestamp with microseconds, like Kalshi's ``created_time``."""
    return utc_datetime(ns).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_datetime(ns: int) -> datetime:
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1_000)


def _average(total: Decimal, count_units: int) -> str:
    return f"{(total / count_decimal(count_units)).quantize(_TICK, rounding=ROUND_HALF_EVEN)}"


def average_yes_price(order: PaperOrder, quantum: Decimal = _TICK) -> Decimal:
    """VWAP of the order's fills in the YES frame."""
    outcome_avg = micro_decimal(order.fill_cost_micro) / count_decimal(order.filled_units)
    yes_avg = outcome_avg if order.outcome.value == "yes" else 1 - outcome_avg
    return yes_avg.quantize(quantum, rounding=ROUND_HALF_EVEN)


def _fills_summary(fills: list[PaperFill]) -> dict[str, str]:
    """``fill_count`` and, when something filled, the YES VWAP and the fee per contract."""
    units = sum(f.units for f in fills)
    summary = {"fill_count": format_count(units)}
    if units:
        yes_cost = sum(f.yes_price_ticks * f.units for f in fills)
        summary["average_fill_price"] = _average(micro_decimal(yes_cost), units)
        summary["average_fee_paid"] = _average(micro_decimal(sum(f.fee_micro for f in fills)), units)
    return summary


def ack_json(order: PaperOrder, now_ns: int) -> dict[str, Any]:
    """``CreateOrderV2Response``: what the create did (every fill so far happened on placement)."""
    ack: dict[str, Any] = {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "fill_count": format_count(order.filled_units),
        "remaining_count": format_count(order.remaining_units),
    }
    if order.filled_units:
        ack["average_fill_price"] = f"{average_yes_price(order)}"
        ack["average_fee_paid"] = _average(micro_decimal(order.fee_micro), order.filled_units)
    ack["ts_ms"] = now_ns // 1_000_000
    return ack


AMEND_NULLABLE = ("remaining_count", "fill_count", "average_fill_price", "average_fee_paid")
BATCH_NULLABLE = ("fill_count", "remaining_count", "average_fill_price", "average_fee_paid", "ts_ms")


def amend_json(order: PaperOrder, fills: list[PaperFill], size_changed: bool, now_ns: int) -> dict[str, Any]:
    """``AmendOrderV2Response``: counts only "when fills occurred or remaining size changed",
    averages only when fills occurred (of the amend's own fills); null otherwise."""
    answer: dict[str, Any] = {"order_id": order.order_id, "client_order_id": order.client_order_id}
    answer.update(dict.fromkeys(AMEND_NULLABLE))
    if fills or size_changed:
        answer["remaining_count"] = format_count(order.remaining_units)
        answer.update(_fills_summary(fills))
    answer["ts_ms"] = now_ns // 1_000_000
    return answer


def cancel_json(order: PaperOrder, reduced_units: int, now_ns: int) -> dict[str, Any]:
    """``CancelOrderV2Response`` (also a successful batch-cancel entry)."""
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "reduced_by": format_count(reduced_units),
        "ts_ms": now_ns // 1_000_000,
    }


def decrease_json(order: PaperOrder, now_ns: int) -> dict[str, Any]:
    """``DecreaseOrderV2Response``."""
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "remaining_count": format_count(order.remaining_units),
        "ts_ms": now_ns // 1_000_000,
    }


def batch_create_entry(ack: dict[str, Any]) -> dict[str, Any]:
    """A successful batch-create entry: the create's answer, averages null when nothing filled
    (and no ``error``: absent, not null)."""
    return {**dict.fromkeys(BATCH_NULLABLE), **ack}


def batch_create_error(client_order_id: object, error: KalshiApiError) -> dict[str, Any]:
    """A failed batch-create entry: no order id; counts, averages and ``ts_ms`` null ("Absent
    when the request errored"); the client order id only when the request gave a usable one."""
    entry: dict[str, Any] = {}
    if isinstance(client_order_id, str):
        entry["client_order_id"] = client_order_id
    entry.update(dict.fromkeys(BATCH_NULLABLE))
    entry["error"] = error.error
    return entry


def batch_cancel_error(order_id: str, error: KalshiApiError) -> dict[str, Any]:
    """A failed batch-cancel entry: ``reduced_by`` "Zero if the cancel errored", ``ts_ms`` null."""
    return {"order_id": order_id, "reduced_by": "0.00", "ts_ms": None, "error": error.error}


def order_json(order: PaperOrder, user_id: str) -> dict[str, Any]:
    """Kalshi's ``Order`` (``GET /portfolio/orders``)."""
    request = order.request
    yes = order.yes_price_ticks
    shaped: dict[str, Any] = {
        "order_id": order.order_id,
        "user_id": user_id,
        "client_order_id": order.client_order_id,
        "ticker": order.ticker,
        "side": request.side.value,
        "action": request.action,
        "outcome_side": order.outcome.value,
        "book_side": request.book_side,
        "type": request.order_type,
        "status": order.status,
        "yes_price_dollars": format_price(yes),
        "no_price_dollars": format_price(PRICE_SCALE - yes),
        "fill_count_fp": format_count(order.filled_units),
        "remaining_count_fp": format_count(order.remaining_units),
        "initial_count_fp": format_count(order.initial_units),
        "taker_fill_cost_dollars": dollars6(order.taker_cost_micro),
        "maker_fill_cost_dollars": dollars6(order.maker_cost_micro),
        "taker_fees_dollars": dollars6(order.taker_fee_micro),
        "maker_fees_dollars": dollars6(order.maker_fee_micro),
        "created_time": rfc3339(order.created_ns),
        "last_update_time": rfc3339(order.updated_ns),
        "self_trade_prevention_type": request.self_trade_prevention_type,
        "cancel_order_on_pause": request.cancel_order_on_pause,
        "subaccount_number": 0,
        "exchange_index": order.exchange_index,
    }
    expiry = order.expiration_ns
    if expiry is not None:  # no order group: ``order_group_id`` is left out like an unset expiry
        shaped["expiration_time"] = rfc3339(expiry)
    return shaped


def user_order_message(order: PaperOrder, user_id: str) -> dict[str, Any]:
    """The ``user_order`` message (AsyncAPI ``userOrder``: ``ticker``, not ``market_ticker``)."""
    request = order.request
    msg: dict[str, Any] = {
        "order_id": order.order_id,
        "user_id": user_id,
        "ticker": order.ticker,
        "exchange_index": order.exchange_index,
        "status": order.status,
        "side": request.side.value,
        "is_yes": order.outcome.value == "yes",
        "outcome_side": order.outcome.value,
        "book_side": request.book_side,
        "yes_price_dollars": format_price(order.yes_price_ticks),
        "fill_count_fp": format_count(order.filled_units),
        "remaining_count_fp": format_count(order.remaining_units),
        "initial_count_fp": format_count(order.initial_units),
        "taker_fill_cost_dollars": dollars6(order.taker_cost_micro),
        "maker_fill_cost_dollars": dollars6(order.maker_cost_micro),
        "taker_fees_dollars": dollars6(order.taker_fee_micro),
        "maker_fees_dollars": dollars6(order.maker_fee_micro),
        "client_order_id": order.client_order_id,
        "self_trade_prevention_type": request.self_trade_prevention_type,
        "created_time": rfc3339(order.created_ns),
        "created_ts_ms": order.created_ns // 1_000_000,
        "last_update_time": rfc3339(order.updated_ns),
        "last_updated_ts_ms": order.updated_ns // 1_000_000,
        "subaccount_number": 0,
    }
    expiry = order.expiration_ns
    if expiry is not None:
        msg["expiration_time"] = rfc3339(expiry)
        msg["expiration_ts_ms"] = expiry // 1_000_000
    if order.last_update_reason is not None:
        msg["last_update_reason"] = order.last_update_reason
    return msg


def fill_json(fill: PaperFill, order: PaperOrder) -> dict[str, Any]:
    """Kalshi's ``Fill`` (``GET /portfolio/fills``): no ``client_order_id`` (not in 3.31.0)."""
    yes = fill.yes_price_ticks
    return {
        "fill_id": fill.fill_id,
        "exchange_index": fill.exchange_index,
        "trade_id": fill.fill_id,
        "order_id": fill.order_id,
        "ticker": fill.ticker,
        "market_ticker": fill.ticker,
        "side": order.request.side.value,
        "action": order.request.action,
        "outcome_side": fill.outcome.value,
        "book_side": order.request.book_side,
        "count_fp": format_count(fill.units),
        "yes_price_dollars": format_price(yes),
        "no_price_dollars": format_price(PRICE_SCALE - yes),
        "is_taker": fill.is_taker,
        "created_time": rfc3339(fill.ts_ns),
        "fee_cost": dollars6(fill.fee_micro),
        "subaccount_number": 0,
        "ts": fill.ts_ns // 1_000_000_000,
    }


def fill_message(fill: PaperFill, order: PaperOrder) -> dict[str, Any]:
    """The ``fill`` message (AsyncAPI ``fill``: ``market_ticker``, no ``no_price_dollars``)."""
    return {
        "trade_id": fill.fill_id,
        "order_id": fill.order_id,
        "client_order_id": order.client_order_id,
        "market_ticker": fill.ticker,
        "exchange_index": fill.exchange_index,
        "is_taker": fill.is_taker,
        "side": order.request.side.value,
        "yes_price_dollars": format_price(fill.yes_price_ticks),
        "count_fp": format_count(fill.units),
        "fee_cost": dollars6(fill.fee_micro),
        "action": order.request.action,
        "ts": fill.ts_ns // 1_000_000_000,
        "ts_ms": fill.ts_ns // 1_000_000,
        "post_position_fp": format_count(fill.post_position_units),
        "purchased_side": fill.outcome.value,
        "outcome_side": fill.outcome.value,
        "book_side": order.request.book_side,
    }


def market_position_json(position: dict[str, Any], exchange_index: int) -> dict[str, Any]:
    """``MarketPosition``: the portfolio's figures, only the fields 3.31.0 lists
    (``resting_orders_count`` is gone), and the market's shard."""
    shaped = {key: position[key] for key in MARKET_POSITION_FIELDS}
    shaped["exchange_index"] = exchange_index
    return shaped


def event_position_json(event_ticker: str, ledgers: Iterable[PositionLedger]) -> dict[str, Any]:
    """``EventPosition``: the event's markets added up (exact micro-dollars, then formatted)."""
    chosen = list(ledgers)
    return {
        "event_ticker": event_ticker,
        "total_cost_dollars": dollars(sum(ledger.traded_micro for ledger in chosen)),
        "total_cost_shares_fp": format_count(sum(ledger.contracts_traded_units for ledger in chosen)),
        "event_exposure_dollars": dollars(sum(ledger.cost_micro for ledger in chosen)),
        "realized_pnl_dollars": dollars(sum(ledger.realized_micro for ledger in chosen)),
        "fees_paid_dollars": dollars(sum(ledger.fees_micro for ledger in chosen)),
    }


def settlement_json(record: dict[str, Any], exchange_index: int) -> dict[str, Any]:
    """``Settlement``: the portfolio's record, only the fields 3.31.0 lists, and the shard."""
    shaped = {key: record[key] for key in SETTLEMENT_FIELDS}
    shaped["exchange_index"] = exchange_index
    return shaped


def balance_json(balance: dict[str, Any], exchange_index: int = 0) -> dict[str, Any]:
    """``GetBalanceResponse`` with its ``balance_breakdown`` (one ``IndexedBalance``: the paper
    account is one pool of collateral, held on ``exchange_index``)."""
    breakdown = [{"exchange_index": exchange_index, "balance": balance["balance_dollars"]}]
    return {**balance, "balance_breakdown": breakdown}
