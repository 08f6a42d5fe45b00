"""Market and event changes, on a schedule and on request: frames, books, REST and the ledger agree.

Each change is checked three ways: the frames a subscriber gets (in order on the lifecycle
sid), the exchange's own state (book, REST answers) and ``Ledger.actions()``. Scheduled runs
wait until the ledger shows the actions (counts, not a fixed sleep); frames are compared
with what the ledger says the connection was sent, so a connection that subscribed after an
early action does not make a test flaky.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from kalshi_rl.core.errors import ConfigError, KalshiRLError
from kalshi_rl.kalshi.encode import rfc3339
from kalshi_rl.sim import ScheduleConfig, SimExchange
from kalshi_rl.sim.grid import PriceGrid
from kalshi_rl.sim.ledger import EventPayload, LedgerEntry, LifecyclePayload
from kalshi_rl.sim.schedule import Schedule

from .conftest import Probe


async def until(predicate: Any, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def settle(exchange: SimExchange, probe: Probe) -> list[dict[str, Any]]:
    """Stop the schedule, freeze the books, flush, and return every frame the probe got."""
    exchange.stop_schedule()
    exchange.pause()
    await exchange.drain()
    await probe.until_quiet(0.3)
    return [json.loads(t) for t in probe.texts]


async def rest(exchange: SimExchange, path: str) -> Any:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{exchange.rest_url}{path}")
    assert response.status_code == 200, response.text
    return response.json()


def lifecycle(frames: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """Return ``(event_type, ticker, msg)`` of every lifecycle frame, in order."""
    return [
        (f["msg"]["event_type"], f["msg"]["market_ticker"], f["msg"])
        for f in frames
        if f["type"] == "market_lifecycle_v2"
    ]


def test_the_schedule_pops_actions_in_time_order_and_repeats_the_periodic_ones() -> None:
    config = ScheduleConfig(
        pause_every_s=10,
        pause_seconds=3,
        fee_update_every_s=4,
        close_date_update_at_s=(5,),
        encoding_switch_at_s=(4,),
        create_event_at_s=(1, 9),
    )
    schedule = Schedule(config, start_ms=1_000)
    popped = []
    for now in range(1_000, 22_001, 500):
        while (action := schedule.pop_due(now)) is not None:
            popped.append((action.due_ms, action.kind))
    assert popped == [
        (2_000, "create_event"),
        (5_000, "encoding_switch"),  # scheduled before the first fee update: ties keep that order
        (5_000, "fee_update"),
        (6_000, "close_date_update"),
        (9_000, "fee_update"),
        (10_000, "create_event"),
        (11_000, "pause"),
        (13_000, "fee_update"),
        (17_000, "fee_update"),
        (21_000, "pause"),
        (21_000, "fee_update"),
    ]  # a pause's end ("resume") is scheduled by the driver that carries the pause out


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"pause_every_s": 1.0, "pause_seconds": 1.0}, "pause_seconds"),
        ({"price_grid": "quarter_cent"}, "unknown price grid"),
        ({"fee_override_type": "free"}, "unknown fee_type"),
        ({"close_date_update_at_s": (-1.0,)}, "close_date_update_at_s"),
    ],
)
def test_schedule_settings_are_checked(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ScheduleConfig(**fields)


def _is(entry: LedgerEntry, event_type: str) -> bool:
    return isinstance(entry.payload, LifecyclePayload) and entry.payload.event_type == event_type


def sent_lifecycle(exchange: SimExchange, conn: int = 1) -> list[tuple[str, str | None]]:
    """Return ``(event type, ticker)`` of every lifecycle-sid message the ledger says ``conn`` was sent."""
    out: list[tuple[str, str | None]] = []
    for entry in exchange.ledger.entries(conn):
        if isinstance(entry.payload, LifecyclePayload):
            out.append((entry.payload.event_type, entry.market_ticker))
        elif isinstance(entry.payload, EventPayload):
            out.append((entry.payload.frame_type, entry.market_ticker))
    return out


def received_lifecycle(frames: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for f in frames:
        if f["type"] == "market_lifecycle_v2":
            out.append((f["msg"]["event_type"], f["msg"]["market_ticker"]))
        elif f["type"] in ("event_lifecycle", "event_fee_update"):
            out.append((f["type"], f["msg"]["event_ticker"]))
    return out


async def test_a_paused_market_is_frozen_listed_as_paused_and_loses_its_resting_orders_on_reactivation(
    make_sim, open_probe
):
    exchange = await make_sim(rate=2_000)
    exchange.pause()
    paused, other = exchange.tickers
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["market_lifecycle_v2"])
    await probe.cmd("subscribe", channels=["orderbook_delta", "trade"], market_tickers=exchange.tickers)
    await probe.frames(4)
    exchange.deactivate(paused)
    with pytest.raises(KalshiRLError, match="inactive"):
        exchange.deactivate(paused)
    book_before = exchange.book(paused)
    volume_before = exchange.markets[paused].volume_units
    assert exchange.step(400) >= 400
    assert exchange.book(paused) == book_before and exchange.markets[paused].volume_units == volume_before
    listing = await rest(exchange, "/markets?status=paused")
    assert [m["ticker"] for m in listing["markets"]] == [paused]
    assert (await rest(exchange, f"/markets/{paused}"))["market"]["status"] == "inactive"

    exchange.activate(paused)
    assert exchange.book(paused) == ([], [])  # Kalshi cancels every resting order on re-activation
    open_now = await rest(exchange, "/markets?status=open")
    assert [m["ticker"] for m in open_now["markets"]] == exchange.tickers
    exchange.step(400)
    frames = await settle(exchange, probe)
    assert [(e, t, m.get("is_deactivated")) for e, t, m in lifecycle(frames)] == [
        ("deactivated", paused, True),
        ("activated", paused, False),
    ]
    entries = exchange.ledger.entries(1)
    start = next(i for i, e in enumerate(entries) if _is(e, "deactivated"))
    end = next(i for i, e in enumerate(entries) if _is(e, "activated"))
    during = entries[start:end]
    assert [e for e in during if e.market_ticker == other and e.kind == "delta"]  # the other one moved
    assert not [e for e in during if e.market_ticker == paused and e.kind in ("delta", "trade")]
    levels = len(book_before[0]) + len(book_before[1])
    cancels = entries[end + 1 : end + 1 + levels]
    assert sorted((e.side.value, e.price_ticks, e.delta_units) for e in cancels) == sorted(  # type: ignore[union-attr]
        [("yes", p, -s) for p, s in book_before[0]] + [("no", p, -s) for p, s in book_before[1]]
    )
    assert exchange.book(paused) != ([], [])  # the makers came back


async def test_pause_every_pauses_markets_in_turn_and_the_ledger_says_when(make_sim, open_probe):
    schedule = ScheduleConfig(pause_every_s=0.3, pause_seconds=0.15)
    exchange = await make_sim(rate=2_000, schedule=schedule)
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["market_lifecycle_v2"])
    await probe.cmd("subscribe", channels=["orderbook_delta", "trade"], market_tickers=exchange.tickers)
    await until(lambda: sent_lifecycle(exchange).count(("activated", exchange.tickers[1])) >= 2, "pauses")
    frames = await settle(exchange, probe)
    assert received_lifecycle(frames) == sent_lifecycle(exchange)
    actions = [
        (a.action, a.target) for a in exchange.ledger.actions() if a.action in ("deactivated", "activated")
    ]
    first, second = exchange.tickers
    turn = [("deactivated", first), ("activated", first), ("deactivated", second), ("activated", second)]
    assert actions[:8] == turn * 2  # round robin, each pause ended before the next
    pauses, resumes = exchange.ledger.actions("deactivated"), exchange.ledger.actions("activated")
    assert all(r.at_ms >= p.at_ms + 150 for p, r in zip(pauses, resumes, strict=False))
    entries = exchange.ledger.entries(1)
    for pause in (e for e in entries if _is(e, "deactivated")):
        end = next(
            (i for i, e in enumerate(entries) if i > pause.index and _is(e, "activated")), len(entries)
        )
        frozen = [e for e in entries[pause.index : end] if e.market_ticker == pause.market_ticker]
        assert not [e for e in frozen if e.kind in ("delta", "trade")]


async def test_close_date_updates_move_close_and_can_close_and_reopen_a_market(make_sim, open_probe):
    exchange = await make_sim(
        rate=1_000,
        determination_delay_s=30.0,
        schedule=ScheduleConfig(close_date_update_at_s=(0.05,), close_date_shift_s=90.0),
    )
    first, second = exchange.tickers
    close_before = exchange.markets[first].timing.close_ms
    await until(lambda: len(exchange.ledger.actions("close_date_updated")) == 2, "the scheduled update")
    moved = close_before + 90_000
    assert [(a.target, a.fields) for a in exchange.ledger.actions("close_date_updated")] == [
        (first, {"close_ts": moved // 1000}),
        (second, {"close_ts": moved // 1000}),
    ]
    assert (await rest(exchange, f"/markets/{first}"))["market"]["close_time"] == rfc3339(moved)

    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["market_lifecycle_v2"])
    await probe.frame()
    close_ms = time.time_ns() // 1_000_000
    exchange.update_close_time(second, close_ms)  # closes now
    await until(lambda: exchange.markets[second].status == "closed", "the close")
    assert [m["ticker"] for m in (await rest(exchange, "/markets?status=closed"))["markets"]] == [second]
    reopen_ms = close_ms + 60_000
    exchange.update_close_time(second, reopen_ms)
    assert exchange.markets[second].status == "active"
    frames = await settle(exchange, probe)
    assert [(e, t, m.get("close_ts"), m.get("is_deactivated")) for e, t, m in lifecycle(frames)] == [
        ("close_date_updated", second, close_ms // 1000, None),
        ("close_date_updated", second, reopen_ms // 1000, None),
        ("activated", second, None, None),  # a reopening, not the end of a pause
    ]
    assert [a.action for a in exchange.ledger.actions() if a.target == second][-3:] == [
        "closed",
        "close_date_updated",
        "activated",
    ]


async def test_a_price_grid_update_cancels_off_grid_levels_then_announces_the_grid(make_sim, open_probe):
    exchange = await make_sim(rate=3_000, markets=1)
    (ticker,) = exchange.tickers
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["market_lifecycle_v2"])
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_ticker=ticker)
    await probe.frames(300)
    sub_cent = [p for side in exchange.book(ticker) for p, _ in side if p % 100]
    assert sub_cent, "the tapered grid's sub-cent levels"
    exchange.update_price_grid(ticker, "linear_cent")
    await probe.frames(300)
    frames = await settle(exchange, probe)
    announced = next(i for i, f in enumerate(frames) if f["type"] == "market_lifecycle_v2")
    msg = frames[announced]["msg"]
    linear = PriceGrid.named("linear_cent")
    assert (msg["price_level_structure"], msg["price_ranges"]) == ("linear_cent", linear.ranges_json())
    deltas = [(i, f["msg"]) for i, f in enumerate(frames) if f["type"] == "orderbook_delta"]
    # the cancellations are the deltas right before the announcement, one per off-grid level
    # (the book was read and the grid changed in one synchronous step)
    before = [d for i, d in deltas if i < announced][-len(sub_cent) :]
    cancelled = {round(float(d["price_dollars"]) * 10_000) for d in before if d["delta_fp"].startswith("-")}
    assert cancelled == set(sub_cent)
    after = [round(float(d["price_dollars"]) * 10_000) for i, d in deltas if i > announced]
    assert after and all(linear.contains(p) for p in after)
    assert all(linear.contains(p) for side in exchange.book(ticker) for p, _ in side)
    market = (await rest(exchange, f"/markets/{ticker}"))["market"]
    assert (market["price_level_structure"], market["price_ranges"]) == ("linear_cent", linear.ranges_json())


async def test_scheduled_grid_updates_switch_to_the_target_and_back(make_sim):
    schedule = ScheduleConfig(price_grid_update_at_s=(0.05, 0.1), price_grid="deci_cent")
    exchange = await make_sim(rate=1_000, schedule=schedule)
    await until(lambda: len(exchange.ledger.actions("price_level_structure_updated")) == 4, "two updates")
    updates = exchange.ledger.actions("price_level_structure_updated")
    assert [(a.target, a.fields["price_level_structure"]) for a in updates] == [
        (exchange.tickers[0], "deci_cent"),
        (exchange.tickers[1], "deci_cent"),
        (exchange.tickers[0], "tapered_deci_cent"),
        (exchange.tickers[1], "tapered_deci_cent"),
    ]


async def test_fee_and_metadata_updates_reach_subscribers_and_rest(make_sim, open_probe):
    schedule = ScheduleConfig(fee_update_every_s=0.15, fee_override_multiplier="1.5")
    exchange = await make_sim(rate=500, schedule=schedule, fee_type="flat", fee_multiplier="0.25")
    (event,) = exchange.events
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["market_lifecycle_v2"])
    await probe.frame()
    exchange.update_metadata(exchange.tickers[0], "Above 0.50")
    await until(
        lambda: sent_lifecycle(exchange).count(("event_fee_update", event)) >= 2, "an override and a clear"
    )
    frames = await settle(exchange, probe)
    assert received_lifecycle(frames) == sent_lifecycle(exchange)
    fees = [f["msg"] for f in frames if f["type"] == "event_fee_update"]
    override = {
        "event_ticker": event,
        "fee_type_override": "quadratic_with_maker_fees",
        "fee_multiplier_override": 1.5,
    }
    cleared = {"event_ticker": event, "fee_type_override": None, "fee_multiplier_override": None}
    assert fees[:2] in ([override, cleared], [cleared, override])  # they alternate
    actions = exchange.ledger.actions("event_fee_update")
    body = (await rest(exchange, f"/events/{event}"))["event"]
    current = actions[-1].fields["override"]
    expected = (current.fee_type.value, 1.5) if current else (None, None)
    assert (body["fee_type_override"], body["fee_multiplier_override"]) == expected
    series = (await rest(exchange, "/series/KXSIM"))["series"]
    assert (series["fee_type"], series["fee_multiplier"]) == ("flat", 0.25)
    assert [m for e, _, m in lifecycle(frames) if e == "metadata_updated"] == [
        {
            "event_type": "metadata_updated",
            "market_ticker": exchange.tickers[0],
            "yes_sub_title": "Above 0.50",
        }
    ]
    assert (await rest(exchange, f"/markets/{exchange.tickers[0]}"))["market"][
        "yes_sub_title"
    ] == "Above 0.50"


async def test_a_created_event_is_announced_listed_unopened_then_opens_with_its_book(make_sim, open_probe):
    exchange = await make_sim(rate=1_000, open_delay_s=0.3)
    await until(lambda: all(m.trading for m in exchange.markets.values()), "the first event's open")
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["market_lifecycle_v2"])
    await probe.frame()
    created = exchange.create_event()
    new_markets = [m.ticker for m in created.markets]
    unopened = await rest(exchange, "/markets?status=unopened")
    assert [m["ticker"] for m in unopened["markets"]] == new_markets
    assert exchange.book(new_markets[0]) == ([], [])  # no quotes before the open
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_ticker=new_markets[0])
    await until(lambda: exchange.markets[new_markets[0]].status == "active", "the open")
    await probe.frames(50)
    frames = await settle(exchange, probe)
    assert received_lifecycle(frames)[:3] == [
        ("event_lifecycle", created.event_ticker),
        ("created", new_markets[0]),
        ("created", new_markets[1]),
    ]
    event_msg = next(f["msg"] for f in frames if f["type"] == "event_lifecycle")
    assert (event_msg["series_ticker"], event_msg["exchange_index"]) == ("KXSIM", 0)
    created_msg = next(m for e, t, m in lifecycle(frames) if e == "created")
    assert created_msg["open_ts"] == exchange.markets[new_markets[0]].timing.open_ms // 1000
    book = [f for f in frames if f["type"].startswith("orderbook")]
    assert book[0]["type"] == "orderbook_snapshot" and set(book[0]["msg"]) == {"market_ticker", "market_id"}
    assert len(book) > 10  # the opening quotes arrived as deltas
    assert [a.action for a in exchange.ledger.actions() if a.target == new_markets[0]] == [
        "created",
        "opened",
    ]
    listing = await rest(exchange, f"/markets?event_ticker={created.event_ticker}&status=open")
    assert [m["ticker"] for m in listing["markets"]] == new_markets


async def test_create_event_at_adds_events_of_the_series(make_sim):
    exchange = await make_sim(rate=200, schedule=ScheduleConfig(create_event_at_s=(0.05, 0.1)))
    await until(lambda: len(exchange.events) == 3, "two new events")
    assert list(exchange.events) == ["KXSIM-26JAN08", "KXSIM-26JAN080001", "KXSIM-26JAN080002"]
    assert len(exchange.ledger.actions("event_created")) == 3
    assert len((await rest(exchange, "/markets?series_ticker=KXSIM"))["markets"]) == 6
