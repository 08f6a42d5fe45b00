"""Training and actor lifecycles through the API, with the three WebSocket streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.api.conftest import Running, ServeFactory
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

FAST = {
    "tick_ms": 200,
    "latency_ms": 20,
    "episode_ticks": 40,
    "hyperparameters": {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "net_arch": [8]},
}


def trained(svc: Running, markets: list[str], name: str, timesteps: int = 256) -> dict[str, Any]:
    started = svc.post(
        "/rl/training/start", json={"markets": markets, "timesteps": timesteps, "name": name, **FAST}
    )
    assert started.status_code == 202, started.text
    model_id = started.json()["model_id"]
    wait_until(lambda: not svc.get("/rl/status").json()["training"]["running"])
    model = svc.get(f"/rl/models/{model_id}").json()
    assert model["status"] == "ready", model
    return model  # type: ignore[no-any-return]


def test_training_lifecycle_and_its_progress_stream(
    serve: ServeFactory, sim_lake: tuple[Path, list[str]]
) -> None:
    svc = serve(feed=True)  # the module's one server: training runs beside the live feed
    markets = sim_lake[1]
    with connect(f"{svc.ws}/rl/ws/training") as stream:
        started = svc.post(
            "/rl/training/start", json={"markets": markets, "timesteps": 2_000, "name": "api", **FAST}
        )
        assert started.status_code == 202 and started.json()["running"] is True
        model_id = started.json()["model_id"]
        second = svc.post("/rl/training/start", json={"markets": markets, "timesteps": 64, **FAST})
        assert second.status_code == 409 and second.json()["error"]["code"] == "training_running"
        message = json.loads(stream.recv(timeout=120))
        assert message["type"] == "training_progress"
        assert set(message["data"]) >= {
            "episode",
            "total_episodes",
            "avg_reward",
            "loss",
            "learning_rate",
            "timesteps_so_far",
        }
        finished = None
        while finished is None:
            message = json.loads(stream.recv(timeout=120))
            if message["type"] == "training_finished":
                finished = message["data"]
    assert finished["model_id"] == model_id and finished["status"] == "ready"
    model = svc.get(f"/rl/models/{model_id}").json()
    assert model["status"] == "ready" and model["training_timesteps"] >= 2_000
    episodes = svc.get("/rl/episodes", params={"model_id": model_id, "mode": "training"}).json()["episodes"]
    assert episodes and all(e["mode"] == "training" for e in episodes)
    assert svc.get(f"/rl/episodes/{episodes[0]['episode_id']}").json()["total_steps"] > 0

    # A long run stopped through the API saves a checkpoint and is recorded as stopped.
    long = svc.post(
        "/rl/training/start", json={"markets": markets, "timesteps": 10_000_000, "name": "api", **FAST}
    ).json()
    wait_until(lambda: svc.get("/rl/status").json()["training"]["progress"])
    stopped = svc.post("/rl/training/stop")
    assert stopped.status_code == 200
    row = svc.get(f"/rl/models/{long['model_id']}").json()
    assert row["status"] == "stopped" and row["version"] == 2


def test_actor_lifecycle_streams_and_refusals(serve: ServeFactory, sim_lake: tuple[Path, list[str]]) -> None:
    svc = serve(feed=True)
    market = svc.config.markets[0]
    first = trained(svc, sim_lake[1], "trader")
    second = trained(svc, sim_lake[1], "trader", timesteps=128)
    with connect(f"{svc.ws}/rl/ws/orderbook?market={market}") as book:
        update = json.loads(book.recv(timeout=30))
    assert update["type"] == "orderbook_update"
    assert set(update["data"]) >= {
        "market_ticker",
        "timestamp",
        "yes_bids",
        "yes_asks",
        "no_bids",
        "no_asks",
        "spread_yes",
        "spread_no",
        "mid_yes",
        "mid_no",
    }
    assert update["data"]["market_ticker"] == market and update["data"]["yes_bids"]

    started = svc.post(
        "/rl/actor/start", json={"model_id": first["id"], "market_ticker": market, "stochastic": True}
    )
    assert started.status_code == 201, started.text
    assert started.json()["model"] == "trader@1"
    again = svc.post("/rl/actor/start", json={"model_id": first["id"], "market_ticker": market})
    assert again.status_code == 409 and again.json()["error"]["code"] == "actor_running"
    with connect(f"{svc.ws}/rl/ws/actions") as actions:
        event = json.loads(actions.recv(timeout=30))
    assert event["type"] == "action"
    assert set(event["data"]) >= {"timestamp", "market_ticker", "action", "details", "state", "confidence"}
    assert set(event["data"]["details"]) >= {"side", "price", "quantity", "order_type"}
    assert set(event["data"]["state"]) >= {"position", "avg_price", "unrealized_pnl"}

    assert svc.post("/rl/actor/set-mode", json={"mode": "paper"}).json() == {"mode": "paper"}
    assert svc.post("/rl/actor/set-mode", json={"mode": "live"}).status_code == 501
    not_ready = svc.post(
        "/rl/models",
        json={"name": "raw", "architecture": "PPO", "market_ticker": "KX-1", "checkpoint_path": "/x"},
    ).json()
    refused = svc.post("/rl/actor/switch-model", json={"model_id": not_ready["id"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "model_not_ready"
    switched = svc.post("/rl/actor/switch-model", json={"model_id": second["id"]})
    assert switched.status_code == 200 and switched.json()["switching_to"] == "trader@2"
    wait_until(lambda: svc.get("/rl/status").json()["actor"]["model"] == "trader@2", timeout_s=30)
    busy = svc.put(f"/rl/models/{second['id']}", json={"status": "archived"})
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "model_in_use"

    metrics = svc.get("/rl/metrics").json()
    assert metrics["actor"]["decisions"] > 0 and metrics["actor"]["missed_ticks"] == 0
    assert metrics["feed"]["markets"] == [market]
    stopped = svc.post("/rl/actor/stop")
    assert stopped.status_code == 200 and stopped.json()["running"] is False
    assert svc.post("/rl/actor/stop").status_code == 409
    papers = svc.get("/rl/episodes", params={"mode": "paper"}).json()["episodes"]
    assert len(papers) == 1 and papers[0]["end_time"] is not None
    detail = svc.get(f"/rl/episodes/{papers[0]['episode_id']}").json()
    assert detail["actions"] > 0 and detail["recent_actions"]
    compared = svc.get("/rl/compare", params={"model_ids": f"{first['id']},trader@2"}).json()["models"]
    assert [c["model"] for c in compared] == ["trader@1", "trader@2"]

    # The service then shuts down completely (its feed stopped and flushed), as on Ctrl-C.
    assert svc.stop() == []


def test_the_service_stops_a_training_that_is_still_setting_up(
    serve: ServeFactory, sim_lake: tuple[Path, list[str]]
) -> None:
    svc = serve(feed=False)
    started = svc.post(
        "/rl/training/start", json={"markets": sim_lake[1], "timesteps": 10_000_000, "name": "early", **FAST}
    )
    assert started.status_code == 202, started.text
    # Shut down at once, before the run exists: the shutdown stops it instead of waiting for
    # its ten million timesteps.
    assert svc.stop() == []
