"""Kalshi adapter: the only code that knows Kalshi's wire format (auth, frames, REST, WS)."""
