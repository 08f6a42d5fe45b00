"""parse_market: Kalshi's ``GET /markets/{ticker}`` body -> MarketInfo."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kalshi_rl.core.errors import ExchangeError
from kalshi_rl.core.events import MarketInfo
from kalshi_rl.kalshi.rest import parse_market
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
