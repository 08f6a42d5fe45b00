"""``lake prune``: the N-day boundary, today and live partitions never touched, the 7-day
minimum, market metadata kept while its market has data."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kalshi_rl.core.errors import InvalidValueError
from kalshi_rl.data.lake.files import partitions
from kalshi_rl.data.lake.prune import prune_lake
from kalshi_rl.data.lake.tables import DELTAS, MARKETS, rows_to_table
from kalshi_rl.data.lake.writer import LakeWriter
from tests.cli_support import run_cli
from tests.data.lake_support import DAY0, DAY_NS, file_state, read_rows, session_id, write_lake

FIRST_DAY = date(2026, 4, 20)  # DAY0
TODAY = FIRST_DAY + timedelta(days=10)


def days_of(root: Path, table: str = "deltas") -> list[str]:
    return sorted({p.date for p in partitions(root, (table,))})


def day(n: int) -> str:
    return (FIRST_DAY + timedelta(days=n)).isoformat()


def market_row(market: str, ts_ns: int) -> tuple[object, ...]:
    return (market, ts_ns, "s", "active", None, None, None, None, None, None, "[]", "{}", "EV", "KX") + (
        None,
    ) * 5


def write_markets(root: Path, rows: list[tuple[str, int]]) -> None:
    writer = LakeWriter(root, session_id(30))
    writer.write("markets", rows_to_table(MARKETS, [market_row(m, DAY0 + d * DAY_NS) for m, d in rows]))
    writer.close()


def test_partitions_older_than_n_days_go_and_the_rest_stay(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(0, d, 3) for d in range(11)]]])  # days 0..10, day 10 is today

    report = prune_lake(tmp_path, 7, today=TODAY)

    assert report.first_kept == FIRST_DAY + timedelta(days=3)
    assert days_of(tmp_path) == [day(n) for n in range(3, 11)]
    assert days_of(tmp_path, "frames") == [day(n) for n in range(3, 11)]
    assert sorted(str(d.partition) for d in report.deleted) == sorted(
        [f"deltas/market_ticker=KXA-1/date={day(n)}" for n in range(3)]
        + [f"frames/date={day(n)}" for n in range(3)]
    )
    assert not (tmp_path / "deltas" / "market_ticker=KXA-1" / f"date={day(0)}").exists()
    assert report.files == 6 and report.bytes > 0
    assert {r[-1].isoformat() for r in read_rows(tmp_path, "deltas")} == {day(n) for n in range(3, 11)}


def test_today_is_kept_even_with_zero_days(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(0, 8, 3), (0, 9, 3), (0, 10, 3)]]])

    prune_lake(tmp_path, 0, force=True, today=TODAY)

    assert days_of(tmp_path) == [day(10)]


def test_a_market_whose_data_is_gone_empties_its_directory(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(1, 0, 3), (0, 9, 3)]]])

    prune_lake(tmp_path, 7, today=TODAY)

    assert sorted(p.name for p in (tmp_path / "deltas").iterdir()) == ["market_ticker=KXA-1"]


@pytest.mark.parametrize("keep_days", [0, 3, 6])
def test_fewer_than_seven_days_is_refused_unless_forced(tmp_path: Path, keep_days: int) -> None:
    write_lake(tmp_path, [[[(0, d, 3) for d in range(11)]]])
    state = file_state(tmp_path)
    with pytest.raises(
        InvalidValueError, match=rf"--keep-days {keep_days} keeps less than the 7 days.*--force"
    ):
        prune_lake(tmp_path, keep_days, today=TODAY)
    assert file_state(tmp_path) == state
    prune_lake(tmp_path, keep_days, force=True, today=TODAY)
    assert days_of(tmp_path)[0] == day(10 - keep_days)


def test_a_negative_retention_is_refused_even_forced(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="--keep-days must be 0 or more, got -1"):
        prune_lake(tmp_path, -1, force=True, today=TODAY)


def test_an_old_partition_a_live_session_writes_is_left_alone(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(0, 0, 3), (1, 0, 3)]]])
    live = LakeWriter(tmp_path, session_id(9))  # e.g. a capture import writing an old day, still running
    live.write(
        "deltas",
        rows_to_table(DELTAS, [("KXB-2", None, DAY0 + 5, session_id(9), 1, 2, 99, 1, "no", 40, 1, 1)]),
    )
    live_partition = "deltas/market_ticker=KXB-2/date=2026-04-20"
    before = {k: v for k, v in file_state(tmp_path).items() if "KXB-2" in k}

    report = prune_lake(tmp_path, 7, today=TODAY)

    assert [str(p) for p in report.busy] == [live_partition]
    assert {k: v for k, v in file_state(tmp_path).items() if "KXB-2" in k} == before
    assert not (tmp_path / "deltas" / "market_ticker=KXA-1").exists()
    live.close()
    assert [r[6] for r in read_rows(tmp_path, "deltas")] == [
        1,
        2,
        3,
        99,
    ]  # KXB-2: the old rows and the live one


def test_a_markets_metadata_stays_while_it_has_data(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(0, 0, 3), (1, 0, 3)], [(0, 9, 3)]]])  # KXA-1 still recorded on day 9
    write_markets(tmp_path, [("KXA-1", 0), ("KXB-2", 0)])

    report = prune_lake(tmp_path, 7, today=TODAY)

    assert [str(p) for p in report.kept_metadata] == [f"markets/market_ticker=KXA-1/date={day(0)}"]
    assert [p.market for p in partitions(tmp_path, ("markets",))] == ["KXA-1"]
    assert days_of(tmp_path) == [day(9)]


def test_a_dry_run_deletes_nothing_and_says_what_it_would(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(0, d, 3) for d in range(11)]]])
    state = file_state(tmp_path)

    dry = prune_lake(tmp_path, 7, dry_run=True, today=TODAY)

    assert file_state(tmp_path) == state
    real = prune_lake(tmp_path, 7, today=TODAY)
    assert dry.deleted == real.deleted and dry.dry_run and not real.dry_run


def test_the_cli_prunes_by_the_real_date_and_refuses_short_retention(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    now_ns = time.time_ns()
    writer = LakeWriter(root, session_id(1))
    rows = [
        ("KXA-1", None, ts, "s", 1, 1, i, 1, "yes", 40, 1, 1)
        for i, ts in enumerate((now_ns - 30 * DAY_NS, now_ns))
    ]
    writer.write("deltas", rows_to_table(DELTAS, rows))
    writer.close()

    refused = run_cli("lake", "prune", "--keep-days", "3", "--data-dir", str(tmp_path))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "--keep-days 3 keeps less than the 7 days" in " ".join(refused.stderr.split())
    result = run_cli("lake", "prune", "--keep-days", "7", "--json", "--data-dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    old = datetime.fromtimestamp((now_ns - 30 * DAY_NS) / 1e9, UTC).date().isoformat()
    assert [d["partition"] for d in report["deleted"]] == [f"deltas/market_ticker=KXA-1/date={old}"]
    assert days_of(root) == [datetime.fromtimestamp(now_ns / 1e9, UTC).date().isoformat()]
