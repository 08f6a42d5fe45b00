"""The ``market_lifecycle_v2`` channel's frames: every event type, and every way to get one wrong."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pytest

from kalshi_rl.core.errors import FrameError
from kalshi_rl.core.events import EventFeeUpdate, EventLifecycle, LifecycleEvent
from kalshi_rl.core.fee_schedule import FeeSchedule, FeeSource, FeeType
from kalshi_rl.kalshi.messages import parse_frame

RECV_NS = 1_776_664_537_639_332_000
MARKET = "KXBTC15M-26APR160100-00"


def _frame(kind: str, msg: dict[str, Any], seq: int = 5) -> str:
    return json.dumps({"type": kind, "sid": 13, "seq": seq, "msg": msg})


def _market(event_type: str, **fields: Any) -> str:
    return _frame("market_lifecycle_v2", {"market_ticker": MARKET, "event_type": event_type, **fields})


def _parse(raw: str) -> Any:
    return parse_frame(raw, RECV_NS)


def _error(raw: str) -> FrameError:
    with pytest.raises(FrameError) as caught:
        _parse(raw)
    return caught.value


# -- market lifecycle: each event type ----------------------------------------------------


def test_deactivated_carries_the_pause_flag() -> None:
    paused = _parse(_market("deactivated", is_deactivated=True))
    resumed = _parse(_market("deactivated", is_deactivated=False))
    assert isinstance(paused, LifecycleEvent) and isinstance(resumed, LifecycleEvent)
    assert (paused.is_deactivated, resumed.is_deactivated) == (True, False)
    assert (paused.sid, paused.seq) == (13, 5)


def test_close_date_updated_carries_the_new_close_time() -> None:
    event = _parse(_market("close_date_updated", close_ts=1694721600))
    assert isinstance(event, LifecycleEvent)
    assert event.close_ts_ms == 1_694_721_600_000


def test_price_level_structure_updated_carries_the_grid_in_ticks() -> None:
    ranges = [
        {"start": "0.0000", "end": "0.0100", "step": "0.0001"},
        {"start": "0.0100", "end": "0.9900", "step": "0.0100"},
        {"start": "0.9900", "end": "1.0000", "step": "0.0001"},
    ]
    event = _parse(
        _market(
            "price_level_structure_updated",
            price_level_structure="center_deci_edge_centi_cent",
            price_ranges=ranges,
        )
    )
    assert isinstance(event, LifecycleEvent)
    assert event.price_ranges == ((0, 100, 1), (100, 9_900, 100), (9_900, 10_000, 1))
    assert event.price_level_structure == "center_deci_edge_centi_cent"


def test_created_carries_times_grid_and_event_ticker() -> None:
    raw = _frame(
        "market_lifecycle_v2",
        {
            "market_ticker": "INXD-23SEP14-B4487",
            "exchange_index": 0,
            "open_ts": 1694635200,
            "close_ts": 1694721600,
            "additional_metadata": {
                "name": "S&P 500 daily return on Sep 14",
                "title": "S&P 500 closes up by 0.02% or more",
                "yes_sub_title": "S&P 500 closes up 0.02%+",
                "no_sub_title": "S&P 500 closes up <0.02%",
                "rules_primary": "The S&P 500 index level at 4:00 PM ET...",
                "rules_secondary": "",
                "can_close_early": True,
                "event_ticker": "INXD-23SEP14",
                "expected_expiration_ts": 1694721600,
                "strike_type": "greater",
                "floor_strike": 4487,
            },
            "event_type": "created",
            "price_level_structure": "linear_cent",
            "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
        },
    )
    event = _parse(raw)
    assert isinstance(event, LifecycleEvent)
    assert (event.open_ts_ms, event.close_ts_ms) == (1_694_635_200_000, 1_694_721_600_000)
    assert event.event_ticker == "INXD-23SEP14"
    assert event.price_ranges == ((0, 10_000, 100),)


def test_metadata_updated_is_a_lifecycle_event_of_its_own_shape() -> None:
    event = _parse(_market("metadata_updated", strike_type="between", floor_strike=95000, cap_strike=95250.5))
    assert isinstance(event, LifecycleEvent) and event.event_type == "metadata_updated"
    assert event.fields["cap_strike"] == 95250.5


def test_activated_and_settled_parse() -> None:
    assert _parse(_market("activated")).event_type == "activated"
    assert _parse(_market("settled", settled_ts=1776664814)).ts_exchange_ms == 1_776_664_814_000


# -- market lifecycle: bad input ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (_market("exploded"), "unknown event_type 'exploded'"),
        (_market(""), "unknown event_type ''"),
        (_frame("market_lifecycle_v2", {"market_ticker": MARKET, "event_type": 7}), "string event_type"),
        (_frame("market_lifecycle_v2", {"event_type": "activated"}), "missing 'market_ticker'"),
        (_frame("market_lifecycle_v2", {"market_ticker": "", "event_type": "activated"}), "non-empty string"),
        (_market("deactivated", is_deactivated="true"), "boolean is_deactivated"),
        (_market("deactivated", is_deactivated=1), "boolean is_deactivated"),
        (_market("close_date_updated"), "close_date_updated without close_ts"),
        (_market("close_date_updated", close_ts="2026-01-01T00:00:00Z"), "integer close_ts"),
        (_market("close_date_updated", close_ts=1.5e9), "integer close_ts"),
        (_market("close_date_updated", close_ts=-5), "negative close_ts"),
        (_market("price_level_structure_updated", price_level_structure="deci_cent"), "price_ranges"),
        (_market("price_level_structure_updated", price_ranges=[]), "non-empty list price_ranges"),
        (_market("price_level_structure_updated", price_ranges="0-1"), "non-empty list price_ranges"),
        (
            _market("price_level_structure_updated", price_ranges=[{"start": "0.0000", "end": "1.0000"}]),
            "'step'",
        ),
        (
            _market(
                "price_level_structure_updated",
                price_ranges=[{"start": 0, "end": "1.0000", "step": "0.0100"}],
            ),
            "string start",
        ),
        (
            _market(
                "price_level_structure_updated",
                price_ranges=[{"start": "0.5000", "end": "0.4000", "step": "0.0100"}],
            ),
            "impossible price range",
        ),
        (
            _market(
                "price_level_structure_updated",
                price_ranges=[{"start": "0.0000", "end": "1.0000", "step": "0.0000"}],
            ),
            "impossible price range",
        ),
        (_market("price_level_structure_updated", price_ranges=[["0", "1", "0.01"]]), "price range objects"),
        (_market("determined", result="maybe"), "unknown result 'maybe'"),
        (_market("determined", result="yes", settlement_value=1), "fixed-point dollar string"),
        (_market("determined", result="yes", settlement_value="1.5000"), "outside [0, 1]"),
        (_market("determined", result="yes", settlement_value="one"), "dollar price"),
        (_market("created", additional_metadata="x"), "object additional_metadata"),
        (_market("created", exchange_index="0"), "integer exchange_index"),
        (_market("metadata_updated", floor_strike="95000"), "number floor_strike"),
        (_market("metadata_updated", floor_strike=True), "number floor_strike"),
        (_market("metadata_updated", custom_strike=[1]), "object custom_strike"),
        (_market("metadata_updated", yes_sub_title=5), "string yes_sub_title"),
        (json.dumps({"type": "market_lifecycle_v2", "sid": 13, "seq": 5}), "missing 'msg'"),
        (json.dumps({"type": "market_lifecycle_v2", "sid": 13, "seq": 5, "msg": [1]}), "object 'msg'"),
    ],
)
def test_a_malformed_market_lifecycle_frame_is_refused_with_its_reason(raw: str, words: str) -> None:
    error = _error(raw)
    assert words in error.reason


def test_a_refused_market_lifecycle_frame_names_its_market() -> None:
    assert _error(_market("exploded")).market_ticker == MARKET


# -- event lifecycle ----------------------------------------------------------------------

EVENT = {
    "event_ticker": "KXQUICKSETTLE-26JAN25H2150",
    "exchange_index": 0,
    "title": "What will 1+1 equal on Jan 25 at 21:50?",
    "subtitle": "Jan 25 at 21:50",
    "collateral_return_type": "MECNET",
    "series_ticker": "KXQUICKSETTLE",
}


def test_event_lifecycle_parses_every_field() -> None:
    event = _parse(_frame("event_lifecycle", {**EVENT, "strike_date": 1769378400, "strike_period": "hour"}))
    assert event == EventLifecycle(
        "KXQUICKSETTLE-26JAN25H2150",
        "KXQUICKSETTLE",
        "What will 1+1 equal on Jan 25 at 21:50?",
        "Jan 25 at 21:50",
        "MECNET",
        0,
        RECV_NS,
        1_769_378_400_000,
        "hour",
        13,
        5,
    )


@pytest.mark.parametrize("collateral", ["MECNET", "DIRECNET", ""])
def test_event_lifecycle_accepts_every_collateral_return_type(collateral: str) -> None:
    event = _parse(_frame("event_lifecycle", {**EVENT, "collateral_return_type": collateral}))
    assert isinstance(event, EventLifecycle) and event.collateral_return_type == collateral


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"collateral_return_type": "NETTED"}, "unknown collateral_return_type 'NETTED'"),
        ({"collateral_return_type": None}, "string collateral_return_type"),
        ({"exchange_index": "0"}, "integer exchange_index"),
        ({"exchange_index": None}, "integer exchange_index"),
        ({"event_ticker": ""}, "non-empty string event_ticker"),
        ({"title": 5}, "string title"),
        ({"strike_date": "2026-01-25"}, "integer strike_date"),
        ({"strike_period": 3}, "string strike_period"),
    ],
)
def test_a_malformed_event_lifecycle_is_refused(change: dict[str, Any], words: str) -> None:
    assert words in _error(_frame("event_lifecycle", {**EVENT, **change})).reason


@pytest.mark.parametrize(
    "missing",
    ["event_ticker", "exchange_index", "title", "subtitle", "collateral_return_type", "series_ticker"],
)
def test_event_lifecycle_without_a_required_field_is_refused(missing: str) -> None:
    msg = {k: v for k, v in EVENT.items() if k != missing}
    assert f"missing {missing!r}" in _error(_frame("event_lifecycle", msg)).reason


# -- event fee update ---------------------------------------------------------------------


def _fee(fee_type: Any, multiplier: Any, **extra: Any) -> str:
    msg = {
        "event_ticker": "KXBTCD-26MAY2018",
        "fee_type_override": fee_type,
        "fee_multiplier_override": multiplier,
    }
    return _frame("event_fee_update", {**msg, **extra})


def test_event_fee_update_sets_an_exact_override() -> None:
    update = _parse(_fee("quadratic_with_maker_fees", 0.5))
    assert isinstance(update, EventFeeUpdate)
    assert update.fee_override == FeeSchedule(
        FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1, 2), FeeSource.EVENT_OVERRIDE
    )
    assert update.event_ticker == "KXBTCD-26MAY2018"


def test_event_fee_update_with_both_null_clears_the_override() -> None:
    update = _parse(_fee(None, None))
    assert isinstance(update, EventFeeUpdate) and update.fee_override is None


@pytest.mark.parametrize("fee_type", [t.value for t in FeeType])
def test_event_fee_update_accepts_every_documented_fee_type(fee_type: str) -> None:
    update = _parse(_fee(fee_type, 1))
    assert isinstance(update, EventFeeUpdate) and update.fee_override is not None
    assert update.fee_override.fee_type.value == fee_type


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (_fee("cubic", 1), "unknown fee_type 'cubic'"),
        (_fee(7, 1), "fee_type must be a string"),
        (_fee("flat", "1.0"), "number fee_multiplier_override"),
        (_fee("flat", True), "number fee_multiplier_override"),
        (_fee("flat", -1), "must be >= 0"),
        (_fee("flat", None), "must both be set or both be null"),
        (_fee(None, 1), "must both be set or both be null"),
        (
            _frame("event_fee_update", {"event_ticker": "E", "fee_type_override": None}),
            "fee_multiplier_override",
        ),
        (
            _frame("event_fee_update", {"fee_type_override": None, "fee_multiplier_override": None}),
            "event_ticker",
        ),
    ],
)
def test_a_malformed_event_fee_update_is_refused(raw: str, words: str) -> None:
    assert words in _error(raw).reason
