"""Fast frame text for the hot path: the body of a frame is built once per event and each
subscriber only stamps its own ``sid`` and ``seq`` in front of it.

The output is byte-for-byte what ``kalshi_rl.kalshi.encode`` produces (``check_against_encoder``
proves it at start-up and the tests prove it for random values); everything that is not on
the hot path (snapshots, acks, lifecycle) uses ``encode`` directly.
"""

from __future__ import annotations

from kalshi_rl.core.errors import KalshiRLError
from kalshi_rl.core.events import Side
from kalshi_rl.core.units import PRICE_SCALE, format_price
from kalshi_rl.kalshi import encode

_PRICES = [format_price(ticks) for ticks in range(PRICE_SCALE + 1)]
_BOOK_SIDE = {Side.YES: "bid", Side.NO: "ask"}
_SIDE = {Side.YES: "yes", Side.NO: "no"}

DELTA_TYPE = "orderbook_delta"
TRADE_TYPE = "trade"
LIFECYCLE_TYPE = "market_lifecycle_v2"
TICKER_TYPE = "ticker"
EVENT_LIFECYCLE_TYPE = "event_lifecycle"
EVENT_FEE_TYPE = "event_fee_update"
_SEQUENCED_HEAD = ',"sid":0,"seq":0,'
_UNSEQUENCED_HEAD = ',"sid":0,'


def _count(units: int) -> str:
    """Return ``format_count(units)`` (inlined: this runs once per event)."""
    if units < 0:
        units = -units
        return f"-{units // 100}.{units % 100:02d}"
    return f"{units // 100}.{units % 100:02d}"


def stamp(frame_type: str, sid: int, seq: int | None, body: str) -> str:
    """Return the full frame of ``body`` for one subscriber's ``sid`` and ``seq``.

    ``seq`` is ``None`` on channels Kalshi does not sequence (``ticker``): the frame then
    carries the sid only.
    """
    if seq is None:
        return f'{{"type":"{frame_type}","sid":{sid},{body}'
    return f'{{"type":"{frame_type}","sid":{sid},"seq":{seq},{body}'


def body_of(frame: str) -> str:
    """Return the part of an ``encode``-built frame after its ``sid`` (and ``seq``).

    The frame must have been built with ``sid=0`` (and ``seq=0`` when it is sequenced).
    """
    if frame.startswith('{"type":"'):
        for head in (_SEQUENCED_HEAD, _UNSEQUENCED_HEAD):
            end = frame.find(head)
            if end >= 0:
                return frame[end + len(head) :]
    raise KalshiRLError(f"not a frame built with sid 0 (and seq 0): {frame[:80]}")


class MarketFrames:
    """Frame bodies for one market (ticker and market id are fixed per market)."""

    __slots__ = ("_head", "_last_ms", "_last_rfc", "ticker")

    def __init__(self, ticker: str, market_id: str) -> None:
        self.ticker = ticker
        self._head = f'"msg":{{"market_ticker":"{ticker}","market_id":"{market_id}",'
        self._last_ms = -1
        self._last_rfc = ""

    def _rfc3339(self, ts_ms: int) -> str:
        if ts_ms != self._last_ms:
            self._last_ms, self._last_rfc = ts_ms, encode.rfc3339(ts_ms)
        return self._last_rfc

    def delta_body(
        self, side: Side, price_ticks: int, delta_units: int, ts_ms: int, yes_leg: bool = False
    ) -> str:
        """Return the part of an ``orderbook_delta`` frame after ``seq``.

        ``yes_leg``: the ``use_yes_price: true`` encoding (a NO bid at q is sent at 1 - q).
        """
        if yes_leg and side is Side.NO:
            price_ticks = PRICE_SCALE - price_ticks
        return (
            f'{self._head}"price_dollars":"{_PRICES[price_ticks]}",'
            f'"delta_fp":"{_count(delta_units)}","side":"{_SIDE[side]}",'
            f'"ts":"{self._rfc3339(ts_ms)}","ts_ms":{ts_ms}}}}}'
        )

    def trade_body(
        self, trade_id: str, yes_price_ticks: int, count_units: int, taker_side: Side, ts_ms: int
    ) -> str:
        """Return the part of a ``trade`` frame after ``seq``."""
        taker = _SIDE[taker_side]
        return (
            f'"msg":{{"trade_id":"{trade_id}","market_ticker":"{self.ticker}",'
            f'"yes_price_dollars":"{_PRICES[yes_price_ticks]}",'
            f'"no_price_dollars":"{_PRICES[PRICE_SCALE - yes_price_ticks]}",'
            f'"count_fp":"{_count(count_units)}","taker_side":"{taker}",'
            f'"taker_outcome_side":"{taker}","taker_book_side":"{_BOOK_SIDE[taker_side]}",'
            f'"is_block_trade":false,"ts":{ts_ms // 1000},"ts_ms":{ts_ms}}}}}'
        )


def check_against_encoder() -> None:
    """Raise unless the fast bodies equal ``encode``'s frames (guards against drift)."""
    frames = MarketFrames("KXSIM-CHECK-M00", "00000000-0000-4000-8000-000000000000")
    ts_ms = 1_781_159_489_957
    cases = [
        (
            stamp(DELTA_TYPE, 3, 17, frames.delta_body(Side.NO, 520, -67899, ts_ms)),
            encode.delta_frame(
                3, 17, frames.ticker, "00000000-0000-4000-8000-000000000000", Side.NO, 520, -67899, ts_ms
            ),
        ),
        (
            stamp(DELTA_TYPE, 3, 18, frames.delta_body(Side.NO, 520, 100, ts_ms, yes_leg=True)),
            encode.delta_frame(
                3,
                18,
                frames.ticker,
                "00000000-0000-4000-8000-000000000000",
                Side.NO,
                520,
                100,
                ts_ms,
                yes_leg=True,
            ),
        ),
        (
            stamp(TRADE_TYPE, 2, 9, frames.trade_body("t-1", 9910, 12345, Side.YES, ts_ms)),
            encode.trade_frame(2, 9, frames.ticker, "t-1", 9910, 12345, Side.YES, ts_ms),
        ),
    ]
    for fast, reference in cases:
        if fast != reference:
            raise KalshiRLError(f"sim frame builder drifted from encode: {fast} != {reference}")
