"""The /rl/* routes over real HTTP: status, registry CRUD, errors, CORS, OpenAPI (auth: test_auth.py)."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.api.conftest import ServeFactory

pytestmark = pytest.mark.slow

FRIEND = "http://localhost:5173"

MODEL = {
    "name": "external",
    "architecture": "PPO",
    "market_ticker": "KX-1",
    "checkpoint_path": "/nowhere/checkpoint.zip",
    "hyperparameters": {"learning_rate": 0.0003},
    "training_config": {},
}


def error_of(response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]  # type: ignore[no-any-return]


def test_status_openapi_and_empty_registry(serve: ServeFactory) -> None:
    svc = serve(feed=False)
    status = svc.get("/rl/status").json()
    assert status["service"] == "kalshi-rl" and status["actor"]["running"] is False
    assert status["database"].startswith("sqlite:") and "feed" in status
    doc = svc.get("/rl/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    for path in (
        "/rl/status",
        "/rl/models",
        "/rl/models/{model_id}",
        "/rl/episodes",
        "/rl/episodes/{episode_id}",
        "/rl/training/start",
        "/rl/training/stop",
        "/rl/actor/start",
        "/rl/actor/stop",
        "/rl/actor/switch-model",
        "/rl/actor/set-mode",
        "/rl/metrics",
        "/rl/compare",
    ):
        assert path in doc["paths"], path
    assert "TrainingStart" in doc["components"]["schemas"]
    assert svc.get("/rl/models").json() == {"models": []}
    assert svc.get("/rl/episodes").json() == {"episodes": []}
    assert svc.get("/rl/metrics").status_code == 200
    assert svc.get("/rl/compare").json() == {"models": []}


def test_model_registry_crud(serve: ServeFactory) -> None:
    svc = serve(feed=False)
    created = svc.post("/rl/models", json=MODEL)
    assert created.status_code == 201, created.text
    row = created.json()
    assert row["version"] == 1 and row["status"] == "training" and row["name"] == "external"
    again = svc.post("/rl/models", json=MODEL).json()
    assert again["version"] == 2
    assert svc.get(f"/rl/models/{row['id']}").json()["id"] == row["id"]
    assert svc.get("/rl/models/external").json()["version"] == 2
    assert svc.get("/rl/models/external@1").json()["id"] == row["id"]
    updated = svc.put(f"/rl/models/{row['id']}", json={"status": "archived", "notes": "superseded"})
    assert (
        updated.status_code == 200
        and updated.json()["status"] == "archived"
        and updated.json()["notes"] == "superseded"
    )
    listed = svc.get("/rl/models", params={"status": "archived"}).json()["models"]
    assert [m["id"] for m in listed] == [row["id"]]
    assert len(svc.get("/rl/models", params={"name": "external", "limit": 1}).json()["models"]) == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "/rl/models", b"{not json", 400, "invalid_json"),
        ("post", "/rl/models", b"", 400, "invalid_json"),
        ("post", "/rl/models", {**MODEL, "architecture": "DQN"}, 422, "invalid_body"),
        ("post", "/rl/models", {**MODEL, "surprise": 1}, 422, "invalid_body"),
        ("post", "/rl/models", {**MODEL, "name": 7}, 422, "invalid_body"),
        ("post", "/rl/models", [1, 2], 422, "invalid_body"),
        ("put", "/rl/models/00000000-0000-0000-0000-000000000000", {"notes": "x"}, 404, "not_found"),
        ("put", "/rl/models/external", {"status": "exploded"}, 422, "invalid_body"),
        ("get", "/rl/models/nobody@3", None, 404, "not_found"),
        ("get", "/rl/models/nobody@x", None, 400, "invalid_request"),
        ("get", "/rl/models?limit=0", None, 400, "invalid_parameter"),
        ("get", "/rl/models?limit=ten", None, 400, "invalid_parameter"),
        ("get", "/rl/episodes?mode=live", None, 400, "invalid_parameter"),
        ("get", "/rl/episodes/not-a-uuid", None, 400, "invalid_parameter"),
        ("get", "/rl/episodes/00000000-0000-0000-0000-000000000000", None, 404, "not_found"),
        ("get", "/rl/nowhere", None, 404, "not_found"),
        ("post", "/rl/training/stop", None, 409, "training_not_running"),
        ("post", "/rl/actor/stop", None, 409, "actor_not_running"),
        ("post", "/rl/actor/switch-model", {"model_id": "external"}, 409, "actor_not_running"),
        ("post", "/rl/actor/set-mode", {"mode": "live"}, 501, "live_mode_not_available"),
        # the document's enum is exactly ['paper', 'live']: any other spelling is outside it (422)
        ("post", "/rl/actor/set-mode", {"mode": "LIVE"}, 422, "invalid_body"),
        ("post", "/rl/actor/set-mode", {"mode": "sandbox"}, 422, "invalid_body"),
        ("post", "/rl/actor/start", {"model_id": "external", "mode": "live"}, 501, "live_mode_not_available"),
        ("post", "/rl/actor/start", {"model_id": "external", "mode": "demo"}, 422, "invalid_body"),
        ("post", "/rl/actor/start", {"model_id": "external", "mode": " Paper"}, 422, "invalid_body"),
        ("post", "/rl/actor/start", {"model_id": "external"}, 409, "no_feed"),
        ("post", "/rl/training/start", {"markets": ["KXNOPE-1"]}, 404, "not_found"),
        ("post", "/rl/training/start", {"markets": []}, 422, "invalid_body"),
        ("post", "/rl/training/start", {"markets": ["A"], "timesteps": -5}, 422, "invalid_body"),
        (
            "post",
            "/rl/training/start",
            {"markets": ["A"], "hyperparameters": {"learning_rate": 5}},
            400,
            "invalid_request",
        ),
        (
            "post",
            "/rl/training/start",
            {"markets": ["A"], "tick_ms": 40, "latency_ms": 50},
            400,
            "invalid_request",
        ),
        ("get", "/rl/compare?model_ids=nobody", None, 404, "not_found"),
    ],
)
def test_bad_input_gets_a_clear_4xx(
    serve: ServeFactory, method: str, path: str, body, status: int, code: str
) -> None:
    svc = serve(feed=False)
    svc.post("/rl/models", json=MODEL)
    kwargs = {"content": body} if isinstance(body, bytes) else ({"json": body} if body is not None else {})
    response = getattr(svc, method)(path, **kwargs)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == code and error["message"]


def test_cors_headers_only_for_configured_origins(serve: ServeFactory) -> None:
    svc = serve(feed=False, cors=(FRIEND,))
    simple = svc.get("/rl/status", headers={"Origin": FRIEND})
    assert simple.headers.get("access-control-allow-origin") == FRIEND
    preflight = svc.http.options(
        svc.url + "/rl/models",
        headers={
            "Origin": FRIEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == FRIEND
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    other = svc.get("/rl/status", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    refused = svc.http.options(
        svc.url + "/rl/models",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in refused.headers
    closed = serve(feed=False).get("/rl/status", headers={"Origin": FRIEND})
    assert "access-control-allow-origin" not in closed.headers  # none configured: no CORS at all


def test_the_book_stream_of_a_service_without_a_feed_says_so(serve: ServeFactory) -> None:
    svc = serve(feed=False)
    with connect(f"{svc.ws}/rl/ws/orderbook") as ws:
        message = json.loads(ws.recv(timeout=30))
        assert message["type"] == "error" and message["data"]["code"] == "no_feed", message
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4409
