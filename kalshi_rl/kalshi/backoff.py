"""``Backoff``: how long the WebSocket client waits before its next connection attempt.

After ``n`` failed attempts in a row it waits ``min(max_s, initial_s * 2**n)`` scaled by a
random factor in [0.5, 1] (jitter, so clients cut off together do not return together). The
count starts over once a connection has *worked*, which the client decides (every
subscription acknowledged): a server that accepts the socket and drops it before that keeps
the client backing off.
"""

from __future__ import annotations

import random


class Backoff:
    """Exponential backoff with jitter, reset after a connection that worked."""

    def __init__(self, initial_s: float, max_s: float, rng: random.Random) -> None:
        self.initial_s = initial_s
        self.max_s = max_s
        self.failures = 0
        """Connection attempts since the last one that worked."""
        self._rng = rng

    def next_delay(self) -> float:
        """Count one more failure and return the seconds to wait before the next attempt."""
        # The exponent is capped so that weeks of failures never overflow the float.
        ceiling = min(self.max_s, self.initial_s * 2 ** min(self.failures, 64))
        self.failures += 1
        return ceiling * self._rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        """Start over at ``initial_s``: the current connection worked."""
        self.failures = 0
