"""``PositionLedger``: one market's position, cash and P&L, netted the way Kalshi nets them.

Money is held exactly in micro-dollars: a price in ticks ($0.0001) times a count in units
(0.01 contract) is a value in $0.000001, Kalshi's fee granularity. The fee a fill is charged
here is its net fee (trade fee + rounding fee - rebate, ``fee_rounding``), so cash follows the
member's balance exactly.

The position is signed (``+`` YES, ``-`` NO contracts). A YES and a NO contract together are
worth $1, so Kalshi nets them: buying YES while holding NO closes NO contracts (each closed pair
pays $1) before opening YES. Average cost is the cost of the open contracts divided by their
number; closing removes cost in proportion, so realised P&L per closed contract is
``exit value - average cost``. Settlement pays $1 per contract on the winning side.
"""

from __future__ import annotations

from dataclasses import dataclass

from kalshi_rl.core.events import Side
from kalshi_rl.core.units import COUNT_SCALE, PRICE_SCALE

MICRO_PER_DOLLAR = PRICE_SCALE * COUNT_SCALE
"""Micro-dollars per dollar: ticks x units."""


@dataclass
class PositionLedger:
    """Exact position accounting for one market (all money in micro-dollars)."""

    cash_micro: int = 0
    position_units: int = 0
    cost_micro: int = 0
    realized_micro: int = 0
    fees_micro: int = 0
    traded_micro: int = 0
    contracts_traded_units: int = 0

    @property
    def side(self) -> Side | None:
        if self.position_units > 0:
            return Side.YES
        return Side.NO if self.position_units < 0 else None

    @property
    def held_units(self) -> int:
        return abs(self.position_units)

    def held(self, side: Side) -> int:
        """Units held on ``side`` (0 if the position is on the other side or flat)."""
        return self.held_units if self.side is side else 0

    def average_cost_ticks(self) -> float:
        """Average cost per contract of the open position, in ticks (a metric)."""
        return self.cost_micro / self.held_units if self.held_units else 0.0

    def revenue_micro(self, side: Side, count_units: int, price_ticks: int) -> int:
        """The cash a buy of ``side`` would bring before fees: minus its cost, plus $1 a netted pair.

        Kalshi's fee rounding aligns ``revenue - trade fee``; the pairs add whole dollars, so they
        never change the rounding.
        """
        closed = min(count_units, self.held(side.opposite))
        return PRICE_SCALE * closed - price_ticks * count_units

    def buy(self, side: Side, count_units: int, price_ticks: int, fee_micro: int = 0) -> int:
        """Record buying ``count_units`` of ``side`` at ``price_ticks`` (that side's frame),
        paying ``fee_micro`` in fees.

        Returns the units that closed an opposite position (netted).
        """
        if count_units <= 0:
            raise ValueError(f"a fill must have a positive count, got {count_units}")
        if not 0 <= price_ticks <= PRICE_SCALE:
            raise ValueError(f"a fill price must be within [0, 1], got {price_ticks} ticks")
        self.cash_micro -= price_ticks * count_units + fee_micro
        self.fees_micro += fee_micro
        self.realized_micro -= fee_micro
        self.traded_micro += price_ticks * count_units
        self.contracts_traded_units += count_units
        opposite_held = self.held(side.opposite)
        closed = min(count_units, opposite_held)
        if closed:
            removed = self.cost_micro * closed // opposite_held if closed < opposite_held else self.cost_micro
            self.cost_micro -= removed
            # Each closed pair redeems at $1: the opposite contract leaves at 1 - price.
            self.cash_micro += PRICE_SCALE * closed
            self.realized_micro += (PRICE_SCALE - price_ticks) * closed - removed
        opened = count_units - closed
        sign = 1 if side is Side.YES else -1
        self.position_units += sign * count_units
        if opened:
            self.cost_micro += price_ticks * opened
        return closed

    def sell(self, side: Side, count_units: int, price_ticks: int, fee_micro: int = 0) -> int:
        """Record selling ``side`` at ``price_ticks``: buying the other side at ``1 - price``."""
        return self.buy(side.opposite, count_units, PRICE_SCALE - price_ticks, fee_micro)

    def settle(self, settlement_ticks: int, precision_micro: int = 1) -> int:
        """Settle at ``settlement_ticks`` per YES contract; return the payout in micro-dollars.

        The payout is floored to the member's balance precision (Kalshi rounds settlement
        payouts to whole cents; a sub-cent scalar value times a fractional count can fall
        between); what the floor takes is a settlement fee.
        """
        side = self.side
        if side is None:
            return 0
        value = settlement_ticks if side is Side.YES else PRICE_SCALE - settlement_ticks
        exact = value * self.held_units
        payout = exact - exact % precision_micro
        self.cash_micro += payout
        self.fees_micro += exact - payout
        self.realized_micro += payout - self.cost_micro
        self.position_units = 0
        self.cost_micro = 0
        return payout

    def value_micro(self, yes_mark_ticks: float) -> float:
        """Mark-to-market value of the open position at a YES price (a metric)."""
        if self.position_units >= 0:
            return self.position_units * yes_mark_ticks
        return -self.position_units * (PRICE_SCALE - yes_mark_ticks)

    def equity_micro(self, yes_mark_ticks: float) -> float:
        """Cash plus the marked position (a metric: the mark may fall on a half tick)."""
        return self.cash_micro + self.value_micro(yes_mark_ticks)

    def unrealized_micro(self, yes_mark_ticks: float) -> float:
        return self.value_micro(yes_mark_ticks) - self.cost_micro
