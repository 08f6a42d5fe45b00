"""The two orderbook price encodings (AsyncAPI 2.0.0 ``use_yes_price``), forced ones and a mid-run switch.

With ``use_yes_price: false`` a NO bid at q is sent at q; with ``true`` at 1 - q (field names,
counts and level order unchanged). A book read with the encoding it was sent in equals the
exchange's book; read the other way it is mirrored, and the stream stops making sense.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from kalshi_rl.core.events import Side
from kalshi_rl.core.units import PRICE_SCALE, parse_count_fp, parse_price_dollars
from kalshi_rl.sim import ScheduleConfig

from .conftest import Book, Probe, as_levels, new_book


def read_book(frames: list[dict[str, Any]], sid: int, yes_leg: bool | list[bool]) -> tuple[Book, list[str]]:
    """Rebuild one sid's book from its frames, reading NO prices as ``1 - p`` when ``yes_leg``.

    ``yes_leg`` may give the encoding per book frame. Returns the book and what went wrong
    reading it (levels going negative, a crossed book), the way a client would notice.
    """
    book = new_book()
    problems: list[str] = []
    book_frames = [f for f in frames if f.get("sid") == sid and f["type"].startswith("orderbook")]
    flags = yes_leg if isinstance(yes_leg, list) else [yes_leg] * len(book_frames)
    for frame, flag in zip(book_frames, flags, strict=True):
        msg = frame["msg"]

        def price(side: Side, text: str, flag: bool = flag) -> int:
            ticks = parse_price_dollars(text)
            return PRICE_SCALE - ticks if flag and side is Side.NO else ticks

        if frame["type"] == "orderbook_snapshot":
            book = new_book()
            for side, key in ((Side.YES, "yes_dollars_fp"), (Side.NO, "no_dollars_fp")):
                for level_price, size in msg.get(key, []):
                    book[side][price(side, level_price)] = parse_count_fp(size)
        else:
            side = Side(msg["side"])
            at = price(side, msg["price_dollars"])
            size = book[side].get(at, 0) + parse_count_fp(msg["delta_fp"])
            if size < 0:
                problems.append(f"{side.value} {at} went negative")
                size = 0
            if size:
                book[side][at] = size
            else:
                book[side].pop(at, None)
        if book[Side.YES] and book[Side.NO] and max(book[Side.YES]) + max(book[Side.NO]) >= PRICE_SCALE:
            problems.append("crossed")
    return book, problems


async def frames_until_quiet(probe: Probe) -> list[dict[str, Any]]:
    """Return every frame the probe has received, after reading until the connection is quiet."""
    await probe.until_quiet(0.3)  # appends to probe.texts
    return [json.loads(t) for t in probe.texts]


async def test_use_yes_price_sends_no_levels_as_one_minus_q_and_both_read_back_to_the_book(
    make_sim, open_probe
):
    exchange = await make_sim(rate=3_000, markets=1)
    exchange.pause()
    (ticker,) = exchange.tickers
    probe = await open_probe(exchange.ws_url)
    await probe.cmd(
        "subscribe", channels=["orderbook_delta"], market_ticker=ticker
    )  # sid 1: no-leg (default)
    await probe.cmd(
        "subscribe", channels=["orderbook_delta"], market_ticker=ticker, use_yes_price=True
    )  # sid 2
    frames = await probe.frames(4)
    no_leg, yes_leg = (f["msg"] for f in frames if f["type"] == "orderbook_snapshot")
    assert yes_leg["yes_dollars_fp"] == no_leg["yes_dollars_fp"]
    assert yes_leg["no_dollars_fp"] == [
        [f"{(PRICE_SCALE - parse_price_dollars(p)) / PRICE_SCALE:.4f}", size]
        for p, size in no_leg["no_dollars_fp"]
    ]
    exchange.resume()
    await probe.frames(600)
    exchange.pause()
    await exchange.drain()
    frames = await frames_until_quiet(probe)
    no_deltas = [f for f in frames if f["type"] == "orderbook_delta" and f["msg"]["side"] == "no"]
    assert {f["sid"] for f in no_deltas} == {1, 2}

    right_1, problems_1 = read_book(frames, 1, yes_leg=False)
    right_2, problems_2 = read_book(frames, 2, yes_leg=True)
    assert as_levels(right_1) == as_levels(right_2) == exchange.book(ticker)
    assert problems_1 == problems_2 == []
    wrong, problems = read_book(frames, 2, yes_leg=False)  # a client that assumed the default
    assert sorted(wrong[Side.NO]) == sorted(PRICE_SCALE - p for p in right_2[Side.NO])  # mirrored
    assert "crossed" in problems
    entries = [e for e in exchange.ledger.sent(1) if e.kind in ("snapshot", "delta")]
    assert {e.sid for e in entries if e.yes_leg} == {2}


async def test_a_forced_encoding_ignores_the_flag(make_sim, open_probe):
    for mode, flag, expect_yes_leg in (("yes_leg", False, True), ("no_leg", True, False)):
        exchange = await make_sim(rate=3_000, markets=1, price_encoding=mode)
        probe = await open_probe(exchange.ws_url)
        await probe.cmd(
            "subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers, use_yes_price=flag
        )
        await probe.frames(300)
        exchange.pause()
        await exchange.drain()
        frames = await frames_until_quiet(probe)
        book, problems = read_book(frames, 1, yes_leg=expect_yes_leg)
        assert (as_levels(book), problems) == (exchange.book(exchange.tickers[0]), []), mode
        assert {e.yes_leg for e in exchange.ledger.sent(1) if e.kind in ("snapshot", "delta")} == {
            expect_yes_leg
        }


async def test_an_encoding_switch_mid_run_flips_every_book_subscription_unannounced(make_sim, open_probe):
    exchange = await make_sim(rate=3_000, markets=1)
    (ticker,) = exchange.tickers
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_ticker=ticker)
    await probe.frames(300)
    exchange.switch_encoding()
    await probe.frames(300)
    await probe.cmd("update_subscription", sid=1, action="get_snapshot", market_ticker=ticker)
    await probe.frames(100)
    exchange.pause()
    await exchange.drain()
    frames = await frames_until_quiet(probe)

    (switch,) = exchange.ledger.actions("encoding_switched")
    assert switch.fields == {"flipped": True}
    sent = [e for e in exchange.ledger.sent(1) if e.kind in ("snapshot", "delta")]
    flags = [e.yes_leg for e in sent]
    assert flags[0] is False and flags[-1] is True
    assert flags == sorted(flags)  # one switch: no-leg, then yes-leg only
    resnapshot = [e for e in sent if e.kind == "snapshot"][-1]
    assert resnapshot.yes_leg and resnapshot.payload.request_id is not None  # type: ignore[union-attr]
    book, problems = read_book(frames, 1, yes_leg=flags)  # knowing when it switched
    assert (as_levels(book), problems) == (exchange.book(ticker), [])
    _, problems = read_book(frames, 1, yes_leg=False)  # not knowing: the book stops making sense
    assert problems


async def test_the_schedule_switches_the_encoding_and_rest_stays_no_leg(make_sim, open_probe):
    exchange = await make_sim(rate=2_000, markets=1, schedule=ScheduleConfig(encoding_switch_at_s=(0.2, 0.4)))
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    while len(exchange.ledger.actions("encoding_switched")) < 2:
        await probe.frame()
    await probe.frames(100)  # some after the switch back
    exchange.pause()
    await exchange.drain()
    frames = await frames_until_quiet(probe)
    first, second = exchange.ledger.actions("encoding_switched")
    assert (first.fields, second.fields) == ({"flipped": True}, {"flipped": False})
    assert second.at_ms - first.at_ms >= 150
    flags = [e.yes_leg for e in exchange.ledger.sent(1) if e.kind in ("snapshot", "delta")]
    assert True in flags and flags[-1] is False
    book, problems = read_book(frames, 1, yes_leg=flags)
    assert (as_levels(book), problems) == (exchange.book(exchange.tickers[0]), [])
    async with httpx.AsyncClient() as http:
        rest = (await http.get(f"{exchange.rest_url}/markets/{exchange.tickers[0]}/orderbook")).json()
    yes_bids, no_bids = exchange.book(exchange.tickers[0])
    assert rest["orderbook_fp"]["no_dollars"] == [
        [f"{p / PRICE_SCALE:.4f}", f"{s / 100:.2f}"] for p, s in no_bids
    ]
    assert rest["orderbook_fp"]["yes_dollars"] == [
        [f"{p / PRICE_SCALE:.4f}", f"{s / 100:.2f}"] for p, s in yes_bids
    ]
