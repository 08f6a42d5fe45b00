"""What the exchange generated for each connection, in order, with exact domain values.

Tests use it to know exactly which snapshots and deltas a client was sent (or deliberately
not sent) on each subscription, and to replay them into a book. Book entries record the price
encoding they were sent in (``yes_leg``); the payload always holds the exchange's own values
(NO bids at NO prices). Besides the per-connection record, ``actions`` lists what happened
to the exchange's markets and events (openings, pauses, close-time, grid and fee changes,
encoding switches, ...) with the exchange time: the ground truth for schedule tests.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from kalshi_rl.core.events import Level, Side
from kalshi_rl.kalshi.encode import TickerValues
from kalshi_rl.sim.model import ModelDelta, ModelTrade

Kind = Literal["snapshot", "delta", "trade", "ticker", "lifecycle", "event", "ack", "malformed", "lost"]
MAX_ACTIONS = 100_000
"""Exchange actions kept (the oldest are forgotten first)."""


class SnapshotPayload(NamedTuple):
    """The levels of one ``orderbook_snapshot``, ascending by price."""

    yes_bids: tuple[Level, ...]
    no_bids: tuple[Level, ...]
    request_id: int | None = None


class LifecyclePayload(NamedTuple):
    """One ``market_lifecycle_v2`` event and its fields (as sent in ``msg``)."""

    event_type: str
    fields: dict[str, Any]


class EventPayload(NamedTuple):
    """One event-level message (``event_lifecycle``, ``event_fee_update``) and its ``msg``."""

    frame_type: str
    fields: dict[str, Any]


class TickerPayload(NamedTuple):
    """One ``ticker`` message's values."""

    values: TickerValues


class AckPayload(NamedTuple):
    """A command reply: ``reply`` is subscribed, ok, unsubscribed, list or error."""

    reply: str
    request_id: int | None
    code: int | None = None
    market_tickers: tuple[str, ...] = ()


class MalformedPayload(NamedTuple):
    """A deliberately bad frame: ``variant`` names the fault, ``text`` is what was sent."""

    variant: str
    text: str


Payload = (
    ModelDelta
    | ModelTrade
    | SnapshotPayload
    | TickerPayload
    | LifecyclePayload
    | EventPayload
    | AckPayload
    | MalformedPayload
)


class ExchangeAction(NamedTuple):
    """Something that happened to a market or event (or the whole exchange) at ``at_ms``.

    ``action`` is a lifecycle event type (``created``, ``deactivated``, ``activated``,
    ``close_date_updated``, ``price_level_structure_updated``, ``metadata_updated``,
    ``determined``, ``settled``), one Kalshi sends no frame for (``opened``, ``closed``), an
    event-level one (``event_created``, ``event_fee_update``) or ``encoding_switched``.
    """

    at_ms: int
    action: str
    target: str | None
    fields: dict[str, Any]


@dataclass(slots=True)
class LedgerEntry:
    """One message generated for one connection.

    ``kind`` is ``lost`` for a message dropped by ``gap_every`` (its seq was consumed and the
    exchange's book changed, but nothing was sent); ``original_kind`` then says what it was.
    ``sent`` becomes true when the frame is written to the connection's socket.
    """

    conn: int
    index: int
    sid: int | None
    seq: int | None
    channel: str | None
    kind: Kind
    market_ticker: str | None
    payload: Payload
    sent: bool = False
    original_kind: Kind | None = field(default=None)
    yes_leg: bool = False
    """A book message sent to a subscription reading the ``use_yes_price: true`` encoding
    (its NO prices are 1 - q; YES-side deltas read the same in both encodings)."""

    @property
    def side(self) -> Side | None:
        return self.payload.side if isinstance(self.payload, ModelDelta) else None

    @property
    def price_ticks(self) -> int | None:
        return self.payload.price_ticks if isinstance(self.payload, ModelDelta) else None

    @property
    def delta_units(self) -> int | None:
        return self.payload.delta_units if isinstance(self.payload, ModelDelta) else None

    @property
    def yes_bids(self) -> tuple[Level, ...] | None:
        return self.payload.yes_bids if isinstance(self.payload, SnapshotPayload) else None

    @property
    def no_bids(self) -> tuple[Level, ...] | None:
        return self.payload.no_bids if isinstance(self.payload, SnapshotPayload) else None


class Ledger:
    """Per-connection lists of ``LedgerEntry``; disabled ledgers record nothing."""

    def __init__(self, enabled: bool = True, max_actions: int = MAX_ACTIONS) -> None:
        self.enabled = enabled
        self._entries: dict[int, list[LedgerEntry]] = {}
        self._actions: deque[ExchangeAction] = deque(maxlen=max_actions)

    def act(self, at_ms: int, action: str, target: str | None, fields: dict[str, Any] | None = None) -> None:
        """Record an exchange action (always, even when the message record is disabled)."""
        self._actions.append(ExchangeAction(at_ms, action, target, dict(fields or {})))

    def actions(self, action: str | None = None) -> list[ExchangeAction]:
        """Return the exchange actions (optionally of one kind), oldest first."""
        return [a for a in self._actions if action is None or a.action == action]

    def open(self, conn: int) -> None:
        """Start the (empty) record of connection ``conn``."""
        if self.enabled:
            self._entries.setdefault(conn, [])

    def record(
        self,
        conn: int,
        sid: int | None,
        seq: int | None,
        channel: str | None,
        kind: Kind,
        market_ticker: str | None,
        payload: Payload,
    ) -> LedgerEntry | None:
        """Append and return an entry (``None`` when the ledger is disabled)."""
        if not self.enabled:
            return None
        entries = self._entries.setdefault(conn, [])
        entry = LedgerEntry(conn, len(entries), sid, seq, channel, kind, market_ticker, payload)
        entries.append(entry)
        return entry

    def connections(self) -> list[int]:
        """Return the connection numbers with a record, in order of connection."""
        return sorted(self._entries)

    def entries(self, conn: int) -> list[LedgerEntry]:
        """Return every entry of connection ``conn``, in the order it was generated."""
        return list(self._entries.get(conn, ()))

    def sent(self, conn: int, sid: int | None = None) -> list[LedgerEntry]:
        """Return the entries of ``conn`` (optionally one sid) that were actually sent."""
        return [e for e in self._entries.get(conn, ()) if e.sent and (sid is None or e.sid == sid)]

    def clear(self) -> None:
        """Forget everything recorded so far (messages and actions)."""
        self._entries.clear()
        self._actions.clear()


@dataclass
class SimCounters:
    """Running totals of the exchange (all connections)."""

    model_events: int = 0
    messages_sent: int = 0
    messages_lost: int = 0
    malformed_sent: int = 0
    drops: int = 0
    stalls: int = 0
    overflows: int = 0
    subscription_errors: int = 0
    snapshot_replies_dropped: int = 0
    ticker_sent: int = 0
    lifecycle_events: int = 0
    refusals: int = 0
    """Commands refused with 26 (market limit) or 27 (rate limit)."""
    connections_total: int = 0
    connections_open: int = 0
    commands: int = 0
    command_errors: int = 0
