"""The messages of the actor's stream (``/rl/ws/actions``, the live view), as pydantic models.

The actor builds each message through these models (so a value outside a closed set fails where
it is made, not in a browser), and the API publishes their JSON Schema in its OpenAPI document,
from which the ML tab's TypeScript types are generated. Prices and sizes are Kalshi's exact
dollar and count strings; timestamps are Unix milliseconds.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kalshi_rl.trading.risk import TripKind

ActionName = Literal["hold", "buy_yes", "sell_yes", "buy_no", "sell_no"]
"""The names of ``environments.action_space.ACTION_NAMES`` (a test keeps the two equal)."""
OrderSide = Literal["yes", "no"]
OrderType = Literal["market"]
"""The actor sends taker (market, immediate-or-cancel) orders only."""

UnixMs = Annotated[int, Field(ge=0, description="Unix time in milliseconds")]
Dollars = Annotated[str, Field(pattern=r"^-?\d+\.\d{4}$", description="Exact dollars, e.g. '0.6555'")]
Contracts = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", description="Exact contracts, e.g. '12.50'")]


class Message(BaseModel):
    """A stream message or part of one: every field is always sent (none has a default, so the
    schema requires them all) and none beyond those declared."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    def wire(self) -> dict[str, Any]:
        """The message as the stream sends it (JSON types only)."""
        return self.model_dump(mode="json")


class ActionDetails(Message):
    """The order a decision sent (all null when it sent none: a hold, or an order skipped)."""

    side: OrderSide | None
    price: Dollars | None
    """The fill's average YES price (null: nothing filled)."""
    quantity: Contracts | None
    order_type: OrderType | None


class PositionState(Message):
    position: Contracts
    """Contracts held after the decision (YES positive, NO negative)."""
    avg_price: float
    """Average cost in dollars per contract."""
    unrealized_pnl: float
    """Dollars, marked at the YES mid (0 without a mid)."""


class ActionData(Message):
    timestamp: UnixMs
    market_ticker: str
    action: ActionName
    details: ActionDetails
    state: PositionState
    confidence: float = Field(ge=0, le=1)
    model: str | None
    """The model version that decided (NAME@VERSION)."""
    executed: bool
    """Whether the order filled (in part or in full)."""


class ActionMessage(Message):
    """The spec's ``action``: a decision, the order it sent and the position after it."""

    type: Literal["action"]
    data: ActionData


class HoldData(Message):
    timestamp: UnixMs
    market_ticker: str
    reason: str
    skipped_stale: int = Field(ge=0)
    model: str | None
    breaker: TripKind | None
    """The risk breaker that stops trading; null for a hold without an observation."""


class HoldMessage(Message):
    """``hold``: a tick without a decision (and without an order), and why."""

    type: Literal["hold"]
    data: HoldData


class MarketRollData(Message):
    timestamp: UnixMs
    series: str
    previous: str | None
    market_ticker: str
    close_time: UnixMs | None
    model: str | None


class MarketRollMessage(Message):
    """``market_roll``: a series session now trades the series' next market."""

    type: Literal["market_roll"]
    data: MarketRollData
