"""The ML tab in a real browser: Debian's chromium (never a downloaded one) driven by Playwright,
against ``kalshi-rl serve`` fed by a ``kalshi-rl sim`` process, both as a user starts them.

The service requires a token, so the page first asks for it (the streams are refused with 4401);
once given, the book of the feed's market shows and keeps updating, every stream says ``open``.
A training started from the form (refused while invalid) finishes, the paper actor started on
the new model by name sends actions, a second version takes over; the browser logs no error.
When the service stops, every stream shows it is reconnecting. A screenshot of the dashboard is kept as a test artifact in
``build/test-artifacts/ml-tab.png``; with ``KALSHI_RL_UPDATE_SCREENSHOT=1`` it also replaces the
README's ``docs/ml-tab.png``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api

from tests.cli_support import cli_env
from tests.e2e.test_serve_process import served

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-s3cret"
ROOT = Path(__file__).parents[2]
ARTIFACT = ROOT / "build" / "test-artifacts" / "ml-tab.png"
DOCS_SCREENSHOT = ROOT / "docs" / "ml-tab.png"
STATIC_INDEX = ROOT / "kalshi_rl" / "api" / "static" / "index.html"


def test_the_dashboard_live_book_training_and_actor(
    tmp_path: Path, sim_process: Any, sim_lake: tuple[Path, list[str]]
) -> None:
    assert CHROMIUM.exists(), "make setup installs Debian's chromium (apt-get install chromium)"
    assert STATIC_INDEX.exists(), "make setup builds the ML tab (npm run build in frontend/)"
    sim = sim_process("--markets", "1", "--rate", "150")
    market = sim.tickers[0]
    env = cli_env(RL_API_TOKEN=TOKEN)
    shutil.copytree(sim_lake[0] / "lake", tmp_path / "data" / "lake")  # what the form trains on
    with (
        served(tmp_path, env, "--market", market, "--ws-url", sim.ws_url) as (proc, port, lines),
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            problems: list[str] = []
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            started = time.monotonic()
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            expect = sync_api.expect
            expect(page.get_by_role("heading", name="kalshi-rl · ML tab")).to_be_visible(timeout=10_000)
            first_paint_s = time.monotonic() - started

            dialog = page.get_by_role("dialog", name="API token required")
            expect(dialog).to_be_visible(timeout=20_000)
            expect(dialog).to_contain_text("token required")
            dialog.get_by_role("textbox", name="Token").fill(TOKEN)
            page.get_by_role("button", name="Use token").click()
            expect(dialog).to_be_hidden()

            ladder = page.get_by_role("table", name=f"Ladder of {market}")
            expect(ladder).to_be_visible(timeout=30_000)
            for stream in ("Book", "Actions", "Training"):
                expect(page.get_by_role("status", name=f"{stream} stream: open")).to_be_visible(
                    timeout=20_000
                )
            seq = page.get_by_text(re.compile(r"^seq \d+"))
            first = seq.inner_text()
            expect(seq).not_to_have_text(first, timeout=20_000)  # the book keeps updating
            prices = ladder.get_by_role("cell").filter(has_text=re.compile(r"^\$\d\.\d{4}$"))
            assert prices.count() >= 2
            expect(page.get_by_role("region", name="Models and paper actor")).to_contain_text(
                "Live trading is disabled"
            )

            # Train from the form (refused first while invalid), watch it finish.
            training = page.get_by_role("region", name="Training")
            training.get_by_role("textbox", name="Timesteps").fill("0")
            training.get_by_role("button", name="Start training").click()
            expect(
                training.get_by_text("Timesteps: must be a whole number from 1 to 100000000")
            ).to_be_visible()
            fields = {
                "Markets (comma separated)": ",".join(sim_lake[1]),
                "Timesteps": "256",
                "Tick (ms)": "200",
                "Ticks per episode": "40",
                "Model name (optional)": "browser",
            }
            for label, value in fields.items():
                training.get_by_role("textbox", name=label).fill(value)
            training.get_by_role("button", name="Start training").click()
            expect(training.get_by_text(re.compile(r"Training: ready.*run finished: ready"))).to_be_visible(
                timeout=120_000
            )
            models = page.get_by_role("region", name="Models and paper actor")
            expect(models.get_by_role("table", name="Model registry")).to_contain_text("browser@1")

            # Start the paper actor on it, sampling its actions (a tiny model's most likely action
            # is often hold): its actions arrive, some fill, and the P&L chart moves with them.
            models.get_by_role("checkbox", name="Sample actions").check()
            models.get_by_role("button", name="Start actor").click()
            expect(models.get_by_text(re.compile(r"Actor: running browser@1"))).to_be_visible(timeout=30_000)
            actions = page.get_by_role("region", name="Agent actions")
            actions.get_by_role("checkbox", name="Hide holds").uncheck()
            expect(actions.get_by_role("table", name="Recent actions")).to_be_visible(timeout=30_000)
            pnl = page.get_by_role("figure", name="P&L over time")
            expect(pnl).to_contain_text(re.compile(r"over \d+ decisions"), timeout=30_000)
            expect(pnl).to_contain_text(
                re.compile(r"P&L now (?!\$0\.00 )\S+ over \d+ decisions"), timeout=60_000
            )
            # A second version of the same name: the actor, started by name, switches to it.
            training.get_by_role("button", name="Start training").click()
            expect(models.get_by_role("table", name="Model registry")).to_contain_text(
                "browser@2", timeout=120_000
            )
            expect(models.get_by_role("status", name="Model switch")).to_contain_text(
                "Switched from browser@1 to browser@2", timeout=60_000
            )
            expect(models.get_by_text(re.compile(r"Actor: running browser@2"))).to_be_visible()
            page.wait_for_timeout(1500)  # let the charts draw a few updates
            ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACT), full_page=True)
            if os.environ.get("KALSHI_RL_UPDATE_SCREENSHOT") == "1":
                shutil.copyfile(ARTIFACT, DOCS_SCREENSHOT)
            heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : null")
            print(f"first paint {first_paint_s:.2f} s, JS heap {heap} bytes")
            models.get_by_role("button", name="Stop actor").click()
            expect(models.get_by_text("Actor: stopped")).to_be_visible(timeout=30_000)
            assert problems == [], problems

            # The service goes away: every stream says it is reconnecting, the page does not freeze.
            proc.terminate()
            proc.wait(60)
            for stream in ("Book", "Actions", "Training"):
                expect(page.get_by_role("status", name=f"{stream} stream: reconnecting")).to_be_visible(
                    timeout=20_000
                )
        finally:
            browser.close()
    assert TOKEN not in "".join(lines)
