"""The observation builder: named, versioned, exact on a hand-made book, clipped, shared."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kalshi_rl.core.events import BookSnapshot
from kalshi_rl.data.book.orderbook_state import OrderbookState
from kalshi_rl.environments.observation_space import (
    OBSERVATION_SPEC,
    BookFeatures,
    MidHistory,
    ObservationSpec,
    PositionState,
    build_observation_from_orderbook,
    compute_book_features,
)

F = {name: i for i, name in enumerate(OBSERVATION_SPEC.features)}


def book(
    yes: list[tuple[int, int]], no: list[tuple[int, int]], recv_ns: int = 1_000_000_000
) -> OrderbookState:
    state = OrderbookState("KX")
    state.apply_snapshot(BookSnapshot("KX", 1, 1, tuple(yes), tuple(no), None, recv_ns))
    return state


def test_spec_names_order_and_fingerprint_are_stable() -> None:
    assert OBSERVATION_SPEC.size == 41 == len(set(OBSERVATION_SPEC.features))
    assert OBSERVATION_SPEC.features[:3] == ("yes_bid", "yes_ask", "mid")
    assert OBSERVATION_SPEC.features[-3:] == ("position", "average_cost", "unrealized")
    assert ObservationSpec.from_dict(OBSERVATION_SPEC.to_dict()) == OBSERVATION_SPEC
    assert OBSERVATION_SPEC.fingerprint() == ObservationSpec().fingerprint()
    assert ObservationSpec(depth=4).fingerprint() != OBSERVATION_SPEC.fingerprint()


def test_features_of_a_hand_made_book() -> None:
    state = book(
        [(5_600, 67_899), (5_500, 1_200)], [(4_300, 29_147)]
    )  # YES 0.56 x 678.99 / ask 0.57 x 291.47
    history = MidHistory()
    for mid in (5_500.0, 5_600.0, 5_650.0):
        history.record(mid)
    obs = build_observation_from_orderbook(
        state,
        PositionState(1_000, 5_000.0, 5_000),
        history=history,
        now_ms=2_000,
        close_time_ms=2_000 + 60_000,
    )
    assert obs.dtype == np.float32 and obs.shape == (41,)
    assert obs[F["yes_bid"]] == pytest.approx(0.56) and obs[F["yes_ask"]] == pytest.approx(0.57)
    assert obs[F["mid"]] == pytest.approx(0.565) and obs[F["spread"]] == pytest.approx(0.1)
    assert obs[F["bid_size"]] == pytest.approx(math.log1p(678.99) / 10)
    assert obs[F["imbalance"]] == pytest.approx((67_899 - 29_147) / (67_899 + 29_147))
    assert obs[F["bid0_distance"]] == pytest.approx(0.05) and obs[F["bid1_distance"]] == pytest.approx(0.15)
    assert obs[F["ask0_distance"]] == pytest.approx(0.05) and obs[F["ask1_distance"]] == 1.0  # missing level
    assert obs[F["move_1"]] == pytest.approx(0.05) and obs[F["move_5"]] == 0.0  # not enough history yet
    assert (
        obs[F["time_to_close"]] == pytest.approx(math.log1p(1) / math.log1p(1440))
        and obs[F["has_close_time"]] == 1
    )
    assert obs[F["since_update"]] == pytest.approx(math.log1p(1.0) / 5)
    assert obs[F["position"]] == pytest.approx(0.2) and obs[F["average_cost"]] == pytest.approx(0.5)
    assert obs[F["unrealized"]] == pytest.approx(0.65)  # (0.565 - 0.50) x 10


def test_precomputed_book_features_give_the_same_observation_as_the_live_book() -> None:
    state = book([(5_600, 100)], [(4_300, 100)])
    history = MidHistory()
    history.record(5_650.0)
    position = PositionState(-2_000, 4_000.0, 5_000)
    live = build_observation_from_orderbook(
        state, position, history=history, now_ms=5_000, close_time_ms=None
    )
    features = compute_book_features(state, history, 5_000, None)
    assert np.array_equal(live, build_observation_from_orderbook(features, position))
    assert isinstance(features, BookFeatures) and features.mark_ticks == 5_650.0


def test_empty_and_one_sided_books_have_defined_features() -> None:
    history = MidHistory()
    empty = build_observation_from_orderbook(book([], []), PositionState(), history=history)
    assert empty[F["has_bid"]] == 0 and empty[F["yes_ask"]] == 1.0 and empty[F["mid"]] == 0.5
    one_sided = build_observation_from_orderbook(book([(100, 5)], []), PositionState(), history=history)
    assert one_sided[F["mid"]] == pytest.approx(0.01) and one_sided[F["spread"]] == 1.0


def test_a_stale_book_is_flagged_and_values_are_clipped() -> None:
    state = book([(9_000, 100)], [(9_000, 100)])  # a crossed, impossible book
    state.stale = True
    history = MidHistory()
    history.record(0.0)
    history.record(5_000.0)
    obs = build_observation_from_orderbook(state, PositionState(10**9, 1.0, 1), history=history)
    assert obs[F["stale"]] == 1.0
    assert np.all(np.abs(obs) <= 10.0)


def test_a_live_book_needs_its_history() -> None:
    with pytest.raises(ValueError, match="MidHistory"):
        build_observation_from_orderbook(book([], []), PositionState())
