"""``TokenBucket``: keep REST requests within Kalshi's documented rate limits.

docs.kalshi.com "Rate limits" (2026-06): every request costs tokens (most cost the default of
10), drawn from a per-second budget; GET requests draw from the Read bucket. The Basic tier's
Read budget is 200 tokens a second (20 GET requests a second), and a bucket holds one second
of budget (only the Write bucket of the higher tiers holds two). A 429 answer carries no
``Retry-After``, so the client also empties its bucket when it gets one, waiting a full
second of refill before the next request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

BASIC_READ_TOKENS_PER_S = 200.0
"""The Basic tier's Read budget (tokens per second), the lowest Kalshi grants."""
DEFAULT_REQUEST_COST = 10.0
"""What most requests cost, GET /markets, /series and /events included."""


_EPSILON = 1e-6


class TokenBucket:
    """Tokens refill at ``rate_per_s`` up to ``capacity``; ``acquire`` waits for enough of them.

    Waiters are served in order (one lock), so a burst of requests spreads out evenly instead
    of all retrying at once. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        rate_per_s: float = BASIC_READ_TOKENS_PER_S,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        self.rate_per_s = rate_per_s
        self.capacity = rate_per_s if capacity is None else capacity
        if self.capacity <= 0:
            raise ValueError(f"capacity must be > 0, got {self.capacity}")
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._at = clock()
        self._lock = asyncio.Lock()
        self.waited_s = 0.0
        """Total time spent waiting for tokens (for tests and logs)."""

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate_per_s)
        self._at = now

    async def acquire(self, cost: float = DEFAULT_REQUEST_COST) -> None:
        """Wait until ``cost`` tokens are available, then spend them."""
        if cost > self.capacity:
            raise ValueError(f"a request of {cost} tokens can never fit a bucket of {self.capacity}")
        async with self._lock:
            self._refill()
            while self._tokens < cost - _EPSILON:  # floats: a sleep may land a hair short
                wait = (cost - self._tokens) / self.rate_per_s
                self.waited_s += wait
                await self._sleep(wait)
                self._refill()
            self._tokens = max(0.0, self._tokens - cost)

    def empty(self) -> None:
        """Spend every token (after a 429: the server says we went too fast)."""
        self._refill()
        self._tokens = 0.0
