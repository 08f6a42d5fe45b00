"""Every frame the exchange sends parses with the client's parser and carries exact values."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kalshi_rl.core.events import BookDelta, BookSnapshot, Side, Trade
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.messages import parse_frame
from kalshi_rl.sim.frames import DELTA_TYPE, TRADE_TYPE, MarketFrames, body_of, stamp
from kalshi_rl.sim.grid import GRID, is_on_grid

MARKET_ID = "3c545cb4-7ba9-4b22-b7c3-fdb7e0660b9a"
sides = st.sampled_from([Side.YES, Side.NO])
ts_ms = st.integers(1_600_000_000_000, 1_900_000_000_000)
units = st.integers(1, 10**9)


@given(
    st.integers(1, 10**6), st.integers(1, 10**9), sides, st.sampled_from(GRID), units, st.booleans(), ts_ms
)
def test_fast_delta_frame_equals_encode(sid, seq, side, price, size, negative, ts):
    delta = -size if negative else size
    frames = MarketFrames("KXSIM-26JAN08-M00", MARKET_ID)
    fast = stamp(DELTA_TYPE, sid, seq, frames.delta_body(side, price, delta, ts))
    assert fast == encode.delta_frame(sid, seq, "KXSIM-26JAN08-M00", MARKET_ID, side, price, delta, ts)


@given(st.integers(1, 10**6), st.integers(1, 10**9), sides, st.sampled_from(GRID), units, ts_ms, st.uuids())
def test_fast_trade_frame_equals_encode(sid, seq, side, price, count, ts, trade_id):
    frames = MarketFrames("KXSIM-26JAN08-M01", MARKET_ID)
    fast = stamp(TRADE_TYPE, sid, seq, frames.trade_body(str(trade_id), price, count, side, ts))
    assert fast == encode.trade_frame(sid, seq, "KXSIM-26JAN08-M01", str(trade_id), price, count, side, ts)


def test_body_of_strips_only_sid_and_seq():
    frame = encode.lifecycle_frame(0, 0, "KXSIM-26JAN08-M00", "settled", settled_ts=1)
    assert stamp("market_lifecycle_v2", 4, 9, body_of(frame)) == encode.lifecycle_frame(
        4, 9, "KXSIM-26JAN08-M00", "settled", settled_ts=1
    )


async def test_a_run_parses_and_has_sub_cent_prices_and_fractional_sizes(make_sim, open_probe):
    exchange = await make_sim(rate=20_000, markets=3)
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    await probe.cmd("subscribe", channels=["trade"])
    await probe.cmd("subscribe", channels=["market_lifecycle_v2"])
    await probe.frames(2500)

    prices: list[int] = []
    sizes: list[int] = []
    kinds: set[str] = set()
    for text in probe.texts:
        message = parse_frame(text, 0)
        kinds.add(type(message).__name__)
        if isinstance(message, BookSnapshot):
            for price, size in (*message.yes_bids, *message.no_bids):
                prices.append(price)
                sizes.append(size)
        elif isinstance(message, BookDelta):
            prices.append(message.price_ticks)
            sizes.append(abs(message.delta_units))
        elif isinstance(message, Trade):
            assert message.taker_side in (Side.YES, Side.NO)
            sizes.append(message.count_units)
    assert {"Subscribed", "BookSnapshot", "BookDelta", "Trade"} <= kinds
    assert all(is_on_grid(p) for p in prices)
    assert any(p % 100 for p in prices), "no sub-cent price in the run"
    assert any(p < 1_000 for p in prices), "no deci-cent level below $0.10"
    assert any(s % 100 for s in sizes), "no fractional size in the run"
