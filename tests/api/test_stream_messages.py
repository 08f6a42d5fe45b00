"""The WebSocket streams are in the OpenAPI document: their messages are components (with their
closed sets as enums, so the ML tab's generated types carry them) and ``x-streams`` names the
messages each ``/rl/ws/*`` path sends. What real streams send stays inside it: every message of a
training, of an actor's run (actions, holds, a breaker's hold), of a series actor's rolls and of
the refusals is checked against the document the server serves."""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError
from starlette.routing import WebSocketRoute
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from kalshi_rl.api.app import create_app
from kalshi_rl.api.openapi import openapi_document
from kalshi_rl.api.service import ServiceConfig
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.action_space import ACTION_NAMES, Action
from kalshi_rl.sim.exchange import SimConfig
from kalshi_rl.trading.actor_stream import hold_message
from kalshi_rl.trading.stream_messages import ActionName
from tests.api.conftest import TOKEN, LocalExchange, ServeFactory, start_server
from tests.api.openapi_conformance import stream_conformance
from tests.api.test_lifecycles import trained
from tests.api.test_openapi_responses import STATUSES, TRIPS, closed_set
from tests.api.test_ui_fixtures import FIXTURE
from tests.support.waiting import wait_until
from tests.trading_support import scripted_model, tiny_env

ERROR_CODES = ["unauthorized", "origin_not_allowed", "no_feed", "unknown_market", "unknown_series"]
ENUMS: dict[tuple[str, str], list[str]] = {
    ("ActionData", "action"): list(ACTION_NAMES.values()),
    ("ActionDetails", "side"): ["yes", "no"],
    ("ActionDetails", "order_type"): ["market"],
    ("HoldData", "breaker"): TRIPS,
    ("TrainingFinishedData", "status"): STATUSES,
    ("StreamErrorData", "code"): ERROR_CODES,
    ("OrderbookUpdate", "type"): ["orderbook_update"],
    ("ActionMessage", "type"): ["action"],
    ("HoldMessage", "type"): ["hold"],
    ("MarketRollMessage", "type"): ["market_roll"],
    ("TrainingProgressMessage", "type"): ["training_progress"],
    ("TrainingFinishedMessage", "type"): ["training_finished"],
    ("StreamError", "type"): ["error"],
}
ACTION: dict[str, Any] = {
    "type": "action",
    "data": {
        "timestamp": 1_796_212_800_123,
        "market_ticker": "KX-1",
        "action": "buy_yes",
        "details": {"side": "yes", "price": "0.6600", "quantity": "10.00", "order_type": "market"},
        "state": {"position": "10.00", "avg_price": 0.66, "unrealized_pnl": -0.025},
        "confidence": 0.73,
        "model": "trader@1",
        "executed": True,
    },
}


def test_the_document_lists_every_closed_set_of_the_streams_as_an_enum() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for (schema, name), values in ENUMS.items():
        assert closed_set(schemas[schema]["properties"][name]) == values, (schema, name)
        assert name in schemas[schema]["required"], (schema, name)  # always sent, never optional
    assert list(get_args(ActionName)) == list(ACTION_NAMES.values())


def test_the_document_describes_every_websocket_route(tmp_path: Path) -> None:
    app = create_app(ServiceConfig(data_dir=tmp_path, models_dir=tmp_path / "models"))
    routes = {route.path for route in app.routes if isinstance(route, WebSocketRoute)}
    assert routes == set(openapi_document()["x-streams"])


@pytest.mark.parametrize(
    ("change", "found"),
    [
        (lambda m: m["data"].update(action="buy_maybe"), "'buy_maybe' is not one of"),
        (lambda m: m["data"]["details"].update(side="maybe"), "'maybe' is not one of"),
        (lambda m: m["data"]["details"].update(order_type="limit"), "'limit' is not 'market'"),
        (lambda m: m["data"]["details"].update(price="0.66"), "does not match"),
        (lambda m: m["data"]["details"].update(price=0.66), "matches no branch"),
        (lambda m: m["data"].update(confidence=1.5), "is above 1"),
        (lambda m: m["data"].update(timestamp="2026-12-02T16:00:00Z"), "is not of type integer"),
        (lambda m: m["data"].pop("executed"), "lacks 'executed'"),
        (lambda m: m["data"].update(extra=1), "'extra' is not declared"),
        (lambda m: m.update(type="actions"), "matches 0 of the oneOf branches"),
    ],
)
def test_an_action_message_outside_the_document_is_caught(change: Any, found: str) -> None:
    doc = openapi_document()
    message = copy.deepcopy(ACTION)
    assert stream_conformance(doc, "/rl/ws/actions", message) == []
    change(message)
    problems = stream_conformance(doc, "/rl/ws/actions", message)
    assert any(found in p for p in problems), problems


def test_a_book_level_outside_the_document_is_caught() -> None:
    doc = openapi_document()
    book = json.loads(FIXTURE.read_text())  # what the service sends (tests/api/test_ui_fixtures.py)
    assert stream_conformance(doc, "/rl/ws/orderbook", book) == []
    book["data"]["yes_bids"][0].append("1.00")
    assert any("3 items" in p for p in stream_conformance(doc, "/rl/ws/orderbook", book))
    assert stream_conformance(doc, "/rl/ws/training", json.loads(FIXTURE.read_text()))  # not its stream


def test_a_message_outside_its_closed_sets_is_refused_where_it_is_built() -> None:
    with pytest.raises(ValidationError, match="breaker"):
        hold_message("KX-1", 0, "tripped", 0, "m@1", "tired")  # type: ignore[arg-type]


class Recorder:
    """Every message one WebSocket stream sends, read in a thread until ``close`` (or the server
    closes it)."""

    def __init__(self, url: str) -> None:
        self.path = urlsplit(url).path
        self.messages: list[Any] = []
        self._opened = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()
        assert self._opened.wait(30), f"{url} did not open"

    def _read(self, url: str) -> None:
        with connect(url) as socket:
            self._opened.set()
            while not self._stop.is_set():
                try:
                    self.messages.append(json.loads(socket.recv(timeout=0.2)))
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return

    def kinds(self) -> set[str]:
        return {m["type"] for m in list(self.messages)}

    def close(self) -> list[Any]:
        self._stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive()
        return self.messages


def check_all(doc: dict[str, Any], recorders: list[Recorder]) -> dict[str, int]:
    """Every recorded message conforms to ``doc``; how many of each type were checked."""
    counts: dict[str, int] = {}
    for recorder in recorders:
        for message in recorder.close():
            assert stream_conformance(doc, recorder.path, message) == [], (recorder.path, message)
            counts[message["type"]] = counts.get(message["type"], 0) + 1
    return counts


@pytest.mark.slow
def test_every_message_of_a_real_run_is_inside_the_document(
    serve: ServeFactory, sim_lake: tuple[Path, list[str]]
) -> None:
    svc = serve(feed=True)
    doc = svc.get("/rl/openapi.json").json()
    market = svc.config.markets[0]
    training = Recorder(f"{svc.ws}/rl/ws/training")
    books = [Recorder(f"{svc.ws}/rl/ws/orderbook?market={market}"), Recorder(f"{svc.ws}/rl/ws/orderbook")]
    first = trained(svc, sim_lake[1], "streams")
    wait_until(lambda: "training_finished" in training.kinds(), "the training_finished message", 30)
    actions = Recorder(f"{svc.ws}/rl/ws/actions")
    started = svc.post(
        "/rl/actor/start", json={"model_id": first["id"], "market_ticker": market, "stochastic": True}
    )
    assert started.status_code == 201, started.text
    wait_until(lambda: "action" in actions.kinds(), "an action", 30)
    assert svc.post("/rl/actor/flatten").status_code == 200  # then a hold naming its breaker
    wait_until(
        lambda: any(m["data"].get("breaker") == "flatten" for m in list(actions.messages)), "a hold", 30
    )
    assert svc.post("/rl/actor/resume").status_code == 200
    assert svc.post("/rl/actor/stop").status_code == 200
    refusals = [
        Recorder(f"{svc.ws}/rl/ws/orderbook?market=KXNOPE-1"),
        Recorder(f"{svc.ws}/rl/ws/orderbook?series=KXNOPE"),
    ]
    wait_until(lambda: all(r.messages for r in refusals), "the refusals", 30)
    counts = check_all(doc, [training, *books, actions, *refusals])
    assert counts["training_progress"] > 0 and counts["training_finished"] == 1, counts
    assert counts["orderbook_update"] > 0 and counts["action"] > 0 and counts["hold"] > 0, counts
    assert counts["error"] == 2, counts

    # The checker is strict on these very messages: a real action with its name out of the
    # closed set, or a real refusal with an undeclared code, is caught.
    action = copy.deepcopy(next(m for m in actions.messages if m["type"] == "action"))
    action["data"]["action"] = "buy_maybe"
    assert stream_conformance(doc, "/rl/ws/actions", action)
    refusal = copy.deepcopy(refusals[0].messages[0])
    refusal["data"]["code"] = "gone"
    assert stream_conformance(doc, "/rl/ws/orderbook", refusal)


@pytest.mark.slow
def test_the_refusals_of_a_server_with_a_token_are_inside_the_document(serve: ServeFactory) -> None:
    svc = serve(token=TOKEN, feed=False)
    doc = svc.get("/rl/openapi.json").json()
    recorders = [Recorder(f"{svc.ws}{path}") for path in doc["x-streams"]]
    recorders.append(Recorder(f"{svc.ws}/rl/ws/orderbook?token={TOKEN}"))
    wait_until(lambda: all(r.messages for r in recorders), "the refusals", 30)
    codes = [r.messages[0]["data"]["code"] for r in recorders]
    assert codes == ["unauthorized"] * 3 + ["no_feed"]
    assert check_all(doc, recorders) == {"error": 4}


@pytest.mark.slow
def test_every_message_of_a_series_actor_is_inside_the_document(tmp_path: Path) -> None:
    data_dir = tmp_path / "service"
    registry = ModelRegistry(open_database(None, data_dir))
    model = scripted_model(
        registry, data_dir / "models", "buyer", Action.BUY_YES, env=replace(tiny_env(), series="KXSER")
    )
    exchange = LocalExchange(
        SimConfig(markets=1, seed=8, rate=150, series="KXSER", market_duration_s=5, record_ledger=False)
    )
    exchange.thread.call(lambda: exchange.sim.create_event(duration_s=8))
    ours = list(exchange.sim.tickers)
    config = ServiceConfig(
        data_dir=data_dir,
        models_dir=data_dir / "models",
        markets=tuple(ours),
        ws_url=exchange.sim.ws_url,
        rest_url=exchange.sim.rest_url,
    )
    svc = start_server(config, exchange)
    try:
        doc = svc.get("/rl/openapi.json").json()
        recorders = [Recorder(f"{svc.ws}/rl/ws/actions"), Recorder(f"{svc.ws}/rl/ws/orderbook?series=KXSER")]
        assert svc.post("/rl/actor/start", json={"model_id": model.label}).status_code == 201
        rolls = lambda: [m for m in list(recorders[0].messages) if m["type"] == "market_roll"]  # noqa: E731
        wait_until(lambda: len(rolls()) == len(ours), "a roll to each market", 60)
        assert svc.post("/rl/actor/stop").status_code == 200
        counts = check_all(doc, recorders)
    finally:
        left = svc.stop()
    assert not left
    assert counts["market_roll"] == len(ours) and counts["action"] > 0 and counts["orderbook_update"] > 0, (
        counts
    )
