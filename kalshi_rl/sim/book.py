"""The exchange's own book of one market: YES bids and NO bids only, as Kalshi keeps it.

Sizes are integer units of 0.01 contract. A level never goes negative; a level that reaches
exactly zero is removed. The book is never crossed: best YES bid + best NO bid < $1. Every
level is on the market's price grid (``grid``, which the market may change).
"""

from __future__ import annotations

from kalshi_rl.core.errors import BookError
from kalshi_rl.core.events import Level, Side
from kalshi_rl.core.units import PRICE_SCALE, format_count, format_price
from kalshi_rl.sim.grid import DEFAULT_GRID, PriceGrid


class SimBook:
    """Price -> size maps for both bid ladders, with the invariants checked on every change."""

    __slots__ = ("_best", "_levels", "grid")

    def __init__(self, grid: PriceGrid = DEFAULT_GRID) -> None:
        self.grid = grid
        self._levels: dict[Side, dict[int, int]] = {Side.YES: {}, Side.NO: {}}
        self._best: dict[Side, int | None] = {Side.YES: None, Side.NO: None}

    def size(self, side: Side, price_ticks: int) -> int:
        """Return the units resting at ``price_ticks`` on ``side`` (0 when empty)."""
        return self._levels[side].get(price_ticks, 0)

    def best(self, side: Side) -> int | None:
        """Return the best (highest) bid price of ``side``, or ``None`` when it is empty."""
        return self._best[side]

    def best_level(self, side: Side) -> Level | None:
        """Return ``(price, size)`` of the best bid of ``side``."""
        price = self.best(side)
        return None if price is None else (price, self._levels[side][price])

    def prices(self, side: Side) -> list[int]:
        """Return the prices with resting size on ``side``, ascending."""
        return sorted(self._levels[side])

    def levels(self, side: Side) -> list[Level]:
        """Return ``side``'s levels as ``(price_ticks, count_units)``, ascending by price."""
        ladder = self._levels[side]
        return [(price, ladder[price]) for price in sorted(ladder)]

    def would_cross(self, side: Side, price_ticks: int) -> bool:
        """Return whether a bid at ``price_ticks`` on ``side`` would cross the other side."""
        other = self._best[side.opposite]
        return other is not None and price_ticks + other >= PRICE_SCALE

    def apply(self, side: Side, price_ticks: int, delta_units: int) -> int:
        """Change one level by ``delta_units`` and return its new size.

        Raises ``BookError`` for an off-grid price, a zero delta, a negative result or a
        crossed book, leaving the book unchanged.
        """
        if price_ticks not in self.grid.on_grid:
            raise BookError(f"price {format_price(price_ticks)} is not on the {self.grid.structure} grid")
        if delta_units == 0:
            raise BookError("a delta of zero changes nothing")
        ladder = self._levels[side]
        new_size = ladder.get(price_ticks, 0) + delta_units
        if new_size < 0:
            raise BookError(
                f"{side.value} level {format_price(price_ticks)} would go negative "
                f"({format_count(ladder.get(price_ticks, 0))} {format_count(delta_units)})"
            )
        if new_size == 0:
            del ladder[price_ticks]
            if price_ticks == self._best[side]:
                self._best[side] = max(ladder) if ladder else None
            return 0
        best = self._best[side]
        if best is None or price_ticks > best:
            if self.would_cross(side, price_ticks):
                raise BookError(f"{side.value} bid {format_price(price_ticks)} would cross the book")
            self._best[side] = price_ticks
        ladder[price_ticks] = new_size
        return new_size

    def snapshot(self) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """Return ``(yes_bids, no_bids)`` as tuples, ascending by price."""
        return tuple(self.levels(Side.YES)), tuple(self.levels(Side.NO))
