"""``use_yes_price``: both book encodings parsed, and a book in the other one never applied.

AsyncAPI 2.0.0 ``subscribeCommandPayload.params.use_yes_price``: with true, NO-side
``orderbook_snapshot`` levels and ``orderbook_delta`` prices come in YES-leg pricing (``1 - q``);
the default is false today and will flip. The frames do not say which is in force, so the
client remembers what each subscription asked for, and a snapshot that is crossed as read but
not when read the other way is an encoding mismatch (quarantined, the sid's encoding switched,
every book of the sid resynced).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from kalshi_rl.core.events import BookDelta, BookSnapshot, Side
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.orderbook_client import OrderbookClient
from kalshi_rl.data.ingest.sinks import LakeSink
from kalshi_rl.data.ingest.write_queue import OrderbookWriteQueue, WriteQueueConfig
from kalshi_rl.data.lake.writer import LakeWriter
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.messages import Subscribed, parse_frame
from kalshi_rl.kalshi.stream import crossed, mirrored
from kalshi_rl.kalshi.ws_client import ORDERBOOK, KalshiWsClient, WsConfig

MARKET = "KXFED-27APR-T4.25"


def snapshot(
    yes: list[list[str]], no: list[list[str]], sid: int = 1, seq: int = 1, market: str = MARKET
) -> str:
    msg = {"market_ticker": market, "market_id": "m", "yes_dollars_fp": yes, "no_dollars_fp": no}
    return json.dumps({"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": msg})


def delta(side: str, price: str, count: str, seq: int, sid: int = 1) -> str:
    msg = {"market_ticker": MARKET, "market_id": "m", "price_dollars": price, "delta_fp": count, "side": side}
    return json.dumps({"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": msg})


# The third-party observation in the reference (§1.6): the same book asked both ways.
NO_LEG = [["0.0100", "5.00"], ["0.0200", "7.00"], ["0.0600", "3.00"]]
YES_LEG = [["0.9900", "5.00"], ["0.9800", "7.00"], ["0.9400", "3.00"]]
YES_BIDS = [["0.9000", "2.00"], ["0.9300", "1.00"]]


def test_both_encodings_parse_to_the_same_no_bids() -> None:
    as_asked_false = parse_frame(snapshot(YES_BIDS, NO_LEG), 1, yes_price=False)
    as_asked_true = parse_frame(snapshot(YES_BIDS, YES_LEG), 1, yes_price=True)
    assert isinstance(as_asked_false, BookSnapshot) and isinstance(as_asked_true, BookSnapshot)
    assert (
        sorted(as_asked_false.no_bids)
        == sorted(as_asked_true.no_bids)
        == [(100, 500), (200, 700), (600, 300)]
    )
    assert as_asked_false.yes_bids == as_asked_true.yes_bids
    assert (as_asked_false.yes_price, as_asked_true.yes_price) == (False, True)


def test_a_no_delta_in_yes_leg_pricing_is_read_as_the_no_price() -> None:
    no_leg = parse_frame(delta("no", "0.3000", "4.00", 2), 1)
    yes_leg = parse_frame(delta("no", "0.7000", "4.00", 2), 1, yes_price=True)
    assert isinstance(no_leg, BookDelta) and isinstance(yes_leg, BookDelta)
    assert (no_leg.side, no_leg.price_ticks) == (yes_leg.side, yes_leg.price_ticks) == (Side.NO, 3_000)
    yes_side = parse_frame(delta("yes", "0.7000", "4.00", 2), 1, yes_price=True)
    assert isinstance(yes_side, BookDelta) and yes_side.price_ticks == 7_000  # YES side unchanged


def test_crossed_and_mirrored() -> None:
    assert crossed(((9_000, 1),), ((1_000, 1),))  # 0.90 + 0.10 >= 1
    assert not crossed(((8_999, 1),), ((1_000, 1),))
    assert not crossed((), ((9_999, 1),))  # one-sided: never crossed (the documented limitation)
    assert mirrored(((100, 5), (9_400, 3))) == ((9_900, 5), (600, 3))


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.breaks: list[object] = []
        self.quarantined: list[str] = []

    def on_connected(self, conn_id: int) -> None:
        pass

    def on_event(self, event: object, raw: str) -> None:
        self.events.append(event)

    def on_control(self, raw: str, recv_ns: int, kind: str = "control") -> None:
        pass

    def on_quarantine(self, raw: str, recv_ns: int, reason: str, market: str | None) -> None:
        self.quarantined.append(reason)

    def on_break(self, feed_break: object) -> None:
        self.breaks.append(feed_break)


def client_on_book_sid(markets: tuple[str, ...] = (MARKET,)) -> tuple[KalshiWsClient, Recorder]:
    handler = Recorder()
    client = KalshiWsClient(
        WsConfig(url="ws://unused", market_tickers=markets, channels=(ORDERBOOK,)), handler
    )
    client.replay_connection({ORDERBOOK: 1})  # asked no-leg pricing (the default we ask for)
    return client, handler


def sent(client: KalshiWsClient) -> list[dict[str, object]]:
    out = []
    while not client._outbox.empty():
        out.append(json.loads(client._outbox.get_nowait()))
    return out


def test_a_snapshot_in_the_other_encoding_switches_the_sid_and_resyncs_every_book() -> None:
    client, handler = client_on_book_sid((MARKET, "KX-OTHER"))
    sent(client)
    # The exchange flipped its default: YES-leg prices although we asked for no-leg.
    client.feed(snapshot(YES_BIDS, YES_LEG), 1)
    assert handler.events == []  # never applied mirrored
    assert "encoding mismatch" in handler.quarantined[0]
    (brk,) = handler.breaks
    assert (brk.reason, brk.markets) == ("encoding_mismatch", (MARKET, "KX-OTHER"))  # type: ignore[attr-defined]
    (request,) = sent(client)
    assert request["params"] == {
        "sids": [1],
        "market_tickers": [MARKET, "KX-OTHER"],
        "action": "get_snapshot",
    }
    assert client.stats.encoding_mismatches == 1
    # The resync snapshot, in the same encoding, is now read right and applied.
    client.feed(snapshot(YES_BIDS, YES_LEG, seq=1), 2)
    (snap,) = handler.events
    assert isinstance(snap, BookSnapshot) and snap.yes_price
    assert max(snap.no_bids)[0] == 600  # best NO bid 0.06, not 0.99
    client.feed(delta("no", "0.9300", "1.00", 2), 3)  # NO bid at 0.07, in yes-leg pricing
    assert isinstance(handler.events[-1], BookDelta) and handler.events[-1].price_ticks == 700
    # Later subscriptions ask explicitly for the encoding the exchange speaks.
    (subscribe,) = [json.loads(c) for c in client._open_connection()]
    assert subscribe["params"]["use_yes_price"] is True


def test_a_crossed_snapshot_in_no_encoding_is_quarantined_not_switched() -> None:
    client, handler = client_on_book_sid()
    sent(client)
    # Crossed read either way (0.90 + 0.95, and 0.90 + 0.50 once the NO side is mirrored).
    client.feed(snapshot([["0.9000", "1.00"]], [["0.9500", "1.00"], ["0.5000", "1.00"]]), 1)
    assert handler.events == [] and client.stats.encoding_mismatches == 0
    assert [b.reason for b in handler.breaks] == ["crossed"]  # type: ignore[attr-defined]
    assert "crossed snapshot" in handler.quarantined[0]
    assert sent(client) == []  # no immediate re-request (it could loop); the watchdog resubscribes
    assert MARKET in client.stream.resync_deadline


def test_a_book_far_from_crossing_does_not_reveal_the_mirror() -> None:
    """The documented limitation: a one-sided (or wide) book reads fine in either encoding."""
    client, handler = client_on_book_sid()
    client.feed(snapshot([], YES_LEG), 1)
    assert isinstance(handler.events[0], BookSnapshot) and not handler.quarantined


# -- the collector's side: a delta that crosses the book, and the encoding in the lake ----------


async def test_a_crossing_delta_is_undone_quarantined_and_resynced(tmp_path: Path) -> None:
    books = {MARKET: SharedOrderbookState(MARKET)}
    queue = OrderbookWriteQueue([LakeSink(LakeWriter(tmp_path, "s"))], WriteQueueConfig())
    requested: list[str] = []
    client = OrderbookClient(books, queue, "s", 1_000, requested.append)
    client.on_connected(1)
    for i, raw in enumerate(
        [
            encode.snapshot_frame(1, 1, MARKET, "m", [(5_000, 100)], [(4_000, 100)]),
            encode.delta_frame(1, 2, MARKET, "m", Side.NO, 5_000, 100, 0),  # 0.50 + 0.50: crossed
        ]
    ):
        message = parse_frame(raw, 10 + i)
        client.on_event(message, raw)  # type: ignore[arg-type]
    book = books[MARKET].state
    assert book.stale and dict(book.no_bids.sizes) == {4_000: 100}  # undone exactly
    assert requested == [MARKET]
    await queue.close()
    con = duckdb.connect()
    kinds = con.execute(f"SELECT kind FROM read_parquet('{tmp_path}/book_events/**/*.parquet')").fetchall()
    reasons = con.execute(f"SELECT reason FROM read_parquet('{tmp_path}/quarantine/**/*.parquet')").fetchall()
    encodings = con.execute(
        f"SELECT yes_price FROM read_parquet('{tmp_path}/snapshots/**/*.parquet')"
    ).fetchall()
    assert kinds == [("crossed",)] and "crosses the book" in reasons[0][0]
    assert encodings == [(False,)]
    assert not (tmp_path / "deltas").exists()  # the crossing delta was not stored


def test_a_mismatch_on_one_sid_gets_the_other_book_sids_checked_too() -> None:
    handler = Recorder()
    config = WsConfig(url="ws://unused", market_tickers=(MARKET, "KX-OTHER"), channels=(ORDERBOOK,))
    client = KalshiWsClient(config, handler)
    client.replay_connection({ORDERBOOK: 1})
    client.stream.adopt(Subscribed(None, ORDERBOOK, 2))  # a second book sid (a split subscription)
    client.stream.subs.by_sid[1].markets, client.stream.subs.by_sid[2].markets = (MARKET,), ("KX-OTHER",)
    sent(client)
    client.feed(snapshot(YES_BIDS, YES_LEG), 1)
    requests = [(r["params"]["sids"], r["params"]["market_tickers"]) for r in sent(client)]  # type: ignore[index]
    assert requests == [([1], [MARKET]), ([2], ["KX-OTHER"])]
    assert client.stream.subs.by_sid[2].yes_price is False  # checked by its own snapshot, not assumed
