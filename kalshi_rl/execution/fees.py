"""Kalshi's trading fee, in exact integer arithmetic.

``fee = round_up_to_$0.0001(fee_multiplier × rate × C × P × (1 − P))`` per fill, with ``C`` in
contracts and ``P`` the fill price in dollars; the taker rate is 0.07 and the maker rate 0.0175
(charged only on series with maker fees). Example: 10 contracts taken at $0.50 cost $0.1750.
Fees are held in ticks of $0.0001 like prices (Kalshi's finest money unit for direct members).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from kalshi_rl.core.units import COUNT_SCALE, PRICE_SCALE

TAKER_RATE = Fraction(7, 100)
MAKER_RATE = Fraction(175, 10_000)


@dataclass(frozen=True)
class FeeModel:
    """Which fees apply: Kalshi's quadratic schedule, scaled by the series' multiplier."""

    taker_rate: Fraction = TAKER_RATE
    maker_rate: Fraction = MAKER_RATE
    maker_fees: bool = False  # only series of fee type quadratic_with_maker_fees charge makers
    multiplier: Fraction = Fraction(1)
    _taker: tuple[int, int] = field(init=False, repr=False, compare=False)
    _maker: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # fee_ticks runs on every fill and every balance check: precompute the exact integer
        # numerator and denominator of rate × multiplier / (contract scale × price scale).
        for taker in (True, False):
            rate = self.taker_rate if taker else (self.maker_rate if self.maker_fees else Fraction(0))
            factor = rate * self.multiplier / (COUNT_SCALE * PRICE_SCALE)
            object.__setattr__(self, "_taker" if taker else "_maker", (factor.numerator, factor.denominator))

    def fee_ticks(self, count_units: int, price_ticks: int, taker: bool = True) -> int:
        """Return the fee of one fill of ``count_units`` at ``price_ticks``, rounded up to $0.0001."""
        if not 0 <= price_ticks <= PRICE_SCALE:
            raise ValueError(f"a price must be within [0, 1], got {price_ticks} ticks")
        if count_units <= 0:
            return 0
        numerator, denominator = self._taker if taker else self._maker
        # rate·mult · (units/COUNT_SCALE) · (p/S)·(1 − p/S) · S, with p/S the price in dollars
        exact = numerator * count_units * price_ticks * (PRICE_SCALE - price_ticks)
        return -((-exact) // denominator)  # ceil, exactly

    def to_dict(self) -> dict[str, object]:
        return {
            "taker_rate": str(self.taker_rate),
            "maker_rate": str(self.maker_rate),
            "maker_fees": self.maker_fees,
            "multiplier": str(self.multiplier),
            "rounding": "per fill, up to $0.0001",
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FeeModel:
        return cls(
            taker_rate=Fraction(str(data["taker_rate"])),
            maker_rate=Fraction(str(data["maker_rate"])),
            maker_fees=bool(data["maker_fees"]),
            multiplier=Fraction(str(data["multiplier"])),
        )


KALSHI_FEES = FeeModel()
NO_FEES = FeeModel(taker_rate=Fraction(0), maker_rate=Fraction(0))
