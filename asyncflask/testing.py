"""Testing: an `httpx.AsyncClient` wired to the app through a transport that really streams."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope

if TYPE_CHECKING:
    from .app import AsyncFlask

__all__ = ["ASGIStreamTransport", "LifespanError", "TestClient", "make_test_scope"]

_DONE: Message = {"type": "asyncflask.testing.done"}


class LifespanError(RuntimeError):
    """The app refused to start (or failed to shut down); the message holds its traceback."""


def _scope_for(request: httpx.Request, root_path: str, client: tuple[str, int]) -> Scope:
    url = request.url
    path = unquote(url.raw_path.split(b"?", 1)[0].decode("ascii"))
    default_port = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(url.scheme, 80)
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": url.scheme,
        "path": root_path + path,
        "raw_path": (root_path.encode() + url.raw_path.split(b"?", 1)[0]),
        "root_path": root_path,
        "query_string": url.query,
        "headers": [(key.lower(), value) for key, value in request.headers.raw],
        "client": client,
        "server": (url.host, url.port or default_port),
        "state": {},
        "extensions": {"http.response.debug": {}},
    }


def make_test_scope(
    app: AsyncFlask,
    path: str = "/",
    method: str = "GET",
    headers: Any = None,
    query_string: str | bytes | dict[str, Any] | None = None,
    json: Any = None,
    data: str | bytes | dict[str, Any] | None = None,
    base_url: str = "http://localhost",
    root_path: str = "",
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> tuple[Scope, Receive]:
    """An ASGI scope and `receive` for a made-up request (used by `test_request_context`)."""
    url = httpx.URL(base_url).join(path)
    if query_string is not None:
        if isinstance(query_string, bytes):
            query_string = query_string.decode("latin-1")
        url = url.copy_with(query=None).copy_merge_params(httpx.QueryParams(query_string))
    content: str | bytes | None = None
    form: dict[str, Any] | None = None
    if isinstance(data, (str, bytes)):
        content = data
    elif data is not None:
        form = data
    request = httpx.Request(method, url, headers=headers, json=json, content=content, data=form)
    body = request.read()
    scope = _scope_for(request, root_path, client)
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # Nothing more will arrive; a made-up request never disconnects on its own.
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return scope, receive


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, exchange: _Exchange) -> None:
        self._exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        exchange = self._exchange
        while not exchange.body_done:
            message = await exchange.queue.get()
            if message is _DONE:
                exchange.body_done = True
                exchange.raise_app_error()
                break
            if message["type"] != "http.response.body":
                continue
            chunk = message.get("body", b"")
            if not message.get("more_body", False):
                exchange.body_done = True
            if chunk:
                yield chunk

    async def aclose(self) -> None:
        await self._exchange.finish()


class _Exchange:
    """One request/response between the client and the app task."""

    def __init__(self, app: ASGIApp, request: httpx.Request, scope: Scope, grace: float) -> None:
        self.app = app
        self.request = request
        self.scope = scope
        self.grace = grace
        # Bounded, so an endless stream waits for the reader instead of filling memory.
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=64)
        self.disconnected = asyncio.Event()
        self.body_done = False
        self.error: BaseException | None = None
        self._request_body = request.stream.__aiter__()  # type: ignore[union-attr]
        self._request_done = False
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self.receive, self.send)
        except BaseException as error:  # noqa: B036 - handed to the test through the response
            self.error = error
        finally:
            await self.queue.put(_DONE)

    async def receive(self) -> Message:
        if not self._request_done:
            try:
                chunk = await self._request_body.__anext__()
            except StopAsyncIteration:
                self._request_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.disconnected.is_set():
            raise OSError("The test client closed the response.")
        await self.queue.put(message)

    def raise_app_error(self) -> None:
        error, self.error = self.error, None
        if error is not None and not isinstance(error, asyncio.CancelledError):
            raise error

    async def start(self) -> Message:
        while True:
            message = await self.queue.get()
            if message is _DONE:
                self.raise_app_error()
                raise RuntimeError("The application returned without sending a response.")
            if message["type"] == "http.response.start":
                return message

    async def finish(self) -> None:
        self.disconnected.set()
        # Drain so an app blocked on a full queue can see the disconnect and finish.
        while not self.task.done():
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    self.queue.get_nowait()
            done, _ = await asyncio.wait({self.task}, timeout=0.05)
            self.grace -= 0.05
            if not done and self.grace <= 0:
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.task
        self.raise_app_error()


class ASGIStreamTransport(httpx.AsyncBaseTransport):
    """An httpx transport that runs the ASGI app in a task and streams its response.

    Args:
        app: the ASGI application.
        root_path: the ASGI `root_path` to serve under.
        client: the client address the app sees.
        grace: seconds to wait for the app to finish after the response is closed.
    """

    def __init__(
        self,
        app: ASGIApp,
        root_path: str = "",
        client: tuple[str, int] = ("127.0.0.1", 50000),
        grace: float = 5.0,
    ) -> None:
        self.app = app
        self.root_path = root_path
        self.client = client
        self.grace = grace

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Start the app on the request and return as soon as the response headers arrive."""
        exchange = _Exchange(self.app, request, _scope_for(request, self.root_path, self.client), self.grace)
        try:
            start = await exchange.start()
        except BaseException:
            await exchange.finish()
            raise
        return httpx.Response(
            status_code=start["status"],
            headers=[(bytes(key), bytes(value)) for key, value in start.get("headers", [])],
            stream=_ResponseStream(exchange),
            extensions={"http_version": b"HTTP/1.1"},
        )


class _Lifespan:
    """Drives the ASGI lifespan protocol of an app from a test."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    async def _run(self) -> None:
        scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        try:
            await self.app(scope, self.to_app.get, self.from_app.put)
        except BaseException as error:  # noqa: B036 - reported to the test
            self.error = error
        finally:
            await self.from_app.put(_DONE)

    async def _exchange(self, message_type: str) -> None:
        await self.to_app.put({"type": f"lifespan.{message_type}"})
        reply = await self.from_app.get()
        if reply is _DONE:
            error = self.error
            raise LifespanError(f"The application ended during lifespan {message_type}.") from error
        if reply["type"].endswith(".failed"):
            raise LifespanError(reply.get("message", f"lifespan {message_type} failed"))

    async def startup(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())
        try:
            await self._exchange("startup")
        except BaseException:
            await self.task
            raise

    async def shutdown(self) -> None:
        try:
            await self._exchange("shutdown")
        finally:
            if self.task is not None:
                await self.task


class TestClient(httpx.AsyncClient):
    """The test client: an `httpx.AsyncClient` whose requests go straight to the app.

    `async with app.test_client() as client:` also runs the lifespan (before/after/while
    serving). Redirects are not followed by default, and cookies persist between requests.

    Args:
        app: the application.
        base_url: the URL requests are relative to.
        **kwargs: passed to `httpx.AsyncClient`.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, app: AsyncFlask, *, base_url: str = "http://localhost", **kwargs: Any) -> None:
        kwargs.setdefault("follow_redirects", False)
        kwargs.setdefault("transport", ASGIStreamTransport(app))
        super().__init__(base_url=base_url, **kwargs)
        self.app = app
        self._lifespan: _Lifespan | None = None

    async def __aenter__(self) -> TestClient:
        await super().__aenter__()
        self._lifespan = _Lifespan(self.app)
        try:
            await self._lifespan.startup()
        except BaseException:
            await super().__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            if self._lifespan is not None:
                await self._lifespan.shutdown()
        finally:
            self._lifespan = None
            await super().__aexit__(exc_type, exc_value, traceback)

