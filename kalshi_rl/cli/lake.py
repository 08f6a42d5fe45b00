"""``kalshi-rl lake``: maintain the lake (compact small files, prune old days)."""

from __future__ import annotations

from pathlib import Path

import typer

from kalshi_rl.cli.common import Col, FitTable, console, load_settings, print_json, setup_logging, user_errors
from kalshi_rl.data.lake.compact import DEFAULT_TARGET_BYTES, CompactionReport, compact_lake
from kalshi_rl.data.lake.prune import MIN_KEEP_DAYS, PruneReport, check_keep_days, prune_lake

app = typer.Typer(
    help="Maintain the lake: merge small files of finished partitions, delete old days.",
    no_args_is_help=True,
)

_MB = 1024 * 1024


def _mb(n: int) -> str:
    return f"{n / _MB:,.1f} MB"


@app.command("compact")
@user_errors
def compact(
    data_dir: Path = typer.Option(None, help="Data directory (default DATA_DIR or ./data)."),
    target_mb: float = typer.Option(
        DEFAULT_TARGET_BYTES / _MB, "--target-mb", min=1.0, help="Size to aim at for each merged file (MB)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Merge the small files of finished partitions into files of about --target-mb.

    A partition is finished when no collector is writing it, so this is safe while
    collectors run. Rows keep their order; a crash leaves the files readable and the next
    run finishes or undoes the interrupted merge; a second run changes nothing.
    """
    setup_logging(quiet=json_out)
    settings = load_settings(data_dir=data_dir)
    report = compact_lake(settings.lake_dir, int(target_mb * _MB))
    if json_out:
        print_json(_compact_json(settings.lake_dir, report))
        return
    _print_compaction(settings.lake_dir, report)


@app.command("prune")
@user_errors
def prune(
    keep_days: int = typer.Option(
        ..., "--keep-days", help=f"Days of data to keep (at least {MIN_KEEP_DAYS})."
    ),
    force: bool = typer.Option(False, "--force", help=f"Allow --keep-days under {MIN_KEEP_DAYS}."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be deleted; delete nothing."),
    data_dir: Path = typer.Option(None, help="Data directory (default DATA_DIR or ./data)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Delete the partitions dated (UTC) more than --keep-days days before today.

    Today and any partition a collector is writing are never touched; a market's
    metadata stays while any of its data does.
    """
    check_keep_days(keep_days, force)  # before touching the lake
    setup_logging(quiet=json_out)
    settings = load_settings(data_dir=data_dir)
    report = prune_lake(settings.lake_dir, keep_days, force=force, dry_run=dry_run)
    if json_out:
        print_json(_prune_json(settings.lake_dir, report))
        return
    _print_prune(settings.lake_dir, report)


def _compact_json(lake: Path, report: CompactionReport) -> dict[str, object]:
    return {
        "lake": str(lake),
        "compacted": [
            {
                "partition": str(r.partition),
                "files_before": r.files_before,
                "files_after": r.files_after,
                "bytes_before": r.bytes_before,
                "bytes_after": r.bytes_after,
                "rows": r.rows,
            }
            for r in report.compacted
        ],
        "busy": [str(p) for p in report.busy],
        "unchanged": report.unchanged,
        "recovered": report.recovered,
        "journals_recovered": report.journals_recovered,
    }


def _print_compaction(lake: Path, report: CompactionReport) -> None:
    if report.journals_recovered:
        console.print(f"finalised {report.journals_recovered} journal(s) left by a stopped collector")
    if report.recovered:
        console.print(f"completed or undid {report.recovered} merge(s) a crash had interrupted")
    by_table: dict[str, list[int]] = {}
    for r in report.compacted:
        totals = by_table.setdefault(r.partition.table, [0, 0, 0, 0, 0])
        for i, n in enumerate((1, r.files_before, r.files_after, r.bytes_before, r.bytes_after)):
            totals[i] += n
    if by_table:
        table = FitTable(
            "table",
            Col("partitions", True),
            Col("files", True),
            Col("size", True),
            title=f"compacted {lake}",
        )
        for name, (n, fb, fa, bb, ba) in sorted(by_table.items()):
            table.add_row(name, f"{n:,}", f"{fb:,} → {fa:,}", f"{_mb(bb)} → {_mb(ba)}")
        console.print(table)
    else:
        console.print(f"nothing to compact in {lake}")
    console.print(
        f"{report.unchanged:,} partition(s) already compact; "
        f"{len(report.busy):,} being written by a collector, left alone"
    )


def _prune_json(lake: Path, report: PruneReport) -> dict[str, object]:
    return {
        "lake": str(lake),
        "first_kept": report.first_kept.isoformat(),
        "dry_run": report.dry_run,
        "deleted": [
            {"partition": str(d.partition), "files": d.files, "bytes": d.bytes} for d in report.deleted
        ],
        "busy": [str(p) for p in report.busy],
        "kept_metadata": [str(p) for p in report.kept_metadata],
    }


def _print_prune(lake: Path, report: PruneReport) -> None:
    verb = "would delete" if report.dry_run else "deleted"
    console.print(
        f"{verb} {len(report.deleted):,} partition(s) dated before {report.first_kept} "
        f"({report.files:,} files, {_mb(report.bytes)}) from {lake}"
    )
    if report.busy:
        console.print(f"{len(report.busy):,} old partition(s) being written by a collector, left alone")
    if report.kept_metadata:
        console.print(
            f"{len(report.kept_metadata):,} old metadata partition(s) kept: their markets still have data"
        )
