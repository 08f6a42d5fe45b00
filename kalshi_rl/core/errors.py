"""The project's exceptions: one base class, a few precise subclasses.

Messages say what was expected and what was found. The CLI turns any ``KalshiRLError`` into
one readable line and exit code 1.
"""

from __future__ import annotations


class KalshiRLError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(KalshiRLError):
    """A setting is missing or wrong (key file, URL, mode, ...)."""


class InvalidValueError(KalshiRLError, ValueError):
    """A value on the wire or from a user cannot be represented exactly."""


class FrameError(KalshiRLError):
    """A WebSocket frame is malformed or impossible; it is quarantined, never applied."""

    def __init__(self, reason: str, market_ticker: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.market_ticker = market_ticker


class BookError(KalshiRLError):
    """Applying an event would make a book inconsistent (e.g. a negative level)."""


class ExchangeError(KalshiRLError):
    """The exchange (or the local one) refused a request or could not be reached."""


class AuthError(ExchangeError):
    """The exchange rejected our credentials."""


class StorageError(KalshiRLError):
    """A sink (lake, PostgreSQL, SQLite) cannot be used."""


class DataNotFoundError(KalshiRLError):
    """The lake or the registry holds nothing for the request."""


class LiveModeRefusedError(KalshiRLError):
    """Live trading was requested; this product trades on paper only."""

    def __init__(self, where: str = "") -> None:
        suffix = f" ({where})" if where else ""
        super().__init__(
            f"live trading is not available: kalshi-rl trades on paper only; use mode 'paper'{suffix}"
        )


class FeeScheduleError(ConfigError):
    """A market's fee schedule has no formula we can compute and none was configured."""
