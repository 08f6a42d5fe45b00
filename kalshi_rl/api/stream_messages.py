"""The messages of the service's WebSocket streams (spec §5.2), as pydantic models.

The streams build their messages through these models, and ``openapi`` publishes them as
components of the document (with ``x-streams``: which messages each ``/rl/ws/*`` path may send),
so the ML tab's TypeScript types of the streams are generated like those of the REST answers.
The actor's own messages (``action``, ``hold``, ``market_roll``) live with the actor
(``trading.stream_messages``); this module adds the book's, the trainer's and the refusals.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, RootModel

from kalshi_rl.data.registry import ModelStatus
from kalshi_rl.trading.stream_messages import (
    ActionMessage,
    Contracts,
    Dollars,
    HoldMessage,
    MarketRollMessage,
    Message,
    UnixMs,
)

Level = Annotated[tuple[Dollars, Contracts], Field(description="[price in dollars, size in contracts]")]
StreamErrorCode = Literal["unauthorized", "origin_not_allowed", "no_feed", "unknown_market", "unknown_series"]


class OrderbookData(Message):
    market_ticker: str
    timestamp: UnixMs
    """When the book last changed."""
    yes_bids: list[Level]
    """Best (highest) first, at most ten levels; so are the other sides."""
    yes_asks: list[Level]
    no_bids: list[Level]
    no_asks: list[Level]
    spread_yes: Dollars | None
    spread_no: Dollars | None
    mid_yes: float | None
    """Dollars (a float: a mid can fall between ticks)."""
    mid_no: float | None
    stale: bool
    """The book is not known to be current (a gap, a disconnect): waiting for a snapshot."""
    sequence: int = Field(ge=0)


class OrderbookUpdate(Message):
    """``orderbook_update``: one market's book (at most ten a second per market)."""

    type: Literal["orderbook_update"]
    data: OrderbookData


class TrainingProgressData(Message):
    episode: int = Field(ge=0)
    total_episodes: int = Field(ge=0)
    avg_reward: float
    loss: float | None
    learning_rate: float
    timesteps_so_far: int = Field(ge=0)
    total_timesteps: int = Field(ge=0)
    model_id: str


class TrainingProgressMessage(Message):
    """``training_progress``: about once a second while a training runs."""

    type: Literal["training_progress"]
    data: TrainingProgressData


class TrainingFinishedData(Message):
    model_id: str
    status: ModelStatus
    error: str | None


class TrainingFinishedMessage(Message):
    """``training_finished``: the run ended (ready, stopped or failed, with the reason)."""

    type: Literal["training_finished"]
    data: TrainingFinishedData


class StreamErrorData(Message):
    code: StreamErrorCode
    message: str


class StreamError(Message):
    """``error``: why the stream refuses the client; the server then closes it (a 44xx code)."""

    type: Literal["error"]
    data: StreamErrorData


class OrderbookStreamMessage(RootModel[OrderbookUpdate | StreamError]):
    """What ``/rl/ws/orderbook`` sends."""

    root: Annotated[OrderbookUpdate | StreamError, Field(discriminator="type")]


class ActionsStreamMessage(RootModel[ActionMessage | HoldMessage | MarketRollMessage | StreamError]):
    """What ``/rl/ws/actions`` sends."""

    root: Annotated[
        ActionMessage | HoldMessage | MarketRollMessage | StreamError, Field(discriminator="type")
    ]


class TrainingStreamMessage(RootModel[TrainingProgressMessage | TrainingFinishedMessage | StreamError]):
    """What ``/rl/ws/training`` sends."""

    root: Annotated[
        TrainingProgressMessage | TrainingFinishedMessage | StreamError, Field(discriminator="type")
    ]


STREAMS: dict[str, type[RootModel[Any]]] = {
    "/rl/ws/orderbook": OrderbookStreamMessage,
    "/rl/ws/actions": ActionsStreamMessage,
    "/rl/ws/training": TrainingStreamMessage,
}
"""Each stream's path and the union of the messages it may send."""
