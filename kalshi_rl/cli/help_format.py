"""``--help`` that never hides text: Typer's help cells fold instead of ending in ``…``.

Typer lays each option out in a rich table (name, short name, ``--no-`` form, type, help)
whose cells rich cuts with an ellipsis when the terminal is too narrow for the table:
``--determination-del…`` at 80 columns. Typer has no setting for the cells' overflow, so
``fold_help_cells`` swaps in highlighters (the objects Typer passes every option name and
help text through; they keep Typer's colours) that mark the text ``fold``: a cramped option
name continues on the next line, and nothing is lost. If a Typer release renames these
module attributes, this does nothing (the help is then Typer's own).
"""

from __future__ import annotations

from rich.text import Text
from typer import rich_utils


class _FoldingOptionHighlighter(rich_utils.OptionHighlighter):
    def highlight(self, text: Text) -> None:
        text.overflow = "fold"
        super().highlight(text)


class _FoldingNegativeOptionHighlighter(rich_utils.NegativeOptionHighlighter):
    def highlight(self, text: Text) -> None:
        text.overflow = "fold"
        super().highlight(text)


def fold_help_cells() -> None:
    """Make Typer's help fold long option names and words instead of cutting them."""
    if hasattr(rich_utils, "highlighter") and hasattr(rich_utils, "negative_highlighter"):
        rich_utils.highlighter = _FoldingOptionHighlighter()
        rich_utils.negative_highlighter = _FoldingNegativeOptionHighlighter()
