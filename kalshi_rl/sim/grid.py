"""Kalshi price grids (``price_level_structure`` + ``price_ranges``) in integer ticks of $0.0001.

A market's grid can change while it trades (``price_level_structure_updated``), so the grid is
a value each market holds (``PriceGrid``). The default is ``tapered_deci_cent``: below $0.10
and above $0.90 the step is $0.001 (10 ticks), in between $0.01 (100 ticks), so a book near
the edges really holds sub-cent levels such as $0.0520. The module-level names (``GRID``,
``is_on_grid``, ...) are that default grid's.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from kalshi_rl.core.errors import ConfigError
from kalshi_rl.core.units import PRICE_SCALE, format_price

PriceRanges = tuple[tuple[int, int, int], ...]
"""``(start, end, step)`` in ticks, as Kalshi lists them in ``price_ranges``."""

STRUCTURES: dict[str, PriceRanges] = {
    "linear_cent": ((0, PRICE_SCALE, 100),),
    "deci_cent": ((0, PRICE_SCALE, 10),),
    "tapered_deci_cent": ((0, 1_000, 10), (1_000, 9_000, 100), (9_000, PRICE_SCALE, 10)),
    # Kalshi's combo grid since 2026-08 ($0.0001 ticks below $0.01 and above $0.99).
    "center_deci_edge_centi_cent": ((0, 100, 1), (100, 9_900, 10), (9_900, PRICE_SCALE, 1)),
}
"""The price level structures the local exchange can run, by Kalshi's name."""


@dataclass(frozen=True)
class PriceGrid:
    """The valid book prices of a market: a named structure and its price ranges."""

    structure: str
    ranges: PriceRanges
    prices: tuple[int, ...] = field(init=False, repr=False, compare=False)
    """Every valid book price strictly between $0 and $1, ascending."""
    on_grid: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        prices: set[int] = set()
        for start, end, step in self.ranges:
            prices.update(range(start, end + 1, step))
        ordered = tuple(sorted(p for p in prices if 0 < p < PRICE_SCALE))
        object.__setattr__(self, "prices", ordered)
        object.__setattr__(self, "on_grid", frozenset(ordered))

    @classmethod
    def named(cls, structure: str) -> PriceGrid:
        """Return the grid of a structure in ``STRUCTURES`` or raise ``ConfigError``."""
        ranges = STRUCTURES.get(structure)
        if ranges is None:
            raise ConfigError(f"unknown price level structure {structure!r} (known: {', '.join(STRUCTURES)})")
        return cls(structure, ranges)

    def ranges_json(self) -> list[dict[str, str]]:
        """Return ``price_ranges`` as Kalshi's REST and lifecycle messages spell them."""
        return [
            {"start": format_price(start), "end": format_price(end), "step": format_price(step)}
            for start, end, step in self.ranges
        ]

    def contains(self, price_ticks: int) -> bool:
        """Return whether ``price_ticks`` is a valid book price."""
        return price_ticks in self.on_grid

    def snap_down(self, price_ticks: int) -> int | None:
        """Return the highest grid price at or below ``price_ticks`` (``None`` below the grid)."""
        index = bisect_right(self.prices, price_ticks)
        return self.prices[index - 1] if index > 0 else None

    def ladder_down(self, top_ticks: int, levels: int) -> list[int]:
        """Return up to ``levels`` grid prices from ``top_ticks`` (snapped down) downwards."""
        if levels <= 0:
            return []
        index = bisect_right(self.prices, top_ticks)
        return list(reversed(self.prices[max(0, index - levels) : index]))

    def below(self, limit_ticks: int) -> tuple[int, ...]:
        """Return every grid price strictly below ``limit_ticks``."""
        return self.prices[: bisect_left(self.prices, limit_ticks)]

    def snap_nearest(self, price_ticks: int) -> int:
        """Return the grid price nearest to ``price_ticks`` (the lower one on a tie), clamped."""
        prices = self.prices
        index = bisect_left(prices, price_ticks)
        if index == 0:
            return prices[0]
        if index == len(prices):
            return prices[-1]
        below, above = prices[index - 1], prices[index]
        return above if above - price_ticks < price_ticks - below else below


DEFAULT_GRID = PriceGrid.named("tapered_deci_cent")
PRICE_LEVEL_STRUCTURE = DEFAULT_GRID.structure
PRICE_RANGES_TICKS: PriceRanges = DEFAULT_GRID.ranges
GRID: tuple[int, ...] = DEFAULT_GRID.prices
"""Every valid book price of the default grid, ascending."""
MIN_PRICE = GRID[0]
MAX_PRICE = GRID[-1]

price_ranges_json = DEFAULT_GRID.ranges_json
is_on_grid = DEFAULT_GRID.contains
snap_down = DEFAULT_GRID.snap_down
ladder_down = DEFAULT_GRID.ladder_down
grid_below = DEFAULT_GRID.below
snap_nearest = DEFAULT_GRID.snap_nearest
