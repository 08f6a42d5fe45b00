"""FitTable and the tables built on it, rendered in-process at 80 columns (and narrower/wider):
no ellipsis, no line wider than the terminal, tickers, headers and numbers whole."""

from __future__ import annotations

import re

import pytest
from rich.text import Text

from kalshi_rl.cli.tables import Col, Fields, FitTable, Packed, clock_ms, dollars, position
from tests.support.uncut import assert_uncut, render

LONG = "KXBTCD-25AUG0517-T114999.99"
SIM = "KXSIM-26JAN08-M00"
HEADERS = (
    "market",
    "snapshots",
    "deltas",
    "trades",
    "gaps",
    "resyncs",
    "stale",
    "quarantined",
    "sampled out",
    "phase",
)
NUMBERS = ("12", "987,654,321", "55,555", "1,234,567,890", "0.0005", "0.9995")


def summary_like() -> FitTable:
    table = FitTable(
        HEADERS[0],
        *(Col(h, numeric=True) for h in HEADERS[1:-1]),
        HEADERS[-1],
        title="collected for 3,723.4 s — 123,456,789,012 frames",
        caption="lake: 12,345,678 rows written | reconnects 0",
    )
    for ticker in (LONG, SIM):
        table.add_row(ticker, *NUMBERS, "0", "1", "[red]UNSUBSCRIBABLE[/]")
    return table


@pytest.mark.parametrize("width", [40, 60, 80, 100, 200])
def test_a_wide_table_is_never_cut_whatever_the_width(width: int) -> None:
    out = render(summary_like(), width)
    assert_uncut(out, width, whole=(LONG, SIM, *HEADERS, *NUMBERS, "UNSUBSCRIBABLE"))


def test_at_80_columns_the_columns_that_do_not_fit_go_to_a_second_table_with_the_market_repeated() -> None:
    out = render(summary_like(), 80)
    tables = len(re.findall(r"^┃? ?market ", out, re.M))
    assert tables >= 2 and out.count(LONG) == out.count(SIM) == tables  # the key in every table


def test_a_table_too_narrow_for_any_column_beside_the_key_becomes_one_block_per_row() -> None:
    out = render(summary_like(), 40)
    record = re.compile(r"^quarantined +0 *$", re.M)
    assert len(record.findall(out)) == 2, out  # one "header value" line per row
    assert_uncut(out, 40, whole=(LONG, SIM))


def test_text_wraps_at_spaces_and_numbers_and_tickers_stay_on_one_line() -> None:
    table = FitTable("market", "lifecycle events", Col("deltas", numeric=True))
    events = ", ".join(
        f"{kind} 12:0{i}:00"
        for i, kind in enumerate(("created", "activated", "deactivated", "determined", "settled"))
    )
    table.add_row(LONG, events, "1,234,567,890")
    out = render(table, 80)
    assert_uncut(out, 80, whole=(LONG, "1,234,567,890", "lifecycle events", "settled 12:04:00"))
    assert len(out.splitlines()) > 5  # the events wrapped instead of pushing the table past 80


def test_a_word_wider_than_the_terminal_folds_rather_than_being_cut() -> None:
    path = "/very/long/path/" + "x" * 90 + "/lake"
    table = FitTable("path", title=f"lake {path}")
    table.add_row(path)
    out = render(table, 40)
    assert_uncut(out, 40)
    unfolded = "".join(line.strip(" │┃") for line in out.splitlines())
    assert unfolded.count(path) == 2  # the title's and the cell's, each folded over lines


def test_a_column_that_does_not_wrap_keeps_a_time_on_one_line() -> None:
    table = FitTable("market", Col("start (UTC)", wrap=False), "note")
    table.add_row(SIM, "12-02 08:35:29", "a long note " * 8)
    out = render(table, 60)
    assert_uncut(out, 60, whole=("12-02 08:35:29", SIM))


def test_fields_wrap_values_beside_their_labels() -> None:
    out = render(
        Fields([("hyperparameters", "learning_rate 0.0003; n_steps 256; " * 4), ("market", LONG)]), 60
    )
    assert_uncut(out, 60, whole=(LONG, "hyperparameters", "learning_rate 0.0003;"))


def test_packed_items_break_between_items_never_inside_one() -> None:
    items = [f"{n:,} deltas" for n in (1, 22, 333_333, 4_444_444_444, 55, 666_666)] * 3
    out = render(Packed(items, "totals: "), 50)
    assert_uncut(out, 50, whole=items)


def test_cell_formats() -> None:
    assert clock_ms(1796182368750) == "03:32:48.750"  # 2026-12-02T03:32:48.750Z
    assert clock_ms(None) == "-"
    assert dollars(-4.73, 4) == "-$4.7300"
    assert dollars(1_234_567.891) == "$1,234,567.89"
    assert dollars(-0.0001) == "$0.00"  # no "-$0.00"
    assert [position(u) for u in (0, 2_000, -2_000, 1_050, -1)] == [
        "0",
        "20 YES",
        "20 NO",
        "10.5 YES",
        "0.01 NO",
    ]


def test_markup_in_a_cell_is_styled_not_printed_and_text_cells_are_taken_as_is() -> None:
    table = FitTable("a", "b")
    table.add_row("[red]DOWN[/]", Text("[not markup]"))
    out = render(table, 80)
    assert "DOWN" in out and "[red]" not in out and "[not markup]" in out
