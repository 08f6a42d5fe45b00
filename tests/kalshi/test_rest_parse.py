"""parse_market: Kalshi's ``GET /markets/{ticker}`` body -> MarketInfo."""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from typing import Any

import pytest

from kalshi_rl.core.errors import ExchangeError
from kalshi_rl.core.events import MarketInfo
from kalshi_rl.core.fee_schedule import FeeSchedule, FeeSource, FeeType
from kalshi_rl.kalshi.rest import parse_event, parse_market, parse_series
from kalshi_rl.kalshi.timestamps import rfc3339_to_ms

# A production body (kalshi-wire.md §5), rules text elided as in the notes.
_PROD_BODY = json.loads(
    """{"market":{"can_close_early":true,"close_time":"2026-05-20T03:59:00Z",
    "created_time":"2026-05-13T01:51:41.778164Z",
    "early_close_condition":"If this event occurs, the market will close the following 10am ET.",
    "event_ticker":"KXSPACEXSTARSHIP-12","expected_expiration_time":"2026-06-01T14:00:00Z",
    "expiration_time":"2026-05-26T14:00:00Z","expiration_value":"","fractional_trading_enabled":true,
    "last_price_dollars":"0.6000","latest_expiration_time":"2026-05-26T14:00:00Z",
    "liquidity_dollars":"0.0000","market_type":"binary","no_ask_dollars":"0.4000",
    "no_bid_dollars":"0.3300","no_sub_title":"Before May 20","notional_value_dollars":"1.0000",
    "occurrence_datetime":"2026-05-19T14:00:00Z","open_interest_fp":"3877.56",
    "open_time":"2026-05-13T02:30:00Z","previous_price_dollars":"0.0000",
    "previous_yes_ask_dollars":"0.0000","previous_yes_bid_dollars":"0.0000",
    "price_level_structure":"linear_cent",
    "price_ranges":[{"end":"1.0000","start":"0.0000","step":"0.0100"}],
    "response_price_units":"usd_cent","result":"","rules_primary":"...","rules_secondary":"...",
    "settlement_timer_seconds":3600,"status":"active","subtitle":"By May 19, 2026",
    "ticker":"KXSPACEXSTARSHIP-12-26MAY19",
    "title":"Will SpaceX launch another Starship by May 19, 2026?",
    "updated_time":"2026-05-13T02:30:00.984498Z","volume_24h_fp":"4918.41","volume_fp":"4918.41",
    "yes_ask_dollars":"0.6700","yes_ask_size_fp":"25.00","yes_bid_dollars":"0.6000",
    "yes_bid_size_fp":"10.67","yes_sub_title":"Before May 20"}}"""
)

_TAPERED = [
    {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
    {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
    {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
]


def _body(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(_PROD_BODY)
    for key, value in changes.items():
        if value is ...:
            body["market"].pop(key, None)
        else:
            body["market"][key] = value
    return body


def test_production_market_parses_to_market_info() -> None:
    info = parse_market(_PROD_BODY, fetched_ns=123)
    assert info.ticker == "KXSPACEXSTARSHIP-12-26MAY19"
    assert info.status == "active"
    assert info.event_ticker == "KXSPACEXSTARSHIP-12"
    assert info.title == "Will SpaceX launch another Starship by May 19, 2026?"
    assert info.open_time_ms == rfc3339_to_ms("2026-05-13T02:30:00Z") == 1778639400000
    assert info.close_time_ms == rfc3339_to_ms("2026-05-20T03:59:00Z")
    assert info.result is None
    assert info.settlement_ticks is None
    assert not info.is_settled
    assert info.price_level_structure == "linear_cent"
    assert info.price_ranges == ((0, 10_000, 100),)
    assert info.fetched_ns == 123
    assert info.raw["yes_bid_size_fp"] == "10.67"


def test_expiration_prefers_expected_then_latest_then_deprecated_field() -> None:
    assert parse_market(_PROD_BODY).expiration_time_ms == rfc3339_to_ms("2026-06-01T14:00:00Z")
    latest = parse_market(_body(expected_expiration_time=None, latest_expiration_time="2026-05-27T14:00:00Z"))
    assert latest.expiration_time_ms == rfc3339_to_ms("2026-05-27T14:00:00Z")
    deprecated = parse_market(_body(expected_expiration_time=..., latest_expiration_time=...))
    assert deprecated.expiration_time_ms == rfc3339_to_ms("2026-05-26T14:00:00Z")


def test_linear_cent_grid_accepts_whole_cents_only() -> None:
    info = parse_market(_PROD_BODY)
    assert info.is_valid_price(100)
    assert info.is_valid_price(9_900)
    assert not info.is_valid_price(520)
    assert not info.is_valid_price(0)
    assert not info.is_valid_price(10_000)


def test_tapered_deci_cent_ranges_allow_sub_cent_ticks_only_at_the_edges() -> None:
    info = parse_market(_body(price_level_structure="tapered_deci_cent", price_ranges=_TAPERED))
    assert info.price_ranges == ((0, 1_000, 10), (1_000, 9_000, 100), (9_000, 10_000, 10))
    for valid in (10, 520, 990, 1_000, 5_600, 9_110, 9_990):
        assert info.is_valid_price(valid), valid
    for invalid in (5, 525, 5_050, 9_115, 10_000):
        assert not info.is_valid_price(invalid), invalid


@pytest.mark.parametrize(
    ("result", "value", "ticks"),
    [("yes", "1.0000", 10_000), ("no", "0.0000", 0), ("scalar", "0.5250", 5_250)],
)
def test_settled_market_carries_result_and_exact_settlement(result: str, value: str, ticks: int) -> None:
    info = parse_market(
        _body(
            status="finalized",
            result=result,
            settlement_value_dollars=value,
            settlement_ts="2026-05-20T05:00:00Z",
        )
    )
    assert info.status == "finalized"
    assert info.result == result
    assert info.settlement_ticks == ticks
    assert info.is_settled


def test_bare_market_object_without_envelope_parses() -> None:
    assert parse_market(_PROD_BODY["market"]).ticker == "KXSPACEXSTARSHIP-12-26MAY19"


def test_minimal_market_leaves_optional_fields_empty() -> None:
    info = parse_market({"market": {"ticker": "X-1"}})
    assert info == MarketInfo("X-1", "", None, None, None)
    assert info.is_valid_price(5_555)  # unknown grid: any tick inside (0, 1)


@pytest.mark.parametrize(
    "body",
    [
        _body(ticker=...),
        _body(price_ranges=[{"start": "0.0000", "end": "1.0000"}]),
        _body(price_ranges=[{"start": "0", "end": "1.0000", "step": 0.01}]),
        _body(settlement_value_dollars="1.00005"),
        _body(open_time="not a time"),
        {"market": None},
    ],
    ids=[
        "no-ticker",
        "range-without-step",
        "float-step",
        "over-precise-settlement",
        "bad-time",
        "null-market",
    ],
)
def test_unexpected_market_payload_raises_exchange_error(body: dict[str, Any]) -> None:
    with pytest.raises(ExchangeError, match="unexpected market payload"):
        parse_market(body)


# -- GET /series/{ticker} and GET /events/{ticker} (OpenAPI 3.31.0 Series, EventData) ----------

_SERIES = {
    "series": {
        "ticker": "KXBTCD",
        "frequency": "daily",
        "title": "Bitcoin price",
        "category": "Crypto",
        "categories": ["Crypto"],
        "tags": None,
        "settlement_sources": None,
        "contract_url": "https://kalshi.com/x.pdf",
        "contract_terms_url": "https://kalshi.com/y.pdf",
        "fee_type": "quadratic_with_maker_fees",
        "fee_multiplier": 0.5,
        "additional_prohibitions": None,
    }
}
_EVENT = {
    "event": {
        "event_ticker": "KXBTCD-26MAY2018",
        "series_ticker": "KXBTCD",
        "sub_title": "May 20, 6pm",
        "title": "Bitcoin price on May 20 at 6pm?",
        "collateral_return_type": "",
        "mutually_exclusive": False,
        "settlement_sources": None,
    },
    "markets": [],
}


def _with(body: dict[str, Any], key: str, **changes: Any) -> dict[str, Any]:
    copy_ = copy.deepcopy(body)
    for field_name, value in changes.items():
        if value is ...:
            copy_[key].pop(field_name, None)
        else:
            copy_[key][field_name] = value
    return copy_


def test_series_fee_type_and_multiplier_parse_exactly() -> None:
    series = parse_series(_SERIES)
    assert series.ticker == "KXBTCD"
    assert series.fee == FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1, 2), FeeSource.SERIES)


@pytest.mark.parametrize("multiplier", [1, 0.25, 0.07, 2])
def test_series_multiplier_is_a_json_number_kept_exact(multiplier: float) -> None:
    assert parse_series(_with(_SERIES, "series", fee_multiplier=multiplier)).fee.multiplier == Fraction(
        str(multiplier)
    )


@pytest.mark.parametrize(
    "fee_type", ["quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat"]
)
def test_every_documented_series_fee_type_parses(fee_type: str) -> None:
    assert parse_series(_with(_SERIES, "series", fee_type=fee_type)).fee.fee_type.value == fee_type


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"fee_type": "cubic"}, "unknown fee_type 'cubic'"),
        ({"fee_type": None}, "fee_type must be a string"),
        ({"fee_type": ...}, "needs fee_type and fee_multiplier"),
        ({"fee_multiplier": ...}, "needs fee_type and fee_multiplier"),
        ({"fee_multiplier": "0.5"}, "must be a JSON number"),
        ({"fee_multiplier": True}, "must be a JSON number"),
        ({"fee_multiplier": None}, "must be a JSON number"),
        ({"fee_multiplier": -1}, "must be >= 0"),
        ({"ticker": ""}, "non-empty string ticker"),
    ],
)
def test_a_malformed_series_is_refused_with_the_reason(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(ExchangeError, match="unexpected series payload") as caught:
        parse_series(_with(_SERIES, "series", **changes))
    assert words in str(caught.value)


@pytest.mark.parametrize("body", [{}, {"series": []}, {"series": "KXBTCD"}, []])
def test_a_series_body_of_the_wrong_shape_is_refused(body: Any) -> None:
    with pytest.raises(ExchangeError, match="unexpected series payload"):
        parse_series(body)


def test_event_without_override_parses_its_series() -> None:
    event = parse_event(_EVENT)
    assert (event.event_ticker, event.series_ticker, event.fee_override) == (
        "KXBTCD-26MAY2018",
        "KXBTCD",
        None,
    )
    nulls = parse_event(_with(_EVENT, "event", fee_type_override=None, fee_multiplier_override=None))
    assert nulls.fee_override is None


def test_event_fee_override_parses_exactly() -> None:
    event = parse_event(_with(_EVENT, "event", fee_type_override="flat", fee_multiplier_override=1.5))
    assert event.fee_override == FeeSchedule(FeeType.FLAT, Fraction(3, 2), FeeSource.EVENT_OVERRIDE)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"fee_type_override": "flat"}, "must be set together"),
        ({"fee_multiplier_override": 1}, "must be set together"),
        ({"fee_type_override": "flat", "fee_multiplier_override": "1"}, "must be a JSON number"),
        ({"fee_type_override": "linear", "fee_multiplier_override": 1}, "unknown fee_type 'linear'"),
        ({"series_ticker": ...}, "non-empty string series_ticker"),
        ({"event_ticker": 5}, "non-empty string event_ticker"),
    ],
)
def test_a_malformed_event_is_refused_with_the_reason(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(ExchangeError, match="unexpected event payload") as caught:
        parse_event(_with(_EVENT, "event", **changes))
    assert words in str(caught.value)
