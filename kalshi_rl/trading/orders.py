"""Paper orders: Kalshi's refusals (``KalshiApiError``) and an order's live state.

Every order is held in one normal form, whatever API created it: *buy* ``outcome`` (YES or NO)
up to ``limit_ticks`` in that outcome's own price frame. Kalshi's V2 order mapping follows:
yes/buy → bid @p, yes/sell → ask @p, no/buy → ask @(1−p), no/sell → bid @(1−p), where a *bid*
buys YES and an *ask* buys NO (sells YES). How a request is checked is ``order_requests``.

**Error shapes.** Kalshi's OpenAPI 3.31.0 ``ErrorResponse`` is ``{code, message, details}`` (all
optional; 3.13.0's ``service`` is gone), and every error body Kalshi sends wraps it:
``{"error": {"code": ..., "message": ...}}``. The one exception is a rate-limited request, whose
body is ``{"error": "too many requests"}`` (docs.kalshi.com/getting_started/rate_limits, 2026-06).
Codes are not enumerated by the document; the ones used here are those Kalshi is seen to send:
``invalid_parameters`` (a malformed request), ``invalid_order``, ``invalid_price``,
``insufficient_balance`` (400), ``not_found`` (404), ``order_already_exists``, ``market_closed``
and ``trading_is_paused`` (409, the OpenAPI's ``ConflictError`` on create).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kalshi_rl.core.errors import KalshiRLError
from kalshi_rl.core.events import Side
from kalshi_rl.core.units import PRICE_SCALE

if TYPE_CHECKING:
    from kalshi_rl.trading.order_requests import OrderRequest

LAST_UPDATE_REASONS = (
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
)
"""AsyncAPI 2.0.0 ``lastUpdateReason``: why an order last changed (``user_order`` messages)."""


class KalshiApiError(KalshiRLError):
    """A request Kalshi would refuse: HTTP ``status``, Kalshi's ``code`` and a message."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    @property
    def error(self) -> dict[str, str]:
        """Kalshi's ``ErrorResponse`` (the object a batch entry's ``error`` holds)."""
        error = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return error

    @property
    def body(self) -> dict[str, Any]:
        """The HTTP body Kalshi answers with (429's body is a bare string)."""
        if self.status == 429:
            return {"error": "too many requests"}
        return {"error": self.error}


def invalid_parameters(message: str) -> KalshiApiError:
    """A request that does not match the schema: a missing field, a wrong type, an unknown value."""
    return KalshiApiError(400, "invalid_parameters", message)


def invalid_order(message: str) -> KalshiApiError:
    return KalshiApiError(400, "invalid_order", message)


def invalid_price(message: str) -> KalshiApiError:
    return KalshiApiError(400, "invalid_price", message)


def not_found(message: str) -> KalshiApiError:
    return KalshiApiError(404, "not_found", message)


def market_closed(message: str) -> KalshiApiError:
    return KalshiApiError(409, "market_closed", message)


def trading_is_paused(message: str) -> KalshiApiError:
    return KalshiApiError(409, "trading_is_paused", message)


def too_many_requests(message: str) -> KalshiApiError:
    return KalshiApiError(429, "too_many_requests", message)


@dataclass
class PaperOrder:
    """One order's state. Money in micro-dollars: costs in the outcome frame, fees net (trade fee +
    rounding fee - rebate, Kalshi's fee-rounding rules, charged by the portfolio)."""

    order_id: str
    request: OrderRequest
    client_order_id: str
    limit_ticks: int  # outcome frame; changed by amend
    created_ns: int
    updated_ns: int
    initial_units: int
    remaining_units: int
    exchange_index: int = 0
    status: str = "resting"
    filled_units: int = 0
    taker_cost_micro: int = 0
    maker_cost_micro: int = 0
    taker_fee_micro: int = 0
    maker_fee_micro: int = 0
    expiration_time: int | None = None  # Unix seconds; changed by amend
    last_update_reason: str | None = None

    @classmethod
    def new(
        cls, order_id: str, client_order_id: str, request: OrderRequest, now_ns: int, exchange_index: int
    ) -> PaperOrder:
        """A new order for ``request``, nothing filled yet."""
        units = request.units
        return cls(
            order_id,
            request,
            client_order_id,
            request.limit_ticks,
            now_ns,
            now_ns,
            units,
            units,
            exchange_index,
            expiration_time=request.expiration_time,
        )

    @property
    def ticker(self) -> str:
        return self.request.ticker

    @property
    def outcome(self) -> Side:
        return self.request.outcome

    @property
    def yes_price_ticks(self) -> int:
        return self.limit_ticks if self.outcome is Side.YES else PRICE_SCALE - self.limit_ticks

    @property
    def expiration_ns(self) -> int | None:
        return None if self.expiration_time is None else self.expiration_time * 1_000_000_000

    def side_frame(self, outcome_ticks: int) -> int:
        """Return an outcome-frame price in the frame of the caller's ``side``."""
        return outcome_ticks if self.request.side is self.outcome else PRICE_SCALE - outcome_ticks

    def close(self, status: str, reason: str | None, now_ns: int) -> None:
        """End the order (``executed`` or ``canceled``): nothing is left to fill."""
        self.status = status
        self.remaining_units = 0
        self.updated_ns = now_ns
        self.last_update_reason = reason

    @property
    def fill_cost_micro(self) -> int:
        return self.taker_cost_micro + self.maker_cost_micro

    @property
    def fee_micro(self) -> int:
        return self.taker_fee_micro + self.maker_fee_micro


@dataclass(frozen=True)
class PaperFill:
    """One fill (one match): ``units`` of ``outcome`` bought at ``price_ticks`` (outcome frame);
    ``fee_micro`` is its net fee (trade fee + rounding fee - rebate), what it cost in fees."""

    fill_id: str
    order_id: str
    ticker: str
    outcome: Side
    units: int
    price_ticks: int
    fee_micro: int
    is_taker: bool
    ts_ns: int
    post_position_units: int
    exchange_index: int = 0

    @property
    def yes_price_ticks(self) -> int:
        return self.price_ticks if self.outcome is Side.YES else PRICE_SCALE - self.price_ticks
