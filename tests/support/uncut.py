"""What every CLI table test asserts: nothing cut, nothing wider than the terminal."""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from rich.console import Console, RenderableType

ELLIPSES = ("…", "...")


def render(renderable: RenderableType, width: int, height: int = 1_000) -> str:
    """``renderable`` as a width-``width`` terminal that is not a TTY shows it (no colour codes)."""
    console = Console(width=width, height=height, force_terminal=False, color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def assert_uncut(text: str, width: int, whole: Iterable[str] = ()) -> None:
    """No ellipsis, no line wider than ``width``, and each of ``whole`` on one line, in one piece."""
    for ellipsis in ELLIPSES:
        assert ellipsis not in text, f"{ellipsis!r} in:\n{text}"
    widest = max((cell_len(line) for line in text.splitlines()), default=0)
    assert widest <= width, f"a line of {widest} cells in {width} columns:\n{text}"
    missing = [w for w in whole if w not in text]
    assert not missing, f"cut or wrapped: {missing} in:\n{text}"
