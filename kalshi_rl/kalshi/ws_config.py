"""What the WebSocket client is told (``WsConfig``) and what it counts (``WsStats``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kalshi_rl.kalshi.subscriptions import LIFECYCLE, ORDERBOOK


@dataclass(frozen=True)
class WsConfig:
    """How to reach the feed and what to subscribe to."""

    url: str
    market_tickers: tuple[str, ...]
    channels: tuple[str, ...] = (ORDERBOOK, "trade", LIFECYCLE)
    use_yes_price: bool = False
    """The book price encoding to ask for; the parser reads the one each subscription asked."""
    reconnect_initial_s: float = 0.25
    reconnect_max_s: float = 30.0
    resync_timeout_s: float = 5.0
    open_timeout_s: float = 10.0
    ping_interval_s: float | None = 20.0
    max_frame_bytes: int = 16 * 1024 * 1024
    max_queue_frames: int = 4096  # frames buffered before TCP backpressure; small = many pauses
    compression: str | None = "deflate"


@dataclass
class WsStats:
    """Counters of the client's life; ``errors`` counts exchange error replies by code."""

    connects: int = 0
    reconnects: int = 0
    frames: int = 0
    gaps: int = 0
    resubscribes: int = 0
    snapshot_requests: int = 0
    retries: int = 0
    """Refused commands sent again after a backoff (codes 27, 18, ...)."""
    encoding_mismatches: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    last_error: str = ""
    unsubscribable: dict[str, str] = field(default_factory=dict)
    """Market -> why the exchange will never subscribe it."""
    reconnect_delays_s: list[float] = field(default_factory=list)
    """The latest waits before a connection attempt, oldest first (``RECENT_DELAYS`` at most)."""
