"""Benchmark: does the local exchange's market model carry a learnable edge after fees?

No RL and no sockets: ``MarketModel``s are stepped directly at a fixed number of events per
second of event time (``--rate``, passed to ``step`` as ``now_ms``), the book is sampled once
per simulated second (a "tick", what an agent sees), and three taker strategies trade
``--size`` contracts per order against the sampled book:

- ``hold``: never trades;
- ``random``: each tick holds, buys or sells at random (net position capped at ±3 orders);
- ``momentum``: when flat, buys YES if the mid rose at least ``--k`` cents over the last
  ``--n`` ticks and buys NO if it fell as much; closes after ``--m`` ticks or when the mid
  moves ``--k`` cents the other way over ``--n`` ticks.

Orders cross: buying YES walks the YES asks (1 − NO bids), selling YES walks the YES bids,
and the same for NO. Each level filled is a fill paying Kalshi's taker fee
``ceil_to_$0.0001(0.07 × C × P × (1 − P))``. The strategies' orders do not change the
model's book (10 contracts are small against ~200-contract levels; the fill price does walk
the book). Each market lives ``--market-minutes`` (its progress runs 0 → 1, so the close's
polarisation is included) and is cut into ``--episode-minutes`` episodes that start flat and
end marked to market at the mid.

Also printed: the autocorrelation of non-overlapping 5-second mid changes at lags 5, 10,
15 s, and the add/update/remove mix of the model's deltas. ``--no-edge`` sets the makers'
quote half-life to 0 (the jumps stay, but are priced at once).

Usage: ``.venv/bin/python bench/edge.py [--no-edge] [--seeds 4] [--hours 2] [--rate 200]``
(``--halflife`` / ``--jump-rate`` override those model parameters; ``--n/--k/--m`` the rule's.)
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from kalshi_rl.core.events import Side
from kalshi_rl.core.units import COUNT_SCALE, PRICE_SCALE
from kalshi_rl.execution.fees import DEFAULT_FEE_MODEL
from kalshi_rl.sim.model import MarketModel, MarketModelConfig, ModelDelta

DEPTH = 4
"""Book levels kept per side per tick (enough to fill any order here)."""

Levels = tuple[tuple[int, int], ...]
"""``(price_ticks, units)`` best first."""


@dataclass(frozen=True)
class Tick:
    """The book at one second: YES bids and YES asks (best first), both in YES prices."""

    bids: Levels
    asks: Levels
    mid: float
    """(best bid + best ask) / 2 in ticks; the previous tick's mid while a side is empty."""


@dataclass
class Run:
    """One seed: its markets' ticks (one list per market) and the delta mix."""

    markets: list[list[Tick]]
    kinds: Counter[str]


def simulate(config: MarketModelConfig, seed: int, markets: int, market_s: int, rate: int) -> Run:
    """Step ``markets`` consecutive markets of ``market_s`` seconds at ``rate`` events/s."""
    out: list[list[Tick]] = []
    kinds: Counter[str] = Counter()
    for index in range(markets):
        model = MarketModel(config, seed=seed * 1_000 + index)
        book = model.book
        step = model.step
        ticks: list[Tick] = []
        mid = PRICE_SCALE / 2
        events_total = market_s * rate
        for second in range(market_s):
            base = second * rate
            for i in range(rate):
                n = base + i
                for event in step(n / events_total, (n * 1000) // rate):
                    if isinstance(event, ModelDelta):
                        new = book.size(event.side, event.price_ticks)
                        old = new - event.delta_units
                        kinds["add" if old == 0 else "remove" if new == 0 else "update"] += 1
            yes = book.levels(Side.YES)[-DEPTH:]
            no = book.levels(Side.NO)[-DEPTH:]
            bids = tuple(reversed(yes))
            asks = tuple((PRICE_SCALE - p, u) for p, u in reversed(no))
            if bids and asks:
                mid = (bids[0][0] + asks[0][0]) / 2
            ticks.append(Tick(bids, asks, mid))
        out.append(ticks)
    return Run(out, kinds)


# -- trading ------------------------------------------------------------------------------------


@dataclass
class Account:
    """A net YES position in contracts (negative: that many NO contracts), cash and fees."""

    position: int = 0
    cash: float = 0.0
    """Dollars."""
    fees: float = 0.0
    """Dollars."""
    trades: int = 0

    def _walk(self, levels: Levels, contracts: int) -> list[tuple[int, int]] | None:
        """Return the fills ``(price_ticks, contracts·COUNT_SCALE units)`` of a taker order."""
        want = contracts * COUNT_SCALE
        fills = []
        for price, units in levels:
            take = min(want, units)
            fills.append((price, take))
            want -= take
            if want == 0:
                return fills
        return None  # not enough liquidity: refused

    def _pay(self, fills: list[tuple[int, int]], pays: bool) -> None:
        for price, units in fills:
            value = price * units / (PRICE_SCALE * COUNT_SCALE)
            self.cash += -value if pays else value
            self.fees += DEFAULT_FEE_MODEL.trade_fee_micro(units, price, True) / 1_000_000
        self.trades += 1

    def order(self, tick: Tick, direction: int, contracts: int) -> bool:
        """Move the net YES position by ``direction`` × ``contracts`` as a taker.

        +1 sells NO while short (reduce-only) else buys YES; -1 sells YES while long else buys NO.
        An order that would flip the position is cut at flat. Returns whether it filled.
        """
        pos = self.position
        if direction > 0:
            count = min(contracts, -pos) if pos < 0 else contracts
            if pos < 0:  # sell NO: hit the NO bids = YES asks seen as NO prices
                fills = self._walk(tuple((PRICE_SCALE - p, u) for p, u in tick.asks), count)
                if fills is None:
                    return False
                self._pay(fills, pays=False)
            else:  # buy YES at the YES asks
                fills = self._walk(tick.asks, count)
                if fills is None:
                    return False
                self._pay(fills, pays=True)
            self.position += count
        else:
            count = min(contracts, pos) if pos > 0 else contracts
            if pos > 0:  # sell YES at the YES bids
                fills = self._walk(tick.bids, count)
                if fills is None:
                    return False
                self._pay(fills, pays=False)
            else:  # buy NO at the NO asks = 1 − YES bids
                fills = self._walk(tuple((PRICE_SCALE - p, u) for p, u in tick.bids), count)
                if fills is None:
                    return False
                self._pay(fills, pays=True)
            self.position -= count
        return True

    def close_at_mid(self, mid_ticks: float) -> None:
        """Mark the position to market at the mid and flatten it (no fee, no spread)."""
        mid = mid_ticks / PRICE_SCALE
        if self.position > 0:
            self.cash += self.position * mid
        elif self.position < 0:
            self.cash += -self.position * (1.0 - mid)
        self.position = 0

    @property
    def pnl(self) -> float:
        """P&L after fees in dollars (once flat)."""
        return self.cash - self.fees


Strategy = Callable[[list[Tick], int, int], Account]


def hold(ticks: list[Tick], size: int, seed: int) -> Account:
    return Account()


def random_strategy(ticks: list[Tick], size: int, seed: int) -> Account:
    rng = random.Random(seed)
    acct = Account()
    for tick in ticks[:-1]:
        action = rng.randrange(3)  # hold, buy, sell
        if action == 1 and acct.position < 3 * size:
            acct.order(tick, +1, size)
        elif action == 2 and acct.position > -3 * size:
            acct.order(tick, -1, size)
    acct.close_at_mid(ticks[-1].mid)
    return acct


def momentum(n: int, k_cents: float, m: int) -> Strategy:
    k = k_cents * PRICE_SCALE / 100

    def run(ticks: list[Tick], size: int, seed: int) -> Account:
        acct = Account()
        entered = 0
        mids = [t.mid for t in ticks]
        for t in range(n, len(ticks) - 1):
            move = mids[t] - mids[t - n]
            if acct.position == 0:
                if (move >= k and acct.order(ticks[t], +1, size)) or (
                    move <= -k and acct.order(ticks[t], -1, size)
                ):
                    entered = t
            else:
                long = acct.position > 0
                reversal = move <= -k if long else move >= k
                if t - entered >= m or reversal:
                    acct.order(ticks[t], -1 if long else +1, abs(acct.position))
        acct.close_at_mid(mids[-1])
        return acct

    return run


# -- statistics ---------------------------------------------------------------------------------


def autocorrelation(series: Sequence[Sequence[float]], lag: int) -> float:
    """Autocorrelation at ``lag`` of the pooled series (pairs never span two series)."""
    values = [v for s in series for v in s]
    mean = statistics.fmean(values)
    var = statistics.fmean([(v - mean) ** 2 for v in values])
    pairs = [(s[i] - mean) * (s[i + lag] - mean) for s in series for i in range(len(s) - lag)]
    return statistics.fmean(pairs) / var if var > 0 and pairs else math.nan


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-edge", action="store_true", help="quote half-life 0: no lag, no edge")
    parser.add_argument("--halflife", type=float, help="override quote_lag_halflife_s")
    parser.add_argument("--jump-rate", type=float, help="override jump_rate_per_s")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--hours", type=float, default=2.0, help="simulated hours per seed")
    parser.add_argument("--market-minutes", type=int, default=60)
    parser.add_argument("--episode-minutes", type=int, default=10)
    parser.add_argument("--rate", type=int, default=200, help="model events per second")
    parser.add_argument("--size", type=int, default=10, help="contracts per order")
    parser.add_argument("--n", type=int, default=5, help="momentum look-back, ticks")
    parser.add_argument("--k", type=float, default=2.0, help="momentum threshold, cents")
    parser.add_argument("--m", type=int, default=40, help="momentum holding time, ticks")
    args = parser.parse_args(argv)

    config = MarketModelConfig()
    if args.no_edge:
        config = dataclasses.replace(config, quote_lag_halflife_s=0.0)
    if args.halflife is not None:
        config = dataclasses.replace(config, quote_lag_halflife_s=args.halflife)
    if args.jump_rate is not None:
        config = dataclasses.replace(config, jump_rate_per_s=args.jump_rate)
    market_s = args.market_minutes * 60
    markets = max(1, round(args.hours * 3600 / market_s))
    episode_s = args.episode_minutes * 60

    started = time.perf_counter()
    with ProcessPoolExecutor() as pool:
        runs = list(
            pool.map(
                simulate,
                [config] * args.seeds,
                range(1, args.seeds + 1),
                [markets] * args.seeds,
                [market_s] * args.seeds,
                [args.rate] * args.seeds,
            )
        )
    sim_s = time.perf_counter() - started

    episodes = [
        ticks[i : i + episode_s]
        for run in runs
        for ticks in run.markets
        for i in range(0, len(ticks) - episode_s + 1, episode_s)
    ]
    strategies: dict[str, Strategy] = {
        "hold": hold,
        "random": random_strategy,
        f"momentum n={args.n} k={args.k:g}c m={args.m}": momentum(args.n, args.k, args.m),
    }
    print(
        f"model: quote_lag_halflife_s={config.quote_lag_halflife_s:g} jump_rate_per_s={config.jump_rate_per_s:.4f} "
        f"jump_size_logit={config.jump_size_logit:g} volatility={config.volatility:g}"
        f"{'  (--no-edge)' if args.no_edge else ''}"
    )
    print(
        f"{args.seeds} seeds x {markets} markets x {args.market_minutes} min at {args.rate} events/s = "
        f"{len(episodes)} episodes of {args.episode_minutes} min; {args.size} contracts per order; "
        f"simulated in {sim_s:.1f} s"
    )
    header = f"{'strategy':<28} {'P&L $':>9} {'$/episode':>10} {'median':>8} {'>0 eps':>7} {'trades':>7} {'fees $':>8}"
    print(header)
    print("-" * len(header))
    for name, strategy in strategies.items():
        accounts = [strategy(ep, args.size, index) for index, ep in enumerate(episodes)]
        pnls = [a.pnl for a in accounts]
        positive = sum(p > 0 for p in pnls)
        print(
            f"{name:<28} {sum(pnls):>9.2f} {statistics.fmean(pnls):>10.2f} {statistics.median(pnls):>8.2f} "
            f"{positive / len(pnls):>7.0%} {sum(a.trades for a in accounts):>7} {sum(a.fees for a in accounts):>8.2f}"
        )

    changes = [[(ep[i + 5].mid - ep[i].mid) / 100 for i in range(0, len(ep) - 5, 5)] for ep in episodes]
    acf = ", ".join(f"{5 * lag} s {autocorrelation(changes, lag):+.3f}" for lag in (1, 2, 3))
    spreads = [(t.asks[0][0] - t.bids[0][0]) / 100 for ep in episodes for t in ep if t.bids and t.asks]
    print(f"autocorrelation of 5-s mid changes: {acf}")
    print(
        f"mean spread {statistics.fmean(spreads):.2f} c; std of 5-s mid change {statistics.pstdev([c for s in changes for c in s]):.2f} c"
    )
    kinds: Counter[str] = Counter()
    for run in runs:
        kinds.update(run.kinds)
    total = sum(kinds.values())
    print(
        "delta mix: "
        + ", ".join(f"{kind} {kinds[kind] / total:.1%}" for kind in ("add", "update", "remove"))
        + f" of {total:,} deltas (Kalshi capture: add 19 %, update 62 %, remove 19 %)"
    )


if __name__ == "__main__":
    main()
