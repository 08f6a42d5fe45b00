"""``kalshi-rl sim``: a local exchange speaking Kalshi's WebSocket protocol and public REST.

A seeded market model drives books on Kalshi price grids; clients subscribe with Kalshi's
commands and get Kalshi's frames (seq per sid, acks, error codes and limits, get_snapshot,
``ticker``, both ``use_yes_price`` encodings); markets and events live through Kalshi's
lifecycle (created, paused, re-timed, re-gridded, fee overrides, determined, settled) on a
schedule or on request; rolling series (``SimConfig.rolling``, ``SeriesSpec``) make a new
market every period, continuously, and keep only their last ``keep_settled`` settled markets
(an empty book, REST ``finalized``; older ones are forgotten: REST 404, subscribe error 11),
so memory stays flat over any number of roll-overs; faults (drops, gaps, malformed frames,
stalls, terminal errors) can be injected per connection, and a ledger records exactly what
each connection was sent and what happened to every market.
"""

from kalshi_rl.sim.config import ScheduleConfig, SeriesSpec, SimConfig
from kalshi_rl.sim.exchange import SimExchange
from kalshi_rl.sim.faults import FaultConfig
from kalshi_rl.sim.ledger import ExchangeAction, Ledger, LedgerEntry, SimCounters
from kalshi_rl.sim.model import MarketModel, MarketModelConfig

__all__ = [
    "ExchangeAction",
    "FaultConfig",
    "Ledger",
    "LedgerEntry",
    "MarketModel",
    "MarketModelConfig",
    "ScheduleConfig",
    "SeriesSpec",
    "SimConfig",
    "SimCounters",
    "SimExchange",
]
