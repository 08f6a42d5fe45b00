"""SeriesSession on the real local exchange: it trades a series market after market, one
settled episode each, and picks the series' current market by the rules in series_markets."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kalshi_rl.core.errors import ConfigError
from kalshi_rl.core.events import LifecycleEvent, MarketInfo
from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.collector import CollectorConfig
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.data.storage.schema import rl_fills, trading_actions, trading_episodes
from kalshi_rl.environments.action_space import Action
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.trading.model_source import ContractMismatchError, ModelSource
from kalshi_rl.trading.series_markets import current_market
from kalshi_rl.trading.series_session import SeriesSession, SeriesSessionConfig
from kalshi_rl.trading.session import PaperSession, PaperSessionConfig
from tests.support.waiting import eventually
from tests.trading_support import replay_fills, scripted_model, tiny_env

pytestmark = pytest.mark.slow
NOW_MS = 1_800_000_000_000


def _book(ticker: str, status: str, open_s: float, close_s: float) -> SharedOrderbookState:
    info = MarketInfo(
        ticker=ticker,
        status=status,
        open_time_ms=NOW_MS + int(open_s * 1000),
        close_time_ms=NOW_MS + int(close_s * 1000),
        expiration_time_ms=None,
        event_ticker=ticker.rsplit("-", 1)[0],
    )
    return SharedOrderbookState(ticker, info)


def test_the_current_market_is_the_open_one_closing_first_not_yet_traded() -> None:
    books = {
        b.market_ticker: b
        for b in (
            _book("KXS-A-00", "active", -60, 30),
            _book("KXS-B-00", "active", -10, 90),  # overlapping: opened later, closes later
            _book("KXS-C-00", "initialized", 30, 120),
            _book("KXOTHER-A-00", "active", -60, 5),  # another series
            _book("KXS-Z-00", "active", -120, -1),  # past its close time
        )
    }
    now_ns = NOW_MS * 1_000_000
    assert current_market(books, "KXS", (), now_ns) == ("KXS-A-00", "")
    assert current_market(books, "KXS", ("KXS-A-00",), now_ns) == ("KXS-B-00", "")
    # A market closing before the next tick has no decision left: the next one is traded.
    assert current_market(books, "KXS", (), now_ns, min_left_ns=30_000_000_000) == ("KXS-B-00", "")
    ticker, why = current_market(books, "KXS", ("KXS-A-00", "KXS-B-00"), now_ns)
    assert ticker is None and "waiting for KXS-C-00, which opens at 2027-01-15T08:00:30.000" in why
    books["KXS-C-00"].apply_lifecycle(
        LifecycleEvent("KXS-C-00", "activated", NOW_MS, now_ns, is_deactivated=False)
    )
    assert current_market(books, "KXS", ("KXS-A-00", "KXS-B-00"), now_ns) == ("KXS-C-00", "")
    books["KXS-C-00"].apply_lifecycle(LifecycleEvent("KXS-C-00", "determined", NOW_MS, now_ns, result="yes"))
    ticker, why = current_market(books, "KXS", ("KXS-A-00", "KXS-B-00"), now_ns)
    assert ticker is None and why == "no open market of KXS: no new market of it in the feed yet"
    # The feed's own word on a market's series (REST, discovery) wins over the ticker's naming.
    odd = {"ODD-1": _book("ODD-1", "active", -60, 10), "KXS-X-00": _book("KXS-X-00", "active", -60, 5)}
    mapping = {"ODD-1": "KXS", "KXS-X-00": "KXSX"}
    assert current_market(odd, "KXS", (), now_ns, mapping) == ("ODD-1", "")
    assert current_market(odd, "KXS", (), now_ns) == ("KXS-X-00", "")
    assert current_market({}, "KXS", (), now_ns) == (
        None,
        "no open market of KXS: no market of it in the feed yet",
    )


async def test_a_series_session_trades_each_market_to_its_close_and_settles_it(
    make_sim, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    engine = open_database(None, tmp_path)
    registry = ModelRegistry(engine)
    env = replace(tiny_env(), series="KXSER")
    record = scripted_model(registry, tmp_path / "models", "buyer", Action.BUY_YES, env=env)
    # Three markets of KXSER closing 4, 6 and 8 s from now (one event each), and a market of
    # another series in the same feed that must not be traded.
    sim = await make_sim(
        markets=1, seed=4, rate=300, series="KXSER", market_duration_s=4, record_ledger=False
    )
    sim.create_event(duration_s=6)
    sim.create_event(duration_s=8)
    sim.create_event(series="KXOTHER", duration_s=60)
    ours = [t for t in sim.tickers if t.startswith("KXSER-")]
    session = SeriesSession(
        SeriesSessionConfig(
            model_ref="buyer",
            series="KXSER",
            collector=CollectorConfig(
                ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
                rest_url=sim.rest_url,
                lake_dir=tmp_path / "lake",
            ),
            starting_balance_dollars=Decimal(10_000),
        ),
        engine,
    )
    messages = session.subscribe()
    stop = asyncio.Event()
    await session.prepare()
    task = asyncio.create_task(session.run(stop))
    try:
        await eventually(
            lambda: [r.state for r in session.runs] == ["settled"] * 3, "three settled markets", timeout_s=60
        )
        assert session.market_ticker is None and "no new market of it" in session.waiting
    finally:
        stop.set()
        await task

    # One roll per market, in the order they close, each announced on the action stream.
    rolls = [m["data"] for m in _drain(messages) if m["type"] == "market_roll"]
    assert [(r["previous"], r["market_ticker"]) for r in rolls] == [
        (None, ours[0]),
        (ours[0], ours[1]),
        (ours[1], ours[2]),
    ]
    with engine.connect() as conn:
        episodes = (
            conn.execute(select(trading_episodes).where(trading_episodes.c.mode == "paper")).mappings().all()
        )
        fills = conn.execute(select(rl_fills)).mappings().all()
        actions = conn.execute(select(trading_actions)).mappings().all()
    assert sorted(e["market_ticker"] for e in episodes) == sorted(ours)  # one episode per market
    summary = session.summary()
    for episode in episodes:
        ticker = episode["market_ticker"]
        market = sim.markets[ticker]
        position, meta = episode["final_position"], episode["metadata"]
        assert episode["model_id"] == record.id and episode["end_time"] is not None
        assert meta["series"] == "KXSER" and meta["settlement"]["market_result"] == market.result
        # Settled by the market's result: flat, and the P&L is the fills' plus the payout.
        mine = [f for f in fills if f["market_ticker"] == ticker]
        assert mine, f"the buyer bought nothing on {ticker}"
        ledger = replay_fills(mine)
        assert ledger.position_units > 0  # it held YES into the close
        held = ledger.position_units
        ledger.settle(market.settlement_ticks, 10_000)  # paid to the cent (member precision $0.01)
        assert position["position_units"] == 0 and position["settled"] is True
        assert position["realized_pnl"] == ledger.realized_micro / 1e6
        assert position["fees"] == ledger.fees_micro / 1e6
        assert meta["settlement"]["revenue"] == held * market.settlement_ticks // PRICE_SCALE  # cents
        # Every action row of the market belongs to its episode, none after its close.
        rows = [a for a in actions if a["market_ticker"] == ticker]
        assert rows and {a["episode_id"] for a in rows} == {episode["episode_id"]}
        close_ms = market.timing.close_ms
        assert max(a["timestamp"] for a in rows) < close_ms
    assert [m["market_ticker"] for m in summary["markets"]] == ours
    assert not any(f["market_ticker"].startswith("KXOTHER") for f in fills)


async def test_a_series_model_is_refused_outside_its_series(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = await make_sim(markets=1, seed=4, rate=50, series="KXSER", record_ledger=False)
    engine = open_database(None, tmp_path)
    registry = ModelRegistry(engine)
    scripted_model(registry, tmp_path / "models", "ser", Action.HOLD, env=replace(tiny_env(), series="KXSER"))
    collector = CollectorConfig(
        ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
        rest_url=sim.rest_url,
        lake_dir=tmp_path / "lake",
    )
    other = SeriesSession(SeriesSessionConfig("ser", "KXOTHER", collector), engine)
    with pytest.raises(ConfigError, match="model ser@1 was trained on series KXSER, not KXOTHER"):
        await other.prepare()
    market = PaperSession(PaperSessionConfig("ser", "KXNOPE-26JAN01-00", collector), engine)
    with pytest.raises(
        ConfigError, match="trained on series KXSER; KXNOPE-26JAN01-00 is not one of its markets"
    ):
        await market.prepare()


def _drain(queue: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


def test_a_hot_reload_never_swaps_a_series_model_for_another_kind(tmp_path: Path) -> None:
    registry = ModelRegistry(open_database(None, tmp_path))
    series = scripted_model(
        registry, tmp_path / "models", "m", Action.HOLD, env=replace(tiny_env(), series="KXSER")
    )
    contract = series.training_config["contract"]
    scripted_model(registry, tmp_path / "models", "m", Action.HOLD)  # m@2: a market model
    with pytest.raises(ContractMismatchError, match=r"different contract \(series\)"):
        ModelSource(registry, "m").load(contract)
    scripted_model(registry, tmp_path / "models", "m", Action.HOLD, env=replace(tiny_env(), series="KXB"))
    with pytest.raises(ContractMismatchError, match=r"different contract \(series\)"):
        ModelSource(registry, "m").load(contract)
    scripted_model(registry, tmp_path / "models", "m", Action.HOLD, env=replace(tiny_env(), series="KXSER"))
    assert ModelSource(registry, "m").load(contract).label == "m@4"
