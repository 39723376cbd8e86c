"""Shutdown with open streams, the websocket Origin policy, and ambiguous request framing.

In process through the test client, and through real servers (uvicorn with h11 and with
httptools, and hypercorn) on loopback.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import websockets.asyncio.client
import websockets.exceptions

from asyncflask import AsyncFlask, websocket
from asyncflask.sse import EventStream
from asyncflask.testing import WebSocketDenied, make_test_scope
from asyncflask.websockets import allowed_origins, origin_is_allowed

if TYPE_CHECKING:
    from conftest import LiveServers

HOST = "127.0.0.1"


def make_app(**config: Any) -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config.update(TESTING=True, **config)
    return app


# -- the shutdown notice, in process ------------------------------------------------------------


async def test_shutting_down_is_set_by_the_lifespan_shutdown_and_cleared_at_start() -> None:
    app = make_app()
    seen: list[bool] = []

    @app.before_serving
    async def record() -> None:
        seen.append(app.shutting_down.is_set())

    async with app.test_client():
        assert not app.shutting_down
    assert app.shutting_down.is_set()
    await asyncio.wait_for(app.shutting_down.wait(), 1)
    async with app.test_client():
        assert not app.shutting_down.is_set()
    assert seen == [False, False]


async def test_an_event_stream_ends_cleanly_when_the_shutdown_begins() -> None:
    app = make_app()

    @app.get("/events")
    async def events() -> EventStream:
        async def forever() -> Any:
            n = 0
            while True:
                yield {"n": n}
                n += 1
                await asyncio.sleep(0.01)

        return EventStream(forever(), keepalive=None)

    async with app.test_client() as client:
        async with asyncio.timeout(5), client.stream("GET", "/events") as response:
            assert response.status_code == 200
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if body.count(b"\n\n") >= 3 and not app.shutting_down:
                    app.shutting_down.set()
    # The stream finished by itself: every event is whole, and the response completed.
    assert body.endswith(b"\n\n")
    assert body.startswith(b'data: {"n":0}\n\n'), body[:100]


async def test_an_event_stream_with_keepalive_also_ends_at_shutdown() -> None:
    app = make_app()

    @app.get("/quiet")
    async def quiet() -> EventStream:
        async def silent() -> Any:
            await asyncio.Event().wait()
            yield "never"

        return EventStream(silent(), keepalive=0.05)

    async with app.test_client() as client:
        async with asyncio.timeout(5), client.stream("GET", "/quiet") as response:
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                app.shutting_down.set()
    assert body == b": keep-alive\n\n"


async def test_open_websockets_are_closed_with_1012_when_the_shutdown_begins() -> None:
    app = make_app()
    ended: list[int] = []

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.receive()
        except Exception as exc:
            ended.append(getattr(exc, "code", 0))
            raise

    async with app.test_client() as client:
        async with client.websocket("/ws") as ws:
            await asyncio.sleep(0.01)
            app.shutting_down.set()
            with pytest.raises(Exception) as closed:
                await ws.receive_text()
            assert getattr(closed.value, "code", None) == 1012
    assert ended == [1012]


# -- the Origin policy, in process ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "expected"),
    [
        pytest.param(None, "example.com", (), True, id="no-origin-is-not-a-browser"),
        pytest.param("https://example.com", "example.com", (), True, id="same-host"),
        pytest.param("http://example.com", "example.com", (), True, id="scheme-not-compared"),
        pytest.param("HTTPS://Example.COM", "example.com", (), True, id="case-insensitive"),
        pytest.param("http://example.com:8000", "example.com:8000", (), True, id="same-port"),
        pytest.param("http://example.com:9000", "example.com:8000", (), False, id="other-port"),
        pytest.param("https://example.com", "example.com:443", (), True, id="default-port"),
        pytest.param("https://evil.example", "example.com", (), False, id="foreign"),
        pytest.param("https://example.com.evil.example", "example.com", (), False, id="suffix-trick"),
        pytest.param("null", "example.com", (), False, id="null"),
        pytest.param("null", "example.com", ("null",), True, id="null-listed"),
        pytest.param("https://app.example", "example.com", ("https://app.example/",), True, id="listed"),
        pytest.param("https://evil.example", "example.com", ("*",), True, id="any"),
        pytest.param("http://[::1]:8000", "[::1]:8000", (), True, id="ipv6"),
        pytest.param("http://[::1", "example.com", (), False, id="malformed"),
        pytest.param("ftp://example.com", "example.com", (), False, id="not-http"),
    ],
)
def test_origin_is_allowed(origin: str | None, host: str, allowed: tuple[str, ...], expected: bool) -> None:
    assert origin_is_allowed(origin, host, allowed) is expected


def origin_app(**config: Any) -> AsyncFlask:
    app = make_app(**config)

    @app.websocket("/ws")
    async def echo() -> None:
        await websocket.send(await websocket.receive())

    @app.websocket("/partner")
    @allowed_origins("https://partner.example")
    async def partner() -> None:
        await websocket.send("hello partner")

    return app


@pytest.mark.parametrize(
    ("path", "origin", "status"),
    [
        pytest.param("/ws", "http://localhost", None, id="own-origin"),
        pytest.param("/ws", None, None, id="no-origin"),
        pytest.param("/ws", "https://evil.example", 403, id="foreign"),
        pytest.param("/ws", "null", 403, id="null"),
        pytest.param("/ws", "https://listed.example", None, id="listed-in-config"),
        pytest.param("/partner", "https://partner.example", None, id="route-override"),
        pytest.param("/partner", "https://listed.example", 403, id="route-override-replaces-config"),
    ],
)
async def test_websocket_origin_policy(path: str, origin: str | None, status: int | None) -> None:
    app = origin_app(WEBSOCKET_ALLOWED_ORIGINS=["https://listed.example"])
    headers = {"origin": origin} if origin is not None else None
    async with app.test_client() as client:
        if status is None:
            async with client.websocket(path, headers=headers) as ws:
                if path == "/ws":
                    await ws.send_text("hi")
                    assert await ws.receive_text() == "hi"
                else:
                    assert await ws.receive_text() == "hello partner"
            return
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket(path, headers=headers):
                pass
    assert denied.value.status_code == status
    assert f"may not be opened from the origin {origin!r}" in denied.value.response.text


async def test_refused_origin_runs_no_hook() -> None:
    app = origin_app()
    calls: list[str] = []

    @app.before_websocket
    async def hook() -> None:
        calls.append("before")

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied):
            async with client.websocket("/ws", headers={"origin": "https://evil.example"}):
                pass
    assert calls == []


# -- Content-Length with Transfer-Encoding, in process ---------------------------------------------


async def test_content_length_with_transfer_encoding_is_refused_and_closes() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> str:
        return "should not run"

    scope, receive = make_test_scope(
        app, "/", method="POST", headers=[(b"content-length", b"5"), (b"transfer-encoding", b"chunked")]
    )
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, body = sent[0], sent[1]
    assert start["status"] == 400
    assert (b"connection", b"close") in start["headers"]
    assert body["body"].startswith(b"Bad Request: a request must not have both")


# -- real servers ----------------------------------------------------------------------------------

SERVER_APP = """
import asyncio, os
from pathlib import Path
from asyncflask import AsyncFlask, websocket
from asyncflask.sse import EventStream

app = AsyncFlask(__name__)
MARKER = Path(os.environ["SHUTDOWN_MARKER"])


@app.after_serving
async def done():
    MARKER.write_text("after_serving ran")


@app.get("/")
async def index():
    return "ok"


@app.get("/cookies")
async def cookies():
    from asyncflask import request
    cookies = request.cookies
    return {"count": len(cookies), "k0": len(cookies.get("k0", "")), "last": cookies.get("name999")}


@app.post("/echo")
async def echo():
    return str(len(await (await __import__("asyncflask").request.get_data())))


@app.get("/events")
async def events():
    async def ticks():
        n = 0
        while True:
            yield {"n": n}
            n += 1
            await asyncio.sleep(0.2)
    return EventStream(ticks(), keepalive=1)


@app.websocket("/ws")
async def ws():
    await websocket.accept()
    while True:
        await websocket.send(await websocket.receive())


@app.websocket("/idle")
async def idle():
    # Never receives: only the shutdown notice can end it.
    await websocket.accept()
    await websocket.send("ready")
    await asyncio.Event().wait()
"""

SERVERS = {
    "uvicorn-h11": ["-m", "uvicorn", "shutdown_app:app", "--http", "h11", "--port", "{port}"],
    "uvicorn-httptools": ["-m", "uvicorn", "shutdown_app:app", "--http", "httptools", "--port", "{port}"],
    "hypercorn": ["-m", "hypercorn", "shutdown_app:app", "--bind", f"{HOST}:{{port}}"],
}


def server_argv(name: str, app_dir: Path) -> list[str]:
    argv = [sys.executable, *SERVERS[name]]
    if name.startswith("uvicorn"):
        argv += ["--host", HOST, "--app-dir", str(app_dir), "--log-level", "warning"]
    return argv


@pytest.fixture(params=list(SERVERS))
def served(request: pytest.FixtureRequest, tmp_path: Path, live_server: LiveServers) -> tuple[str, Any, Path]:
    name = request.param
    if name == "hypercorn":
        pytest.importorskip("hypercorn")
    (tmp_path / "shutdown_app.py").write_text(textwrap.dedent(SERVER_APP))
    marker = tmp_path / "marker.txt"
    env = {"SHUTDOWN_MARKER": str(marker), "PYTHONPATH": str(tmp_path)}
    server = live_server(server_argv(name, tmp_path), env=env, capture_output=True)
    return name, server, marker


def raw_exchange(port: int, data: bytes) -> tuple[bytes, bool]:
    """Send `data`, read until the server closes (or 5 s pass): the bytes, and whether it closed."""
    with socket.create_connection((HOST, port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return received, False
            if not chunk:
                return received, True
            received += chunk
    return received, False


def test_real_server_refuses_content_length_with_transfer_encoding(served: tuple[str, Any, Path]) -> None:
    name, server, _ = served
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    request = (
        b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + smuggled
    )
    answer, closed = raw_exchange(server.port, request)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert answer.count(b"HTTP/1.1") == 1, f"a second request was read: {answer[:600]!r}"
    assert closed, f"{name} kept the connection open"


async def test_real_server_parses_hostile_cookies_in_linear_time(served: tuple[str, Any, Path]) -> None:
    _, server, _ = served
    # Under the servers' default 16 KiB head limit: 6,000 escaped quotes (quadratic in the
    # standard library's unquoting), then 1,000 ordinary pairs.
    hostile = 'k0="' + '\\"' * 6_000 + '"'
    pairs = "; ".join(f"name{i}=value{i}" for i in range(1_000))
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{server.port}", timeout=10) as client:
        started = time.monotonic()
        response = await client.get("/cookies", headers={"cookie": hostile})
        took = time.monotonic() - started
        many = await client.get("/cookies", headers={"cookie": pairs})
    assert response.status_code == 200
    assert response.json() == {"count": 1, "k0": 6_000, "last": None}
    assert took < 1.0
    assert many.json() == {"count": 1_000, "k0": 0, "last": "value999"}


async def test_real_server_websocket_origin(served: tuple[str, Any, Path]) -> None:
    _, server, _ = served
    url = f"ws://{HOST}:{server.port}/ws"
    async with asyncio.timeout(15):
        async with websockets.asyncio.client.connect(url, origin=f"http://{HOST}:{server.port}") as ws:  # type: ignore[arg-type]
            await ws.send("same origin")
            assert await ws.recv() == "same origin"
        async with websockets.asyncio.client.connect(url) as ws:
            await ws.send("no origin")
            assert await ws.recv() == "no origin"
        for foreign in ("https://evil.example", "null"):
            with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
                async with websockets.asyncio.client.connect(url, origin=foreign):  # type: ignore[arg-type]
                    pass
            assert refused.value.response.status_code == 403


async def test_sigterm_with_open_streams_and_websockets(served: tuple[str, Any, Path]) -> None:
    name, server, marker = served
    base = f"http://{HOST}:{server.port}"
    ws_url = f"ws://{HOST}:{server.port}"
    close_codes: list[int | None] = []
    stream_ends: list[str] = []

    async def open_stream(client: httpx.AsyncClient, ready: asyncio.Event, started: list[int]) -> None:
        async with client.stream("GET", "/events") as response:
            assert response.status_code == 200
            try:
                async for _ in response.aiter_bytes():
                    started.append(1)
                    if len(started) >= 50:
                        ready.set()
            except httpx.RemoteProtocolError:
                stream_ends.append("cut")
            else:
                stream_ends.append("ended")

    async def open_socket(path: str, connected: list[int], ready: asyncio.Event) -> None:
        async with websockets.asyncio.client.connect(f"{ws_url}{path}", open_timeout=10) as ws:
            if path == "/idle":
                assert await ws.recv() == "ready"
            else:
                await ws.send("hi")
                assert await ws.recv() == "hi"
            connected.append(1)
            if len(connected) >= 50:
                ready.set()
            try:
                await ws.recv()
            except websockets.exceptions.ConnectionClosed as closed:
                close_codes.append(closed.rcvd.code if closed.rcvd is not None else None)

    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=20) as client:
        streams_ready, sockets_ready = asyncio.Event(), asyncio.Event()
        started: list[int] = []
        connected: list[int] = []
        tasks = [asyncio.ensure_future(open_stream(client, streams_ready, started)) for _ in range(50)]
        tasks += [
            asyncio.ensure_future(open_socket("/idle" if i % 2 else "/ws", connected, sockets_ready))
            for i in range(50)
        ]
        async with asyncio.timeout(20):
            await streams_ready.wait()
            await sockets_ready.wait()
        sent_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            results = await asyncio.gather(*tasks, return_exceptions=True)
        try:
            exit_code = await asyncio.to_thread(server.process.wait, 15)
        except Exception:
            pytest.fail(f"{name} did not exit after SIGTERM:\n{server.stderr()}")
        took = time.monotonic() - sent_at
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures[:3]
    # uvicorn re-raises the signal once it has shut down, so it may end "killed by SIGTERM".
    assert exit_code in (0, -signal.SIGTERM), server.stderr()
    assert took < 8, f"{name} took {took:.1f}s to stop:\n{server.stderr()}"
    assert marker.read_text() == "after_serving ran"
    # uvicorn runs the app in the process the signal reaches, so the notice ends each stream
    # cleanly; hypercorn's worker learns of the shutdown from its parent, not from a signal,
    # so its own grace period (3 s) cuts the streams instead.
    assert stream_ends == ["cut" if name == "hypercorn" else "ended"] * 50
    assert len(close_codes) == 50
    # hypercorn closes the websockets itself, with 1000, once its grace period is over.
    assert set(close_codes) <= ({1000} if name == "hypercorn" else {1001, 1012}), close_codes


# -- refusals on servers without the denial-response extension ------------------------------------


async def test_refusal_without_the_denial_extension_closes_instead() -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> tuple[str, int]:
        return "no entry", 401

    for extensions, expected in (({}, "websocket.close"), ({"websocket.http.response": {}}, None)):
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "scheme": "ws",
            "path": "/ws",
            "raw_path": b"/ws",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"localhost")],
            "client": ("127.0.0.1", 50000),
            "server": ("localhost", 80),
            "subprotocols": [],
            "state": {},
            "extensions": extensions,
        }
        sent: list[dict[str, Any]] = []
        messages = [{"type": "websocket.connect"}]

        async def receive(messages: list[dict[str, Any]] = messages) -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "websocket.disconnect", "code": 1000}

        async def send(message: Any, sent: list[dict[str, Any]] = sent) -> None:
            sent.append(message)

        await app(scope, receive, send)
        types = [m["type"] for m in sent]
        if expected is not None:
            # Only what the server announced: a close, which it answers with its own 403.
            assert types == [expected]
        else:
            assert types[0] == "websocket.http.response.start" and sent[0]["status"] == 401
            assert b"".join(m.get("body", b"") for m in sent[1:]) == b"no entry"
