"""Refused subscriptions (AsyncAPI 2.0.0 error codes 11, 26, 27, ...), answered as their code means.

The client runs its real command path: ``FeedStream.open_connection`` builds the subscribe
commands, a scripted exchange (``Exchange`` below) answers each command the client queued, and
the answers go back through ``KalshiWsClient.feed``. Only what the client sends and reports is
checked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.messages import ErrorReply, Ok, Subscribed
from kalshi_rl.kalshi.subscriptions import Subscriptions
from kalshi_rl.kalshi.ws_client import ORDERBOOK, FeedBreak, KalshiWsClient, WsConfig

Answer = Callable[["Exchange", dict[str, Any]], list[str]]


class Recorder:
    def __init__(self) -> None:
        self.breaks: list[FeedBreak] = []
        self.quarantined: list[str] = []

    def on_connected(self, conn_id: int) -> None:
        pass

    def on_event(self, event: object, raw: str) -> None:
        pass

    def on_control(self, raw: str, recv_ns: int, kind: str = "control") -> None:
        pass

    def on_quarantine(self, raw: str, recv_ns: int, reason: str, market: str | None) -> None:
        self.quarantined.append(reason)

    def on_break(self, feed_break: FeedBreak) -> None:
        self.breaks.append(feed_break)


class Exchange:
    """Answers the client's queued commands with ``answer(command) -> frames``; logs commands."""

    def __init__(self, client: KalshiWsClient, answer: Answer) -> None:
        self.client = client
        self.answer = answer
        self.sent: list[dict[str, Any]] = []
        self.next_sid = 1

    def subscribed(self, cmd: dict[str, Any]) -> list[str]:
        (channel,) = cmd["params"]["channels"]
        self.next_sid += 1
        return [encode.subscribed_frame(cmd["id"], channel, self.next_sid - 1)]

    def pump(self) -> None:
        outbox = self.client._outbox
        while not outbox.empty():
            cmd = json.loads(outbox.get_nowait())
            self.sent.append(cmd)
            for frame in self.answer(self, cmd):
                self.client.feed(frame, 1)

    def subscribes(self, channel: str = ORDERBOOK) -> list[list[str]]:
        return [
            c["params"].get("market_tickers", [])
            for c in self.sent
            if c["cmd"] == "subscribe" and c["params"]["channels"] == [channel]
        ]


def connect(
    markets: tuple[str, ...], answer: Answer, channels: tuple[str, ...] = (ORDERBOOK,)
) -> tuple[KalshiWsClient, Exchange, Recorder]:
    """A client on a new connection whose subscribe commands the exchange has answered."""
    handler = Recorder()
    config = WsConfig(url="ws://unused", market_tickers=markets, channels=channels, reconnect_initial_s=0.01)
    client = KalshiWsClient(config, handler)
    exchange = Exchange(client, answer)
    reconnect(client, exchange)
    return client, exchange, handler


def reconnect(client: KalshiWsClient, exchange: Exchange) -> None:
    exchange.sent.clear()
    for command in client._open_connection():
        client._outbox.put_nowait(command)
    exchange.pump()


def subscribe_only(exchange: Exchange, cmd: dict[str, Any]) -> list[str]:
    return exchange.subscribed(cmd) if cmd["cmd"] == "subscribe" else []


def error(cmd: dict[str, Any], code: int, message: str, **msg: Any) -> str:
    frame = json.loads(encode.error_frame(cmd["id"], code, message))
    frame["msg"].update(msg)
    return json.dumps(frame)


def test_the_book_subscription_asks_for_its_price_encoding_explicitly() -> None:
    _client, exchange, _ = connect(
        ("KX-A",), lambda e, c: [], channels=(ORDERBOOK, "trade", "market_lifecycle_v2")
    )
    params = {c["params"]["channels"][0]: c["params"] for c in exchange.sent}
    assert params[ORDERBOOK] == {"channels": [ORDERBOOK], "use_yes_price": False, "market_tickers": ["KX-A"]}
    assert "use_yes_price" not in params["trade"] and "use_yes_price" not in params["market_lifecycle_v2"]
    assert params["market_lifecycle_v2"] == {"channels": ["market_lifecycle_v2"]}  # no market filter


async def test_rate_limited_subscribe_is_retried_after_a_backoff() -> None:
    refusals = iter([True, True, False])

    def answer(exchange: Exchange, cmd: dict[str, Any]) -> list[str]:
        return [error(cmd, 27, "Too many requests")] if next(refusals) else exchange.subscribed(cmd)

    client, exchange, handler = connect(("KX-A",), answer)
    assert not client.stream.subs.complete  # waiting for the retry: the book stays unsubscribed
    for _ in range(200):
        await asyncio.sleep(0.005)
        exchange.pump()
        if client.stream.subs.by_sid:
            break
    assert exchange.subscribes() == [["KX-A"]] * 3
    ids = [c["id"] for c in exchange.sent]
    assert len(set(ids)) == 3  # each attempt is a new request
    assert client.stats.retries == 2 and client.stats.errors == {27: 2}
    assert client.stream.subs.complete and not handler.breaks


def over_two(exchange: Exchange, cmd: dict[str, Any]) -> list[str]:
    """An exchange whose subscriptions hold two markets at most."""
    if cmd["cmd"] == "subscribe" and len(cmd["params"]["market_tickers"]) > 2:
        return [error(cmd, 26, "Subscription market limit exceeded")]
    return subscribe_only(exchange, cmd)


def test_market_limit_splits_the_request_and_later_requests_keep_the_size() -> None:
    markets = ("KX-A", "KX-B", "KX-C", "KX-D")

    client, exchange, _ = connect(markets, over_two)
    assert exchange.subscribes() == [list(markets), ["KX-A", "KX-B"], ["KX-C", "KX-D"]]
    subs = sorted(client.stream.subs.by_sid.values(), key=lambda s: s.sid)
    assert [(s.sid, s.markets) for s in subs] == [(1, ("KX-A", "KX-B")), (2, ("KX-C", "KX-D"))]
    # A snapshot request goes to the sid that carries the market.
    client.request_snapshot("KX-C")
    exchange.pump()
    assert exchange.sent[-1]["params"] == {"sids": [2], "market_tickers": ["KX-C"], "action": "get_snapshot"}
    # The next connection asks in chunks of that size straight away.
    reconnect(client, exchange)
    assert exchange.subscribes() == [["KX-A", "KX-B"], ["KX-C", "KX-D"]]


def test_a_gap_on_one_of_two_book_sids_breaks_only_its_markets() -> None:
    markets = ("KX-A", "KX-B", "KX-C", "KX-D")

    client, _, handler = connect(markets, over_two)
    client.feed(encode.snapshot_frame(2, 1, "KX-C", "c", [(5000, 1)], []), 2)
    client.feed(encode.snapshot_frame(2, 3, "KX-D", "d", [(5000, 1)], []), 3)
    (gap,) = handler.breaks
    assert (gap.reason, gap.sid, gap.markets) == ("gap", 2, ("KX-C", "KX-D"))


def test_invalid_ticker_named_by_the_error_is_given_up_and_reported() -> None:
    def answer(exchange: Exchange, cmd: dict[str, Any]) -> list[str]:
        if cmd["cmd"] == "subscribe" and "KX-BAD" in cmd["params"]["market_tickers"]:
            return [error(cmd, 11, "Invalid parameter", market_ticker="KX-BAD")]
        return subscribe_only(exchange, cmd)

    markets = ("KX-A", "KX-BAD", "KX-B")
    client, exchange, handler = connect(markets, answer)
    assert exchange.subscribes() == [list(markets), ["KX-A", "KX-B"]]
    (brk,) = handler.breaks
    assert (brk.reason, brk.markets) == ("unsubscribable", ("KX-BAD",))
    assert brk.detail == "orderbook_delta error 11: Invalid parameter"
    assert client.stats.unsubscribable == {"KX-BAD": "orderbook_delta error 11: Invalid parameter"}
    assert client.stream.subs.complete
    # It is never asked for again, not even on a new connection.
    reconnect(client, exchange)
    assert exchange.subscribes() == [["KX-A", "KX-B"]]


def test_invalid_ticker_not_named_is_found_by_bisection() -> None:
    def answer(exchange: Exchange, cmd: dict[str, Any]) -> list[str]:
        if cmd["cmd"] == "subscribe" and "KX-BAD" in cmd["params"]["market_tickers"]:
            return [error(cmd, 11, "Invalid parameter")]
        return subscribe_only(exchange, cmd)

    markets = ("KX-A", "KX-B", "KX-C", "KX-BAD", "KX-E")
    client, _exchange, handler = connect(markets, answer)
    carried = sorted(m for sub in client.stream.subs.by_sid.values() for m in sub.markets)
    assert carried == ["KX-A", "KX-B", "KX-C", "KX-E"]
    assert [b.markets for b in handler.breaks if b.reason == "unsubscribable"] == [("KX-BAD",)]
    assert client.stream.subs.complete


def test_a_channel_refused_for_authentication_gives_up_its_markets() -> None:
    _client, _, handler = connect(("KX-A", "KX-B"), lambda e, cmd: [error(cmd, 9, "Authentication required")])
    assert [(b.reason, b.markets) for b in handler.breaks] == [("unsubscribable", ("KX-A", "KX-B"))]


async def test_an_unexplained_refusal_is_retried_a_few_times_then_given_up() -> None:
    _client, exchange, handler = connect(
        ("KX-A",), lambda e, cmd: [error(cmd, 1, "Unable to process message")]
    )
    for _ in range(400):
        await asyncio.sleep(0.005)
        exchange.pump()
        if handler.breaks:
            break
    assert exchange.subscribes() == [["KX-A"]] * 5
    assert [(b.reason, b.markets) for b in handler.breaks] == [("unsubscribable", ("KX-A",))]


def test_one_market_over_the_limit_is_given_up_not_split_forever() -> None:
    _client, exchange, handler = connect(
        ("KX-A",), lambda e, cmd: [error(cmd, 26, "Subscription market limit exceeded")]
    )
    assert exchange.subscribes() == [["KX-A"]]
    assert [b.markets for b in handler.breaks] == [("KX-A",)]


# -- the bookkeeping issue 11 builds on: markets added to and removed from a running sid ----------


def test_add_and_delete_markets_follow_the_full_list_the_exchange_acknowledges() -> None:
    subs = Subscriptions((ORDERBOOK,), ("KX-A",))
    (subscribe,) = subs.subscribe_all()
    sub = subs.on_subscribed(Subscribed(json.loads(subscribe)["id"], ORDERBOOK, 7))
    add = json.loads(subs.add_markets(sub, ("KX-B", "KX-C")))
    assert add["params"] == {"sids": [7], "action": "add_markets", "market_tickers": ["KX-B", "KX-C"]}
    subs.on_ok(Ok(add["id"], 7, 3, ("KX-A", "KX-B", "KX-C")))
    assert sub.markets == ("KX-A", "KX-B", "KX-C")
    delete = json.loads(subs.delete_markets(sub, ("KX-A",)))
    subs.on_ok(Ok(delete["id"], 7, 4, ()))
    assert sub.markets == ("KX-B", "KX-C")  # skip_ticker_ack: no list, the request says what changed
    assert subs.carrying(ORDERBOOK, "KX-B") is sub and subs.carrying(ORDERBOOK, "KX-A") is None


def test_markets_the_limit_refuses_to_add_get_a_subscription_of_their_own() -> None:
    subs = Subscriptions((ORDERBOOK,), ("KX-A",))
    (subscribe,) = subs.subscribe_all()
    sub = subs.on_subscribed(Subscribed(json.loads(subscribe)["id"], ORDERBOOK, 7))
    add = json.loads(subs.add_markets(sub, ("KX-B",)))
    refusal = subs.on_error(ErrorReply(add["id"], 26, "Subscription market limit exceeded"))
    assert refusal is not None and not refusal.given_up
    (resend,) = [json.loads(c) for c in refusal.resend]
    assert resend["cmd"] == "subscribe" and resend["params"]["market_tickers"] == ["KX-B"]
