"""With a public key configured, only handshakes signed by its private key get through."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from kalshi_rl.kalshi.auth import Credentials


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    private_key = _key()
    path = tmp_path_factory.mktemp("keys") / "public.pem"
    path.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return Credentials("sim-key", private_key), Credentials("other-key", _key()), path


async def _refused(url: str, headers: dict[str, str] | None) -> dict:
    with pytest.raises(InvalidStatus) as info:
        await connect(url, additional_headers=headers, compression=None)
    assert info.value.response.status_code == 401
    return json.loads(info.value.response.body)


async def test_a_valid_signature_is_accepted(make_sim, keys):
    good, _, path = keys
    exchange = await make_sim(public_key_path=path, rate=0)
    async with connect(exchange.ws_url, additional_headers=good.headers("GET", exchange.ws_url)) as ws:
        await ws.send('{"id":1,"cmd":"list_subscriptions"}')
        assert json.loads(await ws.recv()) == {"id": 1, "type": "ok", "msg": []}


async def test_a_signature_by_another_key_is_refused_with_401(make_sim, keys):
    _, other, path = keys
    exchange = await make_sim(public_key_path=path, rate=0)
    body = await _refused(exchange.ws_url, other.headers("GET", exchange.ws_url))
    assert body["error"]["code"] == "authentication_error"


async def test_missing_headers_are_refused_with_401(make_sim, keys):
    _, _, path = keys
    exchange = await make_sim(public_key_path=path, rate=0)
    body = await _refused(exchange.ws_url, None)
    assert body["error"]["code"] == "signature_is_missing_from_headers"


async def test_a_timestamp_more_than_30_s_old_is_refused(make_sim, keys):
    good, _, path = keys
    exchange = await make_sim(public_key_path=path, rate=0)
    stale_ms = int(time.time() * 1000) - 31_000
    body = await _refused(exchange.ws_url, good.headers("GET", exchange.ws_url, now_ms=stale_ms))
    assert body["error"]["code"] == "header_timestamp_expired"


async def test_a_signature_over_another_path_is_refused(make_sim, keys):
    good, _, path = keys
    exchange = await make_sim(public_key_path=path, rate=0)
    await _refused(exchange.ws_url, good.headers("GET", "/trade-api/v2/markets"))


async def test_without_a_key_everyone_is_accepted_and_rest_needs_no_signature(make_sim, keys):
    _, _, path = keys
    open_exchange = await make_sim(rate=0)
    async with connect(open_exchange.ws_url) as ws:
        await ws.send('{"id":1,"cmd":"list_subscriptions"}')
        assert json.loads(await ws.recv())["type"] == "ok"
    locked = await make_sim(public_key_path=path, rate=0)
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{locked.rest_url}/markets/{locked.tickers[0]}")
    assert response.status_code == 200
