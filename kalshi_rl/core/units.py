"""Exact price and count units.

Kalshi quotes prices as dollar strings with up to four decimals ("0.0520") and counts as
fixed-point strings with two decimals ("678.99"). Everything past the wire edge holds them as
integers so that no float ever carries a price or a count:

- a price is an ``int`` number of *ticks* of $0.0001 (``PRICE_SCALE`` ticks = $1);
- a count is an ``int`` number of *units* of 0.01 contract (``COUNT_SCALE`` units = 1 contract).
"""

from __future__ import annotations

import re
from decimal import Decimal

from kalshi_rl.core.errors import InvalidValueError

PRICE_SCALE = 10_000
"""Ticks per dollar: one tick is $0.0001, Kalshi's finest (deci-cent) price increment."""
COUNT_SCALE = 100
"""Units per contract: one unit is 0.01 contract, Kalshi's fractional-count precision."""
CENT_TICKS = PRICE_SCALE // 100

_PRICE_RE = re.compile(r"\d{1,2}(?:\.\d{1,4})?\Z", re.ASCII)


def parse_price_dollars(text: str) -> int:
    """Return the ticks in a dollar string such as ``"0.5600"`` (exact; no float involved)."""
    if type(text) is not str:
        raise InvalidValueError(f"expected a dollar price string like '0.5600', got {text!r}")
    # Fast path for Kalshi's canonical shape "D.DDDD".
    if len(text) == 6 and text[1] == "." and text.isascii():
        head, frac = text[0], text[2:]
        if head.isdigit() and frac.isdigit():
            return int(head) * PRICE_SCALE + int(frac)
    if not _PRICE_RE.match(text):
        raise InvalidValueError(f"expected a dollar price like '0.5600', got {text!r}")
    whole, _, frac = text.partition(".")
    return int(whole) * PRICE_SCALE + int(frac.ljust(4, "0") or "0")


def parse_count_fp(text: str) -> int:
    """Return the units in a fixed-point count such as ``"678.99"`` or ``"-92.57"``."""
    if type(text) is str and text.isascii():
        whole, dot, frac = text.partition(".")
        negative = whole.startswith("-")
        digits = whole[1:] if negative else whole
        if digits.isdigit() and len(digits) <= 12 and (not dot or (frac.isdigit() and len(frac) <= 2)):
            units = int(digits) * COUNT_SCALE + (int(frac.ljust(2, "0")) if dot else 0)
            return -units if negative else units
    raise InvalidValueError(f"expected a fixed-point count like '12.50', got {text!r}")


def cents_to_ticks(cents: int) -> int:
    """Return the ticks in a legacy integer-cent price."""
    if type(cents) is not int:
        raise InvalidValueError(f"expected an integer cent price, got {cents!r}")
    return cents * CENT_TICKS


def contracts_to_units(count: int) -> int:
    """Return the units in a legacy integer contract count."""
    if type(count) is not int:
        raise InvalidValueError(f"expected an integer contract count, got {count!r}")
    return count * COUNT_SCALE


def format_price(ticks: int) -> str:
    """Return Kalshi's dollar string for a price in ticks: 520 -> ``"0.0520"``."""
    sign = "-" if ticks < 0 else ""
    whole, frac = divmod(abs(ticks), PRICE_SCALE)
    return f"{sign}{whole}.{frac:04d}"


def format_count(units: int) -> str:
    """Return Kalshi's fixed-point string for a count in units: 67899 -> ``"678.99"``."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), COUNT_SCALE)
    return f"{sign}{whole}.{frac:02d}"


def price_decimal(ticks: int) -> Decimal:
    """Return a price in ticks as an exact ``Decimal`` number of dollars."""
    return Decimal(ticks).scaleb(-4)


def count_decimal(units: int) -> Decimal:
    """Return a count in units as an exact ``Decimal`` number of contracts."""
    return Decimal(units).scaleb(-2)


def ticks_from_decimal(value: Decimal | str) -> int:
    """Return the ticks in an exact decimal dollar amount, refusing sub-tick precision."""
    scaled = Decimal(value).scaleb(4)
    if scaled != scaled.to_integral_value():
        raise InvalidValueError(f"price {value} is finer than $0.0001")
    return int(scaled)


def units_from_decimal(value: Decimal | str) -> int:
    """Return the units in an exact decimal contract count, refusing sub-unit precision."""
    scaled = Decimal(value).scaleb(2)
    if scaled != scaled.to_integral_value():
        raise InvalidValueError(f"count {value} is finer than 0.01 contract")
    return int(scaled)
