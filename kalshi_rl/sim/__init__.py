"""``kalshi-rl sim``: a local exchange speaking Kalshi's WebSocket protocol (DESIGN.md §8).

A seeded market model drives books on the ``tapered_deci_cent`` grid; clients subscribe with
Kalshi's commands and get Kalshi's frames (seq per sid, acks, error codes, get_snapshot);
faults (drops, gaps, malformed frames, stalls) can be injected per connection, and a ledger
records exactly what each connection was sent.
"""

from kalshi_rl.sim.exchange import SimConfig, SimExchange
from kalshi_rl.sim.faults import FaultConfig
from kalshi_rl.sim.ledger import Ledger, LedgerEntry, SimCounters
from kalshi_rl.sim.model import MarketModel, MarketModelConfig

__all__ = [
    "FaultConfig",
    "Ledger",
    "LedgerEntry",
    "MarketModel",
    "MarketModelConfig",
    "SimConfig",
    "SimCounters",
    "SimExchange",
]
