"""The service trading a series: the actor rolls from market to market on the service's feed,
/rl/status shows the market it trades now, and the streams follow the roll."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from kalshi_rl.api.service import ServiceConfig
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.action_space import Action
from kalshi_rl.sim.config import SeriesSpec
from kalshi_rl.sim.exchange import SimConfig
from tests.api.conftest import LocalExchange, start_server
from tests.support import series_lake as lakes
from tests.support.waiting import wait_until
from tests.trading_support import TINY, scripted_model, tiny_env

pytestmark = pytest.mark.slow
series_lake = lakes.series_lake  # the session's fixture, used by name


def test_the_actor_trades_a_series_market_after_market(tmp_path: Path) -> None:
    data_dir = tmp_path / "service"
    registry = ModelRegistry(open_database(None, data_dir))
    env = replace(tiny_env(), series="KXSER")
    model = scripted_model(registry, data_dir / "models", "buyer", Action.BUY_YES, env=env)
    market_model = scripted_model(registry, data_dir / "models", "plain", Action.HOLD)
    # Three markets of KXSER closing 6, 9 and 12 s after the exchange starts, and one of another
    # series, all in the service's feed.
    exchange = LocalExchange(
        SimConfig(markets=1, seed=8, rate=150, series="KXSER", market_duration_s=6, record_ledger=False)
    )
    sim = exchange.sim
    exchange.thread.call(lambda: sim.create_event(duration_s=9))
    exchange.thread.call(lambda: sim.create_event(duration_s=12))
    exchange.thread.call(lambda: sim.create_event(series="KXOTHER", duration_s=60))
    ours = [t for t in sim.tickers if t.startswith("KXSER-")]
    config = ServiceConfig(
        data_dir=data_dir,
        models_dir=data_dir / "models",
        markets=tuple(sim.tickers),
        ws_url=sim.ws_url,
        rest_url=sim.rest_url,
    )
    svc = start_server(config, exchange)
    try:
        refused = svc.post("/rl/actor/start", json={"model_id": model.label, "series": "KXOTHER"})
        assert refused.status_code == 400 and "trained on series KXSER, not KXOTHER" in refused.text
        unknown = svc.post("/rl/actor/start", json={"model_id": market_model.label, "series": "KXNOPE"})
        assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_series"
        both = svc.post(
            "/rl/actor/start", json={"model_id": model.label, "series": "KXSER", "market_ticker": ours[0]}
        )
        assert both.status_code == 400 and "not both" in both.text

        with connect(f"{svc.ws}/rl/ws/orderbook?series=KXSER") as books:
            streamed = set()
            while streamed != set(ours):
                streamed.add(json.loads(books.recv(timeout=30))["data"]["market_ticker"])  # never KXOTHER's
        with connect(f"{svc.ws}/rl/ws/orderbook?series=KXNOPE") as nope:
            assert json.loads(nope.recv(timeout=30))["data"]["code"] == "unknown_series"
            with pytest.raises(ConnectionClosed) as closed:
                nope.recv(timeout=30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
        with connect(f"{svc.ws}/rl/ws/actions") as actions:
            # No series and no market: a series model trades its own series.
            started = svc.post("/rl/actor/start", json={"model_id": model.label})
            assert started.status_code == 201, started.text
            assert started.json()["series"] == "KXSER"
            seen: list[str] = []

            def status() -> dict[str, Any]:
                actor: dict[str, Any] = svc.get("/rl/status").json()["actor"]
                if actor["market_ticker"] and actor["market_ticker"] not in seen:
                    seen.append(actor["market_ticker"])
                return actor

            wait_until(lambda: status()["market_ticker"] == ours[-1], "the roll to the last market", 60)
            with connect(f"{svc.ws}/rl/ws/orderbook?market={ours[-1]}") as book:
                update = json.loads(book.recv(timeout=30))
            assert update["data"]["market_ticker"] == ours[-1]
            last = wait_until(lambda: (s := status())["waiting"] and s, "the wait after the last market", 60)
            assert last["running"] is True and last["market_ticker"] is None and last["series"] == "KXSER"
            assert "no open market of KXSER" in last["waiting"]
            rolls = []
            while len(rolls) < len(ours):
                message = json.loads(actions.recv(timeout=30))
                if message["type"] == "market_roll":
                    rolls.append(message["data"]["market_ticker"])
        assert rolls == ours and seen == ours
        wait_until(
            lambda: [m["state"] for m in status()["metrics"]["markets"]] == ["settled"] * 3, "settlements", 60
        )
        assert svc.post("/rl/actor/stop").status_code == 200
        episodes = svc.get("/rl/episodes", params={"model_id": str(model.id), "mode": "paper"}).json()[
            "episodes"
        ]
        assert sorted(e["market_ticker"] for e in episodes) == sorted(ours)
        assert all(
            e["final_position"]["settled"] and e["final_position"]["position_units"] == 0 for e in episodes
        )
    finally:
        left = svc.stop()
    assert not left, f"the service's shutdown left {left} running"


def test_training_on_a_series_through_the_api(series_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "service"
    shutil.copytree(series_lake[0] / "lake", data_dir / "lake")
    svc = start_server(ServiceConfig(data_dir=data_dir, models_dir=data_dir / "models"), None)
    fast = {"tick_ms": 100, "latency_ms": 20, "episode_ticks": 20, "timesteps": 128, "hyperparameters": TINY}
    try:
        both = svc.post("/rl/training/start", json={"series": "KXSER", "markets": ["KX-1"], **fast})
        neither = svc.post("/rl/training/start", json=fast)
        assert both.status_code == neither.status_code == 422
        assert "give markets or series" in both.text and "give markets or series" in neither.text
        unknown = svc.post("/rl/training/start", json={"series": "KXNOPE", **fast})
        assert unknown.status_code == 404 and "KXSER (3 market(s)" in unknown.json()["error"]["message"]
        started = svc.post("/rl/training/start", json={"series": "KXSER", **fast})
        assert started.status_code == 202, started.text
        wait_until(lambda: not svc.get("/rl/status").json()["training"]["running"], "the training", 120)
        model = svc.get(f"/rl/models/{started.json()['model_id']}").json()
        assert (
            model["status"] == "ready" and model["name"] == "PPO_KXSER" and model["market_ticker"] == "KXSER"
        )
        assert model["training_config"]["contract"]["series"] == "KXSER"
        assert model["training_config"]["data"]["markets"] == series_lake[1]
    finally:
        left = svc.stop()
    assert not left


def test_serve_series_follows_a_rolling_series_as_kalshi_creates_its_markets(tmp_path: Path) -> None:
    """With ``series`` the feed discovers each new market (before it opens); the actor rolls on
    to it and the book stream of the series joins it."""
    data_dir = tmp_path / "service"
    registry = ModelRegistry(open_database(None, data_dir))
    model = scripted_model(
        registry, data_dir / "models", "roll", Action.BUY_YES, env=replace(tiny_env(), series="KXROLL")
    )
    exchange = LocalExchange(
        SimConfig(seed=6, rate=100, rolling=(SeriesSpec("KXROLL", 4.0),), record_ledger=False)
    )
    sim = exchange.sim
    at_start = set(sim.tickers)
    config = ServiceConfig(
        data_dir=data_dir,
        models_dir=data_dir / "models",
        series=("KXROLL",),
        ws_url=sim.ws_url,
        rest_url=sim.rest_url,
    )
    svc = start_server(config, exchange)
    try:
        started = svc.post("/rl/actor/start", json={"model_id": model.label})
        assert started.status_code == 201, started.text
        traded: list[str] = []

        def rolled() -> bool:
            actor = svc.get("/rl/status").json()["actor"]
            if actor["market_ticker"] and actor["market_ticker"] not in traded:
                traded.append(actor["market_ticker"])
            return len([t for t in traded if t not in at_start]) >= 2

        with connect(f"{svc.ws}/rl/ws/orderbook?series=KXROLL") as books:
            wait_until(rolled, "the actor trading two markets made after the start", 90)
            streamed = set()
            while not streamed & (set(traded) - at_start):
                streamed.add(json.loads(books.recv(timeout=30))["data"]["market_ticker"])
        assert traded == sorted(traded)  # the series' markets in the order they open
        wait_until(
            lambda: (
                sum(
                    m["state"] == "settled"
                    for m in svc.get("/rl/status").json()["actor"]["metrics"]["markets"]
                )
                >= 2
            ),
            "two settled markets",
            60,
        )
        assert svc.post("/rl/actor/stop").status_code == 200
    finally:
        left = svc.stop()
    assert not left, f"the service's shutdown left {left} running"
