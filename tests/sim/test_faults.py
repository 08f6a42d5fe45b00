"""Fault injection: lost messages leave seq gaps, drops abort, malformed frames are bad, stalls pause."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import ConnectionClosedError

from kalshi_rl.core.errors import ConfigError, FrameError
from kalshi_rl.core.events import BookDelta, BookSnapshot, Side
from kalshi_rl.kalshi.messages import ErrorReply, parse_frame
from kalshi_rl.sim.faults import MALFORMED_VARIANTS, FaultConfig
from kalshi_rl.sim.ledger import AckPayload, MalformedPayload

from .conftest import Book, Probe, apply_delta, as_levels, replay


async def test_gap_every_consumes_seqs_without_sending_and_still_moves_the_book(make_sim, open_probe):
    exchange = await make_sim(rate=3000, faults=FaultConfig(gap_every=10))
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    await probe.frames(300)
    exchange.pause()
    await exchange.drain()
    await probe.until_quiet(0.2)

    received = [json.loads(t)["seq"] for t in probe.texts if "seq" in json.loads(t)]
    missing = sorted(set(range(1, received[-1] + 1)) - set(received))
    entries = exchange.ledger.entries(1)
    lost = [e for e in entries if e.kind == "lost"]
    assert len(lost) >= 30
    assert [e.seq for e in lost] == missing
    assert all(not e.sent and e.original_kind == "delta" for e in lost)
    assert exchange.counters.messages_lost == len(lost)
    assert received[:2] == [1, 2]  # snapshots are never lost
    books = replay(entries, generated=True)  # what the exchange generated, lost ones included
    assert {t: as_levels(b) for t, b in books.items()} == {t: exchange.book(t) for t in books}


async def read_forever(probe: Probe) -> None:
    while True:
        await probe.text()


async def test_drop_every_aborts_the_connection_after_n_data_messages(make_sim, open_probe):
    exchange = await make_sim(rate=3000, faults=FaultConfig(drop_every=40))
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    with pytest.raises(ConnectionClosedError) as info:
        await read_forever(probe)
    assert info.value.rcvd is None  # no close frame: the TCP connection was just dropped
    data = [t for t in probe.texts if '"seq"' in t]
    assert len(data) == 40
    assert exchange.counters.drops == 1
    sent = [e for e in exchange.ledger.entries(1) if e.kind != "ack" and e.sent]
    assert len(sent) == 40

    again = await open_probe(exchange.ws_url)
    await again.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    assert (await again.frame())["msg"]["sid"] == 1  # a new connection numbers its sids afresh
    assert exchange.ledger.connections() == [1, 2]


async def test_malformed_every_sends_each_kind_of_bad_frame_on_the_book_sid(make_sim, open_probe):
    exchange = await make_sim(rate=3000, faults=FaultConfig(malformed_every=6))
    subscribed, foreign = exchange.tickers
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=[subscribed])
    for _ in range(90):
        await probe.text()  # some frames are not JSON
    exchange.pause()
    await exchange.drain()
    await probe.until_quiet(0.2)

    entries = exchange.ledger.entries(1)
    malformed = [e for e in entries if e.kind == "malformed"]
    assert [e.payload.variant for e in malformed[:5]] == list(MALFORMED_VARIANTS)  # type: ignore[union-attr]
    seqs = [e.seq for e in entries if e.sid == 1 and e.seq is not None]
    assert seqs == list(range(1, len(seqs) + 1))  # malformed frames consume seqs of the book sid

    book: Book = {Side.YES: {}, Side.NO: {}}
    by_text = {e.payload.text: e for e in malformed if isinstance(e.payload, MalformedPayload)}
    for text in probe.texts:
        entry = by_text.get(text)
        if entry is None:
            message = parse_frame(text, 0)
            if isinstance(message, BookSnapshot):
                book = {Side.YES: dict(message.yes_bids), Side.NO: dict(message.no_bids)}
            elif isinstance(message, BookDelta):
                apply_delta(book, message.side, message.price_ticks, message.delta_units)
            continue
        variant = entry.payload.variant  # type: ignore[union-attr]
        if variant == "invalid_json":
            with pytest.raises(ValueError):
                json.loads(text)
        elif variant in ("unknown_type", "price_out_of_range"):
            with pytest.raises(FrameError):
                parse_frame(text, 0)
            if variant == "price_out_of_range":
                assert json.loads(text)["msg"]["price_dollars"] == "1.2000"
        elif variant == "negative_level":
            delta = parse_frame(text, 0)
            assert isinstance(delta, BookDelta)
            assert delta.market_ticker == subscribed
            assert book[delta.side].get(delta.price_ticks, 0) + delta.delta_units < 0
        else:
            delta = parse_frame(text, 0)
            assert isinstance(delta, BookDelta)
            assert delta.market_ticker == foreign
    assert len(by_text) >= 10
    books = replay(entries)  # malformed frames never touch the exchange's book
    assert as_levels(books[subscribed]) == exchange.book(subscribed)


async def test_stall_every_pauses_the_connection_while_the_market_moves_on(make_sim, open_probe):
    exchange = await make_sim(rate=2000, faults=FaultConfig(stall_every=50, stall_seconds=0.6))
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    arrivals = []
    for _ in range(160):
        await probe.text()
        arrivals.append(time.time())
    data = [i for i, t in enumerate(probe.texts) if '"seq"' in t]
    fiftieth = data[49]
    # Lower bounds only: a loaded machine can make any gap longer, never a stall shorter.
    assert arrivals[fiftieth + 1] - arrivals[fiftieth] >= 0.5
    after = [i for i in data if i > fiftieth][:50]
    delays = [arrivals[i] - json.loads(probe.texts[i])["msg"]["ts_ms"] / 1000 for i in after]
    # The first messages after the stall were generated while the connection stalled, queued,
    # then sent; once the queue drains fresh ones follow (sooner when a loaded machine slows the
    # generator), so only the head of the window is asserted.
    assert min(delays[:5]) >= 0.3
    seqs = [json.loads(probe.texts[i])["seq"] for i in data]
    assert seqs == list(range(1, len(seqs) + 1))  # nothing lost
    assert exchange.counters.stalls >= 2


async def test_a_connection_that_falls_too_far_behind_gets_terminal_error_25(make_sim, open_probe):
    exchange = await make_sim(
        rate=5000, max_outbox_frames=300, faults=FaultConfig(stall_every=5, stall_seconds=0.5)
    )
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    while (frame := await probe.frame())["type"] != "error":
        pass
    reply = parse_frame(json.dumps(frame), 0)
    assert isinstance(reply, ErrorReply)
    assert (reply.code, reply.sid, reply.is_terminal) == (25, 1, True)
    assert exchange.counters.overflows == 1
    assert await probe.until_quiet(0.3) == []  # the subscription is gone
    await probe.cmd("list_subscriptions")
    assert (await probe.frame())["msg"] == []


async def test_drop_snapshot_replies_leaves_the_first_n_get_snapshot_requests_unanswered(
    make_sim, open_probe
):
    exchange = await make_sim(rate=500, faults=FaultConfig(drop_snapshot_replies=2))
    exchange.pause()
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    assert [f["type"] for f in await probe.frames(3)] == ["subscribed", *["orderbook_snapshot"] * 2]

    for _ in range(2):
        await probe.cmd(
            "update_subscription", sids=[1], action="get_snapshot", market_tickers=exchange.tickers
        )
    assert await probe.until_quiet(0.3) == []  # no reply, and no seq consumed
    assert exchange.counters.snapshot_replies_dropped == 2

    third = await probe.cmd(
        "update_subscription", sids=[1], action="get_snapshot", market_tickers=exchange.tickers[:1]
    )
    reply = await probe.frame()
    assert (reply["type"], reply["id"], reply["seq"]) == ("orderbook_snapshot", third, 3)
    # An invalid request is refused as usual (it does not count as a dropped reply).
    await probe.cmd("update_subscription", sids=[9], action="get_snapshot", market_tickers=exchange.tickers)
    assert (await probe.frame())["msg"]["code"] == 7
    assert exchange.counters.snapshot_replies_dropped == 2


@pytest.mark.parametrize(("code", "message"), [(25, "Subscription buffer overflow"), (10, "Channel error")])
async def test_error_every_ends_the_book_subscription_with_a_terminal_error_carrying_its_sid(
    make_sim, open_probe, code: int, message: str
):
    exchange = await make_sim(rate=3000, faults=FaultConfig(error_every=40, error_code=code))
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["trade"])
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    book_seqs = []
    while (frame := await probe.frame())["type"] != "error":
        if frame.get("sid") == 2:
            book_seqs.append(frame["seq"])
    # AsyncAPI 2.0.0: a subscription-scoped error carries the sid and, on a sequenced channel,
    # a seq (the sid's next); no "id" key when no command caused it.
    assert frame == {
        "type": "error",
        "msg": {"code": code, "msg": message},
        "sid": 2,
        "seq": book_seqs[-1] + 1,
    }
    reply = parse_frame(json.dumps(frame), 0)
    assert isinstance(reply, ErrorReply) and reply.is_terminal

    later = await probe.frames(20)
    assert {f["sid"] for f in later} == {1}  # nothing more on the book sid; trades go on
    exchange.pause()
    await probe.until_quiet(0.3)
    await probe.cmd("list_subscriptions")
    listing = await probe.frame()
    assert {"channel": "orderbook_delta", "sid": 2} not in listing["msg"]
    errors = [
        e
        for e in exchange.ledger.entries(1)
        if isinstance(e.payload, AckPayload) and e.payload.reply == "error"
    ]
    first = errors[0]
    assert (first.sid, first.channel, first.payload.code, first.sent) == (2, "orderbook_delta", code, True)
    # Once the book sid is gone the next errors end the subscription that triggers them.
    assert all(e.sid == 1 for e in errors[1:])
    assert exchange.counters.subscription_errors == len(errors)


def test_fault_config_refuses_an_error_code_that_does_not_end_a_subscription() -> None:
    with pytest.raises(ConfigError, match="10 or 25"):
        FaultConfig(error_every=5, error_code=7)
    with pytest.raises(ConfigError, match="drop_snapshot_replies"):
        FaultConfig(drop_snapshot_replies=-1)
