"""Each command's view rendered in-process at 80 columns on realistic data: collect's live view
with hundreds of markets and its final summary, the evaluation table, ``inspect model``."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from kalshi_rl.cli.collect_view import LiveCollectView, summary_view
from kalshi_rl.cli.evaluate import metrics_table
from kalshi_rl.cli.model_view import describe_model
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.collector import CollectorSummary
from kalshi_rl.data.ingest.collector_view import CollectorParts, CollectorView, SinkRow, ViewBuilder
from kalshi_rl.data.ingest.market_stats import FinishedMarket, MarketStats
from kalshi_rl.data.registry import ModelRecord
from kalshi_rl.data.storage.postgres_sink import SinkStats
from kalshi_rl.environments.action_space import ActionConfig
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.execution.fill_engine import FillConfig
from kalshi_rl.kalshi.ws_config import WsStats
from tests.support.uncut import assert_uncut, render


def ticker(i: int) -> str:
    return f"KXBTCD-25AUG0517-T{114_999 - i}.99"


def collector_view(markets: int, unsubscribable: set[int], stale: set[int], gaps: set[int]) -> CollectorView:
    """A view of ``markets`` books at sub-cent prices with big counters, built the collector's way."""
    books, stats = {}, {}
    for i in range(markets):
        shared = SharedOrderbookState(ticker(i))
        shared.state.reset(((5, 123_456_700),), ((9_990, 100),))  # YES bid $0.0005, ask $0.0010
        shared.state.stale = i in stale
        books[ticker(i)] = shared
        stats[ticker(i)] = MarketStats(
            frames=1_234_567 + i,
            snapshots=3,
            deltas=987_654_321,
            last_seq=12_345_678,
            gaps=12 if i in gaps else 0,
            resyncs=1,
            unsubscribable="market not found" if i in unsubscribable else "",
        )
    sinks = (
        SinkRow("lake", 987_654_321, True, 0, ""),
        SinkRow("postgres", 12, False, 45_678, "connection refused"),
    )
    parts = CollectorParts(
        "20261202T082829-abc123",
        time.time_ns() - 3_700 * 10**9,
        books,
        stats,
        {},
        {},
        (),
        123_456_789,
        0,
        2,
        1_234,
        sinks,
    )
    return ViewBuilder().build(parts, top=10)


def test_the_live_view_of_300_markets_fits_an_80_by_24_terminal_with_totals_activity_and_problems() -> None:
    view = collector_view(300, unsubscribable={5, 106}, stale={7, 60}, gaps=set(range(0, 300, 37)))
    out = render(LiveCollectView(view), 80, height=24)
    assert len(out.splitlines()) <= 23, out  # one line short of the terminal: Live never crops it
    assert_uncut(
        out, 80, whole=("300 markets", "123,456,789 frames", "296,296,296,300 deltas", "0.0005", "0.0010")
    )
    assert "postgres 12 rows DOWN (connection refused), backlog 45,678 rows" in out
    shown = [t for t in (ticker(i) for i in range(300)) if t in out]
    assert len(shown) >= 3  # the most active (at least MIN_ACTIVE of them)
    # The problems shown are the worst first (refused, then stale, then gaps); the rest are counted.
    shown_problems = [row.ticker for row in view.problems if row.ticker in out]
    assert shown_problems == [row.ticker for row in view.problems[: len(shown_problems)]]
    assert ticker(5) in shown_problems and ticker(106) in shown_problems
    assert f"+{len(view.problems) - len(shown_problems):,} more markets with problems" in out


def test_the_live_view_shows_every_problem_when_the_terminal_has_the_lines() -> None:
    view = collector_view(300, unsubscribable={5}, stale={7}, gaps={37, 74})
    out = render(LiveCollectView(view), 80, height=60)
    assert_uncut(out, 80, whole=[ticker(i) for i in (5, 7, 37, 74)])
    assert "more markets with problems" not in out
    assert "most active 10 of 300 markets" in out


def summary(markets: int) -> CollectorSummary:
    stats = {
        ticker(i): MarketStats(
            snapshots=12,
            deltas=987_654_321,
            trades=55_555,
            gaps=int(i % 7 == 0),
            resyncs=2,
            phase="settled",
            quarantined=int(i % 11 == 0),
            unsubscribable="market not found" if i == 3 else "",
        )
        for i in range(markets)
    }
    return CollectorSummary("s", 3_723.4, stats, WsStats(), {"lake": SinkStats()}, 123_456_789_012, 0)


def test_the_final_summary_of_a_few_markets_lists_each_and_their_sum() -> None:
    out = render(summary_view(summary(4)), 80)
    assert_uncut(
        out,
        80,
        whole=(*(ticker(i) for i in range(4)), "987,654,321", "3,950,617,284", "all 4", "UNSUBSCRIBABLE"),
    )
    assert "sampled out" not in out  # a counter that is zero everywhere is left out


def test_the_final_summary_of_many_markets_lists_the_ones_with_problems_and_the_sum() -> None:
    out = render(summary_view(summary(100)), 80)
    problems = [ticker(i) for i in range(100) if i % 7 == 0 or i % 11 == 0 or i == 3]
    assert_uncut(out, 80, whole=(*problems, "all 100", "98,765,432,100"))
    assert ticker(1) not in out  # healthy markets are summed, not listed (--json lists them)


def test_the_evaluation_table_keeps_policy_names_headers_and_numbers_whole_at_80_columns() -> None:
    rows = [
        {"policy": p, "total_pnl": pnl, "sharpe": -105.48, "max_drawdown": 12_345.67, "win_rate": 0.5,
         "turnover": 1_234_567, "fees": 6.05, "trades": 34_567}
        for p, pnl in (("demo@12", 1_234_567.891), ("hold", 0.0), ("random", -10.1), ("momentum", 0.0))
    ]  # fmt: skip
    out = render(
        metrics_table("demo@12 on KXSIM-26JAN08-M00, KXSIM-26JAN08-M01 2026-01-08T14:00:00+00:00", rows), 80
    )
    headers = ("policy", "P&L $", "Sharpe/h", "max DD $", "win rate", "contracts", "fees $", "trades")
    assert_uncut(
        out, 80, whole=(*headers, "momentum", "1,234,567.89", "-105.48", "12,345.67", "1,234,567", "34,567")
    )


def test_inspect_model_says_contracts_and_dollars_and_prints_no_python_repr() -> None:
    env = EnvConfig(tick_ms=250, actions=ActionConfig(1_000, 5_000), fill=FillConfig(20.0, 20.0))
    results = [{"policy": "demo@1", "total_pnl": -1.5, "sharpe": 0.1, "max_drawdown": 2.0, "win_rate": 0.25,
                "turnover": 40, "fees": 0.07, "trades": 4}]  # fmt: skip
    record = ModelRecord(
        id=uuid.uuid4(),
        name="demo",
        version=1,
        architecture="PPO",
        market_ticker="KXSIM-26JAN08-M00,KXBTCD-25AUG0517-T114999.99",
        parent_model_id=None,
        checkpoint_path="/data/models/x/checkpoint.zip",
        hyperparameters={"learning_rate": 0.0003, "n_steps": 256, "net_arch": [64, 64]},
        training_config={
            "contract": env.contract(),
            "env": {"tick_ms": 250, "episode_ticks": 120, "min_episode_ticks": 30, "reward": {"mode": "equity_change"}},
            "data": {"markets": ["KXSIM-26JAN08-M00"], "start": "2026-01-08T14:00:00+00:00", "segments": 2,
                     "deltas": 1_330, "source": "lake", "fee_schedules": [{"market": "KXSIM-26JAN08-M00",
                     "from_ns": 1_796_200_460_000_000_000, "fee_type": "quadratic", "fee_multiplier": "1",
                     "source": "series"}]},
            "seed": 7,
            "n_envs": 1,
        },
        training_episodes=13,
        training_timesteps=512,
        created_at=datetime(2026, 1, 8, 14, 0, tzinfo=UTC),
        updated_at=None,
        performance_summary={"window": {"start": "a", "end": "b"}, "results": results},
        status="ready",
        notes=None,
    )  # fmt: skip
    out = render(describe_model(record), 80)
    assert "order 10 contracts" in out and "position limit 50 contracts" in out
    assert "units" not in out and "1000" not in out and "5000" not in out
    for brace in "{}'":
        assert brace not in out.replace("market's", ""), f"{brace!r} (a Python repr) in:\n{out}"
    assert "None" not in out
    assert_uncut(
        out,
        80,
        whole=(
            "KXSIM-26JAN08-M00",
            "KXBTCD-25AUG0517-T114999.99",
            "2026-01-08 14:00:00 UTC",
            "net_arch 64, 64",
        ),
    )
    assert "demo@1" in out and "-1.50" in out  # the stored evaluation as a table


def test_the_final_summary_includes_the_markets_finished_and_released_during_the_session() -> None:
    settled = MarketStats(snapshots=1, deltas=1_234, trades=5, phase="settled")
    finished = {
        ticker(i): FinishedMarket.of(ticker(i), settled, "KXBTCD", "KXBTCD-25AUG0517", "yes", time.time_ns())
        for i in range(10, 13)
    }
    out = render(summary_view(summary(2), finished), 80)
    assert_uncut(
        out, 80, whole=(*finished, ticker(0), ticker(1), "settled (yes)", "3 markets finished", "all 5")
    )


def test_the_live_view_says_a_series_waits_for_its_next_market() -> None:
    parts = CollectorParts("s", time.time_ns(), {}, {}, {}, {}, ("KXBTC15M",), 0, 0, 0, 0, ())
    out = render(LiveCollectView(ViewBuilder().build(parts)), 80, height=24)
    assert_uncut(out, 80, whole=("KXBTC15M", "no open market: waiting", "0 markets"))


def test_the_demo_ends_with_a_verdict_naming_each_baseline_beaten_or_not() -> None:
    from kalshi_rl.cli.demo import verdict

    names = ["demo@1", "hold", "random", "momentum"]
    assert verdict([67.65, 0.0, -135.09, 76.22], names) == (
        "demo@1 made $67.65 on the held-out quarter: above hold ($0.00), random (-$135.09); "
        "not above momentum ($76.22)"
    )
    assert verdict([0.0, 0.0, -1.0, 0.0], names) == (
        "demo@1 made $0.00 on the held-out quarter: above random (-$1.00); not above hold ($0.00), momentum ($0.00)"
    )
