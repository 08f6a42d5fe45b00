"""Fault injection per connection: drops, sequence gaps, malformed frames, stalls, errors.

Faults count the *data messages* generated for a connection on sequenced channels
(snapshots, deltas, trades, lifecycle and event messages; not ``ticker`` messages, which carry
no seq, not command replies and not the malformed frames themselves):

- ``drop_every N``: after the N-th, 2N-th, ... data message is written, the TCP connection is
  aborted without a WebSocket close handshake;
- ``gap_every N``: the N-th, 2N-th, ... data message is lost: its seq is consumed and the
  exchange's book changes, but the frame is never sent (a snapshot is never lost: the loss
  moves to the next non-snapshot message, so a resync can always succeed);
- ``malformed_every N``: after the N-th, 2N-th, ... data message an extra bad frame is sent
  that consumes a seq of the connection's orderbook sid, cycling through ``MALFORMED_VARIANTS``;
- ``stall_every N``: after the N-th, 2N-th, ... data message nothing is written to the
  connection for ``stall_seconds`` while the market keeps moving and messages queue up;
- ``error_every N``: after the N-th, 2N-th, ... data message the connection's orderbook
  subscription (the message's own if it has none) ends with Kalshi's terminal error
  ``error_code`` (25, subscription buffer overflow, or 10, channel error): an ``error``
  frame carrying its sid; nothing more is sent on that sid and the client must resubscribe.

And one fault that counts commands, not data messages:

- ``drop_snapshot_replies N``: the first N ``get_snapshot`` requests of each connection are
  never answered (no snapshot is made, no seq consumed), as if the request had been lost; the
  client must notice the missing reply and resubscribe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from kalshi_rl.core.errors import ConfigError
from kalshi_rl.core.events import Level, Side
from kalshi_rl.kalshi import encode

AFTER_DROP = 1
AFTER_STALL = 2

TERMINAL_ERROR_CODES = (10, 25)
"""The error codes that end a subscription (Kalshi: channel error, buffer overflow)."""

MALFORMED_VARIANTS = (
    "invalid_json",
    "unknown_type",
    "price_out_of_range",
    "negative_level",
    "unsubscribed_market",
)
OUT_OF_RANGE_PRICE_TICKS = 12_000
"""The price of the ``price_out_of_range`` variant: ``"1.2000"``."""


@dataclass(frozen=True)
class FaultConfig:
    """How often each fault happens on every connection (0 = never)."""

    drop_every: int = 0
    gap_every: int = 0
    malformed_every: int = 0
    stall_every: int = 0
    stall_seconds: float = 2.0
    error_every: int = 0
    error_code: int = 25
    drop_snapshot_replies: int = 0

    def __post_init__(self) -> None:
        for name in (
            "drop_every",
            "gap_every",
            "malformed_every",
            "stall_every",
            "error_every",
            "drop_snapshot_replies",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 (off) or a positive count, got {getattr(self, name)}")
        if self.stall_seconds < 0:
            raise ConfigError(f"stall_seconds must be >= 0, got {self.stall_seconds}")
        if self.error_code not in TERMINAL_ERROR_CODES:
            raise ConfigError(f"error_code must be a terminal Kalshi error (10 or 25), got {self.error_code}")

    @property
    def any(self) -> bool:
        """Return whether any fault counts data messages (``drop_snapshot_replies`` does not)."""
        return bool(
            self.drop_every or self.gap_every or self.malformed_every or self.stall_every or self.error_every
        )


class FaultDecision:
    """What to do with one data message."""

    __slots__ = ("after", "error", "lost", "malformed")

    def __init__(self) -> None:
        self.lost = False
        self.after = 0
        self.malformed = False
        self.error = False


_NO_FAULT = FaultDecision()


class FaultState:
    """The fault counters of one connection."""

    __slots__ = ("_active", "_gap_pending", "_variant", "config", "data_messages", "snapshot_requests")

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.data_messages = 0
        self.snapshot_requests = 0
        self._active = config.any
        self._gap_pending = False
        self._variant = 0

    def on_data(self, is_snapshot: bool) -> FaultDecision:
        """Count one data message and return the faults it triggers."""
        self.data_messages += 1
        if not self._active:
            return _NO_FAULT
        cfg = self.config
        n = self.data_messages
        decision = FaultDecision()
        if cfg.gap_every and n % cfg.gap_every == 0:
            self._gap_pending = True
        if self._gap_pending and not is_snapshot:
            self._gap_pending = False
            decision.lost = True
        if cfg.drop_every and n % cfg.drop_every == 0:
            decision.after |= AFTER_DROP
        if cfg.stall_every and n % cfg.stall_every == 0:
            decision.after |= AFTER_STALL
        decision.malformed = bool(cfg.malformed_every and n % cfg.malformed_every == 0)
        decision.error = bool(cfg.error_every and n % cfg.error_every == 0)
        return decision

    def on_snapshot_request(self) -> bool:
        """Count one ``get_snapshot`` request; return whether to leave it unanswered."""
        self.snapshot_requests += 1
        return self.snapshot_requests <= self.config.drop_snapshot_replies

    def next_variant(self) -> str:
        """Return the next malformed-frame variant (they cycle)."""
        variant = MALFORMED_VARIANTS[self._variant % len(MALFORMED_VARIANTS)]
        self._variant += 1
        return variant


def malformed_frame(
    variant: str,
    sid: int,
    seq: int,
    market: tuple[str, str],
    best: tuple[Side, Level] | None,
    foreign: tuple[str, str],
    ts_ms: int,
) -> str:
    """Return the bad frame of ``variant`` on ``sid``/``seq``.

    ``market`` is a subscribed ``(ticker, market_id)``, ``best`` a resting level of it (for
    the negative-level variant) and ``foreign`` a market the subscription does not hold.
    """
    ticker, market_id = market
    if variant == "invalid_json":
        return f'{{"type":"orderbook_delta","sid":{sid},"seq":{seq},"msg":{{"market_ticker":"{ticker}",'
    if variant == "unknown_type":
        frame = {"type": "orderbook_surprise", "sid": sid, "seq": seq, "msg": {"market_ticker": ticker}}
        return json.dumps(frame, separators=(",", ":"))
    if variant == "price_out_of_range":
        return encode.delta_frame(sid, seq, ticker, market_id, Side.YES, OUT_OF_RANGE_PRICE_TICKS, 100, ts_ms)
    if variant == "negative_level":
        side, (price, size) = best if best is not None else (Side.YES, (5_000, 0))
        return encode.delta_frame(sid, seq, ticker, market_id, side, price, -(size + 100), ts_ms)
    if variant == "unsubscribed_market":
        return encode.delta_frame(sid, seq, foreign[0], foreign[1], Side.YES, 5_000, 100, ts_ms)
    raise ValueError(f"unknown malformed variant {variant!r}")
