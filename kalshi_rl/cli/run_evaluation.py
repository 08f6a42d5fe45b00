"""``evaluate --model NAME`` for a run of several versions, and the views ``inspect compare`` shares.

The views read the comparison in its stored form (``Comparison.to_dict()``, kept in the newest
version's ``performance_summary["comparison"]``), so ``inspect compare`` shows what ``evaluate``
printed without evaluating again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kalshi_rl.cli.common import Col, FitTable, console, print_json
from kalshi_rl.core.errors import ConfigError

if TYPE_CHECKING:
    from kalshi_rl.config import Settings
    from kalshi_rl.data.registry import ModelRecord, ModelRegistry
    from kalshi_rl.environments.contract import EnvConfig

COMPARISON_KEY = "comparison"


def evaluate_run(
    registry: ModelRegistry,
    versions: Sequence[ModelRecord],
    config: EnvConfig,
    data: tuple[Settings, tuple[str, ...], str | None, str],
    window: tuple[int | None, int | None],
    seed: int,
    store: bool,
    png: Path | None,
    json_out: bool,
) -> None:
    """Evaluate every version of a run together (``agents.comparison``), store, print, draw."""
    from kalshi_rl.agents.comparison import compare_run
    from kalshi_rl.agents.runs import held_out_window
    from kalshi_rl.cli.windows import load_window
    from kalshi_rl.environments.kalshi_env import build_tapes

    settings, markets, series, source = data
    held_out = [held_out_window(v) for v in versions]
    if any(held_out):
        if window != (None, None):
            raise ConfigError(
                f"{versions[-1].name} is a walk-forward run: each version is evaluated on the window "
                "after its own training window, so --start/--end do not apply"
            )
        spans: list[tuple[int | None, int | None]] = sorted(
            {(w.start_ns, w.end_ns) for w in held_out if w is not None}
        )
        places = [spans.index((w.start_ns, w.end_ns)) if w else 0 for w in held_out]
    else:
        spans, places = [window], [0] * len(versions)
    loaded = [load_window(settings, markets, a, b, source, series) for a, b in spans]
    windows = [(d, build_tapes(d, config)) for d in loaded]
    comparison = compare_run(
        versions[-1].name, list(zip(versions, places, strict=True)), windows, config, seed
    )
    stored = comparison.to_dict()
    if store:
        by_window: dict[int, list[dict[str, Any]]] = {}
        for score in stored["scores"]:
            if score["seed"] is None and score["fold"] is None:
                by_window.setdefault(score["window"], []).append(score)
        for version, place in zip(versions, places, strict=True):
            ours = next(s for s in stored["scores"] if s["policy"] == version.label)
            reference = [s for s in by_window[place] if s["policy"] != "oracle"]
            summary: dict[str, Any] = {
                "window": stored["windows"][place],
                "fees": config.fill.fees.to_dict(),
                "results": [_metrics(s) for s in (ours, *reference)],
                "beats_baselines": all(ours["total_pnl"] > s["total_pnl"] for s in reference),
                "run": {"versions": [v.label for v in versions]},
            }
            if version is versions[-1]:
                summary[COMPARISON_KEY] = stored
            registry.update(version.id, performance_summary=summary)
    if png is not None:
        draw_equity([stored], png)
    if json_out:
        print_json({**stored, "png": str(png) if png else None})
        return
    console.print(scores_table(stored))
    console.print(summary_table([stored]))
    if png is not None:
        console.print(f"equity curves: {png}", highlight=False)


def _metrics(score: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in score.items() if k not in ("window", "seed", "fold", "equity")}


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def scores_table(comparison: dict[str, Any]) -> FitTable:
    """Every version on its window, then the baselines and the oracle on each window."""
    table = FitTable(
        "policy",
        Col("seed", numeric=True),
        Col("window", numeric=True),
        *(Col(h, numeric=True) for h in ("P&L $", "Sharpe/h", "max DD $", "fees $", "trades")),
        title=f"{comparison['model']}: every run",
        caption="; ".join(
            f"window {i}: {w['start']} .. {w['end']}" for i, w in enumerate(comparison["windows"])
        ),
    )
    for s in comparison["scores"]:
        table.add_row(
            s["policy"],
            "-" if s["seed"] is None else str(s["seed"]),
            str(s["window"]),
            _money(s["total_pnl"]),
            f"{s['sharpe']:,.2f}",
            _money(s["max_drawdown"]),
            _money(s["fees"]),
            f"{s['trades']:,}",
        )
    return table


def summary_table(comparisons: Sequence[dict[str, Any]]) -> FitTable:
    """One row per policy of each run: IQM P&L and its 95 % interval, P(beat each baseline),
    the share of the oracle's P&L."""
    baselines = ("hold", "random", "momentum")
    table = FitTable(
        "policy",
        Col("runs", numeric=True),
        Col("IQM P&L $", numeric=True),
        Col("95% CI $", numeric=True),
        *(Col(h, numeric=True) for h in ("mean P&L $", "Sharpe/h", "max DD $", "fees $")),
        *(Col(f"P>{b}", numeric=True) for b in baselines),
        Col("% oracle", numeric=True),
        title="IQM and bootstrap 95% CI over seeds and windows",
        caption="P>b: probability of beating baseline b on the same window; % oracle: of the "
        "best P&L with perfect foresight under the same fills, fees and position limit",
    )
    for comparison in comparisons:
        for s in comparison["summary"]:
            label = (
                s["policy"]
                if s["policy"] == comparison["model"] or len(comparisons) == 1
                else (f"{s['policy']} ({comparison['model']})")
            )
            iqm = s["iqm_pnl"]
            beats = s["probability_of_beating"]
            share = s["oracle_share"]
            table.add_row(
                label,
                str(s["runs"]),
                _money(iqm["estimate"]),
                # One run (a baseline on one window) has no spread to show.
                "-" if s["runs"] == 1 else f"{iqm['low']:,.2f} .. {iqm['high']:,.2f}",
                _money(s["mean_pnl"]),
                f"{s['mean_sharpe']:,.2f}",
                _money(s["mean_max_drawdown"]),
                _money(s["mean_fees"]),
                *(f"{beats[b]['estimate']:.0%}" if b in beats else "-" for b in baselines),
                "-" if share is None else f"{share:.0%}",
            )
    return table


def draw_equity(comparisons: Sequence[dict[str, Any]], path: Path) -> None:
    """A PNG of equity curves: one panel per run and window, a line per policy (every version
    of the run in one colour)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display
    import matplotlib.pyplot as plt

    panels = [(c, w) for c in comparisons for w in range(len(c["windows"]))]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 3.2 * len(panels)), squeeze=False)
    colours = {"hold": "grey", "random": "tab:orange", "momentum": "tab:green", "oracle": "black"}
    for ax, (comparison, w) in zip(axes[:, 0], panels, strict=True):
        labelled: set[str] = set()
        for s in comparison["scores"]:
            if s["window"] != w:
                continue
            reference = s["seed"] is None and s["fold"] is None and s["policy"] in colours
            label = s["policy"] if reference else comparison["model"]
            ax.plot(
                s["equity"],
                color=colours[s["policy"]] if reference else "tab:blue",
                linestyle="--" if s["policy"] == "oracle" else "-",
                linewidth=1.4 if reference else 0.9,
                label=None if label in labelled else label,
            )
            labelled.add(label)
        window = comparison["windows"][w]
        ax.set_title(f"{comparison['model']}, window {w}: {window['start']} .. {window['end']}", fontsize=9)
        ax.set_ylabel("P&L $ after fees")
        ax.legend(fontsize=8, loc="upper left")
    axes[-1, 0].set_xlabel("tick (thinned)")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        plt.close(fig)
