"""Parse and validate client commands the way Kalshi's WebSocket server answers them.

Every refusal is a ``CommandError`` carrying Kalshi's error code and message; the session
turns it into an ``error`` frame. Checks that need a subscription (unknown sid, an action
the channel does not support) are made by the session. The channels served are
``orderbook_delta``, ``trade`` and ``market_lifecycle_v2``; any other (``ticker`` included)
is answered with error 8.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

ORDERBOOK = "orderbook_delta"
TRADE = "trade"
LIFECYCLE = "market_lifecycle_v2"
CHANNELS = (ORDERBOOK, TRADE, LIFECYCLE)
MARKET_ACTIONS = ("add_markets", "delete_markets", "get_snapshot")
COMMANDS = ("subscribe", "unsubscribe", "update_subscription", "list_subscriptions")

_TICKER_RE = re.compile(r"[A-Z0-9-]+\Z")

ERROR_MESSAGES = {
    1: "Unable to process message",
    2: "Params required",
    3: "Channels required",
    4: "Subscription IDs required",
    5: "Unknown command",
    7: "Unknown subscription ID",
    8: "Unknown channel name",
    10: "Channel error",
    11: "Invalid parameter",
    12: "Exactly one subscription ID is required",
    13: "Unsupported action",
    14: "Market Ticker required",
    15: "Action required",
    25: "Subscription buffer overflow",
}


class CommandError(Exception):
    """A command refused with Kalshi's ``code``; ``detail`` says why, for humans."""

    def __init__(self, code: int, detail: str = "", request_id: int | None = None) -> None:
        super().__init__(f"error {code}: {detail or ERROR_MESSAGES.get(code, '')}")
        self.code = code
        self.detail = detail
        self.request_id = request_id

    @property
    def message(self) -> str:
        base = ERROR_MESSAGES.get(self.code, "Error")
        return f"{base}: {self.detail}" if self.detail else base


@dataclass(frozen=True)
class Command:
    """One parsed command: its ``id`` (``None`` when absent), name and params object."""

    request_id: int | None
    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class UpdateRequest:
    """A validated ``update_subscription``: one sid, an action, the markets it names."""

    sid: int
    action: str
    markets: tuple[str, ...]


def parse_command(text: str | bytes) -> Command:
    """Return the command in one client frame or raise ``CommandError``."""
    try:
        frame = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise CommandError(1, "message is not JSON") from None
    if not isinstance(frame, dict):
        raise CommandError(1, "message is not a JSON object")
    request_id = frame.get("id")
    if request_id is not None and type(request_id) is not int:
        raise CommandError(1, "id must be an integer")
    name = frame.get("cmd")
    if not isinstance(name, str):
        raise CommandError(1, "cmd missing", request_id)
    if name not in COMMANDS:
        raise CommandError(5, f"unknown command {name!r}", request_id)
    params = frame.get("params")
    if name == "list_subscriptions":
        return Command(request_id, name, params if isinstance(params, dict) else {})
    if not isinstance(params, dict):
        raise CommandError(2, "", request_id)
    return Command(request_id, name, params)


def parse_markets(command: Command, known: Collection[str], required: bool) -> tuple[str, ...] | None:
    """Return the ``market_ticker``/``market_tickers`` of a command (``None`` if absent)."""
    params = command.params
    single, many = params.get("market_ticker"), params.get("market_tickers")
    if single is None and many is None:
        if required:
            raise CommandError(14, "", command.request_id)
        return None
    if single is not None and many is not None:
        raise CommandError(11, "give market_ticker or market_tickers, not both", command.request_id)
    values = [single] if single is not None else many
    if not isinstance(values, list) or not values:
        raise CommandError(11, "market_tickers must be a non-empty list", command.request_id)
    markets: dict[str, None] = {}
    for ticker in values:
        if not isinstance(ticker, str) or not _TICKER_RE.match(ticker):
            raise CommandError(11, f"invalid market ticker {ticker!r}", command.request_id)
        if ticker not in known:
            raise CommandError(11, f"unknown market ticker {ticker}", command.request_id)
        markets[ticker] = None
    return tuple(markets)


def parse_subscribe(
    command: Command, known: Collection[str]
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """Return the channels and markets (``None`` = all) of a ``subscribe``."""
    channels = command.params.get("channels")
    if not isinstance(channels, list) or not channels:
        raise CommandError(3, "", command.request_id)
    for channel in channels:
        if channel not in CHANNELS:
            raise CommandError(8, f"unknown channel {channel!r}", command.request_id)
    wanted = tuple(dict.fromkeys(channels))
    markets = parse_markets(command, known, required=False)
    if markets is None and ORDERBOOK in wanted:
        raise CommandError(14, f"{ORDERBOOK} needs market_ticker(s)", command.request_id)
    return wanted, markets


def parse_sids(command: Command) -> tuple[int, ...]:
    """Return the ``sids`` of an ``unsubscribe``."""
    sids = command.params.get("sids")
    if not isinstance(sids, list) or not sids:
        raise CommandError(4, "", command.request_id)
    if any(type(sid) is not int for sid in sids):
        raise CommandError(11, "sids must be integers", command.request_id)
    return tuple(dict.fromkeys(sids))


def parse_update(command: Command, known: Collection[str]) -> UpdateRequest:
    """Return a validated ``update_subscription`` (the sid is not looked up here)."""
    params = command.params
    action = params.get("action")
    if action is None:
        raise CommandError(15, "", command.request_id)
    if "sids" in params:
        sids = params["sids"]
        if not isinstance(sids, list) or not sids:
            raise CommandError(4, "", command.request_id)
        if len(sids) > 1:
            raise CommandError(12, "", command.request_id)
        sid = sids[0]
    elif "sid" in params:
        sid = params["sid"]
    else:
        raise CommandError(4, "", command.request_id)
    if type(sid) is not int:
        raise CommandError(11, "sid must be an integer", command.request_id)
    if action not in MARKET_ACTIONS:
        raise CommandError(13, f"unsupported action {action!r}", command.request_id)
    markets = parse_markets(command, known, required=True)
    assert markets is not None  # required=True raises instead
    return UpdateRequest(sid, str(action), markets)
