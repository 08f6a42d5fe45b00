"""A market's fee schedule as Kalshi publishes it: a fee type and a multiplier.

The series carries one (REST ``Series.fee_type`` / ``fee_multiplier``); an event may override
it (REST ``EventData.fee_type_override`` / ``fee_multiplier_override``, and live on the
``market_lifecycle_v2`` channel as ``event_fee_update``, where both null means "override
cleared"). This module only holds the value; ``kalshi_rl.execution.fees`` turns it into money.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from kalshi_rl.core.errors import InvalidValueError


class FeeType(StrEnum):
    """Kalshi's ``FeeType`` (OpenAPI 3.31.0), plus the value only ``event_fee_update`` sends."""

    QUADRATIC = "quadratic"
    QUADRATIC_WITH_MAKER_FEES = "quadratic_with_maker_fees"
    QUADRATIC_WITH_COMBO_MAKER_FEES = "quadratic_with_combo_maker_fees"
    FLAT = "flat"
    MARGIN_MARKET_MAKER_PROGRAM_FEES = "margin_market_maker_program_fees"


class FeeSource(StrEnum):
    SERIES = "series"
    EVENT_OVERRIDE = "event_override"
    DEFAULT = "default"
    """Nothing known about the market's series: Kalshi's general schedule is assumed."""
    FIXED = "fixed"
    """Set by the user for every market, whatever its own schedule (a simulation's ablation)."""


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Which fee formula applies to a market, and the multiplier Kalshi scales it by."""

    fee_type: FeeType
    multiplier: Fraction
    source: FeeSource = FeeSource.SERIES

    def __post_init__(self) -> None:
        if self.multiplier < 0:
            raise InvalidValueError(f"fee_multiplier must be >= 0, got {self.multiplier}")

    @classmethod
    def parse(cls, fee_type: object, multiplier: object, source: FeeSource = FeeSource.SERIES) -> FeeSchedule:
        """Build a schedule from Kalshi's JSON values, or raise ``InvalidValueError`` saying why."""
        if not isinstance(fee_type, str):
            raise InvalidValueError(f"fee_type must be a string, got {fee_type!r}")
        try:
            kind = FeeType(fee_type)
        except ValueError:
            known = ", ".join(t.value for t in FeeType)
            raise InvalidValueError(f"unknown fee_type {fee_type!r} (known: {known})") from None
        return cls(kind, parse_multiplier(multiplier), source)

    def to_dict(self) -> dict[str, str]:
        return {
            "fee_type": self.fee_type.value,
            "fee_multiplier": str(self.multiplier),
            "source": self.source.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FeeSchedule:
        return cls.parse(
            data["fee_type"], data["fee_multiplier"], FeeSource(str(data.get("source", "series")))
        )


def parse_multiplier(value: object) -> Fraction:
    """Return ``fee_multiplier`` (a JSON number, or its decimal text) as an exact fraction."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Fraction)):
        raise InvalidValueError(f"fee_multiplier must be a number, got {value!r}")
    try:
        # str() of a float is its shortest round-tripping decimal: 0.5 -> "0.5", never 0.5000000001
        exact = Fraction(str(value)) if not isinstance(value, Fraction) else value
    except ValueError:
        raise InvalidValueError(f"fee_multiplier must be a number, got {value!r}") from None
    if exact < 0:
        raise InvalidValueError(f"fee_multiplier must be >= 0, got {value!r}")
    return exact


DEFAULT_FEE_SCHEDULE = FeeSchedule(FeeType.QUADRATIC, Fraction(1), FeeSource.DEFAULT)
"""Kalshi's general schedule (taker fees only), used when a market's series is not known."""


def effective_schedule(series: FeeSchedule | None, override: FeeSchedule | None) -> FeeSchedule:
    """The schedule that applies: the event's override when set, else the series', else the default."""
    return override or series or DEFAULT_FEE_SCHEDULE
