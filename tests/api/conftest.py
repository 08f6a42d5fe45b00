"""A real uvicorn server on loopback (in a thread), fed by a real local exchange (a subprocess)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from kalshi_rl.api.app import create_app
from kalshi_rl.api.service import ServiceConfig


@dataclass
class Running:
    url: str
    ws: str
    config: ServiceConfig
    server: uvicorn.Server
    http: httpx.Client

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(self.url + path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(self.url + path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.put(self.url + path, **kwargs)


def start_server(config: ServiceConfig) -> tuple[uvicorn.Server, threading.Thread, int]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, port


@pytest.fixture
def serve(tmp_path: Path, sim_process, sim_lake) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Start the service; ``serve(token=..., feed=True)`` returns a ``Running``."""
    started: list[tuple[uvicorn.Server, threading.Thread, httpx.Client]] = []

    def start(token: str | None = None, feed: bool = True, cors: tuple[str, ...] = ()) -> Running:
        data_dir = tmp_path / f"service{len(started)}"
        shutil.copytree(sim_lake[0] / "lake", data_dir / "lake")
        sim = sim_process("--markets", "1", "--rate", "150") if feed else None
        config = ServiceConfig(
            data_dir=data_dir,
            models_dir=data_dir / "models",
            markets=tuple(sim.tickers) if sim else (),
            ws_url=sim.ws_url if sim else "",
            rest_url=sim.rest_url if sim else "",
            api_token=token,
            cors_origins=cors,
        )
        server, thread, port = start_server(config)
        client = httpx.Client(timeout=60)
        started.append((server, thread, client))
        return Running(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", config, server, client)

    yield start
    for server, thread, client in started:
        client.close()
        server.should_exit = True
        thread.join(60)
