"""The REST base derived from a WebSocket URL, one test per documented host.

Expectations from docs.kalshi.com/getting_started/api_environments ("API Environments and
Endpoints"), Kalshi's OpenAPI 3.31.0 ``servers`` and AsyncAPI 2.0.0 ``servers.production``
(TexasCoding/kalshi-python-sdk specs/ @ bcd7533ecf15974667320f5cc8932818a1351b3c).
"""

from __future__ import annotations

import pytest

from kalshi_rl.core.errors import ConfigError
from kalshi_rl.kalshi.hosts import HOSTS, rest_url_for


def test_production_recommended_pair() -> None:
    ws = "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
    assert rest_url_for(ws) == "https://external-api.kalshi.com/trade-api/v2"


def test_production_shared_host() -> None:
    ws = "wss://api.elections.kalshi.com/trade-api/ws/v2"
    assert rest_url_for(ws) == "https://api.elections.kalshi.com/trade-api/v2"


def test_demo_recommended_pair() -> None:
    ws = "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2"
    assert rest_url_for(ws) == "https://external-api.demo.kalshi.co/trade-api/v2"


def test_demo_shared_host() -> None:
    ws = "wss://demo-api.kalshi.co/trade-api/ws/v2"
    assert rest_url_for(ws) == "https://demo-api.kalshi.co/trade-api/v2"


@pytest.mark.parametrize(
    ("ws", "rest"),
    [
        ("ws://127.0.0.1:8765/trade-api/ws/v2", "http://127.0.0.1:8765/trade-api/v2"),
        ("ws://localhost:9000/trade-api/ws/v2", "http://localhost:9000/trade-api/v2"),
        ("ws://[::1]:9000/trade-api/ws/v2", "http://[::1]:9000/trade-api/v2"),
        ("wss://127.0.0.1:8443/trade-api/ws/v2", "https://127.0.0.1:8443/trade-api/v2"),
    ],
)
def test_loopback_local_exchange_serves_rest_on_its_port(ws: str, rest: str) -> None:
    assert rest_url_for(ws) == rest


def test_the_table_holds_every_documented_host_once() -> None:
    assert {h.ws_host for h in HOSTS} == {
        "external-api-ws.kalshi.com",
        "api.elections.kalshi.com",
        "external-api-ws.demo.kalshi.co",
        "demo-api.kalshi.co",
    }
    # The bug this table replaces: the WS host reused as the REST host.
    assert rest_url_for("wss://external-api-ws.kalshi.com/trade-api/ws/v2") != (
        "https://external-api-ws.kalshi.com/trade-api/v2"
    )


def test_host_names_are_case_insensitive() -> None:
    assert (
        rest_url_for("wss://Demo-API.Kalshi.co/trade-api/ws/v2") == "https://demo-api.kalshi.co/trade-api/v2"
    )


@pytest.mark.parametrize(
    "ws",
    [
        "wss://example.com/trade-api/ws/v2",
        "wss://external-api-margin-ws.kalshi.com/trade-api/ws/v2/margin",  # perps: not ours
        "wss://kalshi.com.evil.example/trade-api/ws/v2",
    ],
)
def test_unknown_host_is_refused_saying_how_to_pass_the_rest_url(ws: str) -> None:
    with pytest.raises(ConfigError, match=r"unknown Kalshi WebSocket host .*--rest-url"):
        rest_url_for(ws)


@pytest.mark.parametrize("ws", ["https://api.elections.kalshi.com/trade-api/v2", "not a url", ""])
def test_a_non_websocket_url_is_refused(ws: str) -> None:
    with pytest.raises(ConfigError, match="not a WebSocket URL"):
        rest_url_for(ws)


def test_plain_ws_to_a_kalshi_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="speaks wss://"):
        rest_url_for("ws://api.elections.kalshi.com/trade-api/ws/v2")


# -- the settings the CLI builds ----------------------------------------------------------


def test_a_ws_url_from_the_environment_brings_its_own_rest_base(monkeypatch: pytest.MonkeyPatch) -> None:
    from kalshi_rl.cli.common import load_settings

    monkeypatch.delenv("KALSHI_REST_URL", raising=False)
    monkeypatch.setenv("KALSHI_WS_URL", "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2")
    # Before: the production REST default was paired with the demo WebSocket.
    assert load_settings().kalshi_rest_url == "https://external-api.demo.kalshi.co/trade-api/v2"


def test_an_explicit_rest_url_wins_and_allows_an_unknown_ws_host(monkeypatch: pytest.MonkeyPatch) -> None:
    from kalshi_rl.cli.common import load_settings

    monkeypatch.setenv("KALSHI_WS_URL", "wss://proxy.example/trade-api/ws/v2")
    monkeypatch.setenv("KALSHI_REST_URL", "https://proxy.example/trade-api/v2")
    assert load_settings().kalshi_rest_url == "https://proxy.example/trade-api/v2"
    monkeypatch.delenv("KALSHI_REST_URL")
    with pytest.raises(ConfigError, match=r"unknown Kalshi WebSocket host 'proxy\.example'"):
        load_settings()


def test_the_collect_flag_path_uses_the_table() -> None:
    from kalshi_rl.cli.collect import _rest_from_ws

    ws = "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
    assert _rest_from_ws(ws) == "https://external-api.kalshi.com/trade-api/v2"
