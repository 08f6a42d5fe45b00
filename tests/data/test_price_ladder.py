"""PriceLadder: a sorted map of price ticks to sizes that must read exactly like a SortedDict."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sortedcontainers import SortedDict

from kalshi_rl.data.book.price_ladder import PriceLadder

_LEVELS = [(5_600, 67_899), (520, 7_500), (10, 50_100), (9_999, 1), (1, 2)]


def test_empty_ladder_has_no_best_and_no_levels() -> None:
    ladder = PriceLadder()
    assert len(ladder) == 0
    assert ladder.best() == 0
    assert ladder.below(9_999) == 0
    assert ladder.descending() == []
    assert ladder.top(5) == []
    assert list(ladder) == []
    assert ladder.items_ascending() == []
    with pytest.raises(IndexError):
        ladder.peekitem()


def test_iteration_is_ascending_whatever_the_insertion_order() -> None:
    ladder = PriceLadder(_LEVELS)
    assert list(ladder) == [1, 10, 520, 5_600, 9_999]
    assert list(reversed(ladder)) == [9_999, 5_600, 520, 10, 1]
    assert list(ladder.items()) == sorted(_LEVELS)
    assert ladder.items_ascending() == sorted(_LEVELS)
    assert list(ladder.values()) == [2, 50_100, 7_500, 67_899, 1]


def test_mapping_reads_sizes_by_price() -> None:
    ladder = PriceLadder(_LEVELS)
    assert ladder[520] == 7_500
    assert 520 in ladder
    assert 521 not in ladder
    assert ladder.get(521) is None
    assert ladder.get(521, 0) == 0
    assert ladder.get(10) == 50_100
    with pytest.raises(KeyError):
        ladder[521]
    assert ladder == dict(_LEVELS)


def test_best_is_the_highest_price_including_the_edges() -> None:
    assert PriceLadder(_LEVELS).best() == 9_999
    assert PriceLadder([(1, 5)]).best() == 1


def test_below_returns_the_next_lower_occupied_price() -> None:
    ladder = PriceLadder(_LEVELS)
    assert ladder.below(9_999) == 5_600
    assert ladder.below(5_600) == 520
    assert ladder.below(5_599) == 520
    assert ladder.below(2) == 1
    assert ladder.below(1) == 0


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (0, []),
        (1, [(9_999, 1)]),
        (3, [(9_999, 1), (5_600, 67_899), (520, 7_500)]),
        (99, sorted(_LEVELS, reverse=True)),
    ],
)
def test_top_returns_levels_best_first(depth: int, expected: list[tuple[int, int]]) -> None:
    assert PriceLadder(_LEVELS).top(depth) == expected


def test_descending_without_depth_lists_every_price() -> None:
    assert PriceLadder(_LEVELS).descending() == [9_999, 5_600, 520, 10, 1]


@pytest.mark.parametrize(
    ("index", "level"),
    [(-1, (9_999, 1)), (-2, (5_600, 67_899)), (0, (1, 2)), (1, (10, 50_100)), (-5, (1, 2))],
)
def test_peekitem_follows_sorteddict_indexing(index: int, level: tuple[int, int]) -> None:
    assert PriceLadder(_LEVELS).peekitem(index) == level


@pytest.mark.parametrize("index", [5, -6])
def test_peekitem_out_of_range_raises_index_error(index: int) -> None:
    with pytest.raises(IndexError):
        PriceLadder(_LEVELS).peekitem(index)


def test_update_overwrites_an_existing_level() -> None:
    ladder = PriceLadder([(520, 1)])
    ladder.update([(520, 9), (521, 3)])
    assert ladder.items_ascending() == [(520, 9), (521, 3)]


def test_clear_empties_sizes_and_occupancy() -> None:
    ladder = PriceLadder(_LEVELS)
    ladder.clear()
    assert len(ladder) == 0
    assert ladder.best() == 0
    assert not any(ladder.occupied)
    ladder.update([(42, 1)])
    assert ladder.best() == 42
    assert ladder.descending() == [42]


_ladders = st.dictionaries(st.integers(1, 9_999), st.integers(1, 10**9), max_size=40)


@settings(max_examples=200)
@given(_ladders, st.data())
def test_reads_match_sortedcontainers_sorteddict(levels: dict[int, int], data: st.DataObject) -> None:
    ladder = PriceLadder(levels.items())
    reference = SortedDict(levels)
    assert list(ladder) == list(reference)
    assert list(ladder.items()) == list(reference.items())
    assert ladder.descending() == list(reversed(reference))
    assert ladder.best() == (reference.peekitem(-1)[0] if reference else 0)
    depth = data.draw(st.integers(0, 45))
    assert ladder.top(depth) == list(reversed(reference.items()))[:depth]
    if reference:
        index = data.draw(st.integers(-len(reference), len(reference) - 1))
        assert ladder.peekitem(index) == reference.peekitem(index)
        price = data.draw(st.integers(1, 9_999))
        lower = [p for p in reference if p < price]
        assert ladder.below(price) == (lower[-1] if lower else 0)


@settings(max_examples=200)
@given(st.lists(st.one_of(st.just(None), _ladders), max_size=8))
def test_update_and_clear_keep_occupancy_in_sync_with_sizes(steps: list[dict[int, int] | None]) -> None:
    ladder, model = PriceLadder(), dict[int, int]()
    for step in steps:
        if step is None:
            ladder.clear()
            model.clear()
        else:
            ladder.update(step.items())
            model.update(step)
        assert ladder.occupied.count(1) == len(model) == sum(ladder.occupied)
        assert all(ladder.occupied[price] == 1 for price in model)
        assert ladder == model
