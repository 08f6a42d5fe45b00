"""Real uvicorn servers on loopback, one per configuration per test module, fed by a real exchange.

A module's servers start on first use and stop after its last test; between tests each one is
put back to a fresh state (empty registry, no actor, no training, no remembered stream message),
and a test that leaves the actor or a training running fails in teardown. The feed is a real
``SimExchange`` on its own event loop (a thread), reached over a real WebSocket; a test can pause
and step it to make book updates happen exactly when it wants them.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from sqlalchemy import inspect

from kalshi_rl.api.app import create_app
from kalshi_rl.api.service import RlService, ServiceConfig
from kalshi_rl.api.websocket import orderbook_message
from kalshi_rl.data.storage.schema import metadata
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from kalshi_rl.sim.protocol import ORDERBOOK
from tests.support.waiting import wait_until

T = TypeVar("T")
TOKEN = "s3cret"


class LoopThread:
    """An event loop running in a daemon thread; the test thread submits work to it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a plain function on the loop (where the objects it touches live) and return its result."""

        async def on_loop() -> T:
            return fn(*args)

        return self.run(on_loop())

    def close(self) -> list[str]:
        """Cancel what is still running on the loop (as ``asyncio.run`` does), stop and close it.

        Return the names of the tasks that were still running.
        """

        async def cancel_the_rest() -> list[str]:
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)
            await self.loop.shutdown_asyncgens()
            return [task.get_name() for task in rest]

        leftovers = self.run(cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()
        return leftovers


class LocalExchange:
    """A ``SimExchange`` on its own loop; ``pause``/``step`` make book updates on demand."""

    def __init__(self, config: SimConfig) -> None:
        self.thread = LoopThread("sim")
        self.sim = SimExchange(config)
        self.thread.run(self.sim.start())

    def pause(self) -> None:
        """Freeze the books and wait until every frame already made has been written out."""
        self.thread.call(self.sim.pause)
        self.thread.run(self.sim.drain())

    def step(self, steps: int) -> int:
        """Run ``steps`` model steps now, flush them, and return the events they made."""
        events = self.thread.call(self.sim.step, steps)
        self.thread.run(self.sim.drain())
        return events

    def resume(self) -> None:
        self.thread.call(self.sim.resume)

    def book(self, ticker: str) -> tuple[int, dict[int, int], dict[int, int]]:
        """The exchange's last orderbook seq, and its YES and NO bids as ``{price: size}``."""

        def read() -> tuple[int, dict[int, int], dict[int, int]]:
            seqs = [
                sub.seq
                for session in self.sim.sessions.values()
                for sub in session.subs.values()
                if sub.channel == ORDERBOOK
            ]
            yes, no = self.sim.book(ticker)
            return max(seqs, default=0), dict(yes), dict(no)

        return self.thread.call(read)

    def close(self) -> None:
        self.thread.run(self.sim.stop())
        self.thread.close()


@dataclass
class Running:
    """One served app: its URLs, the service object behind it, its loop and its exchange."""

    url: str
    ws: str
    config: ServiceConfig
    service: RlService
    server: uvicorn.Server
    thread: LoopThread
    serving: Any  # the concurrent future of ``server.serve()``
    http: httpx.Client
    exchange: LocalExchange | None
    stopped: bool = False

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(self.url + path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(self.url + path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.put(self.url + path, **kwargs)

    def server_clock(self) -> float:
        """The service's own uptime clock (its event loop's), in seconds."""
        return float(self.get("/rl/status").json()["uptime_s"])

    def book_message(self, market: str) -> dict[str, Any]:
        """What /rl/ws/orderbook would send for the service's book right now (read on its loop)."""
        assert self.service.feed is not None
        shared = self.service.feed.books[market]
        return self.thread.call(orderbook_message, shared.state)

    def book_matches_exchange(self, market: str) -> bool:
        """Whether the service has applied every book message the exchange sent (checked by seq)."""
        assert self.service.feed is not None and self.exchange is not None
        state = self.service.feed.books[market].state
        ours = self.thread.call(
            lambda: (state.last_sequence, dict(state.yes_bids.sizes), dict(state.no_bids.sizes))
        )
        theirs = self.exchange.book(market)
        if ours[0] != theirs[0]:
            return False
        assert ours == theirs, "same seq, different books"
        return True

    def reset(self) -> list[str]:
        """Back to a fresh service; return what the test left running (stopped here)."""
        left = self.thread.run(_stop_and_forget(self.service))
        engine = self.service.engine
        assert engine is not None
        present = set(inspect(engine).get_table_names())
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                if table.name in present:
                    conn.execute(table.delete())
        if self.exchange is not None:
            self.exchange.resume()
        return left

    def stop(self) -> list[str]:
        """Stop the server as uvicorn does on Ctrl-C; return the tasks its shutdown left running."""
        self.stopped = True
        self.http.close()
        self.server.should_exit = True
        self.serving.result(60)
        left = self.thread.close()
        if self.exchange is not None:
            self.exchange.close()
        return left


async def _stop_and_forget(service: RlService) -> list[str]:
    left = []
    if service.actor_running:
        left.append("the actor")
        await service.stop_actor()
    if service.training is not None and not service.training.task.done():
        left.append("a training")
        await service.halt_training()
    service.training = None
    service.session = None
    service.training_hub.last = None
    service.actions_hub.last = None
    return left


def start_server(config: ServiceConfig, exchange: LocalExchange | None) -> Running:
    service = RlService(config)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, service), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
    )
    thread = LoopThread("uvicorn")
    serving = asyncio.run_coroutine_threadsafe(server.serve(), thread.loop)
    wait_until(lambda: server.started or serving.done(), timeout_s=60)
    if serving.done():
        serving.result()  # raises the reason it did not start
        raise RuntimeError("the service stopped while starting")
    port = server.servers[0].sockets[0].getsockname()[1]
    return Running(
        f"http://127.0.0.1:{port}",
        f"ws://127.0.0.1:{port}",
        config,
        service,
        server,
        thread,
        serving,
        httpx.Client(timeout=60),
        exchange,
    )


ServeFactory = Callable[..., Running]


@pytest.fixture(scope="module")
def serve(
    tmp_path_factory: pytest.TempPathFactory, sim_lake: tuple[Path, list[str]]
) -> Iterator[ServeFactory]:
    """``serve(token=..., feed=..., cors=...)``: this module's server for that configuration."""
    servers: dict[tuple[Any, ...], Running] = {}

    def get(token: str | None = None, feed: bool = True, cors: tuple[str, ...] = ()) -> Running:
        key = (token, feed, cors)
        if key not in servers or servers[key].stopped:
            data_dir = tmp_path_factory.mktemp("service")
            shutil.copytree(sim_lake[0] / "lake", data_dir / "lake")
            exchange = LocalExchange(SimConfig(markets=1, rate=150, record_ledger=False)) if feed else None
            config = ServiceConfig(
                data_dir=data_dir,
                models_dir=data_dir / "models",
                markets=tuple(exchange.sim.tickers) if exchange else (),
                ws_url=exchange.sim.ws_url if exchange else "",
                rest_url=exchange.sim.rest_url if exchange else "",
                api_token=token,
                cors_origins=cors,
            )
            servers[key] = start_server(config, exchange)
        return servers[key]

    get.servers = servers  # type: ignore[attr-defined]
    yield get
    left = [f"{name} on {r.url}" for r in servers.values() if not r.stopped for name in r.stop()]
    assert not left, f"the service's shutdown left {', '.join(left)} running"


CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


@pytest.fixture(autouse=True)
def _fresh_service(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test, reset the module's servers; fail a passing test that left work running."""
    yield
    if "serve" not in request.fixturenames:
        return
    servers: dict[tuple[Any, ...], Running] = request.getfixturevalue("serve").servers
    left = [f"{what} on {r.url}" for r in servers.values() if not r.stopped for what in r.reset()]
    if not request.node.stash.get(CALL_FAILED, False):  # a failed test has said enough already
        assert not left, f"the test left {', '.join(left)} running"
