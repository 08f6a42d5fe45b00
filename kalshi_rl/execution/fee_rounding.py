"""Kalshi's fee rounding: what one fill does to a member's balance, in integer micro-dollars.

Implements the current version of Kalshi's fee-rounding document
(docs.kalshi.com/getting_started/fee_rounding, text retrieved 2026-10-08):

- a fill's **trade fee** is the fee model's value rounded up to $0.000001 (``FeeModel``);
- the balance change ``revenue - trade_fee`` (revenue is negative for a buyer) is **aligned**
  down (toward -inf) to the member's balance precision: $0.01 for a non-direct member (the
  default), $0.0001 for a direct member; what the alignment takes is the **rounding fee**;
- the rounding fee goes into the order's **accumulator**, kept per order across all its
  fills, taker and maker alike;
- the accumulator is **rebated** in whole increments of the precision, capped so that the
  fill's net fee (trade fee + rounding fee - rebate) is never negative.

So every balance change is a whole number of precision increments, and an order pays back
its rounding as soon as a fill's fee can absorb a whole increment. The accumulator is not
always below one increment: a fill whose own fee is under one increment (a free maker fill,
say) cannot carry a rebate, so its rounding waits for a later fill of the order.
"""

from __future__ import annotations

from dataclasses import dataclass

NON_DIRECT_PRECISION_MICRO = 10_000
"""$0.01: the balance precision of a member who does not clear directly (Kalshi's default)."""
DIRECT_PRECISION_MICRO = 100
"""$0.0001: the balance precision of a direct member."""
MEMBER_PRECISIONS_MICRO = (NON_DIRECT_PRECISION_MICRO, DIRECT_PRECISION_MICRO)


@dataclass(frozen=True, slots=True)
class FillFee:
    """The fee components of one fill (one match), in micro-dollars.

    ``balance_change_micro`` is what the balance moves by, rebate included; the aligned change
    before the rebate (the document's "Balance Change" column) is ``aligned_change_micro``.
    """

    trade_fee_micro: int
    rounding_fee_micro: int
    rebate_micro: int
    balance_change_micro: int

    @property
    def net_fee_micro(self) -> int:
        """Trade fee + rounding fee - rebate (never negative)."""
        return self.trade_fee_micro + self.rounding_fee_micro - self.rebate_micro

    @property
    def aligned_change_micro(self) -> int:
        """The balance change before the rebate: ``revenue - trade fee`` aligned down."""
        return self.balance_change_micro - self.rebate_micro

    @property
    def revenue_micro(self) -> int:
        return self.balance_change_micro + self.net_fee_micro


class OrderFeeAccumulator:
    """One order's rounding accumulator; ``charge`` each of its fills in order."""

    __slots__ = ("accumulated_micro", "precision_micro")

    def __init__(self, precision_micro: int = NON_DIRECT_PRECISION_MICRO) -> None:
        if precision_micro <= 0:
            raise ValueError(
                f"the balance precision must be a positive number of micro-dollars, got {precision_micro}"
            )
        self.precision_micro = precision_micro
        self.accumulated_micro = 0
        """Rounding fees charged on this order and not yet rebated."""

    def charge(self, revenue_micro: int, trade_fee_micro: int) -> FillFee:
        """Return the fee components of the order's next fill and update the accumulator.

        ``revenue_micro`` is the fill's cash before fees (price x count, negative for a buyer);
        ``trade_fee_micro`` its trade fee, already rounded up to $0.000001.
        """
        if trade_fee_micro < 0:
            raise ValueError(f"a trade fee cannot be negative, got {trade_fee_micro} micro-dollars")
        precision = self.precision_micro
        exact = revenue_micro - trade_fee_micro
        rounding = exact % precision  # Python's % floors: 0 <= rounding < precision for any sign
        aligned = exact - rounding
        accumulated = self.accumulated_micro + rounding
        # Whole increments only, and never more than the fill itself paid in fees.
        rebate = min(accumulated // precision, (trade_fee_micro + rounding) // precision) * precision
        self.accumulated_micro = accumulated - rebate
        return FillFee(trade_fee_micro, rounding, rebate, aligned + rebate)
