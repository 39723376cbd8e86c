"""Streaming responses (async and sync generators) and server-sent events (`asyncflask.sse`)."""

from __future__ import annotations

import asyncio
import logging
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from asyncflask import AsyncFlask, request
from asyncflask.sse import EventStream, ServerSentEvent, last_event_id, parse_events

if TYPE_CHECKING:  # the root conftest.py, shared through its `live_server` fixture
    from conftest import LiveServer, LiveServers


def make_app(**config: Any) -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config.update(config)
    return app


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


async def chunks_of(*parts: bytes | str) -> AsyncIterator[bytes | str]:
    for part in parts:
        yield part


async def collect(stream: AsyncIterator[ServerSentEvent]) -> list[ServerSentEvent]:
    return [event async for event in stream]


async def read_cut_short(response: httpx.Response) -> bytes:
    """The body of a response the app stopped sending midway (a server cuts the connection)."""
    body = b""
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
    except httpx.RemoteProtocolError:
        pass  # how a real server's client sees it; the test transport may just end the body
    return body


# -- streaming generators ----------------------------------------------------------------------------


async def test_async_generator_chunks_arrive_one_by_one() -> None:
    app = make_app()
    first_read = asyncio.Event()

    @app.get("/stream")
    async def stream() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "first "
            # The second chunk exists only once the client has read the first one.
            await asyncio.wait_for(first_read.wait(), 5)
            yield "second"

        return generate()

    async with app.test_client() as client, client.stream("GET", "/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "content-length" not in response.headers
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b"first "
        first_read.set()
        assert await anext(chunks) == b"second"
        with pytest.raises(StopAsyncIteration):
            await anext(chunks)


async def test_sync_generator_chunks_arrive_one_by_one() -> None:
    app = make_app()
    first_read = threading.Event()

    @app.get("/stream")
    def stream() -> Any:
        def generate() -> Iterator[bytes]:
            yield b"first "
            # Runs in a worker thread: blocking here does not block the event loop.
            assert first_read.wait(5)
            yield b"second"

        return generate()

    async with app.test_client() as client, client.stream("GET", "/stream") as response:
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b"first "
        first_read.set()
        assert await anext(chunks) == b"second"


@pytest.mark.parametrize("kind", [pytest.param("async", id="async"), pytest.param("sync", id="sync")])
async def test_request_is_available_inside_the_generator(kind: str) -> None:
    app = make_app()

    @app.get("/async")
    async def async_view() -> Any:
        async def generate() -> AsyncIterator[str]:
            await asyncio.sleep(0)
            yield f"{request.path} "
            yield request.args["q"]

        return generate()

    @app.get("/sync")
    def sync_view() -> Any:
        def generate() -> Iterator[str]:
            yield f"{request.path} "
            yield request.args["q"]

        return generate()

    async with app.test_client() as client:
        response = await client.get(f"/{kind}", params={"q": "hello"})
    assert response.text == f"/{kind} hello"


async def test_generator_in_a_tuple_with_status_and_headers() -> None:
    app = make_app()

    @app.get("/stream")
    async def stream() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            yield b"a"
            yield b"b"

        return generate(), 201, {"X-Stream": "yes", "Content-Type": "text/plain"}

    async with app.test_client() as client:
        response = await client.get("/stream")
    assert (response.status_code, response.text) == (201, "ab")
    assert response.headers["x-stream"] == "yes"
    assert response.headers["content-type"] == "text/plain"


async def test_closing_the_stream_cancels_a_waiting_generator(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()
    cleaned_up = asyncio.Event()
    seen_in_finally: list[str] = []

    @app.get("/endless")
    async def endless() -> Any:
        async def generate() -> AsyncIterator[str]:
            try:
                n = 0
                while True:
                    yield f"{n}\n"
                    n += 1
                    await asyncio.sleep(0.01)
            finally:
                seen_in_finally.append(request.path)
                cleaned_up.set()

        return generate()

    async with app.test_client() as client:
        async with client.stream("GET", "/endless") as response:
            lines = response.aiter_lines()
            assert [await anext(lines) for _ in range(3)] == ["0", "1", "2"]
        await asyncio.wait_for(cleaned_up.wait(), 2)
    assert seen_in_finally == ["/endless"]
    assert error_records(caplog) == []


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("async", id="async"),
        pytest.param("sync", id="sync"),
    ],
)
async def test_closing_the_stream_closes_a_busy_generator(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    cleaned_up = threading.Event()
    # Held here, so garbage collection cannot close them: only the server may.
    generators: list[Any] = []

    @app.get("/async")
    async def async_view() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"x" * 1024  # never waits: the cancel lands while it is suspended at yield
            finally:
                cleaned_up.set()

        generators.append(generate())
        return generators[-1]

    @app.get("/sync")
    def sync_view() -> Any:
        def generate() -> Iterator[bytes]:
            try:
                while True:
                    yield b"x" * 1024
            finally:
                cleaned_up.set()

        generators.append(generate())
        return generators[-1]

    async with app.test_client() as client:
        async with client.stream("GET", f"/{kind}") as response:
            assert len(await anext(response.aiter_bytes())) == 1024
        deadline = time.monotonic() + 1
        while not cleaned_up.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    assert cleaned_up.is_set()
    assert error_records(caplog) == []


async def test_error_after_headers_ends_the_stream_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()

    @app.get("/broken")
    async def broken() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "partial "
            raise ValueError("secret detail")

        return generate()

    @app.get("/fine")
    async def fine() -> str:
        return "fine"

    sent: list[str] = []
    inner = app.asgi_app

    async def spy(scope: Scope, receive: Receive, send: Send) -> None:
        async def recording_send(message: Message) -> None:
            sent.append(message["type"] + ("" if message.get("more_body", True) else " (last)"))
            await send(message)

        await inner(scope, receive, recording_send if scope["type"] == "http" else send)

    app.asgi_app = spy  # type: ignore[method-assign]

    async with app.test_client() as client:
        async with client.stream("GET", "/broken") as response:
            assert response.status_code == 200
            body = await read_cut_short(response)
        assert body == b"partial "  # truncated: no error page, no traceback
        # One response start, and the body is never finished: the server cuts the connection.
        assert sent == ["http.response.start", "http.response.body"]
        next_response = await client.get("/fine")
    assert (next_response.status_code, next_response.text) == (200, "fine")
    records = error_records(caplog)
    assert [record.getMessage() for record in records] == [
        "Exception while sending the response to /broken [GET]"
    ]
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], ValueError)


async def test_error_after_headers_is_raised_into_the_test_in_testing_mode() -> None:
    app = make_app(TESTING=True)

    @app.get("/broken")
    async def broken() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "partial "
            raise ValueError("boom")

        return generate()

    async with app.test_client() as client:
        with pytest.raises(ValueError, match="boom"):
            await client.get("/broken")


# -- ServerSentEvent ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "wire"),
    [
        pytest.param(ServerSentEvent("hello"), b"data: hello\n\n", id="data"),
        pytest.param(ServerSentEvent("a\nb\nc"), b"data: a\ndata: b\ndata: c\n\n", id="multiline"),
        pytest.param(ServerSentEvent("a\r\nb\rc"), b"data: a\ndata: b\ndata: c\n\n", id="crlf-and-cr"),
        pytest.param(ServerSentEvent("a\n"), b"data: a\ndata: \n\n", id="trailing-newline-kept"),
        pytest.param(ServerSentEvent(""), b"data: \n\n", id="empty-data"),
        pytest.param(
            ServerSentEvent("a\u2028b"), "data: a\u2028b\n\n".encode(), id="unicode-separator-not-a-break"
        ),
        pytest.param(
            ServerSentEvent("x", event="tick", id=7, retry=3000),
            b"event: tick\nid: 7\nretry: 3000\ndata: x\n\n",
            id="all-fields",
        ),
        pytest.param(ServerSentEvent({"a": [1, 2], "b": None}), b'data: {"a":[1,2],"b":null}\n\n', id="json"),
        pytest.param(ServerSentEvent(5), b"data: 5\n\n", id="int-as-json"),
        pytest.param(ServerSentEvent(comment="keep"), b": keep\n\n", id="comment"),
        pytest.param(ServerSentEvent(comment="one\ntwo"), b": one\n: two\n\n", id="multiline-comment"),
        pytest.param(ServerSentEvent(id="", data="x"), b"id: \ndata: x\n\n", id="empty-id-resets"),
    ],
)
def test_event_encoding(event: ServerSentEvent, wire: bytes) -> None:
    assert event.encode() == wire


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        pytest.param({"id": "1\n2"}, "id", id="newline-in-id"),
        pytest.param({"id": "1\r2"}, "id", id="cr-in-id"),
        pytest.param({"id": "1\x002"}, "id", id="nul-in-id"),
        pytest.param({"event": "a\nb"}, "event", id="newline-in-event"),
    ],
)
def test_newline_in_id_or_event_is_refused(fields: dict[str, str], name: str) -> None:
    event = ServerSentEvent("data", **fields)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"An event's {name} may not contain a newline"):
        event.encode()


# -- parse_events ------------------------------------------------------------------------------------


async def test_parse_events_round_trips_encoded_events() -> None:
    events = [
        ServerSentEvent("one"),
        ServerSentEvent("two\nlines", event="multi", id="2"),
        ServerSentEvent("x", retry=1500),
        ServerSentEvent("trailing\n"),
    ]
    parsed = await collect(parse_events(chunks_of(*(event.encode() for event in events))))
    assert parsed == events


async def test_parse_events_handles_split_chunks_comments_and_odd_lines() -> None:
    wire = (
        ": hello\n\n"
        "event: greet\r\nid: 1\r\ndata: héllo\r\n\r\n"
        "id: bad\x00id\ndata\nretry: soon\n\n"
        ": only a comment\n\n"
    )
    raw = wire.encode()
    # Split at every byte: inside the two-byte "é" and between CR and LF.
    parsed = await collect(parse_events(chunks_of(*(raw[i : i + 1] for i in range(len(raw))))))
    assert parsed == [
        ServerSentEvent("héllo", event="greet", id="1"),
        ServerSentEvent(""),  # a bare "data" line is empty data; a NUL id and a bad retry are ignored
    ]
    as_text = await collect(parse_events(chunks_of("data: a\n", "\ndata: b\n\n")))
    assert as_text == [ServerSentEvent("a"), ServerSentEvent("b")]


async def test_parse_events_ignores_an_unfinished_event() -> None:
    parsed = await collect(parse_events(chunks_of(b"data: done\n\ndata: never finished\n")))
    assert parsed == [ServerSentEvent("done")]


# -- EventStream -------------------------------------------------------------------------------------


async def test_event_stream_headers_and_events() -> None:
    app = make_app()

    @app.get("/events")
    async def events() -> EventStream:
        async def generate() -> AsyncIterator[Any]:
            yield ServerSentEvent("first", event="greeting", id=1)
            yield "plain text"
            yield {"json": True}
            yield b"data: raw bytes pass through\n\n"

        return EventStream(generate())

    async with app.test_client() as client:
        response = await client.get("/events")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.text == (
        "event: greeting\nid: 1\ndata: first\n\n"
        "data: plain text\n\n"
        'data: {"json":true}\n\n'
        "data: raw bytes pass through\n\n"
    )


async def test_event_stream_status_and_extra_headers() -> None:
    app = make_app()

    @app.get("/events")
    async def events() -> EventStream:
        headers = {"X-Feed": "news", "Cache-Control": "no-store"}
        return EventStream(chunks_of("x"), status=202, headers=headers)

    async with app.test_client() as client:
        response = await client.get("/events")
    assert response.status_code == 202
    assert response.headers["x-feed"] == "news"
    assert response.headers["cache-control"] == "no-store"


async def test_keepalive_comment_after_silence() -> None:
    app = make_app()
    resume = asyncio.Event()

    @app.get("/events")
    async def events() -> EventStream:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            yield ServerSentEvent("before", id=1)
            await asyncio.wait_for(resume.wait(), 5)
            yield ServerSentEvent("after", id=2)

        return EventStream(generate(), keepalive=0.05)

    async with app.test_client() as client, client.stream("GET", "/events") as response:
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b"id: 1\ndata: before\n\n"
        assert await anext(chunks) == b": keep-alive\n\n"
        resume.set()
        rest = b"".join([chunk async for chunk in chunks])
    # Keep-alives may still slip in before the last event; the event itself arrives intact.
    assert rest.replace(b": keep-alive\n\n", b"") == b"id: 2\ndata: after\n\n"


async def test_no_keepalive_when_disabled() -> None:
    app = make_app()

    @app.get("/events")
    async def events() -> EventStream:
        async def generate() -> AsyncIterator[str]:
            await asyncio.sleep(0.1)
            yield "late"

        return EventStream(generate(), keepalive=None)

    async with app.test_client() as client:
        response = await client.get("/events")
    assert response.text == "data: late\n\n"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({}, "None", id="first-connection"),
        pytest.param({"Last-Event-ID": "41"}, "41", id="reconnect"),
    ],
)
async def test_last_event_id_from_the_header(headers: dict[str, str], expected: str) -> None:
    app = make_app()

    @app.get("/events")
    async def events() -> EventStream:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            yield ServerSentEvent(str(last_event_id()))

        return EventStream(generate())

    async with app.test_client() as client:
        response = await client.get("/events", headers=headers)
    assert response.text == f"data: {expected}\n\n"


async def test_last_event_id_outside_a_request_raises() -> None:
    with pytest.raises(RuntimeError, match=r"last_event_id\(\) needs a request context"):
        last_event_id()


def endless_counter(app: AsyncFlask, cleaned_up: asyncio.Event, finally_saw: list[str], delay: float) -> None:
    @app.get("/count")
    async def count() -> EventStream:
        start = int(last_event_id() or 0) + 1

        async def generate() -> AsyncIterator[ServerSentEvent]:
            n = start
            try:
                while True:
                    yield ServerSentEvent({"n": n, "q": request.args.get("q")}, event="count", id=n)
                    n += 1
                    if delay:
                        await asyncio.sleep(delay)
            finally:
                finally_saw.append(request.path)
                cleaned_up.set()

        return EventStream(generate(), keepalive=1)


@pytest.mark.parametrize(
    "delay",
    [pytest.param(0.01, id="source-waits"), pytest.param(0.0, id="source-busy")],
)
async def test_read_events_one_by_one_from_an_endless_stream(
    delay: float, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    cleaned_up = asyncio.Event()
    finally_saw: list[str] = []
    endless_counter(app, cleaned_up, finally_saw, delay)

    async with app.test_client() as client:
        headers = {"Last-Event-ID": "9"}
        async with client.stream("GET", "/count?q=x", headers=headers) as response:
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            events = parse_events(response.aiter_bytes())
            received = [await anext(events) for _ in range(3)]
        # Leaving the stream cancels the generator: its `finally` runs, with the request.
        await asyncio.wait_for(cleaned_up.wait(), 2)
    assert received == [
        ServerSentEvent('{"n":10,"q":"x"}', event="count", id="10"),
        ServerSentEvent('{"n":11,"q":"x"}', event="count", id="11"),
        ServerSentEvent('{"n":12,"q":"x"}', event="count", id="12"),
    ]
    assert finally_saw == ["/count"]
    assert error_records(caplog) == []


# -- a real server -----------------------------------------------------------------------------------

SERVER_APP = """
import asyncio

from asyncflask import AsyncFlask
from asyncflask.sse import EventStream, ServerSentEvent

app = AsyncFlask(__name__)


@app.get("/broken")
async def broken():
    async def generate():
        yield "partial "
        await asyncio.sleep(0.05)
        raise ValueError("secret detail")

    return generate()


@app.get("/fine")
async def fine():
    return "fine"


@app.get("/ticks")
async def ticks():
    async def generate():
        n = 0
        while True:
            n += 1
            yield ServerSentEvent(n, id=n)
            await asyncio.sleep(0.01)

    return EventStream(generate())
"""


@pytest.fixture
def server(tmp_path: Path, live_server: LiveServers) -> LiveServer:
    (tmp_path / "sse_server_app.py").write_text(textwrap.dedent(SERVER_APP))
    argv = live_server.uvicorn_argv("sse_server_app:app", tmp_path, "--log-level", "warning")
    return live_server(argv, capture_output=True)


async def test_real_server_cuts_a_failing_stream_and_keeps_serving(server: LiveServer) -> None:
    base_url = server.url
    async with asyncio.timeout(15), httpx.AsyncClient(base_url=base_url) as client:
        received = b""
        with pytest.raises(httpx.RemoteProtocolError):
            async with client.stream("GET", "/broken") as response:
                assert response.status_code == 200
                async for chunk in response.aiter_raw():
                    received += chunk
        assert received == b"partial "
        fine = await client.get("/fine")
        assert (fine.status_code, fine.text) == (200, "fine")
        async with client.stream("GET", "/ticks") as response:
            events = parse_events(response.aiter_bytes())
            assert [(await anext(events)).data for _ in range(2)] == ["1", "2"]
    text = server.stderr()  # the app's logger writes to stderr
    assert text.count("Exception while sending the response to /broken [GET]") == 1
    assert "secret detail" in text  # in the server's log, never on the wire


async def test_event_source_error_mid_stream_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()

    @app.get("/events")
    async def events() -> EventStream:
        async def generate() -> AsyncIterator[str]:
            yield "one"
            raise ValueError("source broke")

        return EventStream(generate(), keepalive=1)

    async with app.test_client() as client, client.stream("GET", "/events") as response:
        assert await read_cut_short(response) == b"data: one\n\n"
    assert [record.getMessage() for record in error_records(caplog)] == [
        "Exception while sending the response to /events [GET]"
    ]


async def test_event_source_failing_in_its_cleanup_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()
    closing = asyncio.Event()

    @app.get("/events")
    async def events() -> EventStream:
        async def generate() -> AsyncIterator[str]:
            try:
                yield "one"
                await asyncio.sleep(60)
                yield "never"
            finally:
                closing.set()
                raise KeyError("cleanup broke")

        return EventStream(generate(), keepalive=1)

    async with app.test_client() as client:
        async with client.stream("GET", "/events") as response:
            assert await anext(response.aiter_bytes()) == b"data: one\n\n"
        await asyncio.wait_for(closing.wait(), 2)
        for _ in range(10):  # the done callback runs on a later loop iteration
            await asyncio.sleep(0)
    records = error_records(caplog)
    assert [record.getMessage() for record in records] == ["The event source failed while closing"]
    assert records[0].name == __name__
    assert records[0].exc_info is not None and isinstance(records[0].exc_info[1], KeyError)
