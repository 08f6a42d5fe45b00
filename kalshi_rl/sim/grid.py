"""Kalshi's ``tapered_deci_cent`` price grid in integer ticks of $0.0001.

Below $0.10 and above $0.90 the step is $0.001 (10 ticks); in between it is $0.01 (100 ticks),
so a book near the edges really holds sub-cent levels such as $0.0520.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from kalshi_rl.core.units import PRICE_SCALE, format_price

PRICE_LEVEL_STRUCTURE = "tapered_deci_cent"

PRICE_RANGES_TICKS: tuple[tuple[int, int, int], ...] = (
    (0, 1_000, 10),
    (1_000, 9_000, 100),
    (9_000, PRICE_SCALE, 10),
)
"""``(start, end, step)`` in ticks, as Kalshi lists them in ``price_ranges``."""


def _build_grid() -> tuple[int, ...]:
    prices: set[int] = set()
    for start, end, step in PRICE_RANGES_TICKS:
        prices.update(range(start, end + 1, step))
    return tuple(sorted(p for p in prices if 0 < p < PRICE_SCALE))


GRID: tuple[int, ...] = _build_grid()
"""Every valid book price strictly between $0 and $1, ascending."""
MIN_PRICE = GRID[0]
MAX_PRICE = GRID[-1]
_ON_GRID = frozenset(GRID)


def price_ranges_json() -> list[dict[str, str]]:
    """Return ``price_ranges`` as Kalshi's REST and lifecycle messages spell them."""
    return [
        {"start": format_price(start), "end": format_price(end), "step": format_price(step)}
        for start, end, step in PRICE_RANGES_TICKS
    ]


def is_on_grid(price_ticks: int) -> bool:
    """Return whether ``price_ticks`` is a valid book price."""
    return price_ticks in _ON_GRID


def snap_down(price_ticks: int) -> int | None:
    """Return the highest grid price at or below ``price_ticks`` (``None`` below the grid)."""
    index = bisect_right(GRID, price_ticks)
    return GRID[index - 1] if index > 0 else None


def ladder_down(top_ticks: int, levels: int) -> list[int]:
    """Return up to ``levels`` grid prices from ``top_ticks`` (snapped down) downwards."""
    if levels <= 0:
        return []
    index = bisect_right(GRID, top_ticks)
    return list(reversed(GRID[max(0, index - levels) : index]))


def grid_below(limit_ticks: int) -> tuple[int, ...]:
    """Return every grid price strictly below ``limit_ticks``."""
    return GRID[: bisect_left(GRID, limit_ticks)]


def snap_nearest(price_ticks: int) -> int:
    """Return the grid price nearest to ``price_ticks`` (the lower one on a tie), clamped to the grid."""
    index = bisect_left(GRID, price_ticks)
    if index == 0:
        return GRID[0]
    if index == len(GRID):
        return GRID[-1]
    below, above = GRID[index - 1], GRID[index]
    return above if above - price_ticks < price_ticks - below else below
