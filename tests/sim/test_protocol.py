"""The local exchange answers Kalshi's commands with Kalshi's replies, sids and seqs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kalshi_rl.kalshi.messages import ListSubscriptions, Ok, Unsubscribed, parse_frame


def seqs_of(frames: list[dict[str, Any]], sid: int) -> list[int]:
    return [f["seq"] for f in frames if f.get("sid") == sid and "seq" in f]


async def test_subscribe_sends_subscribed_then_snapshots_then_contiguous_deltas(make_sim, open_probe):
    exchange = await make_sim(rate=3000)
    probe = await open_probe(exchange.ws_url)
    request_id = await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)

    subscribed = await probe.frame()
    assert subscribed == {
        "id": request_id,
        "type": "subscribed",
        "msg": {"channel": "orderbook_delta", "sid": 1},
    }
    snapshots = await probe.frames(2)
    assert [s["type"] for s in snapshots] == ["orderbook_snapshot"] * 2
    assert [s["msg"]["market_ticker"] for s in snapshots] == exchange.tickers
    assert [s["seq"] for s in snapshots] == [1, 2]
    deltas = await probe.frames(200)
    assert {d["type"] for d in deltas} == {"orderbook_delta"}
    assert seqs_of(deltas, 1) == list(range(3, 203))


async def test_one_subscribe_with_two_channels_gives_two_sids_with_their_own_seq(make_sim, open_probe):
    exchange = await make_sim(rate=5000)
    probe = await open_probe(exchange.ws_url)
    request_id = await probe.cmd(
        "subscribe", channels=["orderbook_delta", "trade"], market_tickers=exchange.tickers
    )

    frames = await probe.frames(600)
    subscribed = [f for f in frames if f["type"] == "subscribed"]
    assert [(f["id"], f["msg"]["channel"], f["msg"]["sid"]) for f in subscribed] == [
        (request_id, "orderbook_delta", 1),
        (request_id, "trade", 2),
    ]
    assert seqs_of(frames, 1) == list(range(1, len(seqs_of(frames, 1)) + 1))
    trade_seqs = seqs_of(frames, 2)
    assert trade_seqs
    assert trade_seqs == list(range(1, len(trade_seqs) + 1))
    assert {f["type"] for f in frames if f.get("sid") == 2 and "seq" in f} == {"trade"}


async def test_update_subscription_acks_consume_a_seq_and_add_markets_sends_snapshot(make_sim, open_probe):
    exchange = await make_sim(rate=1000)
    exchange.pause()
    first, second = exchange.tickers
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_ticker=first)
    assert (await probe.frame())["type"] == "subscribed"
    assert (await probe.frame())["seq"] == 1

    add_id = await probe.cmd("update_subscription", sids=[1], action="add_markets", market_tickers=[second])
    ok = await probe.frame()
    assert ok == {"id": add_id, "sid": 1, "seq": 2, "type": "ok", "msg": {"market_tickers": [first, second]}}
    assert isinstance(parse_frame(json.dumps(ok), 0), Ok)
    snapshot = await probe.frame()
    assert (snapshot["type"], snapshot["seq"], snapshot["msg"]["market_ticker"]) == (
        "orderbook_snapshot",
        3,
        second,
    )

    delete_id = await probe.cmd("update_subscription", sid=1, action="delete_markets", market_tickers=[first])
    assert await probe.frame() == {
        "id": delete_id,
        "sid": 1,
        "seq": 4,
        "type": "ok",
        "msg": {"market_tickers": [second]},
    }
    exchange.resume()
    deltas = await probe.frames(50)
    assert {d["msg"]["market_ticker"] for d in deltas} == {second}
    assert seqs_of(deltas, 1) == list(range(5, 55))


async def test_get_snapshot_sends_a_fresh_snapshot_with_the_next_seq_and_the_command_id(make_sim, open_probe):
    exchange = await make_sim(rate=500)
    exchange.pause()
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    await probe.frames(3)

    request_id = await probe.cmd(
        "update_subscription", sids=[1], action="get_snapshot", market_tickers=[exchange.tickers[1]]
    )
    snapshot = await probe.frame()
    assert (snapshot["type"], snapshot["id"], snapshot["sid"], snapshot["seq"]) == (
        "orderbook_snapshot",
        request_id,
        1,
        3,
    )
    parsed = parse_frame(json.dumps(snapshot), 0)
    yes_bids, no_bids = exchange.book(exchange.tickers[1])
    assert (list(parsed.yes_bids), list(parsed.no_bids)) == (yes_bids, no_bids)  # type: ignore[union-attr]


async def test_unsubscribe_answers_unsubscribed_with_the_next_seq_and_stops_the_sid(make_sim, open_probe):
    exchange = await make_sim(rate=2000)
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    await probe.cmd("subscribe", channels=["trade"])
    await probe.frames(100)
    request_id = await probe.cmd("unsubscribe", sids=[1])
    while (reply := await probe.frame())["type"] != "unsubscribed":
        pass
    assert reply["id"] == request_id
    assert isinstance(parse_frame(json.dumps(reply), 0), Unsubscribed)
    everything = [json.loads(t) for t in probe.texts]
    assert seqs_of(everything, 1) == list(range(1, reply["seq"] + 1))
    later = await probe.frames(100)
    assert {f["type"] for f in later} == {"trade"}  # the other sid goes on, sid 1 is silent


async def test_list_subscriptions_answers_ok_with_a_list(make_sim, open_probe):
    exchange = await make_sim(rate=0)
    exchange.pause()
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta", "trade"], market_tickers=exchange.tickers[:1])
    await probe.cmd("subscribe", channels=["market_lifecycle_v2"])
    await probe.frames(4)
    request_id = await probe.cmd("list_subscriptions")
    reply = await probe.frame()
    assert reply == {
        "id": request_id,
        "type": "ok",
        "msg": [
            {"channel": "orderbook_delta", "sid": 1},
            {"channel": "trade", "sid": 2},
            {"channel": "market_lifecycle_v2", "sid": 3},
        ],
    }
    assert isinstance(parse_frame(json.dumps(reply), 0), ListSubscriptions)


T0 = "{t0}"
ERROR_CASES = [
    ("not json at all", 1),
    ("[1, 2]", 1),
    ('{"id": 5}', 1),
    ('{"id": 5, "cmd": "subscribe"}', 2),
    ('{"id": 5, "cmd": "subscribe", "params": {}}', 3),
    ('{"id": 5, "cmd": "unsubscribe", "params": {}}', 4),
    ('{"id": 5, "cmd": "teleport", "params": {}}', 5),
    ('{"id": 5, "cmd": "unsubscribe", "params": {"sids": [99]}}', 7),
    (
        '{"id": 5, "cmd": "update_subscription", "params": {"sids": [99], "action": "get_snapshot", "market_tickers": ["{t0}"]}}',
        7,
    ),
    ('{"id": 5, "cmd": "subscribe", "params": {"channels": ["weather"], "market_tickers": ["{t0}"]}}', 8),
    (
        '{"id": 5, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"], "market_tickers": ["NOPE-26JAN01-X"]}}',
        11,
    ),
    (
        '{"id": 5, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"], "market_tickers": ["lower case"]}}',
        11,
    ),
    (
        '{"id": 5, "cmd": "update_subscription", "params": {"sids": [1, 2], "action": "get_snapshot", "market_tickers": ["{t0}"]}}',
        12,
    ),
    (
        '{"id": 5, "cmd": "update_subscription", "params": {"sids": [1], "action": "teleport", "market_tickers": ["{t0}"]}}',
        13,
    ),
    (
        '{"id": 5, "cmd": "update_subscription", "params": {"sids": [2], "action": "get_snapshot", "market_tickers": ["{t0}"]}}',
        13,
    ),
    ('{"id": 5, "cmd": "update_subscription", "params": {"sids": [1], "action": "add_markets"}}', 14),
    ('{"id": 5, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"]}}', 14),
    ('{"id": 5, "cmd": "update_subscription", "params": {"sids": [1], "market_tickers": ["{t0}"]}}', 15),
    (
        '{"id": 5, "cmd": "update_subscription", "params": {"action": "get_snapshot", "market_tickers": ["{t0}"]}}',
        4,
    ),
]


@pytest.mark.parametrize(("text", "code"), ERROR_CASES)
async def test_bad_commands_get_kalshis_error_code(make_sim, open_probe, text, code):
    exchange = await make_sim(rate=0)
    exchange.pause()
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta", "trade"], market_tickers=exchange.tickers[:1])
    await probe.frames(3)  # subscribed, snapshot, subscribed

    await probe.ws.send(text.replace(T0, exchange.tickers[0]))
    reply = await probe.frame()
    assert reply["type"] == "error"
    assert reply["msg"]["code"] == code
    if code == 1 and '"id"' not in text:
        assert "id" not in reply  # Kalshi omits the id of a command that had none, never "id": null
    else:
        assert reply["id"] == 5
    assert parse_frame(json.dumps(reply), 0).code == code  # type: ignore[union-attr]
    # the connection stays usable
    await probe.cmd("list_subscriptions")
    assert (await probe.frame())["type"] == "ok"
