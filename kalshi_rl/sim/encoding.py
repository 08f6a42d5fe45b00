"""Which orderbook price encoding each subscription is sent (Kalshi's ``use_yes_price``).

AsyncAPI 2.0.0, ``subscribe.params.use_yes_price``: with ``false`` (the default today) NO-side
levels and deltas carry the NO bid price q; with ``true`` they carry 1 - q. Kalshi has
announced that the default will flip to ``true`` and that the flag will then be removed. The
exchange emulates that:

- ``mode`` ``param`` honours each subscription's flag (absent = false); ``no_leg`` and
  ``yes_leg`` force one encoding whatever the flag says (the flag removed);
- ``switch()`` flips every book subscription to the other encoding, unannounced, mid-stream
  (the default flipping under a client that did not ask explicitly, or a server bug): the
  frames do not say which encoding they use, so a client reading them the old way sees a
  mirrored, usually crossed, book.
"""

from __future__ import annotations

from typing import Literal, get_args

from kalshi_rl.core.errors import ConfigError

EncodingMode = Literal["param", "no_leg", "yes_leg"]
ENCODING_MODES: tuple[str, ...] = get_args(EncodingMode)


class PriceEncoding:
    """The exchange-wide encoding policy; subscriptions keep their ``requested`` flag."""

    __slots__ = ("flipped", "mode")

    def __init__(self, mode: str = "param") -> None:
        if mode not in ENCODING_MODES:
            raise ConfigError(f"price encoding must be one of {', '.join(ENCODING_MODES)}, got {mode!r}")
        self.mode = mode
        self.flipped = False

    def requested(self, use_yes_price: bool) -> bool:
        """Return the encoding a new subscription gets for its flag (before any switch)."""
        if self.mode == "param":
            return use_yes_price
        return self.mode == "yes_leg"

    def effective(self, requested: bool) -> bool:
        """Return whether a subscription that ``requested`` yes-leg pricing gets it now."""
        return requested is not self.flipped

    def switch(self) -> bool:
        """Flip every subscription's encoding; return whether the exchange is now flipped."""
        self.flipped = not self.flipped
        return self.flipped
