"""Exact price and count units: the wire strings <-> integer ticks and units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshi_rl.core.errors import InvalidValueError
from kalshi_rl.core.units import (
    CENT_TICKS,
    COUNT_SCALE,
    PRICE_SCALE,
    cents_to_ticks,
    contracts_to_units,
    count_decimal,
    format_count,
    format_price,
    parse_count_fp,
    parse_price_dollars,
    price_decimal,
    ticks_from_decimal,
    units_from_decimal,
)


def test_scales_are_deci_cent_ticks_and_hundredth_contract_units() -> None:
    assert PRICE_SCALE == 10_000
    assert COUNT_SCALE == 100
    assert CENT_TICKS == 100


@pytest.mark.parametrize(
    ("text", "ticks"),
    [
        ("0.5600", 5600),
        ("0.0520", 520),  # sub-cent level seen in the BTC capture
        ("0.0010", 10),
        ("0.9990", 9990),
        ("0.0001", 1),
        ("0.9999", 9999),
        ("0.0000", 0),
        ("1.0000", 10_000),
        ("0.960", 9600),  # older docs show three decimals
        ("0.5", 5000),
        ("1", 10_000),
        ("0", 0),
        ("12.3456", 123_456),
    ],
)
def test_parse_price_dollars_reads_exact_ticks(text: str, ticks: int) -> None:
    assert parse_price_dollars(text) == ticks


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("678.99", 67_899),
        ("-92.57", -9_257),
        ("10.00", 1_000),
        ("0.01", 1),
        ("-0.13", -13),
        ("66800.00", 6_680_000),
        ("1.5", 150),
        ("7", 700),
        ("-1664.30", -166_430),
        ("0.00", 0),
    ],
)
def test_parse_count_fp_reads_exact_units(text: str, units: int) -> None:
    assert parse_count_fp(text) == units


@pytest.mark.parametrize(
    "text",
    [
        "+0.5",
        " 0.5",
        "0.5 ",
        "0.5600\n",
        "0.12345",
        "1e-3",
        "0.5e0",
        "-0.5000",
        ".5",
        "0.",
        "",
        "abc",
        "0,56",
        "100.0000",
        "0x10",
        "NaN",
        "inf",
        "0..5",
        "0.56.00",
    ],
)
def test_parse_price_dollars_rejects_malformed_text(text: str) -> None:
    with pytest.raises(InvalidValueError, match="expected a dollar price"):
        parse_price_dollars(text)


@pytest.mark.parametrize(
    "text",
    ["+1.00", " 1.00", "1.00 ", "1.001", "1e3", "--1", "1.", ".5", "", "x", "1,000.00", "1234567890123"],
)
def test_parse_count_fp_rejects_malformed_text(text: str) -> None:
    with pytest.raises(InvalidValueError, match="expected a fixed-point count"):
        parse_count_fp(text)


@pytest.mark.parametrize("value", [0.56, 1, None, b"0.5600", Decimal("0.56")])
def test_parse_price_dollars_refuses_non_strings(value: object) -> None:
    # Exactness depends on never accepting a float; any refusal is acceptable here.
    with pytest.raises((InvalidValueError, TypeError)):
        parse_price_dollars(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0.56, 5600])
def test_parse_price_dollars_refuses_numbers_with_invalid_value_error(value: object) -> None:
    with pytest.raises(InvalidValueError):
        parse_price_dollars(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [678.99, 5, None, b"1.00"])
def test_parse_count_fp_refuses_non_strings(value: object) -> None:
    with pytest.raises(InvalidValueError):
        parse_count_fp(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["\u0660.\u0665\u0666", "\uff10.\uff15", "0.\u0665\u0666\u0660\u0660"])
def test_parse_price_dollars_rejects_unicode_digits(text: str) -> None:
    with pytest.raises(InvalidValueError):
        parse_price_dollars(text)


@pytest.mark.parametrize("text", ["\u0661\u0662", "\uff11.\uff15\uff10"])
def test_parse_count_fp_rejects_unicode_digits(text: str) -> None:
    with pytest.raises(InvalidValueError):
        parse_count_fp(text)


@pytest.mark.parametrize(
    ("ticks", "text"),
    [(520, "0.0520"), (5600, "0.5600"), (1, "0.0001"), (0, "0.0000"), (10_000, "1.0000"), (-25, "-0.0025")],
)
def test_format_price_writes_four_decimals(ticks: int, text: str) -> None:
    assert format_price(ticks) == text


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (67_899, "678.99"),
        (-9_257, "-92.57"),
        (1, "0.01"),
        (-1, "-0.01"),
        (0, "0.00"),
        (6_680_000, "66800.00"),
    ],
)
def test_format_count_writes_two_decimals(units: int, text: str) -> None:
    assert format_count(units) == text


def test_legacy_cents_convert_to_ticks() -> None:
    assert cents_to_ticks(56) == 5600
    assert cents_to_ticks(1) == 100
    assert cents_to_ticks(99) == 9900


def test_legacy_contracts_convert_to_units() -> None:
    assert contracts_to_units(300) == 30_000
    assert contracts_to_units(-54) == -5_400


@pytest.mark.parametrize("value", [56.0, "56", True, None])
def test_legacy_conversions_refuse_non_integers(value: object) -> None:
    with pytest.raises(InvalidValueError, match="integer cent price"):
        cents_to_ticks(value)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="integer contract count"):
        contracts_to_units(value)  # type: ignore[arg-type]


def test_decimal_views_are_exact() -> None:
    assert price_decimal(520) == Decimal("0.0520")
    assert count_decimal(67_899) == Decimal("678.99")
    assert count_decimal(-9_257) == Decimal("-92.57")


def test_from_decimal_accepts_exact_values_and_refuses_finer_ones() -> None:
    assert ticks_from_decimal(Decimal("0.0520")) == 520
    assert ticks_from_decimal("0.99") == 9900
    assert units_from_decimal("678.99") == 67_899
    with pytest.raises(InvalidValueError, match=r"finer than \$0\.0001"):
        ticks_from_decimal("0.00005")
    with pytest.raises(InvalidValueError, match=r"finer than 0\.01 contract"):
        units_from_decimal("1.005")


@given(st.integers(min_value=0, max_value=99 * PRICE_SCALE + 9_999))
def test_price_round_trips_through_its_dollar_string(ticks: int) -> None:
    text = format_price(ticks)
    assert parse_price_dollars(text) == ticks
    assert Decimal(text) == price_decimal(ticks)
    assert ticks_from_decimal(Decimal(text)) == ticks


@given(st.integers(min_value=-(10**14) + 1, max_value=10**14 - 1))
def test_count_round_trips_through_its_fixed_point_string(units: int) -> None:
    text = format_count(units)
    assert parse_count_fp(text) == units
    assert Decimal(text) == count_decimal(units)
    assert units_from_decimal(Decimal(text)) == units


@given(st.decimals(min_value=0, max_value=Decimal("99.9999"), places=4))
def test_any_four_decimal_string_parses_to_its_exact_value(value: Decimal) -> None:
    text = f"{value:.4f}"
    assert parse_price_dollars(text) == int(value * PRICE_SCALE)
