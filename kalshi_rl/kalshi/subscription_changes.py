"""Markets added to and removed from running subscriptions (a series rolling over).

``add_markets`` puts new markets in the wanted set (so every later connection subscribes them)
and returns the commands that add them now: ``update_subscription`` ``add_markets`` on the
channel's subscriptions with room (at most ``chunk_limit`` markets each, once code 26 taught
it), and a new ``subscribe`` for what does not fit or when the channel has no subscription
yet. An ``add_markets`` refused with 26 becomes a new subscription (``Subscriptions.on_error``).

``remove_markets`` takes markets out of the wanted set and returns the ``delete_markets`` of
every subscription carrying them. A market that a subscription still being answered will
carry is removed when its ``subscribed`` arrives (``unwanted``).

Channels without market filters (``market_lifecycle_v2``) carry every market whatever we
ask; only their local market lists change, so a break on them names the current markets.
"""

from __future__ import annotations

from collections.abc import Iterable

from kalshi_rl.kalshi.subscriptions import UNFILTERED, Subscription, Subscriptions


def add_markets(subs: Subscriptions, markets: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
    """Add ``markets`` to what ``subs`` wants; return the markets that were new and the commands."""
    asked = tuple(dict.fromkeys(markets))
    new: dict[str, None] = {}
    commands: list[str] = []
    for channel, current in list(subs.wanted.items()):
        have = set(current)
        fresh = tuple(m for m in asked if m not in have)
        if not fresh:
            continue
        new.update(dict.fromkeys(fresh))
        subs.wanted[channel] = current + fresh
        if channel in UNFILTERED:
            for sub in subs.of_channel(channel):
                sub.markets = sub.markets + fresh
            continue
        usable = tuple(m for m in fresh if m not in subs.unsubscribable)
        if usable:
            commands.extend(_place(subs, channel, usable))
    return tuple(new), commands


def _place(subs: Subscriptions, channel: str, markets: tuple[str, ...]) -> list[str]:
    """Commands carrying ``markets`` on ``channel``: fill the emptiest subscriptions first."""
    commands: list[str] = []
    rest = markets
    limit = subs.chunk_limit
    for sub in sorted(subs.of_channel(channel), key=lambda s: len(s.markets)):
        room = len(rest) if limit is None else limit - len(sub.markets)
        if room <= 0:
            continue
        part, rest = rest[:room], rest[room:]
        commands.append(subs.add_markets(sub, part))
        if not rest:
            return commands
    return commands + subs.subscribe((channel,), rest)


def remove_markets(subs: Subscriptions, markets: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
    """Take ``markets`` out of what ``subs`` wants; return the ones it wanted and the commands."""
    gone = set(markets)
    removed: dict[str, None] = {}
    commands: list[str] = []
    for channel, current in list(subs.wanted.items()):
        leaving = {m for m in current if m in gone}  # a market removed before is deleted already
        if not leaving:
            continue
        removed.update(dict.fromkeys(m for m in current if m in leaving))
        subs.wanted[channel] = tuple(m for m in current if m not in leaving)
        for sub in subs.of_channel(channel):
            carried = tuple(m for m in sub.markets if m in leaving)
            if not carried:
                continue
            if channel in UNFILTERED:
                sub.markets = tuple(m for m in sub.markets if m not in gone)
            else:
                commands.append(subs.delete_markets(sub, carried))
    return tuple(removed), commands


def unwanted(subs: Subscriptions, sub: Subscription) -> list[str]:
    """The ``delete_markets`` for markets ``sub`` was given but that are no longer wanted."""
    if sub.channel in UNFILTERED:
        return []
    wanted = set(subs.wanted.get(sub.channel, ()))
    extra = tuple(m for m in sub.markets if m not in wanted)
    return [subs.delete_markets(sub, extra)] if extra else []
