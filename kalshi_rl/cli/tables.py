"""Tables that never truncate: no ``…``, whatever the width of the terminal or of a pipe.

Rich shrinks a table that is too wide by cutting its cells with an ellipsis. A ticker, a
header or a number cut that way is wrong data, so ``FitTable`` lays itself out for the width
it is given (the terminal's, ``COLUMNS``, or 80 when piped) in this order of preference:

1. one table, every column at its natural width;
2. one table, the text cells wrapped at spaces (never a word cut; headers stay whole), then
   the same without the table's outer edges;
3. several tables, the key columns (the first, e.g. the market) repeated in each;
4. one ``header  value`` block per row, when even one column beside the keys does not fit.

A word longer than the whole width (a path, say) is folded onto the next line, never cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

__all__ = ["Col", "Fields", "FitTable", "Packed", "clock_ms", "dollars", "position"]

# A rich table (HEAVY_HEAD box, padding 1) costs a divider and a space either side of each
# cell: 3 per column, plus 1 for the closing edge. Without its outer edges and their padding
# (``edge=False``, tried before splitting a table) it costs 4 less.
_COLUMN_COST = 3


@dataclass(frozen=True, slots=True)
class Col:
    """One column of a ``FitTable``: its header, right-aligned if numeric; a cell of a column
    that does not ``wrap`` (a time, say) is kept on one line even where it has spaces."""

    header: str
    numeric: bool = False
    wrap: bool = True


_Part = tuple[list[int], list[int], bool]
"""One table of a split: its column indexes, their widths, and whether it has outer edges."""


@dataclass(frozen=True, slots=True)
class _Extent:
    """The narrowest a column can be without cutting a word, and its natural width."""

    least: int
    most: int


def _extent(header: str, texts: Iterable[Text], wrap: bool) -> _Extent:
    """The header is kept on one line (a wrapped header reads as two); cells wrap at spaces."""
    least = most = max(1, cell_len(header))
    for text in texts:
        for line in text.plain.splitlines() or [""]:
            most = max(most, cell_len(line))
            least = max(least, max((cell_len(word) for word in line.split()), default=0))
    return _Extent(most if not wrap else least, most)


def _table_width(widths: Iterable[int], edge: bool = True) -> int:
    widths = list(widths)
    return sum(widths) + _COLUMN_COST * len(widths) + (1 if edge else -3)


def _shrink(extents: Sequence[_Extent], width: int, edge: bool = True) -> list[int] | None:
    """Column widths that fit ``width`` (the widest wrappable column gives way first), or None."""
    if _table_width((e.least for e in extents), edge) > width:
        return None
    widths = [e.most for e in extents]
    excess = _table_width(widths, edge) - width
    while excess > 0:
        slack = [w - e.least for w, e in zip(widths, extents, strict=True)]
        widest = max(range(len(widths)), key=lambda i: (slack[i] > 0, widths[i]))
        widths[widest] -= 1
        excess -= 1
    return widths


class FitTable:
    """A table (title, columns, rows of rich markup, caption) that fits any width uncut.

    Build it like a rich ``Table``, print it with a console or put it in a ``Live``: it is
    laid out when rendered, for that console's width. The first ``keys`` columns identify a
    row and are repeated when the columns have to be split over several tables.
    """

    def __init__(
        self,
        *columns: Col | str,
        title: str | None = None,
        caption: str | None = None,
        keys: int = 1,
    ) -> None:
        self.columns = [c if isinstance(c, Col) else Col(c) for c in columns]
        self.title = title
        self.caption = caption
        self.keys = max(1, min(keys, len(self.columns)))
        self.rows: list[list[Text]] = []

    def add_row(self, *cells: str | Text) -> None:
        """Add a row: one cell per column, plain text or rich markup."""
        if len(cells) != len(self.columns):
            raise ValueError(f"expected {len(self.columns)} cells, got {len(cells)}")
        self.rows.append([c if isinstance(c, Text) else Text.from_markup(c) for c in cells])

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        extents = [
            _extent(col.header, (row[i] for row in self.rows), col.wrap) for i, col in enumerate(self.columns)
        ]
        parts = self._parts(extents, width)
        if parts is None:
            yield from _annotation(self.title, "table.title")
            yield from self._records(width)
        else:
            for n, (indexes, widths, edge) in enumerate(parts):
                title = self.title if n == 0 else None
                table = self._table(indexes, widths, edge)
                if title and Text.from_markup(title).cell_len <= _table_width(widths, edge):
                    table.title = title
                else:
                    yield from _annotation(title, "table.title")
                yield table
        yield from _annotation(self.caption, "table.caption")

    def _parts(self, extents: Sequence[_Extent], width: int) -> list[_Part] | None:
        """Column indexes, widths and edges of each table, or None when only records fit."""
        everything = list(range(len(self.columns)))
        for edge in (True, False):
            widths = _shrink(extents, width, edge)
            if widths is not None:
                return [(everything, widths, edge)]
        keys, rest = everything[: self.keys], everything[self.keys :]
        if not rest:  # the keys alone are too wide: only records can show them
            return None
        best: list[_Part] | None = None
        for edge in (True, False):  # edges, unless dropping them saves a table
            parts = _split(extents, keys, rest, width, edge)
            if parts is not None and (best is None or len(parts) < len(best)):
                best = parts
        return best

    def _table(self, indexes: Sequence[int], widths: Sequence[int], edge: bool) -> Table:
        table = Table(show_edge=edge, pad_edge=edge)
        for index, w in zip(indexes, widths, strict=True):
            col = self.columns[index]
            # Exact widths: rich never has to shrink (and cut) a cell; fold is the backstop.
            table.add_column(col.header, justify="right" if col.numeric else "left", width=w, overflow="fold")
        for row in self.rows:
            table.add_row(*(row[i] for i in indexes))
        return table

    def _records(self, width: int) -> RenderResult:
        for n, row in enumerate(self.rows):
            if n:
                yield Text()
            yield from Fields([(c.header, cell) for c, cell in zip(self.columns, row, strict=True)]).lines(
                width
            )


def _split(
    extents: Sequence[_Extent], keys: list[int], rest: list[int], width: int, edge: bool
) -> list[_Part] | None:
    """Consecutive columns grouped into tables that fit, each led by the key columns."""
    groups: list[list[int]] = []
    for index in rest:
        if groups and _shrink([extents[i] for i in (*keys, *groups[-1], index)], width, edge) is not None:
            groups[-1].append(index)
        elif _shrink([extents[i] for i in (*keys, index)], width, edge) is not None:
            groups.append([index])
        else:
            return None
    parts = []
    for group in groups:
        indexes = [*keys, *group]
        fitted = _shrink([extents[i] for i in indexes], width, edge)
        assert fitted is not None  # checked while grouping
        parts.append((indexes, fitted, edge))
    return parts


class Fields:
    """``label  value`` lines: the labels in a column, each value wrapped at spaces beside its
    label (a word wider than the line folds): one record, or the details of one thing."""

    def __init__(self, pairs: Iterable[tuple[str, str | Text]]) -> None:
        self.pairs = [(label, v if isinstance(v, Text) else Text.from_markup(v)) for label, v in pairs]

    def lines(self, width: int) -> RenderResult:
        if not self.pairs:
            return
        label_width = min(max(cell_len(label) for label, _ in self.pairs), max(1, width // 2))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", width=label_width, overflow="fold")
        grid.add_column(overflow="fold")
        for label, value in self.pairs:
            grid.add_row(label, value)
        yield grid

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.lines(options.max_width)


def _annotation(text: str | None, style: str) -> RenderResult:
    """A title or caption on its own lines, wrapped at spaces by the console (a long word folds)."""
    if text:
        yield Text.from_markup(text, style=style, overflow="fold")


class Packed:
    """Short items (rich markup) on lines joined by `` · ``, a line broken between two items
    rather than inside one (``12,345 deltas`` stays together); an item wider than a line wraps."""

    def __init__(self, items: Iterable[str], lead: str = "") -> None:
        self.items = [Text.from_markup(item) for item in items]
        self.lead = Text.from_markup(lead)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        text = self.lead.copy()
        line = text.cell_len
        for n, item in enumerate(self.items):
            if n:
                if line + 3 + item.cell_len > width:
                    text.append("\n")
                    line = 0
                else:
                    text.append(" · ")
                    line += 3
            text.append_text(item)
            line += item.cell_len
        yield text


def clock_ms(epoch_ms: int | None) -> str:
    """A wall-clock time in epoch milliseconds as ``HH:MM:SS.mmm`` (UTC); ``-`` for None."""
    if epoch_ms is None:
        return "-"
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%H:%M:%S.%f")[:-3]


def dollars(amount: float, places: int = 2) -> str:
    """``-$1,234.50`` rather than ``$-1234.5``: the sign first, thousands separated."""
    sign = "-" if amount < 0 and round(abs(amount), places) else ""
    return f"{sign}${abs(amount):,.{places}f}"


def position(units: int) -> str:
    """A signed position in count units (YES positive) as ``20 NO``, ``10.5 YES`` or ``0``."""
    if not units:
        return "0"
    whole, cents = divmod(abs(units), 100)
    amount = f"{whole:,}" + (f".{cents:02d}".rstrip("0") if cents else "")
    return f"{amount} {'YES' if units > 0 else 'NO'}"
