"""``GET /metrics`` of ``serve``: the feed's, the paper actor's and training's figures, parsed with
Prometheus's text parser and compared with what /rl/metrics says of the same run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import ServeFactory
from tests.api.test_lifecycles import FAST, trained
from tests.integration.test_metrics import parse
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def test_metrics_of_a_paper_run_match_the_actor_summary(
    serve: ServeFactory, sim_lake: tuple[Path, list[str]]
) -> None:
    svc = serve(feed=True)
    market = svc.config.markets[0]
    model = trained(svc, sim_lake[1], "metered")
    started = svc.post("/rl/actor/start", json={"model_id": model["id"], "market_ticker": market})
    assert started.status_code == 201, started.text
    wait_until(lambda: svc.get("/rl/metrics").json()["actor"]["decisions"] >= 5, "the actor decided")
    assert svc.post("/rl/actor/stop").status_code == 200
    actor = svc.get("/rl/metrics").json()["actor"]  # frozen now the actor stopped

    response = svc.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples, types = parse(response.text)

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("kalshi_rl_actor_decisions_total") == actor["decisions"]
    assert value("kalshi_rl_actor_orders_total") == actor["orders"]
    assert value("kalshi_rl_actor_orders_rejected_total") == actor["rejected"]
    assert value("kalshi_rl_actor_fills_total") == actor["fills_written"]
    assert value("kalshi_rl_actor_fees_dollars_total") == pytest.approx(actor["fees"])
    assert value("kalshi_rl_actor_position_contracts", market=market) == actor["position_units"] / 100
    assert value("kalshi_rl_actor_realized_pnl_dollars", market=market) == pytest.approx(
        actor["realized_pnl"]
    )
    assert types["kalshi_rl_actor_decision_latency_seconds"] == "histogram"
    count = value("kalshi_rl_actor_decision_latency_seconds_count")
    assert count == actor["decision_latency"]["n"] > 0
    assert value("kalshi_rl_actor_decision_latency_seconds_bucket", le="+Inf") == count
    feed = svc.get("/rl/metrics").json()["feed"]
    assert value("kalshi_rl_feed_markets") == len(feed["markets"]) == 1
    assert value("kalshi_rl_feed_frames_total") > 0
    assert ("kalshi_rl_sink_backlog_rows", (("sink", "lake"),)) in samples


def test_metrics_of_a_running_training_follow_its_progress(
    serve: ServeFactory, sim_lake: tuple[Path, list[str]]
) -> None:
    svc = serve()
    assert "kalshi_rl_training_timesteps_total" not in svc.get("/metrics").text  # nothing runs
    started = svc.post(
        "/rl/training/start", json={"markets": sim_lake[1], "timesteps": 10_000_000, "name": "m", **FAST}
    )
    assert started.status_code == 202, started.text

    def progress() -> dict[str, float]:
        return svc.get("/rl/status").json()["training"]["progress"] or {}  # type: ignore[no-any-return]

    wait_until(lambda: progress().get("timesteps_so_far", 0) >= 64, "training reported progress")
    before = progress()["timesteps_so_far"]
    samples, types = parse(svc.get("/metrics").text)
    after = progress()
    timesteps = samples[("kalshi_rl_training_timesteps_total", ())]
    assert types["kalshi_rl_training_timesteps"] == "counter"
    assert before <= timesteps <= after["timesteps_so_far"]
    reward = samples[("kalshi_rl_training_episode_reward", ())]
    assert types["kalshi_rl_training_episode_reward"] == "gauge"
    if timesteps == after["timesteps_so_far"]:  # the same progress report: the same figure
        assert reward == pytest.approx(after["avg_reward"] or 0.0)
    assert svc.post("/rl/training/stop").status_code == 200
    assert "kalshi_rl_training_timesteps_total" not in svc.get("/metrics").text  # gone with the run
