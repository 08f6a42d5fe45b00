"""The service's own page (the ML tab at ``/``) may mutate and stream without RL_CORS_ORIGINS; a
page whose Origin merely agrees with a *domain name* in Host (DNS rebinding) may not."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

from kalshi_rl.api.access import origin_allowed, same_origin
from tests.api.conftest import ServeFactory

pytestmark = pytest.mark.slow

MODEL = {"name": "own", "architecture": "PPO", "market_ticker": "KX-1", "checkpoint_path": "/nowhere"}


def test_same_origin_in_detail() -> None:
    assert same_origin({"origin": "http://127.0.0.1:8000", "host": "127.0.0.1:8000"})
    assert same_origin({"origin": "http://localhost:8000", "host": "LOCALHOST:8000"})
    assert same_origin({"origin": "http://[::1]:8000", "host": "[::1]:8000"})
    assert not same_origin({"origin": "http://127.0.0.1:8001", "host": "127.0.0.1:8000"})  # another port
    assert not same_origin({"origin": "http://rebound.example:8000", "host": "rebound.example:8000"})
    assert not same_origin({"origin": "null", "host": "127.0.0.1:8000"})
    assert not same_origin({"origin": "file://127.0.0.1:8000", "host": "127.0.0.1:8000"})
    assert not same_origin({"host": "127.0.0.1:8000"}) and not same_origin({"origin": "http://127.0.0.1"})
    assert origin_allowed((), {"origin": "http://127.0.0.1:8000", "host": "127.0.0.1:8000"})
    assert not origin_allowed((), {"origin": "http://evil.example", "host": "127.0.0.1:8000"})


def test_the_own_page_mutates_and_streams_without_cors_origins(serve: ServeFactory) -> None:
    svc = serve(feed=False)  # no RL_CORS_ORIGINS
    own = svc.url.removeprefix("http://")
    created = svc.post("/rl/models", json=MODEL, headers={"Origin": f"http://{own}"})
    assert created.status_code == 201, created.text
    rebound = svc.post(
        "/rl/models", json=MODEL, headers={"Origin": "http://rebound.example", "Host": "rebound.example"}
    )
    assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "origin_not_allowed"
    with connect(f"{svc.ws}/rl/ws/actions", origin=f"http://{own}") as ws:
        ws.send("hello")  # accepted: the server waits for actions, it sent no refusal
        with pytest.raises(TimeoutError):
            json.loads(ws.recv(timeout=1))
