"""A seeded market model: a latent probability with news jumps, slow makers, takers who cross.

**Time.** The latent value and the makers' quote centre move in *event time*: seconds of the
clock at which the exchange generated the events. ``step(progress, now_ms)`` is given that
clock (the exchange passes its wall clock); without ``now_ms`` each step counts as
``1 / events_per_second`` seconds. One step covers at most ``max_step_s``, so a paused
exchange does not make the value leap when it resumes. The latent value advances on a fixed
grid of event time (``latent_step_s``, 50 ms) with a random stream of its own: for a seed
its path depends on event time only, however the events fall, and the timing never shifts
the makers' and takers' random stream. What makers and takers do (quote, cancel, re-place,
trade) happens per model event, one action per step.

**The latent value.** Per market the model keeps a latent YES probability ``p = sigmoid(x)``.
Over ``dt`` seconds the logit ``x`` takes a Gaussian step of standard deviation
``volatility * sqrt(dt)`` (diffusion, ~0.5 cent/√s at p = 0.5), is pulled toward its starting
value (``mean_reversion`` per second) and, with probability ``1 - exp(-jump_rate_per_s * dt)``,
jumps ("news": a Poisson process, one jump per 45 s on average) by ``jump_size_logit`` times
a factor uniform in [0.5, 1.5], up or down with equal odds. A jump of 1.0 moves ``p`` by
about ±23 cents at 0.5, +21/−12 cents at 0.2, +13/−6 cents at 0.1. As close approaches the
logit is pushed away from 0 (``terminal_pull``) with a rising volatility
(``close_vol_boost``), so the market polarises toward the outcome, which is drawn from ``p``
at close.

**The edge: momentum.** Makers do not quote around ``p`` but around an exponential moving
average of it, the *quote centre*, with a half-life ``H = quote_lag_halflife_s`` (20 s) of
event time; their best bids sit ``half_spread_ticks`` (1 cent) either side of the centre
rounded to the grid, a 2-cent spread. After a jump of size ``D`` the mid therefore does not
jump: it drifts toward the new value, closing half the remaining gap every half-life, so
``t`` seconds later it has moved ``D * (1 - 2**(-t/H))`` and ``D * 2**(-t/H)`` is still to
come. Recent mid moves predict further moves the same way. With the defaults a 23-cent jump
moves the mid ~3.7 cents in its first 5 s and ~14 cents more over the next 40 s, against a
round trip cost of the spread plus two taker fees (2 + 3.5 cents a contract at 0.5).
``bench/edge.py`` measures it (200 events/s, 48 ten-minute episodes, 10 contracts): a rule
"buy after a 2-cent move over 5 s, hold 40 s" makes about +$3 per episode after fees,
positive in ~80 % of episodes, trading at random loses ~$65-70, and 5-second mid changes
have autocorrelation about +0.6 to +0.8 at a 5 s lag (about +0.5 at 15 s). The diffusion
adds the same kind of momentum on a smaller scale, the centre being a smoothed copy of ``p``.
Informed takers (``informed_taker_share``) trade only when ``p`` is beyond the stale quote,
so the trade flow also leans the way the mid is about to go.

Switching the edge off: ``quote_lag_halflife_s=0`` makes makers quote around ``p`` itself,
so every jump is priced at once and the mid is (up to the grid and the book's churn) a
martingale: the 5-second autocorrelation is ~0 (−0.03) and the momentum rule above loses
~$10 per episode. ``jump_rate_per_s=0`` as well leaves a pure diffusion. Two weak
predictable drifts remain by design: toward the starting value (``mean_reversion``; 0
removes it) and, near close, away from 0.5 (``terminal_pull``; 0 removes it).

**The book's churn.** Each maker action picks a side. Quotes beyond the makers' best after
the centre moved are pulled first; a missing best level is re-placed (``refill_top_share``);
otherwise a level left below the ladder is withdrawn (``stray_pull_share``) or a random
ladder level is placed when empty, pulled whole (``cancel_share``) or resized. With the
defaults about 19 % of deltas add a level, 19 % remove one and 62 % update one, like Kalshi
(19 % / 19 % / 62 % on a production capture).

Everything leaving the model is exact: prices in ticks on the ``tapered_deci_cent`` grid,
sizes in units of 0.01 contract (fractional counts such as 678.99 occur). Floats only hold
the latent process, never a price or a count. The book is never crossed and no level goes
negative. A model is deterministic for its seed and the ``(progress, now_ms)`` it is
stepped with.
"""

from __future__ import annotations

import math
import random
import uuid
from typing import NamedTuple

from kalshi_rl.core.events import Side
from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.sim.book import SimBook
from kalshi_rl.sim.grid import DEFAULT_GRID, PriceGrid
from kalshi_rl.sim.model_config import MarketModelConfig

__all__ = ["PROGRESS_BUCKETS", "MarketModel", "MarketModelConfig", "ModelDelta", "ModelEvent", "ModelTrade"]

PROGRESS_BUCKETS = 20
"""Time to close enters the model in this many steps, so runs are reproducible per bucket."""


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
_TAIL_LIMIT_TICKS = 1_000
"""The far-from-the-money bids sit below $0.10."""
_LN2 = math.log(2.0)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


class MarketModel:
    """One market's latent value, maker ladders and takers; owns the market's ``SimBook``."""

    def __init__(self, config: MarketModelConfig, seed: int, grid: PriceGrid = DEFAULT_GRID) -> None:
        self.config = config
        self.grid = grid
        self.book = SimBook(grid)
        self._rng = random.Random(seed)
        low, high = config.initial_probability_range
        self._x = _logit(self._rng.uniform(low, high))
        self._anchor = self._x
        self._p = 1.0 / (1.0 + math.exp(-self._x))
        self._center = self._p
        self._bucket = -1
        self._pull = 0.0
        self._sigma = config.volatility
        self._clock_s = 0.0
        self._last_ms: int | None = None
        self._default_dt = 1.0 / config.events_per_second if config.events_per_second > 0 else 0.0
        self._max_dt = max(0.0, config.max_step_s)
        self._latent_step = max(0.0, config.latent_step_s)
        self._latent_steps = 0
        sub_dime = grid.below(_TAIL_LIMIT_TICKS)
        count = min(config.tail_levels, len(sub_dime))
        self._tails = {side: sorted(self._rng.sample(sub_dime, count)) for side in Side}
        self._latent_rng = random.Random(self._rng.getrandbits(64))  # the latent's own stream
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

    @property
    def clock_s(self) -> float:
        """Return the event time the model has advanced through, in seconds."""
        return self._clock_s

    def set_grid(self, grid: PriceGrid) -> None:
        """Quote on ``grid`` from now on (the book must already hold only prices on it)."""
        off_grid = [p for side in Side for p in self.book.prices(side) if not grid.contains(p)]
        if off_grid:
            raise ValueError(f"the book still holds prices off the {grid.structure} grid: {off_grid[:5]}")
        self.grid = grid
        self.book.grid = grid
        # the far bids move to the nearest price of the new grid below them (no random draw,
        # so the model's random stream stays what it was)
        for side, tails in self._tails.items():
            snapped = {grid.snap_down(p) for p in tails}
            self._tails[side] = sorted(p for p in snapped if p is not None and p < _TAIL_LIMIT_TICKS)
        self._plans.clear()
        self._plans_by_tops.clear()

    def draw_result(self) -> str:
        """Draw the outcome, ``"yes"`` with the latent probability."""
        return "yes" if self._rng.random() < self.probability else "no"

    def step(self, progress: float = 0.0, now_ms: int | None = None) -> list[ModelEvent]:
        """Advance one event; ``progress`` is the elapsed fraction of the market's life.

        ``now_ms`` is the event time (epoch ms) of this event: the latent value and the quote
        centre advance by the time since the previous step's ``now_ms`` (the first such step
        advances nothing; a step covers at most ``max_step_s``). Without it the step covers
        ``1 / events_per_second`` seconds.

        Returns the events the step produced (usually one delta; a trade is the delta it
        caused followed by the trade; empty when a maker's action was refused).
        """
        cfg = self.config
        if now_ms is None:
            dt = self._default_dt
        else:
            last = self._last_ms
            self._last_ms = now_ms
            dt = 0.0 if last is None or now_ms <= last else (now_ms - last) / 1000.0
            if dt > self._max_dt:
                dt = self._max_dt
        bucket = min(PROGRESS_BUCKETS - 1, max(0, int(progress * PROGRESS_BUCKETS)))
        if bucket != self._bucket:
            self._bucket = bucket
            weight = (bucket / (PROGRESS_BUCKETS - 1)) ** 2
            self._pull = cfg.terminal_pull * weight
            self._sigma = cfg.volatility * (1.0 + (cfg.close_vol_boost - 1.0) * weight)
        if dt > 0.0:
            self._clock_s += dt
            step_s = self._latent_step
            if step_s <= 0.0:
                self._advance(dt)
            else:  # on a fixed grid of event time, so the path depends on event time only
                due = int(self._clock_s / step_s + 1e-9)
                while self._latent_steps < due:
                    self._latent_steps += 1
                    self._advance(step_s)
        if self._rng.random() < cfg.taker_rate:
            events = self._take()
            if events:
                return events
        return self._make()

    # -- the latent value and the quote centre ------------------------------------------------

    def _advance(self, dt: float) -> None:
        """Move the latent logit and the makers' quote centre through ``dt`` seconds."""
        cfg = self.config
        rng = self._latent_rng
        x = self._x
        x += (cfg.mean_reversion * (self._anchor - x) + self._pull * x) * dt
        x += self._sigma * math.sqrt(dt) * rng.gauss(0.0, 1.0)
        if cfg.jump_rate_per_s > 0.0 and rng.random() < -math.expm1(-cfg.jump_rate_per_s * dt):
            size = cfg.jump_size_logit * (0.5 + rng.random())
            x += size if rng.random() < 0.5 else -size
        x = 7.0 if x > 7.0 else -7.0 if x < -7.0 else x
        self._x = x
        self._p = p = 1.0 / (1.0 + math.exp(-x))
        halflife = cfg.quote_lag_halflife_s
        if halflife <= 0.0:
            self._center = p
        else:
            self._center += -math.expm1(-_LN2 * dt / halflife) * (p - self._center)

    # -- makers -------------------------------------------------------------------------------

    def _current_plan(self) -> tuple[_SidePlan, _SidePlan]:
        """Return where the makers want to quote (YES, NO) for the current quote centre."""
        center_ticks = int(self._center * PRICE_SCALE)
        plan = self._plans.get(center_ticks)
        if plan is None:  # memoised: a plan depends only on the centre's tick
            half = self.config.half_spread_ticks
            grid = self.grid
            mid = grid.snap_nearest(center_ticks)  # the centre rounded to the grid: a 2 × half spread
            tops = (grid.snap_down(mid - half), grid.snap_down(PRICE_SCALE - mid - half))
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
        ladder = self.grid.ladder_down(top, self.config.depth_levels)
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
        """Return a fresh level's size: uniform in [typical / 3, 2 × typical] units."""
        low = typical // 3 if typical >= 3 else 1
        high = typical * 2 if typical > 0 else 2
        return low + int(self._rng.random() * (high - low + 1))

    def _change(self, side: Side, price: int, delta: int) -> list[ModelEvent]:
        self.book.apply(side, price, delta)
        return [ModelDelta(side, price, delta)]

    def _make(self) -> list[ModelEvent]:
        cfg = self.config
        rand = self._rng.random
        book = self.book
        for plan in self._current_plan():  # stale quotes beyond the makers' new best go first
            best = book.best(plan.side)
            if best is not None and (plan.top is None or best > plan.top):
                return self._change(plan.side, best, -book.size(plan.side, best))
        side, _top, ladder, tails, keep = self._plan[0] if rand() < 0.5 else self._plan[1]
        if not ladder:
            return []
        top = ladder[0]
        if book.size(side, top) == 0 and rand() < cfg.refill_top_share:  # requote the best level
            if book.would_cross(side, top):
                return []
            return self._change(side, top, self._size(self._desired(0)))
        choice = rand()
        if choice < cfg.stray_pull_share:  # levels left deep below the ladder are withdrawn
            strays = [p for p in book.prices(side) if p not in keep]
            if strays:
                price = strays[int(rand() * len(strays))]
                return self._change(side, price, -book.size(side, price))
        if tails and choice > 0.9:
            price = tails[int(rand() * len(tails))]
            desired = cfg.tail_size_units
        else:
            index = int(rand() * len(ladder))
            price = ladder[index]
            desired = self._desired(index)
        current = book.size(side, price)
        if current == 0:
            if book.would_cross(side, price):
                return []
            return self._change(side, price, self._size(desired))
        if rand() < cfg.cancel_share:  # pull the whole level (it is re-placed later)
            return self._change(side, price, -current)
        if rand() < (0.6 if current < desired else 0.35):
            return self._change(side, price, 1 + int(rand() * (desired // 2 or 1)))
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
