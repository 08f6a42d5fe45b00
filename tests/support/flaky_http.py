"""A real HTTP front for the local exchange's REST that fails on demand (REST fault injection).

``FlakyRest`` listens on a loopback port; each request is shown to ``script(path)`` (path and
query), which answers ``None`` to forward it to the upstream exchange unchanged, an
``(HTTP status, JSON body)`` to answer that instead, or ``RESET`` to close the connection
without an answer (a network failure). Every request path is kept in ``requests``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

RESET = "reset"
Answer = tuple[int, Any] | str | None


class FlakyRest:
    """HTTP/1.1 proxy in front of ``upstream`` (a REST base URL's scheme and host)."""

    def __init__(self, upstream: str, script: Callable[[str], Answer] = lambda path: None) -> None:
        self.upstream = upstream.rstrip("/")
        self.script = script
        self.requests: list[str] = []
        self._server: asyncio.Server | None = None
        self._http = httpx.AsyncClient(base_url=self.upstream)
        self.port = 0

    @property
    def url(self) -> str:
        """The REST base URL to give a client (same path prefix as the upstream's)."""
        prefix = httpx.URL(self.upstream).path
        return f"http://127.0.0.1:{self.port}{prefix}"

    async def start(self) -> FlakyRest:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._http.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                _, target, _ = line.decode().split(" ", 2)
                while (await reader.readline()) not in (b"\r\n", b""):
                    pass  # headers: GET requests carry no body
                self.requests.append(target)
                answer = self.script(target)
                if answer == RESET:
                    return
                if answer is None:
                    response = await self._http.get(httpx.URL(self.upstream).join(target))
                    status, body = response.status_code, response.content
                else:
                    assert isinstance(answer, tuple)
                    status, body = answer[0], json.dumps(answer[1]).encode()
                head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                writer.write(head.encode() + body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()
