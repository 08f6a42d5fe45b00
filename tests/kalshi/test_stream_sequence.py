"""Envelope first: every frame whose type, sid and seq can be read takes its place in the sequence.

Fed through ``KalshiWsClient.feed`` (the live read loop's body) on a recorded connection; only
what the client reports is read (the handler's calls, ``stats``, the commands it queued).
"""

from __future__ import annotations

import json

import pytest

from kalshi_rl.core.events import BookDelta, EventFeeUpdate, EventLifecycle, LifecycleEvent, Side
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.ws_client import LIFECYCLE, ORDERBOOK, FeedBreak, KalshiWsClient, WsConfig

BOOK_SID, LIFE_SID = 1, 3


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.breaks: list[FeedBreak] = []
        self.control: list[str] = []
        self.quarantined: list[tuple[str, str | None]] = []

    def on_connected(self, conn_id: int) -> None:
        pass

    def on_event(self, event: object, raw: str) -> None:
        self.events.append(event)

    def on_control(self, raw: str, recv_ns: int, kind: str = "control") -> None:
        self.control.append(kind)

    def on_quarantine(self, raw: str, recv_ns: int, reason: str, market: str | None) -> None:
        self.quarantined.append((reason, market))

    def on_break(self, feed_break: FeedBreak) -> None:
        self.breaks.append(feed_break)


def start() -> tuple[KalshiWsClient, Recorder]:
    handler = Recorder()
    client = KalshiWsClient(WsConfig(url="ws://unused", market_tickers=("KX-A", "KX-B")), handler)
    client.replay_connection({ORDERBOOK: BOOK_SID, LIFECYCLE: LIFE_SID})
    client.feed(encode.snapshot_frame(BOOK_SID, 1, "KX-A", "a", [(5000, 100)], []), 1)
    client.feed(encode.snapshot_frame(BOOK_SID, 2, "KX-B", "b", [(4000, 100)], []), 2)
    client.feed(encode.lifecycle_frame(LIFE_SID, 1, "KX-A", "activated"), 3)
    return client, handler


def frame(**fields: object) -> str:
    return json.dumps(fields, separators=(",", ":"))


EVENT_LIFECYCLE = frame(
    type="event_lifecycle",
    sid=LIFE_SID,
    seq=2,
    msg={
        "event_ticker": "KXQUICKSETTLE-26JAN25H2150",
        "exchange_index": 0,
        "title": "What will 1+1 equal on Jan 25 at 21:50?",
        "subtitle": "Jan 25 at 21:50",
        "collateral_return_type": "MECNET",
        "series_ticker": "KXQUICKSETTLE",
    },
)
EVENT_FEE_UPDATE = frame(
    type="event_fee_update",
    sid=LIFE_SID,
    seq=3,
    msg={"event_ticker": "KXBTCD-26MAY2018", "fee_type_override": "quadratic", "fee_multiplier_override": 1},
)


def test_event_frames_on_the_lifecycle_sid_are_parsed_counted_and_cause_no_gap() -> None:
    client, handler = start()
    client.feed(EVENT_LIFECYCLE, 4)
    client.feed(EVENT_FEE_UPDATE, 5)
    client.feed(encode.lifecycle_frame(LIFE_SID, 4, "KX-A", "deactivated", is_deactivated=True), 6)
    # Before: both event frames were quarantined as unknown before their seq was counted, so
    # the next lifecycle frame reported a gap 2 -> 4.
    assert [b for b in handler.breaks if b.reason == "gap"] == []
    assert client.stats.gaps == 0 and handler.quarantined == []
    kinds = [type(e) for e in handler.events[-3:]]
    assert kinds == [EventLifecycle, EventFeeUpdate, LifecycleEvent]


@pytest.mark.parametrize(
    "raw",
    [
        frame(type="event_surprise", sid=LIFE_SID, seq=2, msg={"event_ticker": "E"}),  # a future type
        frame(sid=LIFE_SID, seq=2, msg={}),  # no type at all
        frame(type="event_fee_update", sid=LIFE_SID, seq=2, msg={"event_ticker": "E"}),  # malformed body
        frame(
            type="market_lifecycle_v2",
            sid=LIFE_SID,
            seq=2,
            msg={"market_ticker": "KX-A", "event_type": "exploded"},
        ),
    ],
    ids=["unknown-type", "no-type", "malformed-body", "unknown-event-type"],
)
def test_a_frame_with_a_readable_envelope_is_counted_then_quarantined(raw: str) -> None:
    client, handler = start()
    client.feed(raw, 4)
    client.feed(encode.lifecycle_frame(LIFE_SID, 3, "KX-A", "settled", settled_ts=1), 5)
    assert len(handler.quarantined) == 1 and handler.quarantined[0][0]  # with its reason
    assert client.stats.gaps == 0 and not handler.breaks
    assert isinstance(handler.events[-1], LifecycleEvent)


@pytest.mark.parametrize(
    "raw",
    [
        '{"type":"market_lifecycle_v2","sid":3,"seq":2,"msg":{',  # not JSON
        frame(type="market_lifecycle_v2", sid=LIFE_SID, seq="2", msg={}),  # seq unreadable
        frame(type="market_lifecycle_v2", sid="3", seq=2, msg={}),  # sid unreadable
    ],
    ids=["invalid-json", "string-seq", "string-sid"],
)
def test_a_frame_whose_envelope_cannot_be_read_leaves_a_gap_on_its_sid(raw: str) -> None:
    client, handler = start()
    client.feed(raw, 4)
    client.feed(encode.lifecycle_frame(LIFE_SID, 3, "KX-A", "settled", settled_ts=1), 5)
    (gap,) = [b for b in handler.breaks if b.reason == "gap"]
    assert (gap.channel, gap.sid, gap.expected_seq, gap.got_seq) == (LIFECYCLE, LIFE_SID, 2, 3)


def test_an_unknown_type_on_the_book_sid_breaks_only_the_book_it_names() -> None:
    client, handler = start()
    client.feed(frame(type="orderbook_surprise", sid=BOOK_SID, seq=3, msg={"market_ticker": "KX-A"}), 4)
    client.feed(encode.delta_frame(BOOK_SID, 4, "KX-B", "b", Side.YES, 4000, 5, 0), 5)
    (brk,) = handler.breaks
    assert (brk.reason, brk.sid, brk.markets) == ("unreadable", BOOK_SID, ("KX-A",))
    assert "unknown message type 'orderbook_surprise'" in brk.detail
    assert client.stats.gaps == 0 and client.stats.snapshot_requests == 1
    assert isinstance(handler.events[-1], BookDelta)  # KX-B goes on


def test_a_malformed_delta_naming_no_market_breaks_every_book_of_the_sid() -> None:
    client, handler = start()
    client.feed(frame(type="orderbook_delta", sid=BOOK_SID, seq=3, msg={"price_dollars": "0.5000"}), 4)
    (brk,) = handler.breaks
    assert (brk.reason, brk.markets) == ("unreadable", ("KX-A", "KX-B"))
    assert handler.quarantined[0][1] is None


def test_a_delta_with_an_impossible_price_breaks_its_book_without_a_gap() -> None:
    client, handler = start()
    client.feed(encode.delta_frame(BOOK_SID, 3, "KX-A", "a", Side.YES, 12_000, 100, 0), 4)
    client.feed(encode.delta_frame(BOOK_SID, 4, "KX-A", "a", Side.YES, 5000, 1, 0), 5)
    assert [(b.reason, b.markets) for b in handler.breaks] == [("unreadable", ("KX-A",))]
    assert "outside (0, 1)" in handler.quarantined[0][0] and handler.quarantined[0][1] == "KX-A"


def test_a_malformed_ack_is_quarantined_without_breaking_books() -> None:
    client, handler = start()
    client.feed(frame(type="ok", id=9, sid=BOOK_SID, seq=3, msg={"market_tickers": "KX-A"}), 4)
    client.feed(encode.delta_frame(BOOK_SID, 4, "KX-A", "a", Side.YES, 5000, 1, 0), 5)
    assert not handler.breaks and client.stats.gaps == 0 and len(handler.quarantined) == 1
