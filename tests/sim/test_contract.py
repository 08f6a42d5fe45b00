"""Contract: every frame the local exchange sends and every REST body it answers is Kalshi's shape.

Expectations are our own transcription of Kalshi's documents, held in ``kalshi_documents.py``
(AsyncAPI 2.0.0, TexasCoding/kalshi-python-sdk ``specs/asyncapi.yaml`` @ bcd7533ecf1597466732
0f5cc8932818a1351b3c) and ``kalshi_rest_documents.py`` (OpenAPI 3.31.0, same repository,
``specs/openapi.yaml`` @ the same commit): exact field sets, required fields, JSON types,
enums, consts and formats; for ``market_lifecycle_v2`` also which optional keys each
``event_type`` carries ("This key will ONLY exist when ..."). The runs below make the exchange
send every frame type it has, and the tests check that each one was seen.
"""

from __future__ import annotations

import json
import time
from fractions import Fraction
from typing import Any

import httpx

from kalshi_rl.core.fee_schedule import FeeSchedule, FeeSource, FeeType
from kalshi_rl.sim.faults import FaultConfig
from tests.support.waiting import eventually

from .conftest import Probe
from .kalshi_documents import LIFECYCLE_KEYS, check, frame_spec
from .kalshi_rest_documents import ERROR_BODY, GET_EVENT, GET_MARKET, GET_MARKETS, GET_ORDERBOOK, GET_SERIES

REAL_TICKER = "KXBTCD-25AUG0517-T114999.99"  # AsyncAPI's own example, with a '.'


def kind_of(frame: dict[str, Any]) -> str:
    if frame["type"] == "market_lifecycle_v2":
        return f"market_lifecycle_v2/{frame['msg']['event_type']}"
    if frame["type"] == "ok" and isinstance(frame.get("msg"), list):
        return "ok/list"
    return str(frame["type"])


async def read_until(
    probe: Probe, seen: list[dict[str, Any]], wanted: set[str], timeout: float = 20.0
) -> None:
    """Read frames into ``seen`` until every kind in ``wanted`` was among them (or fail)."""
    deadline = time.monotonic() + timeout
    while not wanted <= {kind_of(f) for f in seen}:
        missing = wanted - {kind_of(f) for f in seen}
        assert time.monotonic() < deadline, f"never sent: {sorted(missing)}"
        seen.append(await probe.frame(max(0.05, deadline - time.monotonic())))


def check_frames(frames: list[dict[str, Any]]) -> None:
    """Every frame matches its payload; every sid's seqs run 1, 2, 3, ... (no false gap)."""
    seqs: dict[int, list[int]] = {}
    for frame in frames:
        check(frame, frame_spec(frame), kind_of(frame))
        if frame["type"] == "market_lifecycle_v2" and frame["msg"]["event_type"] in LIFECYCLE_KEYS:
            msg = frame["msg"]
            extra = set(msg) - {"market_ticker", "event_type"}
            allowed = LIFECYCLE_KEYS[msg["event_type"]]
            assert extra <= allowed, f"{msg['event_type']} carries {sorted(extra - allowed)}"
        if "seq" in frame:
            seqs.setdefault(frame["sid"], []).append(frame["seq"])
    for sid, values in seqs.items():
        assert values == list(range(1, len(values) + 1)), f"sid {sid}: seqs {values[:20]}..."


async def test_every_websocket_frame_matches_the_asyncapi_document(make_sim, open_probe):
    exchange = await make_sim(
        rate=1_500,
        strike_tickers=True,
        settlement_delay_s=0.2,
        max_markets_per_subscription=3,
        command_rate=0.001,
        command_burst=40,
    )
    first, second = exchange.tickers
    assert "." in first
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["market_lifecycle_v2"])  # sid 1
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_ticker=first)  # sid 2
    await probe.cmd(
        "subscribe", channels=["orderbook_delta"], market_tickers=[second], use_yes_price=True
    )  # sid 3
    await probe.cmd(
        "subscribe", channels=["ticker"], market_tickers=[first, second], send_initial_snapshot=True
    )
    await probe.cmd("subscribe", channels=["trade"])  # sid 5
    await probe.cmd("subscribe", channels=["ticker"], market_tickers=[second], skip_ticker_ack=True)  # sid 6
    seen = await probe.frames(400)

    now_ms = time.time_ns() // 1_000_000
    (event_ticker,) = exchange.events
    exchange.deactivate(first)
    exchange.activate(first)
    exchange.update_close_time(second, now_ms + 600_000)
    exchange.update_price_grid(first, "deci_cent")
    exchange.update_metadata(second, "Above 199.99")
    exchange.update_event_fee(
        event_ticker, FeeSchedule(FeeType.FLAT, Fraction(3, 2), FeeSource.EVENT_OVERRIDE)
    )
    exchange.update_event_fee(event_ticker, None)
    created = exchange.create_event()
    exchange.update_close_time(first, now_ms)  # closes now: determined, then settled
    third = created.markets[0].ticker

    await probe.cmd("update_subscription", sids=[2], action="add_markets", market_tickers=[third])  # ok
    await probe.cmd("update_subscription", sid=6, action="add_markets", market_ticker=third)  # ok, no msg
    await probe.cmd("update_subscription", sid=6, action="add_markets", market_ticker="NOPE-26JAN01-X")  # 11
    await probe.cmd(
        "update_subscription", sid=4, action="add_markets", market_ids=[created.markets[1].market_id]
    )
    await probe.cmd("update_subscription", sids=[3], action="get_snapshot", market_tickers=[second])
    await probe.cmd(
        "update_subscription",
        sids=[2],
        action="add_markets",
        market_tickers=[second, created.markets[1].ticker],
    )
    await probe.cmd(
        "update_subscription", sids=[1], action="add_markets", market_tickers=[first]
    )  # 13, sid 1
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=[REAL_TICKER])  # 11, unknown
    await probe.cmd("unsubscribe", sids=[99])  # 7
    await probe.cmd("list_subscriptions")
    await probe.cmd("unsubscribe", sids=[5])
    wanted = {
        "subscribed",
        "orderbook_snapshot",
        "orderbook_delta",
        "ticker",
        "trade",
        "ok",
        "ok/list",
        "unsubscribed",
        "error",
        "event_lifecycle",
        "event_fee_update",
        *(f"market_lifecycle_v2/{t}" for t in (*LIFECYCLE_KEYS, "metadata_updated")),
    }
    await read_until(probe, seen, wanted)
    exchange.pause()
    await exchange.drain()
    seen += [json.loads(t) for t in await probe.until_quiet(0.3)]

    check_frames(seen)
    errors = {(f["msg"]["code"], f.get("sid")): f for f in seen if f["type"] == "error"}
    assert set(errors) == {(11, 6), (26, 2), (13, 1), (11, None), (7, None)}
    assert errors[(11, None)]["msg"]["market_ticker"] == REAL_TICKER  # accepted as a ticker, unknown
    assert errors[(11, 6)]["msg"]["market_ticker"] == "NOPE-26JAN01-X"
    assert all("seq" in errors[key] for key in ((26, 2), (13, 1)))  # sequenced channels
    assert "seq" not in errors[(11, 6)]  # the ticker channel is not sequenced
    assert all("seq" not in f for f in seen if f["type"] == "ticker")
    oks = [f for f in seen if kind_of(f) == "ok"]
    assert [(f["sid"], "msg" in f) for f in oks] == [(2, True), (6, False), (4, True)]  # 6: skip_ticker_ack
    assert oks[0]["msg"]["market_tickers"] == [first, third]
    assert oks[2]["msg"]["market_tickers"] == [first, second, created.markets[1].ticker]  # added by market id
    by_type = {kind_of(f): f["msg"] for f in reversed(seen) if f["type"] == "market_lifecycle_v2"}
    assert by_type["market_lifecycle_v2/deactivated"]["is_deactivated"] is True
    assert by_type["market_lifecycle_v2/activated"]["is_deactivated"] is False
    fee_updates = [f["msg"] for f in seen if f["type"] == "event_fee_update"]
    assert fee_updates == [
        {"event_ticker": event_ticker, "fee_type_override": "flat", "fee_multiplier_override": 1.5},
        {"event_ticker": event_ticker, "fee_type_override": None, "fee_multiplier_override": None},
    ]


async def test_rate_limit_and_terminal_errors_match_the_document(make_sim, open_probe):
    limited = await make_sim(rate=500, command_rate=0.001, command_burst=3)
    probe = await open_probe(limited.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=limited.tickers[:1])
    await probe.cmd("list_subscriptions")
    await probe.cmd("list_subscriptions")
    await probe.cmd("update_subscription", sid=1, action="add_markets", market_tickers=limited.tickers[1:])
    await probe.cmd("list_subscriptions")
    frames: list[dict[str, Any]] = []
    while len([f for f in frames if f["type"] == "error"]) < 2:
        frames.append(await probe.frame())
    check_frames(frames)
    refused = [f for f in frames if f["type"] == "error"]
    assert [(f["msg"]["code"], f.get("sid"), "seq" in f) for f in refused] == [
        (27, 1, True),
        (27, None, False),
    ]
    assert limited.counters.refusals == 2

    faulty = await make_sim(rate=2_000, faults=FaultConfig(error_every=60, error_code=25))
    other = await open_probe(faulty.ws_url)
    await other.cmd("subscribe", channels=["orderbook_delta"], market_tickers=faulty.tickers)
    ended = [await other.frame()]
    while ended[-1]["type"] != "error":
        ended.append(await other.frame())
    check_frames(ended)
    assert (ended[-1]["sid"], ended[-1]["msg"]["code"], ended[-1]["seq"]) == (1, 25, ended[-2]["seq"] + 1)


async def test_every_rest_body_matches_the_openapi_document(make_sim):
    exchange = await make_sim(
        rate=3_000,
        markets=3,
        strike_tickers=True,
        fee_type="quadratic_with_maker_fees",
        fee_multiplier="0.5",
        settlement_delay_s=0.1,
    )
    await eventually(
        lambda: all(m.volume_units for m in exchange.markets.values()), "a trade in every market"
    )
    exchange.pause()
    first, second, third = exchange.tickers
    (event_ticker,) = exchange.events
    exchange.deactivate(second)
    exchange.update_event_fee(
        event_ticker, FeeSchedule(FeeType.QUADRATIC, Fraction(2), FeeSource.EVENT_OVERRIDE)
    )
    exchange.update_close_time(third, time.time_ns() // 1_000_000)
    await eventually(lambda: exchange.markets[third].status == "finalized", "settlement")
    async with httpx.AsyncClient(base_url=exchange.rest_url) as http:

        async def get(path: str, status: int = 200) -> Any:
            response = await http.get(path)
            assert response.status_code == status, (path, response.text)
            assert response.headers["content-type"] == "application/json"
            return response.json()

        market = await get(f"/markets/{first}")
        check(market, GET_MARKET)
        for status in (
            "",
            "?status=open",
            "?status=paused",
            "?status=settled",
            "?status=closed",
            "?status=unopened",
        ):
            check(await get(f"/markets{status}"), GET_MARKETS)
        page = await get("/markets?limit=2")
        check(page, GET_MARKETS)
        check(await get(f"/markets?limit=2&cursor={page['cursor']}"), GET_MARKETS)
        check(await get(f"/markets/{first}/orderbook"), GET_ORDERBOOK)
        check(await get(f"/markets/{third}/orderbook?depth=1"), GET_ORDERBOOK)
        series = await get("/series/KXSIM?include_volume=true")
        check(series, GET_SERIES)
        event = await get(f"/events/{event_ticker}")
        check(event, GET_EVENT)
        nested = await get(f"/events/{event_ticker}?with_nested_markets=true")
        check(nested, GET_EVENT)
        for path in ("/markets/NOPE-26JAN01-X", "/series/NOPE", "/events/NOPE-26JAN01", "/portfolio/balance"):
            check(await get(path, 404), ERROR_BODY)
        for path in (
            "/markets?limit=1001",
            "/markets?status=active",
            "/markets?cursor=zzz",
            "/markets?limit=x",
        ):
            check(await get(path, 400), ERROR_BODY)

        settled = (await get(f"/markets/{third}"))["market"]
    assert market["market"]["ticker"] == first and market["market"]["status"] == "active"
    assert (settled["status"], settled["result"] in ("yes", "no")) == ("finalized", True)
    assert {"settlement_value_dollars", "settlement_ts"} <= set(settled)
    assert (series["series"]["fee_type"], series["series"]["fee_multiplier"]) == (
        "quadratic_with_maker_fees",
        0.5,
    )
    assert (event["event"]["fee_type_override"], event["event"]["fee_multiplier_override"]) == (
        "quadratic",
        2,
    )
    assert "markets" not in event["event"] and len(nested["event"]["markets"]) == 3
