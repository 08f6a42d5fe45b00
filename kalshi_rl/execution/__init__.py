"""The fill engine and Kalshi fees, shared by the env and the paper client."""
