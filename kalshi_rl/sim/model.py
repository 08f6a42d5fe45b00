"""A seeded market model: a latent probability, lagging makers, and takers who cross.

Per market the model keeps a latent YES probability ``p = sigmoid(x)``. Each model event the
logit ``x`` takes a Gaussian step (``volatility``), is pulled toward its starting value
(``mean_reversion``) and, as close approaches, is pushed away from 0 (``terminal_pull``) with
a rising volatility (``close_vol_boost``), so the market polarises toward the outcome that
is then drawn from ``p`` at close.

**The edge.** Makers do not quote around ``p`` itself but around an exponential moving
average of it with half-life ``quote_lag_halflife_events``. The mid price therefore follows
the latent value with a delay of roughly ``halflife / ln 2`` events: after the mid has moved,
the latent value is on average still ahead of it, so recent mid moves predict further moves
in the same direction (momentum), and informed takers (``informed_taker_share``), who trade
only when the latent value is beyond the stale quote, make the trade flow predictive too.
Setting the half-life to 0 removes the lag and with it this edge.

Everything leaving the model is exact: prices in ticks on the ``tapered_deci_cent`` grid,
sizes in units of 0.01 contract (fractional counts such as 678.99 occur). Floats only hold
the latent process, never a price or a count. A model is deterministic for its seed.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from kalshi_rl.core.events import Side
from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.sim.book import SimBook
from kalshi_rl.sim.grid import grid_below, ladder_down, snap_down

PROGRESS_BUCKETS = 20
"""Time to close enters the model in this many steps, so runs are reproducible per bucket."""


@dataclass(frozen=True)
class MarketModelConfig:
    """Parameters of one market's dynamics; all rates are per model event."""

    volatility: float = 0.006
    """Standard deviation of the latent logit's step per event."""
    mean_reversion: float = 0.00002
    """Fraction of the distance to the starting logit removed per event."""
    close_vol_boost: float = 3.0
    """Volatility multiplier reached at close (it rises quadratically with time)."""
    terminal_pull: float = 0.0005
    """Per-event push of the logit away from 0 at close, scaled like the volatility boost."""
    quote_lag_halflife_events: float = 40.0
    """Half-life, in model events, of the makers' EMA of the latent value (0 = no lag)."""
    half_spread_ticks: int = 100
    """Distance from the makers' quote centre to their best bid on each side."""
    depth_levels: int = 8
    """Grid levels each side's makers keep below their best bid."""
    level_size_units: int = 20_000
    """Typical size of a level in units (20_000 = 200.00 contracts); deeper levels are larger."""
    tail_levels: int = 3
    """Small far-from-the-money bids per side, on the sub-$0.10 deci-cent part of the grid."""
    tail_size_units: int = 1_500
    """Typical size of a tail bid in units."""
    taker_rate: float = 0.12
    """Probability that an event is a taker crossing the spread (a trade)."""
    informed_taker_share: float = 0.5
    """Share of takers who trade only toward the latent value (the rest pick a side at random)."""
    initial_probability_range: tuple[float, float] = (0.08, 0.92)
    """The starting latent probability is drawn uniformly from this range."""


class ModelDelta(NamedTuple):
    """A change of one bid level: ``delta_units`` at ``price_ticks`` on ``side``."""

    side: Side
    price_ticks: int
    delta_units: int


class ModelTrade(NamedTuple):
    """A trade; ``taker_side`` is the side the taker bought."""

    trade_id: str
    yes_price_ticks: int
    count_units: int
    taker_side: Side


ModelEvent = ModelDelta | ModelTrade


class _SidePlan(NamedTuple):
    side: Side
    top: int | None
    ladder: list[int]
    tails: list[int]
    keep: frozenset[int]


_YES, _NO = Side.YES, Side.NO


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


class MarketModel:
    """One market's latent value, maker ladders and takers; owns the market's ``SimBook``."""

    def __init__(self, config: MarketModelConfig, seed: int) -> None:
        self.config = config
        self.book = SimBook()
        self._rng = random.Random(seed)
        low, high = config.initial_probability_range
        self._x = _logit(self._rng.uniform(low, high))
        self._anchor = self._x
        self._p = 1.0 / (1.0 + math.exp(-self._x))
        self._center = self._p
        self._bucket = -1
        self._pull = 0.0
        self._sigma = config.volatility
        halflife = config.quote_lag_halflife_events
        self._alpha = 1.0 if halflife <= 0 else 1.0 - 0.5 ** (1.0 / halflife)
        sub_dime = grid_below(1_000)
        count = min(config.tail_levels, len(sub_dime))
        self._tails = {side: sorted(self._rng.sample(sub_dime, count)) for side in Side}
        self._plans: dict[int, tuple[_SidePlan, _SidePlan]] = {}
        self._plans_by_tops: dict[tuple[int | None, int | None], tuple[_SidePlan, _SidePlan]] = {}
        self._plan: tuple[_SidePlan, _SidePlan] = (
            _SidePlan(_YES, None, [], [], frozenset()),
            _SidePlan(_NO, None, [], [], frozenset()),
        )
        self._seed_book()

    @property
    def probability(self) -> float:
        """Return the latent probability of YES."""
        return self._p

    @property
    def quote_center(self) -> float:
        """Return the (lagging) value the makers quote around."""
        return self._center

    def draw_result(self) -> str:
        """Draw the outcome, ``"yes"`` with the latent probability."""
        return "yes" if self._rng.random() < self.probability else "no"

    def step(self, progress: float = 0.0) -> list[ModelEvent]:
        """Advance one event; ``progress`` is the elapsed fraction of the market's life.

        Returns the events the step produced (usually one delta; a trade is the delta it
        caused followed by the trade; empty when a maker's action was refused).
        """
        cfg = self.config
        bucket = min(PROGRESS_BUCKETS - 1, max(0, int(progress * PROGRESS_BUCKETS)))
        if bucket != self._bucket:
            self._bucket = bucket
            weight = (bucket / (PROGRESS_BUCKETS - 1)) ** 2
            self._pull = cfg.terminal_pull * weight
            self._sigma = cfg.volatility * (1.0 + (cfg.close_vol_boost - 1.0) * weight)
        rng = self._rng
        x = self._x
        x += cfg.mean_reversion * (self._anchor - x) + self._pull * x + self._sigma * rng.gauss(0.0, 1.0)
        x = 7.0 if x > 7.0 else -7.0 if x < -7.0 else x
        self._x = x
        self._p = p = 1.0 / (1.0 + math.exp(-x))
        self._center += self._alpha * (p - self._center)
        if rng.random() < cfg.taker_rate:
            events = self._take()
            if events:
                return events
        return self._make()

    # -- makers -------------------------------------------------------------------------------

    def _current_plan(self) -> tuple[_SidePlan, _SidePlan]:
        """Return where the makers want to quote (YES, NO) for the current quote centre."""
        center_ticks = int(self._center * PRICE_SCALE)
        plan = self._plans.get(center_ticks)
        if plan is None:  # memoised: a plan depends only on the centre's tick
            half = self.config.half_spread_ticks
            tops = (snap_down(center_ticks - half), snap_down(PRICE_SCALE - center_ticks - half))
            plan = self._plans_by_tops.get(tops)
            if plan is None:
                plan = (self._side_plan(_YES, tops[0]), self._side_plan(_NO, tops[1]))
                self._plans_by_tops[tops] = plan
            self._plans[center_ticks] = plan
        self._plan = plan
        return plan

    def _side_plan(self, side: Side, top: int | None) -> _SidePlan:
        if top is None:
            return _SidePlan(side, None, [], [], frozenset())
        ladder = ladder_down(top, self.config.depth_levels)
        tails = [p for p in self._tails[side] if p <= top and p not in ladder]
        return _SidePlan(side, top, ladder, tails, frozenset(ladder) | frozenset(tails))

    def _seed_book(self) -> None:
        for plan in self._current_plan():  # the book at open
            for index, price in enumerate(plan.ladder):
                if not self.book.would_cross(plan.side, price):
                    self.book.apply(plan.side, price, self._size(self._desired(index)))
            for price in plan.tails:
                if not self.book.would_cross(plan.side, price):
                    self.book.apply(plan.side, price, self._size(self.config.tail_size_units))

    def _desired(self, depth_index: int) -> int:
        return self.config.level_size_units * (4 + depth_index) // 4

    def _size(self, typical: int) -> int:
        low = max(1, typical // 3)
        return low + int(self._rng.random() * (max(2, typical * 2) - low + 1))

    def _change(self, side: Side, price: int, delta: int) -> list[ModelEvent]:
        self.book.apply(side, price, delta)
        return [ModelDelta(side, price, delta)]

    def _make(self) -> list[ModelEvent]:
        rand = self._rng.random
        book = self.book
        for plan in self._current_plan():  # stale quotes beyond the makers' new best go first
            best = book.best(plan.side)
            if best is not None and (plan.top is None or best > plan.top):
                return self._change(plan.side, best, -book.size(plan.side, best))
        side, _top, ladder, tails, keep = self._plan[0] if rand() < 0.5 else self._plan[1]
        if not ladder:
            return []
        choice = rand()
        if choice < 0.05:  # levels left deep below the ladder are slowly withdrawn
            strays = [p for p in book.prices(side) if p not in keep]
            if strays:
                price = strays[int(rand() * len(strays))]
                return self._change(side, price, -book.size(side, price))
        if tails and choice > 0.9:
            price = tails[int(rand() * len(tails))]
            desired = self.config.tail_size_units
        else:
            index = int(rand() * len(ladder))
            price = ladder[index]
            desired = self._desired(index)
        current = book.size(side, price)
        if current == 0:
            if book.would_cross(side, price):
                return []
            return self._change(side, price, self._size(desired))
        if rand() < (0.6 if current < desired else 0.35):
            return self._change(side, price, 1 + int(rand() * max(1, desired // 2)))
        return self._change(side, price, -(1 + int(rand() * current)))

    # -- takers -------------------------------------------------------------------------------

    def _take(self) -> list[ModelEvent]:
        rng = self._rng
        best_yes = self.book.best_level(_YES)
        best_no = self.book.best_level(_NO)
        if rng.random() < self.config.informed_taker_share:
            fair = int(self.probability * PRICE_SCALE)
            if best_no is not None and fair > PRICE_SCALE - best_no[0]:
                taker = _YES  # YES is cheap: buy it from the best NO bid
            elif best_yes is not None and fair < best_yes[0]:
                taker = _NO  # YES is dear: sell it to the best YES bid (buy NO)
            else:
                return []
        else:
            taker = _YES if rng.random() < 0.5 else _NO
        resting = best_no if taker is _YES else best_yes
        if resting is None:
            return []
        price, size = resting
        count = size if rng.random() < 0.25 else 1 + int(rng.random() * size)
        yes_price = PRICE_SCALE - price if taker is _YES else price
        trade_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        events: list[ModelEvent] = self._change(taker.opposite, price, -count)
        events.append(ModelTrade(trade_id, yes_price, count, taker))
        return events
