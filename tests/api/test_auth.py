"""Every mutating route and every stream, with and without the token, and from foreign browser pages.

The routes and streams under test are read from the app itself, so a new one cannot be
forgotten: ``test_the_matrix_covers_every_route_and_stream_of_the_app`` fails until it is given
its expected answer here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route, WebSocketRoute
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from kalshi_rl.api.access import bearer, origin_allowed, redact_tokens, token_matches
from kalshi_rl.api.app import create_app
from kalshi_rl.api.service import ServiceConfig
from tests.api.conftest import TOKEN, Running, ServeFactory
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

MODEL = {
    "name": "external",
    "architecture": "PPO",
    "market_ticker": "KX-1",
    "checkpoint_path": "/nowhere/checkpoint.zip",
}

EVIL = "http://evil.example"
FRIEND = "http://localhost:5173"  # the one browser origin the open (token-less) server allows

_APP = create_app(ServiceConfig(data_dir=Path("unused"), models_dir=Path("unused")))
MUTATING = sorted(
    (method, route.path)
    for route in _APP.routes
    if isinstance(route, Route)
    for method in (route.methods or set()) - {"GET", "HEAD"}
)
STREAMS = sorted(route.path for route in _APP.routes if isinstance(route, WebSocketRoute))

# What each mutating route answers once the token is accepted: (body, status, error code or None).
# Bodies are chosen so that the handler runs but starts nothing that would outlive the request.
AUTHORIZED: dict[tuple[str, str], tuple[Any, int, str | None]] = {
    ("POST", "/rl/models"): (MODEL, 201, None),
    ("PUT", "/rl/models/{model_id}"): ({"notes": "x"}, 404, "not_found"),
    ("POST", "/rl/training/start"): ({"markets": ["KXNOPE-1"]}, 404, "not_found"),
    ("POST", "/rl/training/stop"): (None, 409, "training_not_running"),
    ("POST", "/rl/actor/start"): ({"model_id": "nobody"}, 404, "not_found"),
    ("POST", "/rl/actor/stop"): (None, 409, "actor_not_running"),
    ("POST", "/rl/actor/switch-model"): ({"model_id": "nobody"}, 409, "actor_not_running"),
    ("POST", "/rl/actor/resume"): (None, 409, "actor_not_running"),
    ("POST", "/rl/actor/flatten"): (None, 409, "actor_not_running"),
    ("POST", "/rl/actor/set-mode"): ({"mode": "paper"}, 200, None),
}
# The first message a stream sends to an accepted client (streams without a steady flow are
# given one by publishing to their hub once the client is subscribed).
FIRST_MESSAGE = {
    "/rl/ws/orderbook": "orderbook_update",
    "/rl/ws/actions": "action",
    "/rl/ws/training": "training_progress",
}

# How a client presents (or fails to present) the token.
MODES = {
    "no token": ({}, {}),
    "wrong bearer": ({"Authorization": "Bearer wrong"}, {}),
    "wrong query": ({}, {"token": "wrong"}),
    "query token": ({}, {"token": TOKEN}),
    "bearer": ({"Authorization": f"Bearer {TOKEN}"}, {}),
}
ROUTE_ACCEPTS = {"bearer"}  # a token in a URL ends up in logs: the HTTP routes take the header only
STREAM_ACCEPTS = {"bearer", "query token"}  # a browser cannot set headers on a WebSocket


def concrete(path: str) -> str:
    return path.replace("{model_id}", "nobody")


def request(svc: Running, method: str, path: str, body: Any, **kwargs: Any) -> Any:
    payload = {"json": body} if body is not None else {}
    return svc.http.request(method, svc.url + concrete(path), **payload, **kwargs)


def observable_state(svc: Running) -> dict[str, Any]:
    status = svc.get("/rl/status").json()
    return {
        "models": svc.get("/rl/models").json(),
        "actor": status["actor"]["running"],
        "training": status["training"]["running"],
    }


def refusal(ws: ClientConnection) -> tuple[str, int | None]:
    """The error code of a refused stream, and the code it was closed with."""
    message = json.loads(ws.recv(timeout=30))
    assert message["type"] == "error", message
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=30)
    return message["data"]["code"], closed.value.rcvd.code if closed.value.rcvd else None


def first_message(svc: Running, path: str, ws: ClientConnection) -> dict[str, Any]:
    hub = {"/rl/ws/actions": svc.service.actions_hub, "/rl/ws/training": svc.service.training_hub}.get(path)
    if hub is not None:
        wait_until(lambda: hub.subscribers == 1, timeout_s=30)
        hub.publish_threadsafe({"type": FIRST_MESSAGE[path], "data": {}})
    return json.loads(ws.recv(timeout=30))  # type: ignore[no-any-return]


def test_the_matrix_covers_every_route_and_stream_of_the_app() -> None:
    assert set(MUTATING) == set(AUTHORIZED), "give each mutating route its authorized answer"
    assert set(STREAMS) == set(FIRST_MESSAGE), "give each stream its first message"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("method", "path"), MUTATING)
def test_a_token_guards_every_mutating_route(serve: ServeFactory, method: str, path: str, mode: str) -> None:
    svc = serve(token=TOKEN)
    headers, params = MODES[mode]
    body, status, code = AUTHORIZED[(method, path)]
    before = observable_state(svc)
    response = request(svc, method, path, body, headers=headers, params=params)
    if mode in ROUTE_ACCEPTS:
        assert response.status_code == status, response.text
        assert code is None or response.json()["error"]["code"] == code
    else:
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
        assert observable_state(svc) == before  # refused before the handler ran
    assert TOKEN not in response.text


@pytest.mark.parametrize(("method", "path"), MUTATING)
def test_without_a_configured_token_every_mutating_route_is_open(
    serve: ServeFactory, method: str, path: str
) -> None:
    svc = serve(cors=(FRIEND,))
    body, status, _ = AUTHORIZED[(method, path)]
    assert request(svc, method, path, body).status_code == status


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", STREAMS)
def test_a_token_guards_every_stream(serve: ServeFactory, path: str, mode: str) -> None:
    svc = serve(token=TOKEN)
    headers, params = MODES[mode]
    query = f"?token={params['token']}" if params else ""
    with connect(f"{svc.ws}{path}{query}", additional_headers=headers) as ws:
        if mode in STREAM_ACCEPTS:
            assert first_message(svc, path, ws)["type"] == FIRST_MESSAGE[path]
        else:
            assert refusal(ws) == ("unauthorized", 4401)
    hubs = (svc.service.actions_hub, svc.service.training_hub)
    wait_until(lambda: all(hub.subscribers == 0 for hub in hubs), 30)  # nothing left subscribed


def test_reads_need_no_token_and_never_show_it(serve: ServeFactory) -> None:
    svc = serve(token=TOKEN)
    for path in (
        "/rl/status",
        "/rl/metrics",
        "/rl/models",
        "/rl/episodes",
        "/rl/compare",
        "/rl/openapi.json",
    ):
        response = svc.get(path)
        assert response.status_code == 200, path
        assert TOKEN not in response.text, path


# -- browser pages of other sites ---------------------------------------------------------------


def test_a_foreign_page_cannot_mutate_a_tokenless_service(serve: ServeFactory) -> None:
    """A "simple" cross-site POST (text/plain, no preflight) must not run: CORS would only hide its answer."""
    svc = serve(cors=(FRIEND,))
    forged = svc.post(
        "/rl/models", content=json.dumps(MODEL), headers={"Origin": EVIL, "Content-Type": "text/plain"}
    )
    assert forged.status_code == 403, forged.text
    assert forged.json()["error"]["code"] == "origin_not_allowed"
    assert svc.get("/rl/models").json() == {"models": []}
    assert svc.post("/rl/actor/stop", headers={"Origin": "null"}).status_code == 403
    allowed = svc.post("/rl/models", json=MODEL, headers={"Origin": FRIEND})
    assert allowed.status_code == 201 and allowed.headers["access-control-allow-origin"] == FRIEND
    assert svc.post("/rl/models", json=MODEL).status_code == 201  # not from a browser: no Origin


def test_a_foreign_page_cannot_open_a_stream(serve: ServeFactory) -> None:
    svc = serve(cors=(FRIEND,))
    for path in STREAMS:
        with connect(f"{svc.ws}{path}", origin=EVIL) as ws:
            assert refusal(ws) == ("origin_not_allowed", 4403), path
        with connect(f"{svc.ws}{path}", origin=FRIEND) as ws:
            assert first_message(svc, path, ws)["type"] == FIRST_MESSAGE[path], path


def test_the_access_rules_in_detail() -> None:
    assert token_matches(None, None) and token_matches("", "anything")
    assert token_matches("t", "t") and not token_matches("t", "T") and not token_matches("t", None)
    assert bearer({"authorization": "bearer  t "}) == "t" and bearer({"authorization": "Basic t"}) is None
    assert origin_allowed((), {}) and not origin_allowed((), {"origin": FRIEND})
    assert origin_allowed((FRIEND,), {"origin": FRIEND}) and origin_allowed(("*",), {"origin": EVIL})
    assert (
        redact_tokens("GET /rl/ws/actions?a=1&token=t0k-en&b=2")
        == "GET /rl/ws/actions?a=1&token=<redacted>&b=2"
    )
