"""How Kalshi bounds a REST request: pages of a listing, and the rate limit.

**Pages** (OpenAPI 3.31.0): listings take ``limit`` (1 to 1000, default 100) and ``cursor``
("Use the cursor value returned from the previous response to get the next page of results.
Leave empty for the first page."); "An empty value of this field indicates there is no next
page." Our cursor is the id of the last item returned, so a page stays right while new orders
and fills arrive at the front of a newest-first listing.

**Rate limit** (docs.kalshi.com/getting_started/rate_limits, 2026-06-06): every request costs
tokens ("Most requests cost the default of 10 tokens"; a cancel 2 per order, ``GetOrder`` 2; a
batch create 10 per order) from one of two buckets: *write* ("Order placement, amends,
cancels") or *read* (everything else). Each bucket refills at the tier's per-second budget and
holds one second of it, except the write bucket above Basic, which holds two. A request the
bucket cannot pay for answers 429 ``{"error": "too many requests"}``. The paper client applies
it only when configured with a tier (``PaperConfig.rate_limit_tier``), on its own clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from kalshi_rl.trading.orders import invalid_parameters, too_many_requests

T = TypeVar("T")
DEFAULT_COST = 10
CANCEL_COST = 2
GET_ORDER_COST = 2


@dataclass(frozen=True)
class RateLimitTier:
    """A usage tier's per-second token budgets, and how many seconds its write bucket holds."""

    name: str
    read_per_s: int
    write_per_s: int
    write_burst_s: int = 2


TIERS = {
    tier.name: tier
    for tier in (
        RateLimitTier("basic", 200, 100, write_burst_s=1),
        RateLimitTier("advanced", 300, 300),
        RateLimitTier("premier", 1_000, 1_000),
        RateLimitTier("paragon", 2_000, 2_000),
        RateLimitTier("prime", 4_000, 4_000),
    )
}


class _Bucket:
    """A token bucket in exact integers: tokens × nanoseconds."""

    def __init__(self, per_s: int, capacity: int, now_ns: int) -> None:
        self.per_s = per_s
        self.capacity = capacity * 1_000_000_000
        self.level = self.capacity
        self.at_ns = now_ns

    def spend(self, tokens: int, now_ns: int) -> bool:
        elapsed = max(0, now_ns - self.at_ns)
        self.level = min(self.capacity, self.level + self.per_s * elapsed)
        self.at_ns = max(self.at_ns, now_ns)
        cost = tokens * 1_000_000_000
        if cost > self.level:
            return False
        self.level -= cost
        return True


class RateLimiter:
    """Kalshi's read and write buckets for one tier, on the client's clock."""

    def __init__(self, tier: RateLimitTier, clock_ns: Callable[[], int]) -> None:
        now = clock_ns()
        self.tier = tier
        self.clock_ns = clock_ns
        self.read = _Bucket(tier.read_per_s, tier.read_per_s, now)
        self.write = _Bucket(tier.write_per_s, tier.write_per_s * tier.write_burst_s, now)

    def spend(self, write: bool, tokens: int = DEFAULT_COST) -> None:
        """Pay ``tokens`` from the write (or read) bucket, or raise 429 (nothing is paid)."""
        bucket = self.write if write else self.read
        if not bucket.spend(tokens, self.clock_ns()):
            kind = "write" if write else "read"
            raise too_many_requests(
                f"the {self.tier.name} tier's {kind} budget cannot pay {tokens} tokens now"
            )


def parse_limit(limit: object, default: int = 100, maximum: int = 1_000) -> int:
    """A page size: an integer from 1 to ``maximum`` (``default`` when absent)."""
    if limit is None:
        return default
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise invalid_parameters(f"limit must be an integer from 1 to {maximum}, got {limit!r}")
    return limit


def page(items: Sequence[T], limit: object, cursor: object, key: Callable[[T], str]) -> tuple[list[T], str]:
    """One page of ``items`` after ``cursor`` (a key this function returned), and the next cursor."""
    size = parse_limit(limit)
    start = 0
    if cursor not in (None, ""):
        if not isinstance(cursor, str):
            raise invalid_parameters(f"cursor must be a string, got {cursor!r}")
        keys = [key(item) for item in items]
        if cursor not in keys:
            raise invalid_parameters(f"unknown cursor {cursor!r}")
        start = keys.index(cursor) + 1
    chosen = list(items[start : start + size])
    more = start + size < len(items)
    return chosen, key(chosen[-1]) if chosen and more else ""
