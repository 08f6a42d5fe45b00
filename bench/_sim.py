"""The local exchange in its own process, as an exchange would be, for the benchmarks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def start_sim(*options: str) -> tuple[subprocess.Popen[str], dict[str, object]]:
    """Start ``kalshi-rl sim --port 0 --json`` with ``options``; return it and what it printed."""
    exe = str(Path(sys.executable).parent / "kalshi-rl")
    proc = subprocess.Popen(
        [exe, "sim", "--port", "0", *options, "--json"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.rstrip() == "}":
            break
    return proc, json.loads("".join(lines))
