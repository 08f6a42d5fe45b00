"""Benchmark: does the actor delay the feed it shares an event loop with?

In ``kalshi-rl paper`` (and ``serve``) the WebSocket feed, the collector and the actor run on
one event loop, so whatever the actor does on the loop while it waits for a tick (spinning,
warming its decision path) can hold a frame in the socket. This measures it.

The local exchange runs in a child process and stamps each orderbook frame with the wall time
just before it writes the frame to the socket; this process runs what ``paper`` runs (collector
with its lake sink, paper client, actor at 100 ms ticks) and stamps the moment each frame's
update reaches the shared book. Frame-to-book latency = book updated - frame written, both
``time.time_ns()`` on this machine. Variants, interleaved in rounds (the machine is shared):

- ``no actor``: the collector alone;
- ``actor, spin``: the actor spinning (and warming up) for the last 2 ms before a tick;
- ``actor, no spin``: the actor sleeping until its tick (``spin_us=0``, the default).

For each: feed frame-to-book p50/p99/max, over all frames and over the frames written in the
2 ms before a tick (when the actor gets ready for it: what a spin would delay), and the actor's
decision latency (tick -> decision) and order latency (tick -> order acknowledged, 0 ms
simulated latency) p50/p99/max.

    python bench/feed_latency.py [--seconds 15] [--rounds 4] [--rate 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from actor import ENV, Trained, collector_config, paper_session, record_and_train  # bench/ is on sys.path

from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.collector import Collector

SPIN_US = 2_000
"""The spin of the ``actor, spin`` variant (the actor's default is 0: no spin)."""
BEFORE_TICK_NS = 2_000_000
"""Frames written this close before a tick arrive while the actor gets ready for it."""
VARIANTS = ("no actor", "actor, spin", "actor, no spin")


# -- the exchange, in a child process ---------------------------------------------------------


async def exchange(out: Path, rate: float) -> None:
    """Run the local exchange until SIGTERM; then write ``(seq, written ns)`` of each book frame."""
    from kalshi_rl.sim import outbox
    from kalshi_rl.sim.exchange import SimConfig, SimExchange

    written: list[tuple[int, bytes]] = []
    frame = outbox.ws_text_frame

    def stamped(payload: bytes) -> bytes:
        # Called for each frame of a batch right before the batch's one transport.write.
        written.append((time.time_ns(), payload))
        return frame(payload)

    outbox.ws_text_frame = stamped  # the writer looks it up on each batch
    sim = SimExchange(SimConfig(markets=1, seed=5, rate=rate, record_ledger=False))
    await sim.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(json.dumps({"ws_url": sim.ws_url, "rest_url": sim.rest_url, "tickers": sim.tickers}), flush=True)
    await stop.wait()
    await sim.stop()
    sends = []
    for ns, payload in written:
        message = json.loads(payload)
        if message.get("type") in ("orderbook_delta", "orderbook_snapshot"):
            sends.append((message["seq"], ns))
    np.save(out, np.asarray(sends, dtype=np.int64).reshape(-1, 2))


class Exchange:
    """The child exchange: started, read, and asked for its send times."""

    def __init__(self, rate: float, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--exchange", str(out), "--rate", str(rate)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.info: dict[str, Any] = json.loads(self.proc.stdout.readline())

    def sends(self) -> dict[int, int]:
        """Stop the exchange; return seq -> the ns it wrote that book frame."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        pairs = np.load(self.out)
        return {int(seq): int(ns) for seq, ns in pairs}


# -- one measured run -------------------------------------------------------------------------


def stamp_updates(shared: SharedOrderbookState) -> dict[int, int]:
    """seq -> the ns its update reached ``shared`` (stamped when the feed touches the book)."""
    updates: dict[int, int] = {}
    touch = shared.touch

    def touched() -> None:
        updates.setdefault(shared.state.last_sequence, time.time_ns())  # lifecycle touches repeat a seq
        touch()

    shared.touch = touched  # type: ignore[method-assign]
    return updates


async def measure(variant: str, trained: Trained, root: Path, seconds: float, rate: float) -> dict[str, Any]:
    lake = root / f"lake-{time.time_ns()}"
    sim = Exchange(rate, root / f"sends-{time.time_ns()}.npy")
    config = collector_config(sim.info, lake)
    stop = asyncio.Event()
    actor = None
    if variant == "no actor":
        collector = Collector(config)
        await collector.prepare()
        updates = stamp_updates(collector.books[trained.tickers[0]])
        run = asyncio.create_task(collector.run(stop))
    else:
        session = paper_session(trained, config)
        await session.prepare()
        updates = stamp_updates(session.collector.books[trained.tickers[0]])
        actor = session.actor
        assert actor is not None
        actor.config = replace(actor.config, spin_us=SPIN_US if variant == "actor, spin" else 0)
        run = asyncio.create_task(session.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await run
    sends = sim.sends()
    latencies = [(updates[seq] - ns) / 1_000 for seq, ns in sends.items() if seq in updates]
    tick_ns = ENV.tick_ms * 1_000_000
    before_tick = [
        (updates[seq] - ns) / 1_000
        for seq, ns in sends.items()
        if seq in updates and ns % tick_ns >= tick_ns - BEFORE_TICK_NS
    ]
    result: dict[str, Any] = {"feed_us": latencies, "before_tick_us": before_tick, "frames": len(sends)}
    if actor is not None:
        result["decision_us"] = list(actor.metrics.latencies_us or ())
        result["order_us"] = list(actor.metrics.order_latencies_us or ())
        result["missed"] = actor.metrics.missed_ticks
        result["ticks"] = actor.metrics.ticks
    return result


def _pct(values: list[float]) -> str:
    if not values:
        return "-"
    a = np.asarray(values)
    return f"p50 {np.percentile(a, 50):7,.0f}  p99 {np.percentile(a, 99):7,.0f}  max {a.max():8,.0f}"


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        recording = Exchange(args.rate, root / "recording.npy")
        try:
            trained = await record_and_train(root, recording.info)
        finally:
            recording.sends()
        results: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
        for _ in range(args.rounds):
            for variant in VARIANTS:
                results[variant].append(await measure(variant, trained, root, args.seconds, args.rate))
    print(
        f"{args.rounds} rounds x {args.seconds:.0f} s per variant, exchange at {args.rate:.0f} events/s, "
        "100 ms ticks; all figures in microseconds"
    )
    for variant in VARIANTS:
        runs = results[variant]
        feed = [x for r in runs for x in r["feed_us"]]
        frames = sum(r["frames"] for r in runs)
        print(f"{variant:15s} feed frame -> book ({len(feed):,} of {frames:,} frames): {_pct(feed)}")
        near = [x for r in runs for x in r["before_tick_us"]]
        print(f"{'':15s}   of which written in the 2 ms before a tick ({len(near):,}): {_pct(near)}")
        if variant != "no actor":
            decisions = [x for r in runs for x in r["decision_us"]]
            orders = [x for r in runs for x in r["order_us"]]
            missed = sum(r["missed"] for r in runs)
            ticks = sum(r["ticks"] for r in runs)
            print(
                f"{'':15s} tick -> decision ({len(decisions):,}, {missed} of {ticks + missed} missed): {_pct(decisions)}"
            )
            print(f"{'':15s} tick -> order acknowledged ({len(orders):,}): {_pct(orders)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--rate", type=float, default=1500.0)
    parser.add_argument("--exchange", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.exchange is not None:
        asyncio.run(exchange(options.exchange, options.rate))
    else:
        asyncio.run(main(options))
