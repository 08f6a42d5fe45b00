"""Kalshi's trading fees: the fee of one match, and the policy a simulation charges them by.

One match of ``C`` contracts at ``P`` dollars, on a market whose schedule (``FeeSchedule``: the
series' ``fee_type`` and ``fee_multiplier``, or the event's override) has multiplier ``m``:

- taker, every quadratic type: ``0.07 x m x C x P x (1 - P)``;
- maker: 0 for ``quadratic``; ``0.07 x 0.25 x m x C x P x (1 - P)`` for
  ``quadratic_with_maker_fees``; ``0.07 x 0.5 x m x C x P x (1 - P)`` for
  ``quadratic_with_combo_maker_fees``;
- ``flat`` and ``margin_market_maker_program_fees``: the configured per-contract fee x C,
  taker and maker alike;

each rounded up to $0.000001 (Kalshi's fee-rounding document, version retrieved 2026-10-08;
the balance rounding is in ``fee_rounding``). Example: 10 contracts taken at $0.50 cost
0.07 x 10 x 0.5 x 0.5 = $0.175000.

Sources: Kalshi OpenAPI 3.31.0 ``Series.fee_type`` (maker fees "described in the Maker Fees
section"; the combo variant "is the same maker-fee structure with a 0.5 maker multiplier
instead of 0.25"; ``flat`` "is described by the Specific Trading Fees Table"). The 0.07 base
rate is Kalshi's fee schedule (kalshi.com/docs/kalshi-fee-schedule.pdf) as quoted publicly;
the PDF itself, and with it the Specific Trading Fees Table, is not among the documents this
project builds against. So ``flat`` and ``margin_market_maker_program_fees`` (a value only
``event_fee_update`` sends) are never guessed: the user states the per-contract fee
(``FeePolicy.flat_fee_per_contract``, CLI ``--flat-fee``), charged as given (the multiplier is
not applied to it), and a simulation refuses to fill on such a market without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache

from kalshi_rl.core.errors import FeeScheduleError, InvalidValueError
from kalshi_rl.core.fee_schedule import DEFAULT_FEE_SCHEDULE, FeeSchedule, FeeSource, FeeType
from kalshi_rl.core.units import COUNT_SCALE, PRICE_SCALE
from kalshi_rl.execution.fee_rounding import (
    DIRECT_PRECISION_MICRO,
    MEMBER_PRECISIONS_MICRO,
    NON_DIRECT_PRECISION_MICRO,
    FillFee,
    OrderFeeAccumulator,
)

__all__ = [
    "DIRECT_PRECISION_MICRO",
    "NON_DIRECT_PRECISION_MICRO",
    "FeeModel",
    "FeePolicy",
    "FillFee",
    "OrderFeeAccumulator",
]

MICRO_PER_DOLLAR = 1_000_000
TAKER_RATE = Fraction(7, 100)
MAKER_SHARE = {
    FeeType.QUADRATIC: Fraction(0),
    FeeType.QUADRATIC_WITH_MAKER_FEES: Fraction(1, 4),
    FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES: Fraction(1, 2),
}
PER_CONTRACT_TYPES = (FeeType.FLAT, FeeType.MARGIN_MARKET_MAKER_PROGRAM_FEES)
"""Fee types whose table Kalshi's stored documents do not give: the fee must be configured."""
ROUNDING_RULE = "kalshi fee_rounding 2026-10-08: per match ceil $0.000001, per-order accumulator"
"""Names the rounding rule in the train/serve contract: a different rule is a different contract."""


def _ratio(value: Fraction) -> tuple[int, int]:
    return value.numerator, value.denominator


@dataclass(frozen=True)
class FeeModel:
    """The fee of one match on a market with ``schedule``; see the module docstring."""

    schedule: FeeSchedule = DEFAULT_FEE_SCHEDULE
    flat_fee_per_contract: Fraction | None = None
    """Dollars per contract for the per-contract fee types (ignored by the quadratic ones)."""
    _taker: tuple[int, int] = field(init=False, repr=False, compare=False)
    _maker: tuple[int, int] = field(init=False, repr=False, compare=False)
    _quadratic: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # trade_fee_micro runs on every match: precompute exact integer ratios (micro-dollars
        # per count unit x price ticks x (1 - price) ticks, or per count unit when flat).
        kind = self.schedule.fee_type
        quadratic = kind not in PER_CONTRACT_TYPES
        if quadratic:
            taker = TAKER_RATE * self.schedule.multiplier * MICRO_PER_DOLLAR / (COUNT_SCALE * PRICE_SCALE**2)
            maker = taker * MAKER_SHARE[kind]
        elif self.flat_fee_per_contract is None:
            raise FeeScheduleError(
                f"fee_type {kind.value} has no formula in Kalshi's published documents; "
                "set the per-contract fee (--flat-fee DOLLARS, FeePolicy.flat_fee_per_contract)"
            )
        else:
            taker = maker = self.flat_fee_per_contract * MICRO_PER_DOLLAR / COUNT_SCALE
        object.__setattr__(self, "_taker", _ratio(taker))
        object.__setattr__(self, "_maker", _ratio(maker))
        object.__setattr__(self, "_quadratic", quadratic)

    @classmethod
    def from_schedule(
        cls, schedule: FeeSchedule, flat_fee_per_contract: Fraction | None = None, *, market: str = ""
    ) -> FeeModel:
        """The model of ``schedule``; raise ``FeeScheduleError`` naming ``market`` if it cannot be computed."""
        flat = flat_fee_per_contract if schedule.fee_type in PER_CONTRACT_TYPES else None
        try:
            return _model(schedule, flat)
        except FeeScheduleError as exc:
            if not market:
                raise
            raise FeeScheduleError(f"market {market}: {exc}") from None

    def model_fee_micro(self, count_units: int, price_ticks: int, taker: bool) -> Fraction:
        """The fee model's exact value for one match, in micro-dollars (before rounding)."""
        numerator, denominator = self._taker if taker else self._maker
        return Fraction(numerator * self._base(count_units, price_ticks), denominator)

    def trade_fee_micro(self, count_units: int, price_ticks: int, taker: bool) -> int:
        """The trade fee of one match of ``count_units`` at ``price_ticks``, rounded up to $0.000001."""
        if count_units <= 0:
            return 0
        numerator, denominator = self._taker if taker else self._maker
        return -((-numerator * self._base(count_units, price_ticks)) // denominator)  # ceil, exactly

    def _base(self, count_units: int, price_ticks: int) -> int:
        if not 0 <= price_ticks <= PRICE_SCALE:
            raise ValueError(f"a price must be within [0, 1], got {price_ticks} ticks")
        if self._quadratic:
            return count_units * price_ticks * (PRICE_SCALE - price_ticks)
        return count_units


@lru_cache(maxsize=256)
def _model(schedule: FeeSchedule, flat_fee_per_contract: Fraction | None) -> FeeModel:
    return FeeModel(schedule, flat_fee_per_contract)


DEFAULT_FEE_MODEL = FeeModel()
"""Kalshi's general schedule: taker fees only, multiplier 1."""


@dataclass(frozen=True)
class FeePolicy:
    """Which fees a simulation (env, evaluation, paper client) charges; part of the contract.

    ``fixed``: None charges each market the schedule in force for it (its series', or its
    event's override) at the time of each fill; a schedule charges that one to every market
    (ablations, e.g. ``quadratic:0`` for no trade fees). ``flat_fee_per_contract``: the fee,
    in dollars per contract, of markets whose fee type has no published formula.
    ``member_precision_micro``: the balance precision, $0.01 (non-direct member, the default)
    or $0.0001 (direct member).
    """

    fixed: FeeSchedule | None = None
    flat_fee_per_contract: Fraction | None = None
    member_precision_micro: int = NON_DIRECT_PRECISION_MICRO

    def __post_init__(self) -> None:
        if self.fixed is not None and self.fixed.source is not FeeSource.FIXED:
            object.__setattr__(self, "fixed", replace(self.fixed, source=FeeSource.FIXED))
        if self.member_precision_micro not in MEMBER_PRECISIONS_MICRO:
            raise InvalidValueError(
                f"member precision must be $0.01 (non-direct) or $0.0001 (direct), "
                f"got {self.member_precision_micro} micro-dollars"
            )
        if self.flat_fee_per_contract is not None and self.flat_fee_per_contract < 0:
            raise InvalidValueError(f"the flat fee must be >= 0, got ${self.flat_fee_per_contract}")

    def schedule_for(self, market_schedule: FeeSchedule) -> FeeSchedule:
        """The schedule charged on a market whose own schedule is ``market_schedule``."""
        return self.fixed or market_schedule

    def model_for(self, market_schedule: FeeSchedule, market: str = "") -> FeeModel:
        """The fee model for a market; raise ``FeeScheduleError`` if it cannot be computed."""
        return FeeModel.from_schedule(
            self.schedule_for(market_schedule), self.flat_fee_per_contract, market=market
        )

    def accumulator(self) -> OrderFeeAccumulator:
        """A new order's rounding accumulator at this policy's member precision."""
        return OrderFeeAccumulator(self.member_precision_micro)

    def to_dict(self) -> dict[str, object]:
        fixed = self.fixed
        return {
            "schedule": "market"
            if fixed is None
            else {"fee_type": fixed.fee_type.value, "fee_multiplier": str(fixed.multiplier)},
            "flat_fee_per_contract": None
            if self.flat_fee_per_contract is None
            else str(self.flat_fee_per_contract),
            "member_precision": str(Fraction(self.member_precision_micro, MICRO_PER_DOLLAR)),
            "rounding": ROUNDING_RULE,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FeePolicy:
        """Rebuild a policy from ``to_dict``; raise ``InvalidValueError`` if it is not one."""
        if data.get("rounding") != ROUNDING_RULE:
            raise InvalidValueError(
                f"unknown fee rounding rule {data.get('rounding')!r} (expected {ROUNDING_RULE!r})"
            )
        schedule = data.get("schedule")
        fixed = None
        if isinstance(schedule, dict):
            fixed = FeeSchedule.parse(schedule.get("fee_type"), schedule.get("fee_multiplier"))
        elif schedule != "market":
            raise InvalidValueError(
                f"fee schedule must be 'market' or a fee_type and multiplier, got {schedule!r}"
            )
        flat = data.get("flat_fee_per_contract")
        return cls(
            fixed=fixed,
            flat_fee_per_contract=None if flat is None else _dollars(flat, "flat fee"),
            member_precision_micro=int(
                _dollars(data.get("member_precision"), "member precision") * MICRO_PER_DOLLAR
            ),
        )

    @classmethod
    def parse(
        cls, schedule: str = "market", flat_fee: str | None = None, member_precision: str = "0.01"
    ) -> FeePolicy:
        """Build a policy from CLI text: ``market`` or ``TYPE[:MULTIPLIER]``, dollars, dollars."""
        return cls().with_options(schedule, flat_fee, member_precision)

    def with_options(
        self, schedule: str | None = None, flat_fee: str | None = None, member_precision: str | None = None
    ) -> FeePolicy:
        """This policy with the options given as CLI text replaced (None keeps the current value)."""
        fixed, flat, precision_micro = self.fixed, self.flat_fee_per_contract, self.member_precision_micro
        if schedule is not None:
            fee_type, _, multiplier = schedule.partition(":")
            fixed = None if schedule == "market" else FeeSchedule.parse(fee_type, multiplier or "1")
        if flat_fee is not None:
            flat = _dollars(flat_fee, "flat fee")
        if member_precision is not None:
            precision = _dollars(member_precision, "member precision") * MICRO_PER_DOLLAR
            if precision.denominator != 1:
                raise InvalidValueError(
                    f"member precision must be 0.01 or 0.0001 dollars, got {member_precision!r}"
                )
            precision_micro = int(precision)
        return FeePolicy(fixed, flat, precision_micro)


def _dollars(value: object, what: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidValueError(f"{what} must be a decimal number of dollars, got {value!r}")
    try:
        return Fraction(str(value))
    except ValueError:
        raise InvalidValueError(f"{what} must be a decimal number of dollars, got {value!r}") from None
