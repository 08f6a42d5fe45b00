"""``kalshi-rl inspect model``: one registered model in words and human units.

The registry keeps a model's contract and training record as JSON in internal units (count
units of 0.01 contract, nanoseconds, fee fractions); here they become contracts, dollars,
times and plain lists, never a Python ``repr``. ``--json`` keeps the stored form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from kalshi_rl.cli.tables import Fields
from kalshi_rl.core.units import COUNT_SCALE
from kalshi_rl.data.registry import ModelRecord


def describe_model(record: ModelRecord) -> RenderableType:
    """The model's identity, training, data, contract and hyperparameters, then its evaluation."""
    from kalshi_rl.cli.evaluate import metrics_table

    config = record.training_config
    contract: Mapping[str, Any] = config.get("contract", {})
    data: Mapping[str, Any] = config.get("data", {})
    fields = [
        ("id", str(record.id)),
        ("status", record.status),
        ("algorithm", record.architecture),
        ("series" if contract.get("series") else "markets", _market(record, contract)),
        ("parent", str(record.parent_model_id) if record.parent_model_id else "-"),
        ("checkpoint", record.checkpoint_path),
        ("trained", _trained(record, config)),
        ("data", _data(data)),
        ("fees charged", _fee_schedules(data.get("fee_schedules", []))),
        ("observation", _observation(contract)),
        ("actions", _actions(contract)),
        ("fills", _fills(contract.get("fill", {}))),
        ("fees", _fee_policy(contract.get("fill", {}).get("fees", {}))),
        ("episodes", _episodes(config.get("env", {}), contract)),
        ("hyperparameters", _mapping(record.hyperparameters)),
        ("notes", record.notes or "-"),
        ("created", _when(record.created_at)),
        ("updated", _when(record.updated_at)),
    ]
    # Text, not markup: stored values (notes, paths, names) may hold brackets.
    parts: list[RenderableType] = [
        Text(record.label, style="bold"),
        Fields((label, Text(value)) for label, value in fields),
    ]
    summary = record.performance_summary or {}
    if summary.get("results"):
        window = summary.get("window", {})
        title = f"evaluation {window.get('start', '?')} .. {window.get('end', '?')}"
        parts.append(metrics_table(title, summary["results"]))
    return Group(*parts)


def contracts(units: object) -> str:
    """Count units (0.01 contract) as contracts: 1000 -> ``10 contracts``, 150 -> ``1.5``."""
    value = Fraction(int(str(units)), COUNT_SCALE)
    shown = f"{int(value):,}" if value.denominator == 1 else f"{float(value):,.2f}"
    return f"{shown} contract{'' if value == 1 else 's'}"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _market(record: ModelRecord, contract: Mapping[str, Any]) -> str:
    if contract.get("series"):
        return str(contract["series"])
    return ", ".join(record.market_ticker.split(","))


def _trained(record: ModelRecord, config: Mapping[str, Any]) -> str:
    parts = [f"{record.training_timesteps:,} timesteps", f"{record.training_episodes:,} episodes"]
    if "seed" in config:
        parts.append(f"seed {config['seed']}")
    if "n_envs" in config:
        parts.append(f"{config['n_envs']} env{'s' * (config['n_envs'] != 1)}")
    return ", ".join(parts)


def _data(data: Mapping[str, Any]) -> str:
    if not data:
        return "-"
    parts = [
        f"{data.get('source', '?')} {data.get('start', '?')} .. {data.get('end', '?')}",
        f"{data.get('segments', 0):,} segments",
        f"{data.get('deltas', 0):,} deltas",
    ]
    if "ticks" in data:
        parts.append(f"{data['ticks']:,} ticks")
    if data.get("fingerprint"):
        parts.append(f"fingerprint {data['fingerprint']}")
    markets = data.get("markets") or []
    if markets:
        parts.append(f"markets {', '.join(markets)}")
    return "; ".join(parts)


def _fee_schedules(schedules: Iterable[Mapping[str, Any]]) -> str:
    lines = []
    for s in schedules:
        since = s.get("from_ns")
        when = "" if since is None else f" from {_when(datetime.fromtimestamp(since / 1e9, tz=UTC))}"
        lines.append(
            f"{s.get('market', '?')}: {s.get('fee_type')} x {s.get('fee_multiplier')} ({s.get('source')}){when}"
        )
    return "\n".join(lines) or "-"


def _observation(contract: Mapping[str, Any]) -> str:
    spec = contract.get("observation_spec", {})
    if not spec:
        return "-"
    return (
        f"{spec.get('name')} v{spec.get('version')}, {len(spec.get('features', [])):,} features, "
        f"fingerprint {contract.get('observation_fingerprint')}"
    )


def _actions(contract: Mapping[str, Any]) -> str:
    actions = contract.get("actions", {})
    names = contract.get("action_map") or actions.get("actions") or {}
    parts = [", ".join(str(names[k]).replace("_", " ") for k in sorted(names, key=int))] if names else []
    if "order_units" in actions:
        parts.append(f"order {contracts(actions['order_units'])}")
    if "position_limit_units" in actions:
        parts.append(f"position limit {contracts(actions['position_limit_units'])} either way")
    if actions.get("sells") == "reduce_only":
        parts.append("sells reduce-only")
    if actions.get("execution"):
        parts.append(f"as a {actions['execution']}")
    return "; ".join(parts) or "-"


def _fills(fill: Mapping[str, Any]) -> str:
    if not fill:
        return "-"
    low, high = fill.get("latency_min_ms"), fill.get("latency_max_ms")
    latency = f"{low:g} ms" if low == high else f"{low:g}-{high:g} ms"
    return (
        f"order latency {latency}, liquidity taken restored after {fill.get('restore_ms', 0):,g} ms, "
        f"up to {fill.get('max_levels')} levels"
    )


def _fee_policy(fees: Mapping[str, Any]) -> str:
    if not fees:
        return "-"
    schedule = fees.get("schedule")
    if isinstance(schedule, Mapping):
        parts = [f"{schedule.get('fee_type')} x {schedule.get('fee_multiplier')} on every market"]
    else:
        parts = ["each market's own schedule"]
    flat = fees.get("flat_fee_per_contract")
    if flat is not None:
        parts.append(f"flat fee ${flat} per contract")
    if fees.get("member_precision"):
        parts.append(f"balance precision ${float(Fraction(str(fees['member_precision']))):g}")
    if fees.get("rounding"):
        parts.append(f"rounding: {fees['rounding']}")
    return "; ".join(parts)


def _episodes(env: Mapping[str, Any], contract: Mapping[str, Any]) -> str:
    tick = env.get("tick_ms", contract.get("tick_ms"))
    parts = [f"ticks of {tick:,} ms" if tick else "ticks of ? ms"]
    if "episode_ticks" in env:
        parts.append(f"{env['episode_ticks']:,} ticks each (at least {env.get('min_episode_ticks', '?')})")
    if env.get("reward"):
        parts.append(f"reward {_mapping(env['reward'])}")
    return ", ".join(parts)


def _mapping(values: Mapping[str, Any]) -> str:
    """``name value; name value`` (a list as ``64, 64``): a mapping without braces or quotes."""
    if not values:
        return "-"
    return "; ".join(f"{k} {_value(v)}" for k, v in values.items())


def _value(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, Mapping):
        return "(" + _mapping(value) + ")"
    return str(value)
