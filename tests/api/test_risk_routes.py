"""Risk controls through the API: limits in ``POST /rl/actor/start`` (refused when they make no
sense), a breaker tripping on the real local exchange's feed and shown by /rl/metrics, /metrics
and the actions stream, ``POST /rl/actor/flatten`` selling back to zero, ``/rl/actor/resume``."""

from __future__ import annotations

from pathlib import Path

import pytest

from kalshi_rl.environments.action_space import Action
from tests.api.conftest import ServeFactory
from tests.integration.test_metrics import parse
from tests.support.waiting import wait_until
from tests.trading_support import scripted_model

pytestmark = pytest.mark.slow


def test_a_breaker_trips_on_the_feed_flatten_sells_back_to_zero_and_resume_trades_again(
    serve: ServeFactory,
) -> None:
    svc = serve(feed=True)
    market = svc.config.markets[0]
    registry = svc.service.require_registry()
    model = scripted_model(registry, svc.config.models_dir, "riskbuy", Action.BUY_YES)

    for limit in ("max_loss_day", "rollback_loss", "stale_ticks"):
        refused = svc.post("/rl/actor/start", json={"model_id": str(model.id), limit: 0})
        assert refused.status_code == 422 and limit in refused.text

    # No decision takes under a microsecond: the latency breaker trips at the 3rd decision.
    body = {"model_id": str(model.id), "market_ticker": market, "latency_ms": 0.001, "latency_ticks": 3}
    started = svc.post("/rl/actor/start", json=body)
    assert started.status_code == 201, started.text

    def actor() -> dict:  # type: ignore[type-arg]
        return svc.get("/rl/metrics").json()["actor"]  # type: ignore[no-any-return]

    wait_until(lambda: actor()["risk_held"] >= 2, "the latency breaker tripped and held")
    tripped = actor()
    assert tripped["risk_breaker"] == "latency" and tripped["risk_trips"] == {"latency": 1}
    assert tripped["decisions"] == 3 and tripped["hold_reason"].startswith("risk breaker latency: ")
    hold = svc.service.actions_hub.last
    assert hold is not None and hold["type"] == "hold" and hold["data"]["breaker"] == "latency"
    samples, _ = parse(svc.get("/metrics").text)
    assert samples[("kalshi_rl_actor_risk_trips_total", (("breaker", "latency"),))] == 1
    assert samples[("kalshi_rl_actor_risk_tripped", ())] == 1

    flattened = svc.post("/rl/actor/flatten")
    assert flattened.status_code == 200, flattened.text
    done = flattened.json()["flatten"]
    assert done["market_ticker"] == market and done["position_after"] == "0.00"
    assert done["position_before"] == f"{tripped['position_units'] / 100:.2f}" != "0.00"
    assert actor()["position_units"] == 0 and actor()["risk_breaker"] == "flatten"
    decisions = actor()["decisions"]

    resumed = svc.post("/rl/actor/resume")
    assert resumed.status_code == 200 and resumed.json()["resumed"] == "flatten"
    wait_until(lambda: actor()["risk_trips"].get("latency") == 2, "trading again, until it tripped again")
    assert actor()["decisions"] == decisions + 3
    assert svc.post("/rl/actor/stop").status_code == 200
    (episode,) = registry.episodes(model.id, mode="paper")
    kinds = [trip["kind"] for trip in episode["metadata"]["risk"]["trips"]]
    assert kinds == ["latency", "flatten", "latency"]
    assert episode["metadata"]["risk"]["limits"] == {
        "latency_ms": 0.001,
        "latency_ticks": 3,
        "rollback_window_s": 300.0,
    }


def test_resume_and_flatten_need_a_running_actor(serve: ServeFactory, tmp_path: Path) -> None:
    svc = serve(feed=True)
    for path in ("/rl/actor/resume", "/rl/actor/flatten"):
        response = svc.post(path)
        assert response.status_code == 409 and response.json()["error"]["code"] == "actor_not_running"
