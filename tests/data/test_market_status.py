"""The market's status as the feed keeps it: every lifecycle event moves it (issue 10, point 2)."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from kalshi_rl.core.events import EventFeeUpdate, LifecycleEvent, MarketInfo
from kalshi_rl.core.fee_schedule import DEFAULT_FEE_SCHEDULE, FeeSchedule, FeeSource, FeeType
from kalshi_rl.data.book.market_status import phase_after, phase_from_rest
from kalshi_rl.data.book.shared_state import SharedOrderbookState

T = 1_776_664_537_000_000_000
SERIES = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1), FeeSource.SERIES)
OVERRIDE = FeeSchedule(FeeType.FLAT, Fraction(1, 2), FeeSource.EVENT_OVERRIDE)


def info(
    status: str = "active", close_ms: int = 1_000_000, fetched_ns: int = T, **changes: object
) -> MarketInfo:
    base = MarketInfo("KX-A", status, 0, close_ms, None, event_ticker="KX-EV", fetched_ns=fetched_ns)
    return replace(base, **changes)  # type: ignore[arg-type]


def event(event_type: str, at_ns: int = T + 1, **fields: object) -> LifecycleEvent:
    return LifecycleEvent("KX-A", event_type, None, at_ns, **fields)  # type: ignore[arg-type]


@pytest.fixture
def shared() -> SharedOrderbookState:
    market = SharedOrderbookState("KX-A")
    market.set_info(info())
    return market


def test_pause_and_resume_follow_is_deactivated(shared: SharedOrderbookState) -> None:
    assert (shared.status.phase, shared.status.is_trading) == ("active", True)
    shared.apply_lifecycle(event("deactivated", is_deactivated=True))
    assert (shared.status.phase, shared.status.is_trading, shared.status.closed) == ("paused", False, False)
    shared.apply_lifecycle(event("deactivated", is_deactivated=False))
    assert (shared.status.phase, shared.status.is_trading) == ("active", True)
    shared.apply_lifecycle(event("deactivated", is_deactivated=True))
    shared.apply_lifecycle(event("activated"))
    assert shared.status.is_trading


def test_created_then_activated() -> None:
    market = SharedOrderbookState("KX-A")
    assert (market.status.phase, market.status.is_trading) == ("unknown", True)  # nothing known yet
    market.apply_lifecycle(event("created", open_ts_ms=5, close_ts_ms=9_000, event_ticker="KX-EV"))
    assert (market.status.phase, market.status.is_trading) == ("created", False)
    assert market.status.close_time_ms == 9_000 and market.status.event_ticker == "KX-EV"
    market.apply_lifecycle(event("activated"))
    assert market.status.phase == "active"


def test_close_date_updated_wins_over_the_rest_close_time(shared: SharedOrderbookState) -> None:
    shared.apply_lifecycle(event("close_date_updated", close_ts_ms=2_000_000))
    assert shared.status.close_time_ms == 2_000_000
    # A later REST answer is newer still.
    shared.set_info(info(close_ms=3_000_000, fetched_ns=T + 5))
    assert shared.status.close_time_ms == 3_000_000


def test_price_grid_from_price_level_structure_updated(shared: SharedOrderbookState) -> None:
    shared.set_info(info(price_ranges=((0, 10_000, 100),)))
    assert shared.is_valid_price(5_600) and not shared.is_valid_price(5_610)
    shared.apply_lifecycle(
        event(
            "price_level_structure_updated",
            price_ranges=((0, 1_000, 10), (1_000, 9_000, 100), (9_000, 10_000, 10)),
        )
    )
    assert shared.status.price_ranges == ((0, 1_000, 10), (1_000, 9_000, 100), (9_000, 10_000, 10))
    assert shared.is_valid_price(510) and shared.is_valid_price(9_990) and not shared.is_valid_price(5_610)
    assert not shared.is_valid_price(0) and not shared.is_valid_price(10_000)


def test_determined_and_settled_close_the_market(shared: SharedOrderbookState) -> None:
    shared.apply_lifecycle(event("determined", result="yes", settlement_ticks=10_000))
    status = shared.status
    assert (status.phase, status.closed, status.is_trading, status.result, status.settlement_ticks) == (
        "determined",
        True,
        False,
        "yes",
        10_000,
    )
    shared.apply_lifecycle(event("settled"))
    assert shared.status.phase == "settled" and shared.status.settlement_ticks == 10_000


def test_a_lagging_rest_answer_never_moves_the_phase_back(shared: SharedOrderbookState) -> None:
    shared.apply_lifecycle(event("determined", result="no", settlement_ticks=0))
    shared.set_info(info(status="active", fetched_ns=T + 10))
    assert shared.status.phase == "determined"
    shared.set_info(info(status="finalized", fetched_ns=T + 20))
    assert shared.status.phase == "settled"


def test_metadata_updated_changes_no_phase(shared: SharedOrderbookState) -> None:
    shared.apply_lifecycle(event("metadata_updated"))
    assert shared.status.phase == "active" and shared.status.last_event == "metadata_updated"


@pytest.mark.parametrize(
    ("rest", "phase"),
    [
        ("initialized", "created"),
        ("inactive", "paused"),
        ("active", "active"),
        ("closed", "closed"),
        ("determined", "determined"),
        ("disputed", "determined"),
        ("amended", "determined"),
        ("finalized", "settled"),
        ("open", "active"),
        ("mystery", "unknown"),
    ],
)
def test_rest_status_maps_to_a_phase(rest: str, phase: str) -> None:
    assert phase_from_rest("unknown", rest) == phase


def test_phase_after_each_event_type() -> None:
    assert phase_after("unknown", "created") == "created"
    assert phase_after("active", "created") == "active"  # a late duplicate does not reopen
    assert phase_after("paused", "close_date_updated") == "paused"
    assert phase_after("active", "price_level_structure_updated") == "active"


def test_fees_are_the_event_override_else_the_series_else_the_default(shared: SharedOrderbookState) -> None:
    assert shared.status.fees == DEFAULT_FEE_SCHEDULE
    shared.set_fees(SERIES, None)
    assert shared.status.fees == SERIES
    assert shared.apply_event_fee(EventFeeUpdate("KX-EV", OVERRIDE, T + 2))
    assert shared.status.fees == OVERRIDE
    assert not shared.apply_event_fee(EventFeeUpdate("KX-OTHER-EV", None, T + 3))  # not its event
    assert shared.status.fees == OVERRIDE
    assert shared.apply_event_fee(EventFeeUpdate("KX-EV", None, T + 4))  # override cleared
    assert shared.status.fees == SERIES


def test_every_status_change_wakes_subscribers(shared: SharedOrderbookState) -> None:
    before = shared.version
    shared.apply_lifecycle(event("deactivated", is_deactivated=True))
    shared.apply_event_fee(EventFeeUpdate("KX-EV", OVERRIDE, T + 2))
    assert shared.version == before + 2
