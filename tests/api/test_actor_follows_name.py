"""An actor started through the API with a model *name* follows that name's newest ready version
(as ``paper --model NAME`` does); started with an id or NAME@VERSION it stays on that version."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.api.conftest import ServeFactory
from tests.api.test_lifecycles import trained
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def actor_model(svc) -> str | None:  # type: ignore[no-untyped-def]
    return svc.get("/rl/status").json()["actor"]["model"]  # type: ignore[no-any-return]


def test_an_actor_started_by_name_switches_to_the_newest_version(
    serve: ServeFactory, sim_lake: tuple[Path, list[str]]
) -> None:
    svc = serve(feed=True)
    market = svc.config.markets[0]
    trained(svc, sim_lake[1], "follow", timesteps=128)
    started = svc.post("/rl/actor/start", json={"model_id": "follow", "market_ticker": market})
    assert started.status_code == 201, started.text
    assert started.json()["model"] == "follow@1"
    trained(svc, sim_lake[1], "follow", timesteps=128)
    wait_until(lambda: actor_model(svc) == "follow@2", timeout_s=30)
    assert svc.post("/rl/actor/stop").status_code == 200

    pinned = svc.post("/rl/actor/start", json={"model_id": "follow@2", "market_ticker": market})
    assert pinned.status_code == 201, pinned.text
    trained(svc, sim_lake[1], "follow", timesteps=128)
    time.sleep(1.5)  # several reload polls (0.25 s): a pinned actor must not move
    assert actor_model(svc) == "follow@2"
    assert svc.post("/rl/actor/stop").status_code == 200
