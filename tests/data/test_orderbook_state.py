"""OrderbookState: two bid ladders, derived asks, cached top of book, kept exact under any stream."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kalshi_rl.core.errors import BookError
from kalshi_rl.core.events import BookSnapshot, Level, Side
from kalshi_rl.core.units import count_decimal, price_decimal
from kalshi_rl.data.book.orderbook_state import OrderbookState

MARKET = "KXBTC15M-26APR191500-00"


def _snapshot(yes: list[Level], no: list[Level], seq: int = 20544) -> BookSnapshot:
    return BookSnapshot(MARKET, 1, seq, tuple(yes), tuple(no), 1776624322000, 1776624322355768000)


def _book(yes: list[Level], no: list[Level]) -> OrderbookState:
    book = OrderbookState(MARKET)
    book.apply_snapshot(_snapshot(yes, no))
    return book


def _state(book: OrderbookState) -> tuple[Any, ...]:
    """Everything observable about a book, for before/after comparisons."""
    return (
        dict(book.yes_bids.sizes),
        dict(book.no_bids.sizes),
        bytes(book.yes_bids.occupied),
        bytes(book.no_bids.occupied),
        book.best_yes_bid,
        book.best_no_bid,
        book.best_yes_ask,
        book.best_no_ask,
        book.last_sequence,
        book.stale,
    )


# From the head of the BTC capture: bids on both sides, sub-cent levels, fractional sizes.
YES = [(5_600, 67_899), (5_500, 1_200), (5_300, 11_757), (520, 7_500), (10, 50_100)]
NO = [(4_300, 29_147), (4_200, 36_274), (4_100, 2_900), (130, 928_900)]


def test_new_book_is_stale_and_empty() -> None:
    book = OrderbookState(MARKET)
    assert book.stale
    assert book.last_sequence == 0
    assert (book.best_yes_bid, book.best_yes_ask, book.best_no_bid, book.best_no_ask) == (None,) * 4
    assert book.spread_yes is None
    assert book.spread_no is None
    assert book.mid_price_yes is None
    assert book.mid_price_no is None
    assert book.volume_at_best == {"yes_bid": 0, "yes_ask": 0, "no_bid": 0, "no_ask": 0}
    assert book.top_bids(Side.YES, 5) == []
    assert book.top_asks(Side.NO, 5) == []
    book.check_invariants()


def test_snapshot_sets_ladders_top_of_book_and_freshness() -> None:
    book = _book(YES, NO)
    assert not book.stale
    assert book.last_sequence == 20544
    assert book.last_update_ns == 1776624322355768000
    assert book.last_exchange_ms == 1776624322000
    assert dict(book.yes_bids) == dict(YES)
    assert dict(book.no_bids) == dict(NO)
    assert (book.best_yes_bid, book.best_no_bid) == (5_600, 4_300)
    book.check_invariants()


def test_yes_ask_is_one_minus_best_no_bid_with_that_bids_size() -> None:
    book = _book(YES, NO)
    assert book.best_yes_ask == 10_000 - 4_300 == 5_700
    assert book.volume_at_best["yes_ask"] == 29_147
    assert book.yes_asks[5_700] == 29_147


def test_no_ask_is_one_minus_best_yes_bid_with_that_bids_size() -> None:
    book = _book(YES, NO)
    assert book.best_no_ask == 10_000 - 5_600 == 4_400
    assert book.volume_at_best["no_ask"] == 67_899
    assert book.no_asks[4_400] == 67_899


def test_volume_at_best_reports_all_four_ladders() -> None:
    assert _book(YES, NO).volume_at_best == {
        "yes_bid": 67_899,
        "yes_ask": 29_147,
        "no_bid": 29_147,
        "no_ask": 67_899,
    }


def test_spreads_and_mids_in_ticks() -> None:
    book = _book(YES, NO)
    assert book.spread_yes == 5_700 - 5_600 == 100
    assert book.spread_no == 4_400 - 4_300 == 100
    assert book.mid_price_yes == 5_650
    assert book.mid_price_no == 4_350


def test_mid_can_fall_on_a_half_tick() -> None:
    book = _book([(5_600, 1)], [(4_399, 1)])
    assert book.spread_yes == 1
    assert book.mid_price_yes == 5_600.5


def test_one_sided_book_has_no_spread_or_mid() -> None:
    book = _book(YES, [])
    assert book.best_yes_ask is None
    assert book.best_no_bid is None
    assert book.spread_yes is None
    assert book.spread_no is None
    assert book.mid_price_yes is None
    assert book.volume_at_best == {"yes_bid": 67_899, "yes_ask": 0, "no_bid": 0, "no_ask": 67_899}


def test_total_volume_sums_each_bid_ladder() -> None:
    assert _book(YES, NO).total_volume == {"yes": sum(s for _, s in YES), "no": sum(s for _, s in NO)}


def test_top_bids_are_highest_first() -> None:
    book = _book(YES, NO)
    assert book.top_bids(Side.YES, 3) == [(5_600, 67_899), (5_500, 1_200), (5_300, 11_757)]
    assert book.top_bids(Side.NO, 10) == sorted(NO, reverse=True)


def test_top_asks_are_lowest_first_and_derived_from_opposite_bids() -> None:
    book = _book(YES, NO)
    assert book.top_asks(Side.YES, 3) == [(5_700, 29_147), (5_800, 36_274), (5_900, 2_900)]
    assert book.top_asks(Side.NO, 2) == [(4_400, 67_899), (4_500, 1_200)]
    assert list(book.yes_asks) == [10_000 - p for p, _ in sorted(NO, reverse=True)]
    assert len(book.yes_asks) == len(NO)
    assert len(book.no_asks) == len(YES)


def test_delta_adds_a_level_and_it_becomes_best_when_higher() -> None:
    book = _book(YES, NO)
    assert book.apply_delta(Side.NO, 4_350, 1_000) == 1_000
    assert book.best_no_bid == 4_350
    assert book.best_yes_ask == 5_650
    assert book.volume_at_best["yes_ask"] == 1_000
    book.check_invariants()


def test_delta_adding_below_best_leaves_the_top_alone() -> None:
    book = _book(YES, NO)
    book.apply_delta(Side.YES, 3, 9_999)
    assert book.best_yes_bid == 5_600
    assert book.yes_bids[3] == 9_999
    book.check_invariants()


def test_fractional_delta_changes_an_existing_level_exactly() -> None:
    book = _book(YES, NO)
    assert book.apply_delta(Side.YES, 5_600, -6_930) == 60_969  # 678.99 - 69.30 = 609.69
    assert book.volume_at_best["yes_bid"] == 60_969
    book.check_invariants()


def test_delta_that_empties_level_removes_it() -> None:
    book = _book(YES, NO)
    assert book.apply_delta(Side.YES, 520, -7_500) == 0
    assert 520 not in book.yes_bids
    assert book.yes_bids.occupied[520] == 0
    assert book.best_yes_bid == 5_600
    book.check_invariants()


def test_delta_that_empties_the_best_level_moves_top_to_next_price() -> None:
    book = _book(YES, NO)
    book.apply_delta(Side.NO, 4_300, -29_147)
    assert book.best_no_bid == 4_200
    assert book.best_yes_ask == 5_800
    assert book.volume_at_best["yes_ask"] == 36_274
    book.check_invariants()


def test_delta_that_empties_the_last_level_clears_the_side() -> None:
    book = _book([(9_990, 100)], [])
    book.apply_delta(Side.YES, 9_990, -100)
    assert book.best_yes_bid is None
    assert book.best_no_ask is None
    assert len(book.yes_bids) == 0
    book.check_invariants()


def test_delta_at_the_lowest_tick_is_tracked() -> None:
    book = _book([], [])
    book.apply_delta(Side.YES, 1, 5)
    assert (book.best_yes_bid, book.best_no_ask) == (1, 9_999)
    book.apply_delta(Side.YES, 1, -5)
    assert book.best_yes_bid is None
    book.check_invariants()


@pytest.mark.parametrize(
    ("side", "price", "delta"),
    [(Side.YES, 5_600, -67_900), (Side.NO, 4_300, -100_000), (Side.YES, 5_700, -1), (Side.NO, 1, -500)],
    ids=["overdraw-best", "overdraw-no-best", "absent-level", "absent-edge"],
)
def test_delta_that_would_go_negative_raises_and_leaves_book_unchanged(
    side: Side, price: int, delta: int
) -> None:
    book = _book(YES, NO)
    before = _state(book)
    with pytest.raises(BookError, match="would make it negative"):
        book.apply_delta(side, price, delta)
    assert _state(book) == before
    book.check_invariants()


def test_negative_delta_error_names_market_side_price_and_sizes() -> None:
    book = _book(YES, NO)
    with pytest.raises(BookError) as caught:
        book.apply_delta(Side.YES, 5_600, -67_900)
    assert str(caught.value) == (
        f"{MARKET}: yes bid at 0.5600 holds 678.99, delta -679.00 would make it negative"
    )


def test_snapshot_resets_every_level() -> None:
    book = _book(YES, NO)
    book.apply_delta(Side.YES, 7_000, 10)
    book.apply_snapshot(_snapshot([(100, 1)], [(200, 2)], seq=7597))
    assert dict(book.yes_bids) == {100: 1}
    assert dict(book.no_bids) == {200: 2}
    assert (book.best_yes_bid, book.best_no_bid) == (100, 200)
    assert book.last_sequence == 7597
    book.check_invariants()


def test_empty_snapshot_empties_the_book_but_keeps_it_fresh() -> None:
    book = _book(YES, NO)
    book.apply_snapshot(_snapshot([], [], seq=7600))
    assert not book.stale
    assert len(book.yes_bids) == len(book.no_bids) == 0
    assert (book.best_yes_bid, book.best_yes_ask, book.best_no_bid, book.best_no_ask) == (None,) * 4
    assert not any(book.yes_bids.occupied)
    assert not any(book.no_bids.occupied)
    book.check_invariants()


def test_copy_is_independent_both_ways() -> None:
    book = _book(YES, NO)
    twin = book.copy()
    assert _state(twin) == _state(book)
    assert (twin.last_update_ns, twin.last_exchange_ms) == (book.last_update_ns, book.last_exchange_ms)
    twin.apply_delta(Side.YES, 5_600, -67_899)
    twin.apply_delta(Side.NO, 9_000, 5)
    assert book.best_yes_bid == 5_600
    assert 9_000 not in book.no_bids
    book.apply_delta(Side.NO, 4_300, -29_147)
    assert twin.best_no_bid == 9_000
    assert twin.no_bids[4_300] == 29_147
    book.check_invariants()
    twin.check_invariants()


def test_copy_of_a_stale_book_stays_stale() -> None:
    assert OrderbookState(MARKET).copy().stale


def test_repr_shows_top_of_book_and_sequence() -> None:
    assert repr(_book(YES, NO)) == f"OrderbookState({MARKET} yes 0.5600/0.5700, seq 20544)"
    assert repr(OrderbookState(MARKET)) == f"OrderbookState({MARKET} yes -/-, stale)"


@pytest.mark.parametrize("corruption", ["zero-size", "stale-best", "occupancy", "ask"])
def test_check_invariants_detects_a_corrupted_book(corruption: str) -> None:
    book = _book(YES, NO)
    if corruption == "zero-size":
        book.yes_bids.sizes[520] = 0
    elif corruption == "stale-best":
        book.best_yes_bid = 5_500
    elif corruption == "occupancy":
        book.no_bids.occupied[777] = 1
    else:
        book.best_yes_ask = 5_600
    with pytest.raises(BookError):
        book.check_invariants()


# -- random delta streams against an exact Decimal reference ---------------------------

_PRICES = st.one_of(
    st.sampled_from([1, 10, 130, 520, 990, 4_999, 5_000, 5_001, 9_110, 9_990, 9_999]),
    st.integers(1, 9_999),
)
_SIZES = st.integers(1, 10**8)
_LADDER = st.dictionaries(_PRICES, _SIZES, max_size=12).map(lambda d: list(d.items()))
_ONE = Decimal(1)


class OrderbookMachine(RuleBasedStateMachine):
    """Drive a book with snapshots and deltas; a dict of Decimal dollars -> contracts is the truth."""

    def __init__(self) -> None:
        super().__init__()
        self.book = OrderbookState(MARKET)
        self.model: dict[Side, dict[Decimal, Decimal]] = {Side.YES: {}, Side.NO: {}}

    def _levels(self) -> list[tuple[Side, int]]:
        return [(side, int(price * 10_000)) for side, ladder in self.model.items() for price in ladder]

    @rule(yes=_LADDER, no=_LADDER, seq=st.integers(1, 10**6))
    def snapshot(self, yes: list[Level], no: list[Level], seq: int) -> None:
        self.book.apply_snapshot(_snapshot(yes, no, seq))
        self.model = {
            Side.YES: {price_decimal(p): count_decimal(s) for p, s in yes},
            Side.NO: {price_decimal(p): count_decimal(s) for p, s in no},
        }

    @rule(side=st.sampled_from(Side), price=_PRICES, size=_SIZES)
    def add(self, side: Side, price: int, size: int) -> None:
        new = self.book.apply_delta(side, price, size)
        ladder = self.model[side]
        key = price_decimal(price)
        ladder[key] = ladder.get(key, Decimal(0)) + count_decimal(size)
        assert count_decimal(new) == ladder[key]

    @precondition(lambda self: any(self.model.values()))
    @rule(data=st.data())
    def reduce(self, data: st.DataObject) -> None:
        side, price = data.draw(st.sampled_from(self._levels()))
        ladder, key = self.model[side], price_decimal(price)
        held = int(ladder[key] * 100)
        take = data.draw(st.integers(1, held))  # often the whole level
        new = self.book.apply_delta(side, price, -take)
        ladder[key] -= count_decimal(take)
        if ladder[key] == 0:
            del ladder[key]
            assert new == 0
            assert price not in (self.book.yes_bids if side is Side.YES else self.book.no_bids)
        else:
            assert count_decimal(new) == ladder[key]

    @precondition(lambda self: any(self.model.values()))
    @rule(data=st.data())
    def empty_level(self, data: st.DataObject) -> None:
        side, price = data.draw(st.sampled_from(self._levels()))
        held = self.model[side].pop(price_decimal(price))
        assert self.book.apply_delta(side, price, -int(held * 100)) == 0

    @rule(side=st.sampled_from(Side), price=_PRICES, extra=st.integers(1, 10**6))
    def overdraw(self, side: Side, price: int, extra: int) -> None:
        held = int(self.model[side].get(price_decimal(price), Decimal(0)) * 100)
        before = _state(self.book)
        with pytest.raises(BookError):
            self.book.apply_delta(side, price, -(held + extra))
        assert _state(self.book) == before

    @rule(side=st.sampled_from(Side))
    def copy_is_equal_and_independent(self, side: Side) -> None:
        twin = self.book.copy()
        assert _state(twin) == _state(self.book)
        twin.apply_delta(side, 5_000, 1)
        twin.apply_snapshot(_snapshot([], [], 1))
        assert dict(self.book.yes_bids) == {
            int(p * 10_000): int(s * 100) for p, s in self.model[Side.YES].items()
        }

    @invariant()
    def book_matches_the_reference(self) -> None:
        book = self.book
        book.check_invariants()
        for side, ladder in ((Side.YES, book.yes_bids), (Side.NO, book.no_bids)):
            model = self.model[side]
            assert {price_decimal(p): count_decimal(s) for p, s in ladder.items()} == model
            expected_top = sorted(model.items(), reverse=True)[:5]
            assert [(price_decimal(p), count_decimal(s)) for p, s in book.top_bids(side, 5)] == expected_top
            # the asks of the other side are this side's bids seen from 1 - p, lowest first
            asks = [(price_decimal(p), count_decimal(s)) for p, s in book.top_asks(side.opposite, 5)]
            assert asks == [(_ONE - p, s) for p, s in expected_top]
        yes, no = self.model[Side.YES], self.model[Side.NO]
        best_yes = max(yes, default=None)
        best_no = max(no, default=None)
        assert (None if book.best_yes_bid is None else price_decimal(book.best_yes_bid)) == best_yes
        assert (None if book.best_no_bid is None else price_decimal(book.best_no_bid)) == best_no
        assert (None if book.best_yes_ask is None else price_decimal(book.best_yes_ask)) == (
            None if best_no is None else _ONE - best_no
        )
        assert (None if book.best_no_ask is None else price_decimal(book.best_no_ask)) == (
            None if best_yes is None else _ONE - best_yes
        )
        volume = book.volume_at_best
        assert (
            count_decimal(volume["yes_bid"])
            == count_decimal(volume["no_ask"])
            == (0 if best_yes is None else yes[best_yes])
        )
        assert (
            count_decimal(volume["no_bid"])
            == count_decimal(volume["yes_ask"])
            == (0 if best_no is None else no[best_no])
        )
        if best_yes is not None and best_no is not None:
            assert book.spread_yes is not None
            assert book.mid_price_yes is not None
            assert book.best_yes_ask is not None
            assert book.best_yes_bid is not None
            assert price_decimal(book.spread_yes) == (_ONE - best_no) - best_yes
            assert book.mid_price_yes == (book.best_yes_ask + book.best_yes_bid) / 2


OrderbookMachine.TestCase.settings = settings(
    max_examples=50, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_random_delta_streams_keep_the_book_consistent = OrderbookMachine.TestCase
