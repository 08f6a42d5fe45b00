"""Paper trading: the inference-only actor, the paper client, the portfolio."""
