"""``CollectorView``: totals, the most active markets, the markets with problems, series rows.

Built from real shared books and stats (no collector needed); rates are measured between two
builds of the same ``ViewBuilder``.
"""

from __future__ import annotations

import time

from kalshi_rl.core.events import BookSnapshot, LifecycleEvent
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.collector_view import CollectorParts, SinkRow, ViewBuilder
from kalshi_rl.data.ingest.market_stats import FinishedMarket, MarketStats


def book(ticker: str, phase_event: str | None = "activated", snapshot: bool = True) -> SharedOrderbookState:
    shared = SharedOrderbookState(ticker)
    if phase_event:
        shared.apply_lifecycle(LifecycleEvent(ticker, phase_event, None, 1))
    if snapshot:
        shared.state.apply_snapshot(BookSnapshot(ticker, 1, 1, ((4_000, 100),), ((5_000, 100),), None, 1))
    return shared


def parts(
    books: dict[str, SharedOrderbookState], stats: dict[str, MarketStats], **fields: object
) -> CollectorParts:
    values: dict[str, object] = {
        "session_id": "s",
        "started_ns": time.time_ns(),
        "books": books,
        "stats": stats,
        "series_of": {t: t.split("-")[0] for t in books},
        "finished": {},
        "wanted_series": (),
        "frames": sum(s.frames for s in stats.values()),
        "quarantined_unattributed": 0,
        "reconnects": 0,
        "queue_depth": 0,
        "sinks": (SinkRow("lake", 10, True, 0, ""),),
    }
    values.update(fields)
    return CollectorParts(**values)  # type: ignore[arg-type]


def test_the_most_active_markets_come_first_and_only_the_top_n() -> None:
    tickers = [f"KXA-{i:02d}" for i in range(30)]
    books = {t: book(t) for t in tickers}
    stats = {t: MarketStats(frames=10, snapshots=1) for t in tickers}
    builder = ViewBuilder()
    first = builder.build(parts(books, stats), top=5)
    assert first.totals.msgs_per_s == 0.0 and len(first.most_active) == 5  # no rate before two builds
    for i, t in enumerate(tickers):
        stats[t].frames += i * 10  # KXA-29 the busiest
    time.sleep(0.01)
    view = builder.build(parts(books, stats), top=5)
    assert [r.ticker for r in view.most_active] == [f"KXA-{i}" for i in (29, 28, 27, 26, 25)]
    assert view.most_active[0].msgs_per_s > view.most_active[1].msgs_per_s > 0
    assert view.totals.markets == 30 and view.totals.trading == 30 and len(view.markets) == 30
    assert view.totals.msgs_per_s > 0 and not view.problems


def test_markets_with_problems_are_listed_the_most_serious_first() -> None:
    books = {
        "KXA-OK": book("KXA-OK"),
        "KXA-GAPS": book("KXA-GAPS"),
        "KXA-STALE": book("KXA-STALE"),
        "KXA-NOBOOK": book("KXA-NOBOOK", snapshot=False),
        "KXA-REFUSED": book("KXA-REFUSED", phase_event=None, snapshot=False),
        "KXA-LATER": book("KXA-LATER", phase_event="created", snapshot=False),
    }
    books["KXA-STALE"].state.stale = True
    stats = {t: MarketStats(snapshots=1) for t in books}
    stats["KXA-NOBOOK"].snapshots = stats["KXA-REFUSED"].snapshots = stats["KXA-LATER"].snapshots = 0
    stats["KXA-GAPS"].gaps = 2
    stats["KXA-REFUSED"].unsubscribable = "orderbook_delta error 11: no such market"
    view = ViewBuilder().build(parts(books, stats))
    assert [r.ticker for r in view.problems] == ["KXA-REFUSED", "KXA-NOBOOK", "KXA-STALE", "KXA-GAPS"]
    rows = {r.ticker: r for r in view.markets}
    assert rows["KXA-REFUSED"].state == "unsubscribable" and rows["KXA-NOBOOK"].state == "no book"
    assert rows["KXA-STALE"].state == "stale" and rows["KXA-OK"].state == "live"
    assert rows["KXA-LATER"].state == "created" and not rows["KXA-LATER"].problems  # not open yet: fine
    assert rows["KXA-GAPS"].problems == ("2 gaps",) and view.totals.with_problems == 4
    assert view.totals.unsubscribable == 1


def test_series_rows_say_which_series_wait_and_totals_count_finished_markets() -> None:
    books = {"KXA-1": book("KXA-1"), "KXB-1": book("KXB-1", phase_event="settled")}
    stats = {
        "KXA-1": MarketStats(frames=5, deltas=3, snapshots=1),
        "KXB-1": MarketStats(frames=2, snapshots=1),
    }
    done = FinishedMarket.of("KXB-0", MarketStats(frames=9, deltas=7, gaps=1), "KXB", "KXB-E", "yes", 1)
    view = ViewBuilder().build(
        parts(books, stats, finished={"KXB-0": done}, wanted_series=("KXA", "KXB", "KXC"))
    )
    rows = {r.series: r for r in view.series}
    assert not rows["KXA"].waiting and rows["KXA"].trading == 1 and rows["KXA"].note == "1 trading"
    assert rows["KXB"].waiting and rows["KXB"].finished == 1 and rows["KXB"].markets == 1  # settled only
    assert rows["KXC"].waiting and rows["KXC"].markets == 0 and "waiting" in rows["KXC"].note
    assert [r.series for r in view.waiting] == ["KXB", "KXC"]
    assert view.finished_count == 1 and view.totals.deltas == 10 and view.totals.gaps == 1
