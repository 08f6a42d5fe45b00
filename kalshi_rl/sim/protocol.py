"""Parse and validate client commands the way Kalshi's WebSocket server answers them.

Every refusal is a ``CommandError`` carrying Kalshi's error code and message; the session
turns it into an ``error`` frame. Checks that need a subscription (unknown sid, an action
the channel does not support, market and rate limits) are made by the session. The channels
served are ``orderbook_delta``, ``ticker``, ``trade`` and ``market_lifecycle_v2``; any other
is answered with error 8. Markets are named by ``market_ticker(s)`` or, on the ticker channel
only, ``market_id(s)``. Tickers are checked for shape only loosely: Kalshi's own examples
carry '.' (``KXBTCD-25AUG0517-T114999.99``), and an unknown ticker is error 11 either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

ORDERBOOK = "orderbook_delta"
TICKER = "ticker"
TRADE = "trade"
LIFECYCLE = "market_lifecycle_v2"
CHANNELS = (ORDERBOOK, TICKER, TRADE, LIFECYCLE)
UNSEQUENCED = frozenset({TICKER})
"""Channels whose messages carry a sid but no seq."""
MARKET_ACTIONS = ("add_markets", "delete_markets", "get_snapshot")
COMMANDS = ("subscribe", "unsubscribe", "update_subscription", "list_subscriptions")

_TICKER_RE = re.compile(r"[A-Z0-9][A-Z0-9._-]*\Z")

ERROR_MESSAGES = {
    1: "Unable to process message",
    2: "Params required",
    3: "Channels required",
    4: "Subscription IDs required",
    5: "Unknown command",
    7: "Unknown subscription ID",
    8: "Unknown channel name",
    9: "Authentication required",
    10: "Channel error",
    11: "Invalid parameter",
    12: "Exactly one subscription ID is required",
    13: "Unsupported action",
    14: "Market Ticker required",
    15: "Action required",
    18: "Command timeout",
    25: "Subscription buffer overflow",
    26: "Subscription market limit exceeded",
    27: "Too many requests",
}


class CommandError(Exception):
    """A command refused with Kalshi's ``code``; ``detail`` says why, for humans.

    ``sid`` is set when the refusal is scoped to an existing subscription (the error frame
    then carries it, and a seq on sequenced channels); ``market_tickers`` names the markets
    the refusal is about (``msg.market_ticker`` for one, ``msg.market_tickers`` for several).
    """

    def __init__(
        self,
        code: int,
        detail: str = "",
        request_id: int | None = None,
        *,
        sid: int | None = None,
        market_tickers: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"error {code}: {detail or ERROR_MESSAGES.get(code, '')}")
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.sid = sid
        self.market_tickers = market_tickers

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
class SubscribeRequest:
    """A validated ``subscribe``: channels, markets (``None`` = every market) and options."""

    channels: tuple[str, ...]
    markets: tuple[str, ...] | None
    use_yes_price: bool = False
    send_initial_snapshot: bool = False
    skip_ticker_ack: bool = False


@dataclass(frozen=True)
class UpdateRequest:
    """A validated ``update_subscription``: one sid, an action, the markets it names."""

    sid: int
    action: str
    markets: tuple[str, ...]
    send_initial_snapshot: bool = False


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


def parse_flag(command: Command, name: str) -> bool:
    """Return a boolean param (absent = false); anything but a JSON boolean is error 11."""
    value = command.params.get(name, False)
    if type(value) is not bool:
        raise CommandError(11, f"{name} must be a boolean, got {value!r}", command.request_id)
    return value


def _values(command: Command, single_key: str, many_key: str) -> list[Any] | None:
    params = command.params
    single, many = params.get(single_key), params.get(many_key)
    if single is None and many is None:
        return None
    if single is not None and many is not None:
        raise CommandError(11, f"give {single_key} or {many_key}, not both", command.request_id)
    values = [single] if single is not None else many
    if not isinstance(values, list) or not values:
        raise CommandError(11, f"{many_key} must be a non-empty list", command.request_id)
    return values


def parse_markets(
    command: Command,
    known: Collection[str],
    required: bool,
    ids: Mapping[str, str] | None = None,
) -> tuple[str, ...] | None:
    """Return the markets a command names (``None`` if it names none).

    ``market_ticker``/``market_tickers`` name them by ticker; with ``ids`` (market id ->
    ticker; the ticker channel only) ``market_id``/``market_ids`` are accepted too.
    """
    tickers = _values(command, "market_ticker", "market_tickers")
    market_ids = _values(command, "market_id", "market_ids")
    if market_ids is not None and ids is None:
        raise CommandError(11, "market_id(s) are supported on the ticker channel only", command.request_id)
    if tickers is not None and market_ids is not None:
        raise CommandError(11, "give market tickers or market ids, not both", command.request_id)
    if tickers is None and market_ids is None:
        if required:
            raise CommandError(14, "", command.request_id)
        return None
    markets: dict[str, None] = {}
    if market_ids is not None:
        assert ids is not None
        for market_id in market_ids:
            ticker = ids.get(market_id) if isinstance(market_id, str) else None
            if ticker is None:
                raise CommandError(11, f"unknown market id {market_id!r}", command.request_id)
            markets[ticker] = None
        return tuple(markets)
    assert tickers is not None
    for ticker in tickers:
        if not isinstance(ticker, str) or not _TICKER_RE.match(ticker):
            raise CommandError(11, f"invalid market ticker {ticker!r}", command.request_id)
        if ticker not in known:
            raise CommandError(
                11, f"unknown market ticker {ticker}", command.request_id, market_tickers=(ticker,)
            )
        markets[ticker] = None
    return tuple(markets)


def parse_subscribe(
    command: Command, known: Collection[str], ids: Mapping[str, str] | None = None
) -> SubscribeRequest:
    """Return a validated ``subscribe`` (markets ``None`` = all)."""
    channels = command.params.get("channels")
    if not isinstance(channels, list) or not channels:
        raise CommandError(3, "", command.request_id)
    for channel in channels:
        if channel not in CHANNELS:
            raise CommandError(8, f"unknown channel {channel!r}", command.request_id)
    wanted = tuple(dict.fromkeys(channels))
    markets = parse_markets(command, known, required=False, ids=ids if wanted == (TICKER,) else None)
    if markets is None and ORDERBOOK in wanted:
        raise CommandError(14, f"{ORDERBOOK} needs market_ticker(s)", command.request_id)
    return SubscribeRequest(
        wanted,
        markets,
        use_yes_price=parse_flag(command, "use_yes_price"),
        send_initial_snapshot=parse_flag(command, "send_initial_snapshot"),
        skip_ticker_ack=parse_flag(command, "skip_ticker_ack"),
    )


def parse_sids(command: Command) -> tuple[int, ...]:
    """Return the ``sids`` of an ``unsubscribe``."""
    sids = command.params.get("sids")
    if not isinstance(sids, list) or not sids:
        raise CommandError(4, "", command.request_id)
    if any(type(sid) is not int for sid in sids):
        raise CommandError(11, "sids must be integers", command.request_id)
    return tuple(dict.fromkeys(sids))


def parse_update_sid(command: Command) -> int:
    """Return the one sid of an ``update_subscription`` (``sid`` or a one-element ``sids``)."""
    params = command.params
    if params.get("action") is None:
        raise CommandError(15, "", command.request_id)
    if "sids" in params and "sid" in params:
        raise CommandError(12, "give sid or sids, not both", command.request_id)
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
    return int(sid)


def parse_update(
    command: Command, sid: int, known: Collection[str], ids: Mapping[str, str] | None = None
) -> UpdateRequest:
    """Return a validated ``update_subscription`` of subscription ``sid`` (errors carry it)."""
    action = command.params.get("action")
    try:
        if action not in MARKET_ACTIONS:
            raise CommandError(13, f"unsupported action {action!r}", command.request_id)
        markets = parse_markets(command, known, required=True, ids=ids)
        send_initial = parse_flag(command, "send_initial_snapshot")
    except CommandError as exc:
        exc.sid = sid
        raise
    assert markets is not None  # required=True raises instead
    return UpdateRequest(sid, str(action), markets, send_initial)
