"""``PgProxy``: a TCP proxy in front of PostgreSQL that cuts connections at exact protocol points.

Tests put it between a client (the collector's ``PostgresSink``) and the real server so the
failures that matter for exactly-once happen on a write, every time, instead of stopping the
server at a moment that may or may not fall on one:

* ``cut_mid_copy(k)``: a COPY is cut after ``k`` CopyData messages reached the server and
  before CopyDone (the server never commits; the client must send the batch again);
* ``cut_after_commit()``: the server's reply to the COMMIT of a transaction that ran a COPY is
  read from the server and dropped, then both sides are cut (the rows are committed but the
  client cannot know it: sending the batch again must not store it twice);
* ``down()`` / ``up()``: every open connection is cut and new ones are reset until ``up()``
  (the server is down).

Wire facts (protocol 3.0): the client opens with an untyped startup packet (int32 length that
counts itself, int32 code); an SSLRequest or GSSENCRequest before it is answered 'N' by the
proxy itself, so the rest of the stream stays readable. Every later message in both directions
is a type byte and an int32 length that counts itself. A COPY from the client is a Query 'Q'
("COPY ... FROM STDIN"), CopyData 'd' messages, then CopyDone 'c' (or CopyFail 'f'); the
server ends each command with CommandComplete 'C' whose tag is e.g. "COPY 120" or "COMMIT".
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

CutKind = Literal["mid_copy", "after_commit"]
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_COPY_TABLE = re.compile(r'^\s*COPY\s+"?([\w.]+)"?', re.IGNORECASE)
_COPY_TAG = re.compile(rb"^COPY (\d+)\x00$")


@dataclass(frozen=True)
class CutRecord:
    """What a cut interrupted."""

    kind: CutKind
    table: str  # the COPY's target table
    rows: int  # mid_copy: CSV rows the server had received; after_commit: rows it committed
    at: str  # the message that was not delivered whole: CopyData | CopyDone | CommandComplete


class Cut:
    """One armed cut; the first connection that reaches its point is cut (and only that one)."""

    def __init__(self, kind: CutKind, table: str | None, after_copy_data: int, down_after: bool) -> None:
        self.kind = kind
        self.table = table
        self.after_copy_data = after_copy_data
        self.down_after = down_after
        self.record: CutRecord | None = None
        self._done = threading.Event()

    def wait(self, timeout_s: float = 30.0) -> CutRecord:
        """Block until the cut happened; fail the test if it did not within ``timeout_s``."""
        if not self._done.wait(timeout_s) or self.record is None:
            raise AssertionError(f"the {self.kind} cut was never reached within {timeout_s} s")
        return self.record

    @property
    def happened(self) -> bool:
        return self._done.is_set()

    def _resolve(self, record: CutRecord) -> None:
        self.record = record
        self._done.set()


class _Link:
    """One proxied connection and what the proxy has seen on it."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.copy_table: str | None = None  # the COPY in progress, if any
        self.copy_messages = 0
        self.copy_rows = 0
        self.copied_table = ""  # the last COPY whose CopyDone was sent
        self.tx_copy: tuple[str, int] | None = None  # (table, rows) a COPY put in the open transaction
        self._ended = 0
        self._lock = threading.Lock()

    def sever(self) -> None:
        """Cut both sides; blocked reads in either pump return at once."""
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def pump_ended(self) -> None:
        self.sever()
        with self._lock:
            self._ended += 1
            last = self._ended == 2
        if last:
            self.client.close()
            self.server.close()


class PgProxy:
    """Forward TCP connections to PostgreSQL, and cut them where a test asks (see module doc)."""

    def __init__(self, upstream_host: str = "127.0.0.1", upstream_port: int = 5432) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.connections = 0  # connections forwarded to the server
        self.refused = 0  # connections reset because the proxy was down
        self.cuts: list[CutRecord] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._armed: Cut | None = None
        self._down = False
        self._links: set[_Link] = set()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self._accept_thread = threading.Thread(target=self._accept, name="pg-proxy-accept", daemon=True)

    @classmethod
    def in_front_of(cls, pg_url: str) -> PgProxy:
        """Start a proxy for the server of ``pg_url`` (a ``postgresql://`` URL)."""
        parts = urlsplit(pg_url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432).start()

    def url(self, pg_url: str) -> str:
        """Return ``pg_url`` with its host and port replaced by the proxy's."""
        parts = urlsplit(pg_url)
        user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))

    # -- control ----------------------------------------------------------------------------

    def start(self) -> PgProxy:
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut every connection, and wait for every thread."""
        self._stopped = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
        self._listener.close()
        self._sever_all()
        self._accept_thread.join(5)
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> PgProxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def cut_mid_copy(
        self, after_copy_data: int = 1, table: str | None = None, down_after: bool = False
    ) -> Cut:
        """Arm a cut of the next COPY (into ``table``, if given) after ``after_copy_data`` CopyData.

        The cut falls on the COPY's next message: a further CopyData is cut halfway through
        (its first half reaches the server), a CopyDone is dropped. ``down_after`` also takes
        the server down (see ``down``) at the same instant, until ``up()``.
        """
        return self._arm(Cut("mid_copy", table, after_copy_data, down_after))

    def cut_after_commit(self, table: str | None = None, down_after: bool = False) -> Cut:
        """Arm a cut of the next COMMIT reply of a transaction that COPYed rows (into ``table``)."""
        return self._arm(Cut("after_commit", table, 0, down_after))

    def down(self) -> None:
        """Cut every connection and reset new ones until ``up()``: the server is down."""
        with self._lock:
            self._down = True
        self._sever_all()

    def up(self) -> None:
        with self._lock:
            self._down = False

    def _arm(self, cut: Cut) -> Cut:
        with self._lock:
            if self._armed is not None:
                raise RuntimeError(f"a {self._armed.kind} cut is already armed")
            self._armed = cut
        return cut

    def _claim(self, kind: CutKind, table: str, copy_messages: int = 0) -> Cut | None:
        with self._lock:
            cut = self._armed
            if (
                cut is None
                or cut.kind != kind
                or (cut.table is not None and cut.table != table)
                or copy_messages < cut.after_copy_data
            ):
                return None
            self._armed = None
            if cut.down_after:
                self._down = True
            return cut

    def _cut(self, link: _Link, cut: Cut, record: CutRecord) -> None:
        link.sever()
        with self._lock:
            self.cuts.append(record)
        cut._resolve(record)

    def _sever_all(self) -> None:
        with self._lock:
            links = list(self._links)
        for link in links:
            link.sever()

    # -- forwarding -------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was shut down
            if self._is_down():
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, server)
            with self._lock:  # checked again: down() may have severed every link meanwhile
                accepted = not self._down
                if accepted:
                    self._links.add(link)
                    self.connections += 1
                else:
                    self.refused += 1
            if not accepted:
                server.close()
                _reset(client)
                continue
            for target, name in ((self._client_to_server, "up"), (self._server_to_client, "down")):
                thread = threading.Thread(target=self._run_pump, args=(target, link), daemon=True)
                thread.name = f"pg-proxy-{name}-{self.connections}"
                self._threads.append(thread)
                thread.start()

    def _is_down(self) -> bool:
        with self._lock:
            if self._down:
                self.refused += 1
            return self._down

    def _run_pump(self, pump: Callable[[_Link], None], link: _Link) -> None:
        try:
            pump(link)
        except OSError:
            pass  # a side was cut or closed: the other pump sees it too
        finally:
            link.pump_ended()
            with self._lock:
                self._links.discard(link)

    def _client_to_server(self, link: _Link) -> None:
        if not _forward_startup(link):
            return
        while (message := _read_message(link.client)) is not None:
            kind, body = message[:1], message[5:]
            if kind == b"Q" and (match := _COPY_TABLE.match(body.decode("utf-8", "replace"))):
                link.copy_table, link.copy_messages, link.copy_rows = match[1], 0, 0
            elif kind in (b"d", b"c") and link.copy_table is not None:
                cut = self._claim("mid_copy", link.copy_table, link.copy_messages)
                if cut is not None:
                    at = "CopyData" if kind == b"d" else "CopyDone"
                    if kind == b"d":  # the server gets half a message, then nothing
                        half = message[: 5 + len(body) // 2]
                        link.server.sendall(half)
                        link.copy_rows += half[5:].count(b"\n")
                    self._cut(link, cut, CutRecord("mid_copy", link.copy_table, link.copy_rows, at))
                    return
                if kind == b"d":
                    link.copy_messages += 1
                    link.copy_rows += body.count(b"\n")
                else:
                    link.copied_table, link.copy_table = link.copy_table, None
            elif kind == b"f":
                link.copy_table = None
            link.server.sendall(message)

    def _server_to_client(self, link: _Link) -> None:
        while (message := _read_message(link.server)) is not None:
            if message[:1] == b"C":
                tag = message[5:]
                if (match := _COPY_TAG.match(tag)) and link.copied_table:
                    link.tx_copy = (link.copied_table, int(match[1]))
                elif tag == b"COMMIT\x00" and link.tx_copy is not None:
                    table, rows = link.tx_copy
                    link.tx_copy = None
                    cut = self._claim("after_commit", table)
                    if cut is not None:
                        self._cut(link, cut, CutRecord("after_commit", table, rows, "CommandComplete"))
                        return
                elif tag in (b"ROLLBACK\x00", b"COMMIT\x00"):
                    link.tx_copy = None
            link.client.sendall(message)


def _reset(client: socket.socket) -> None:
    """Close with a reset (linger 0), as a host with nothing listening on the port would."""
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


def _read_exact(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = sock.recv_into(view[received:])
        if count == 0:
            return None
        received += count
    return bytes(buffer)


def _read_message(sock: socket.socket) -> bytes | None:
    """Read one typed message (type byte, int32 length, body), or None at end of stream."""
    header = _read_exact(sock, 5)
    if header is None:
        return None
    body = _read_exact(sock, struct.unpack("!i", header[1:5])[0] - 4)
    return None if body is None else header + body


def _forward_startup(link: _Link) -> bool:
    """Answer SSL/GSSAPI encryption requests 'N' ourselves, then forward the startup packet."""
    while (length := _read_exact(link.client, 4)) is not None:
        body = _read_exact(link.client, struct.unpack("!i", length)[0] - 4)
        if body is None:
            return False
        if struct.unpack("!i", body[:4])[0] in (_SSL_REQUEST, _GSSENC_REQUEST):
            link.client.sendall(b"N")
            continue
        link.server.sendall(length + body)
        return True
    return False
