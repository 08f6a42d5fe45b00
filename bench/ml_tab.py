"""Benchmark: the ML tab under load, in headless Debian chromium (Playwright; no browser download).

``kalshi-rl sim`` with 4 markets (fast enough that each book stream runs at its 10 updates/s
cap) and ``kalshi-rl serve`` on it; one tab per market, each showing that market. Every 5 s each
tab's JS heap (after a forced GC) and how far the book it shows is behind the wall clock are
sampled. Prints: the JS shipped (gzipped), first meaningful paint (the dashboard's heading) on
loopback, timed from the navigation (opening the tab, a new browser context and renderer, is the
harness's cost and is timed apart), the heap's last-minute mean over its first-minute mean, and the worst lag.
Goals (issue 13): JS <= 250 kB gzipped; paint <= 1 s; heap within 10 %; lag <= 1 s.

Usage: ``python bench/ml_tab.py [SECONDS]`` (default 300, the issue's 5 minutes). Needs ``make setup``.
"""

from __future__ import annotations

import gzip
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.cli_support import cli_env, sim_processes  # noqa: E402
from tests.e2e.test_serve_process import served  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ASSETS = ROOT / "kalshi_rl" / "api" / "static" / "assets"
MARKETS = 4
SAMPLE_S = 5.0

LAG_JS = """() => {
  const text = [...document.querySelectorAll('p')].map(p => p.textContent).find(t => /^seq \\d+ · /.test(t));
  if (!text) return null;
  const [h, m, s] = text.split(' · ')[1].replace(' UTC', '').split(':');
  const now = new Date();
  const shown = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), +h, +m, 0) + parseFloat(s) * 1000;
  return Date.now() - shown;
}"""


FCP_JS = "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN"


def shipped_js_gzip() -> int:
    return sum(len(gzip.compress(p.read_bytes(), 9)) for p in ASSETS.glob("*.js"))


def main(seconds: float) -> None:
    js = shipped_js_gzip()
    with tempfile.TemporaryDirectory() as tmp, sim_processes() as sim_process:
        sim = sim_process("--markets", str(MARKETS), "--rate", "60")
        args = [a for t in sim.tickers[:MARKETS] for a in ("--market", t)]
        with served(Path(tmp), cli_env(), *args, "--ws-url", sim.ws_url) as (_proc, port, _lines):
            url = f"http://127.0.0.1:{port}/"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM,
                    args=["--no-sandbox", "--js-flags=--expose-gc", "--enable-precise-memory-info"],
                )
                pages, paints, fcps, opens = [], [], [], []
                for ticker in sim.tickers[:MARKETS]:
                    opening = time.monotonic()
                    page = browser.new_page()
                    started = time.monotonic()
                    opens.append(started - opening)
                    page.goto(url, wait_until="commit")
                    page.get_by_role("heading", name="kalshi-rl · ML tab").wait_for()
                    paints.append(time.monotonic() - started)
                    fcps.append(page.evaluate(FCP_JS) / 1000)
                    page.get_by_role("combobox", name="Market").select_option(ticker)
                    page.get_by_role("table", name=f"Ladder of {ticker}").wait_for(timeout=30_000)
                    pages.append(page)
                heaps: list[tuple[float, float]] = []
                lags: list[float] = []
                begin = time.monotonic()
                while (elapsed := time.monotonic() - begin) < seconds:
                    time.sleep(SAMPLE_S)
                    for page in pages:
                        lag = page.evaluate(LAG_JS)
                        if lag is not None:
                            lags.append(lag / 1000)
                        page.evaluate("window.gc && window.gc()")
                        heaps.append((elapsed, page.evaluate("performance.memory.usedJSHeapSize") / 1e6))
                browser.close()
    window = min(60.0, seconds / 3)
    first = statistics.mean(h for t, h in heaps if t <= window)
    last = statistics.mean(h for t, h in heaps if t >= seconds - window)
    print(f"machine: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {MARKETS} tabs x 1 market, {seconds:.0f} s")
    print(f"JS shipped (gzip -9): {js / 1000:.1f} kB   (goal <= 250 kB: ratio {js / 250_000:.2f})")
    print(
        f"first meaningful paint: max {max(paints):.2f} s over {len(paints)} tabs from the navigation "
        f"({', '.join(f'{p:.2f}' for p in paints)}); the browser's first contentful paint: "
        f"max {max(fcps):.2f} s; opening each tab (not counted): max {max(opens):.2f} s   (goal <= 1 s)"
    )
    print(
        f"JS heap per tab: first {window:.0f} s {first:.2f} MB, last {window:.0f} s {last:.2f} MB: "
        f"ratio {last / first:.3f}   (goal within 10 %)"
    )
    print(
        f"book lag behind the wall clock: median {statistics.median(lags):.3f} s, "
        f"max {max(lags):.3f} s over {len(lags)} samples   (goal <= 1 s)"
    )


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 300.0)
