"""``MarketModelConfig``: the parameters of one simulated market's dynamics (see ``model.py``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarketModelConfig:
    """Parameters of one market's dynamics.

    The latent value and the quote centre are parametrised per second of event time; the
    makers' and takers' behaviour per model event.
    """

    # -- the latent value (per second of event time) ------------------------------------------
    volatility: float = 0.02
    """Diffusion of the latent logit: standard deviation of its change over one second
    (0.02 ≈ 0.5 cent at p = 0.5; ~12 cents over 10 minutes). Rises toward close, see
    ``close_vol_boost``."""
    jump_rate_per_s: float = 1.0 / 45.0
    """Poisson rate of news jumps of the latent logit, per second of event time (1/45: about
    13 jumps per 10 minutes). The jumps are what the lagging makers turn into momentum;
    0 = no jumps (the edge then shrinks to the diffusion's small share)."""
    jump_size_logit: float = 1.0
    """Mean absolute size of a jump of the logit; each jump is this times U(0.5, 1.5), up or
    down at random. 1.0 moves p by ±23 cents at 0.5, +21/−12 at 0.2, +13/−6 at 0.1."""
    mean_reversion: float = 1.0 / 300.0
    """Fraction of the distance to the starting logit removed per second (keeps the value
    away from 0 and 1 over hours: p is in [0.1, 0.9] about 3/4 of the time; 0 = none)."""
    close_vol_boost: float = 3.0
    """Volatility multiplier reached at close (it rises quadratically with time)."""
    terminal_pull: float = 0.004
    """Push of the logit away from 0 per second at close (``x += terminal_pull * x * dt``),
    scaled like the volatility boost; polarises the market before settlement."""
    # -- the edge ------------------------------------------------------------------------------
    quote_lag_halflife_s: float = 20.0
    """Half-life, in seconds of event time, of the makers' EMA of the latent probability.

    This lag is the model's edge: after a move of the latent value the mid keeps drifting
    the same way, half of the remaining gap per half-life (momentum; see the module
    docstring for its size). 0 = makers quote around the latent value itself: no lag, no
    edge."""
    # -- time ----------------------------------------------------------------------------------
    events_per_second: float = 100.0
    """Steps per second of event time when ``step`` is called without ``now_ms`` (each such
    step covers 1 / this value; 0 = such steps do not advance time)."""
    max_step_s: float = 1.0
    """Longest stretch of event time one step may cover (longer gaps, e.g. a pause, are cut)."""
    latent_step_s: float = 0.05
    """The latent value and the quote centre advance in steps of this much event time, drawn
    from their own random stream, so their path is a function of the seed and event time
    only, however the events fall in between (0 = advance by each step's own ``dt``)."""
    # -- makers (per event) --------------------------------------------------------------------
    half_spread_ticks: int = 100
    """Distance from the makers' quote centre (rounded to the grid) to their best bid on each
    side; the spread is twice this (2 cents), wider only while a best level is missing."""
    depth_levels: int = 8
    """Grid levels each side's makers keep below their best bid."""
    level_size_units: int = 20_000
    """Typical size of a level in units (20_000 = 200.00 contracts); deeper levels are larger."""
    tail_levels: int = 3
    """Small far-from-the-money bids per side, on the sub-$0.10 deci-cent part of the grid."""
    tail_size_units: int = 1_500
    """Typical size of a tail bid in units."""
    refill_top_share: float = 0.7
    """Probability that a maker action whose side lacks its best planned level re-places it."""
    cancel_share: float = 0.22
    """Probability that a maker action on a resting ladder level pulls the level whole (to be
    re-placed later, usually with another size); the rest resize it."""
    stray_pull_share: float = 0.05
    """Share of maker actions that withdraw a level left below the ladder after a requote."""
    # -- takers (per event) --------------------------------------------------------------------
    taker_rate: float = 0.12
    """Probability that an event is a taker crossing the spread (a trade)."""
    informed_taker_share: float = 0.5
    """Share of takers who trade only toward the latent value (the rest pick a side at random)."""
    initial_probability_range: tuple[float, float] = (0.08, 0.92)
    """The starting latent probability is drawn uniformly from this range."""
