"""kalshi-rl: record Kalshi orderbooks exactly, train RL agents, paper-trade them."""

__version__ = "0.1.0"
