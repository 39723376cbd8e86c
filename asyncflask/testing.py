"""Testing: an `httpx.AsyncClient` wired to the app through a transport that really streams."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextvars import Token
from http.cookiejar import CookieJar
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope

from .ctx import PRESERVE_CONTEXT, AppContext
from .globals import _cv_context
from .testing_requests import ROOT_PATH, RequestOptions, flask_request_options
from .testing_responses import (
    TestCookie,
    TestCookiePolicy,
    TestResponse,
    find_cookie,
    remove_cookie,
    store_cookie,
)
from .testing_websockets import WebSocketDenied, WebSocketTestSession, websocket_scope

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .app import AsyncFlask
    from .sessions import SessionMixin

__all__ = [
    "ASGIStreamTransport",
    "LifespanError",
    "TestClient",
    "TestCookie",
    "TestResponse",
    "WebSocketDenied",
    "WebSocketTestSession",
    "make_test_scope",
    "websocket_scope",
]

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
    base_url: str | None = None,
    root_path: str | None = None,
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> tuple[Scope, Receive]:
    """An ASGI scope and `receive` for a made-up request (used by `test_request_context`).

    As in Flask, the host defaults to `SERVER_NAME` (else `localhost`), the scheme to
    `PREFERRED_URL_SCHEME`, and the mount point to `APPLICATION_ROOT`.
    """
    config = app.config
    if base_url is None:
        base_url = f"{config['PREFERRED_URL_SCHEME']}://{config['SERVER_NAME'] or 'localhost'}"
    if root_path is None:
        root_path = str(config["APPLICATION_ROOT"] or "").rstrip("/")
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
                # A real server cuts the connection here; httpx reports that the same way.
                raise httpx.RemoteProtocolError(
                    "The application ended the response without finishing its body."
                )
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
        #: Given each request's context, kept after the request (set by `async with client:`).
        self.keep_context: Callable[[AppContext], None] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Start the app on the request and return as soon as the response headers arrive."""
        root_path = request.extensions.get(ROOT_PATH)
        if root_path is None:
            scope = _scope_for(request, self.root_path, self.client)
        else:
            # A per-request `base_url` with a path: the URL already holds the mount point.
            scope = _scope_for(request, "", self.client)
            scope["root_path"] = root_path
        if self.keep_context is not None and request.extensions.get(PRESERVE_CONTEXT):
            scope["extensions"][PRESERVE_CONTEXT] = self.keep_context
        exchange = _Exchange(self.app, request, scope, self.grace)
        try:
            start = await exchange.start()
        except BaseException:
            await exchange.finish()
            raise
        return TestResponse(
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
    The verbs also take Flask's keywords (`query_string=`, `content_type=`, `data=`,
    `json=` on any method, `base_url=`), and responses are `TestResponse` objects.

    Args:
        app: the application.
        base_url: the URL requests are relative to.
        use_cookies: keep cookies between requests (False: none stored or sent).
        **kwargs: passed to `httpx.AsyncClient`.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self, app: AsyncFlask, *, base_url: str = "http://localhost", use_cookies: bool = True, **kwargs: Any
    ) -> None:
        kwargs.setdefault("follow_redirects", False)
        kwargs.setdefault("transport", ASGIStreamTransport(app))
        cookies = kwargs.pop("cookies", None)
        super().__init__(base_url=base_url, cookies=CookieJar(TestCookiePolicy(use_cookies)), **kwargs)
        if cookies:
            self.cookies.update(cookies)
        self.app = app
        self.use_cookies = use_cookies
        self._lifespan: _Lifespan | None = None
        transport = kwargs["transport"]
        self._transport_for_context = transport if isinstance(transport, ASGIStreamTransport) else None
        self._kept: AppContext | None = None  # the last request's context, in the block
        self._block_task: asyncio.Task[Any] | None = None
        self._bound: tuple[AppContext, Token[AppContext]] | None = None

    async def __aenter__(self) -> TestClient:
        # A client that already sent requests may still open a block, as with Flask's
        # `with client:`; httpx refuses to open it twice, and the block then leaves it open.
        try:
            await super().__aenter__()
            self._block_opens_httpx = True
        except RuntimeError:
            if self.is_closed:
                raise
            self._block_opens_httpx = False
        self._lifespan = _Lifespan(self.app)
        try:
            await self._lifespan.startup()
        except BaseException:
            if self._block_opens_httpx:
                await super().__aexit__(None, None, None)
            raise
        if self._transport_for_context is not None:
            # As Flask's `with client:`: the last request's context stays readable, in the
            # task that opened the block (a fixture's client, used by a test, keeps none).
            self._transport_for_context.keep_context = self._keep
            self._block_task = asyncio.current_task()
        return self

    def _keep(self, ctx: AppContext) -> None:
        self._kept = ctx

    async def _release_context(self) -> None:
        """Unbind the context kept from the previous request."""
        bound, self._bound = self._bound, None
        self._kept = None
        if bound is not None:
            with contextlib.suppress(ValueError):  # bound in another task: nothing to undo
                _cv_context.reset(bound[1])

    async def send(self, request: httpx.Request, **kwargs: Any) -> TestResponse:
        """Send a request; inside `async with client:`, keep its context readable afterwards."""
        if (
            self._transport_for_context is None
            or self._transport_for_context.keep_context is None
            or asyncio.current_task() is not self._block_task
        ):
            return _as_test_response(await super().send(request, **kwargs))
        await self._release_context()
        request.extensions[PRESERVE_CONTEXT] = True
        response = await super().send(request, **kwargs)
        if self._kept is not None:
            # Torn down as usual, but readable until the next request or the block's end.
            self._bound = (self._kept, _cv_context.set(self._kept))
        return _as_test_response(response)

    async def request(
        self, method: str, url: httpx.URL | str = "/", **kwargs: Unpack[RequestOptions]
    ) -> TestResponse:
        """Send a request, with httpx's keywords and/or Flask's (see `TestClient`)."""
        url, options = flask_request_options(url, kwargs, self.app.json.dumps)
        return _as_test_response(await super().request(method, url, **options))

    async def open(
        self, path: str = "/", method: str = "GET", **kwargs: Unpack[RequestOptions]
    ) -> TestResponse:
        """Flask's `client.open(path, method=...)`: `request` with the path first."""
        return await self.request(method, path, **kwargs)

    async def get(self, url: httpx.URL | str = "/", **kwargs: Unpack[RequestOptions]) -> TestResponse:
        """Send a GET request (a body, such as `json=`, is allowed as in Flask)."""
        return await self.request("GET", url, **kwargs)

    async def post(self, url: httpx.URL | str = "/", **kwargs: Unpack[RequestOptions]) -> TestResponse:
        """Send a POST request."""
        return await self.request("POST", url, **kwargs)

    async def put(self, url: httpx.URL | str = "/", **kwargs: Unpack[RequestOptions]) -> TestResponse:
        """Send a PUT request."""
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: httpx.URL | str = "/", **kwargs: Unpack[RequestOptions]) -> TestResponse:
        """Send a PATCH request."""
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: httpx.URL | str = "/", **kwargs: Unpack[RequestOptions]) -> TestResponse:
        """Send a DELETE request (a body is allowed, as in Flask)."""
        return await self.request("DELETE", url, **kwargs)

    async def options(self, url: httpx.URL | str = "/", **kwargs: Unpack[RequestOptions]) -> TestResponse:
        """Send an OPTIONS request."""
        return await self.request("OPTIONS", url, **kwargs)

    async def head(self, url: httpx.URL | str = "/", **kwargs: Unpack[RequestOptions]) -> TestResponse:
        """Send a HEAD request."""
        return await self.request("HEAD", url, **kwargs)

    async def trace(self, url: httpx.URL | str = "/", **kwargs: Unpack[RequestOptions]) -> TestResponse:
        """Send a TRACE request."""
        return await self.request("TRACE", url, **kwargs)

    def _require_cookies(self) -> None:
        if not self.use_cookies:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        domain: str = "localhost",
        origin_only: bool = True,
        path: str = "/",
        **kwargs: Any,
    ) -> None:
        """Set a cookie that later requests to `domain` and under `path` send, as Flask's client.

        Args:
            key: the cookie's name.
            value: its value.
            domain: the host it is sent to.
            origin_only: send it to `domain` only; False also sends it to subdomains.
            path: the path prefix it is sent for.
            **kwargs: passed to `werkzeug.http.dump_cookie` (`max_age=0` removes the cookie).
        """
        self._require_cookies()
        store_cookie(self.cookies, key, value, domain, origin_only, path, **kwargs)

    def get_cookie(self, key: str, domain: str = "localhost", path: str = "/") -> TestCookie | None:
        """The cookie `key` the client holds for `domain` and `path` (`.key`, `.value`, ...), or None."""
        self._require_cookies()
        return find_cookie(self.cookies, key, domain, path)

    def delete_cookie(self, key: str, *, domain: str = "localhost", path: str = "/") -> None:
        """Forget the cookie `key` held for `domain` and `path`, if any."""
        self._require_cookies()
        remove_cookie(self.cookies, key, domain, path)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            if self._transport_for_context is not None:
                self._transport_for_context.keep_context = None
            await self._release_context()
            if self._lifespan is not None:
                await self._lifespan.shutdown()
        finally:
            self._lifespan = None
            if self._block_opens_httpx:
                await super().__aexit__(exc_type, exc_value, traceback)

    @contextlib.asynccontextmanager
    async def session_transaction(self, path: str = "/", **kwargs: Any) -> AsyncIterator[SessionMixin]:
        """Open the session held in the client's cookies, to read or change it in a test.

        `async with client.session_transaction() as sess: sess["user_id"] = 1`: when the
        block ends, the session is saved and the client's cookies are updated.

        Args:
            path: the URL of the made-up request the session is opened for.
            **kwargs: passed to `app.test_request_context` (`method`, `headers`, ...).

        Raises:
            RuntimeError: the session interface gave no session (no `SECRET_KEY`).
            TypeError: the client was made with `use_cookies=False`.
        """
        self._require_cookies()
        app = self.app
        interface = app.session_interface
        # The cookie jar picks the cookies (domain, path) exactly as for a real request.
        target = httpx.Request("GET", self.base_url.join(path))
        self.cookies.set_cookie_header(target)
        headers = httpx.Headers(kwargs.pop("headers", None))
        if "cookie" in target.headers:
            headers["cookie"] = target.headers["cookie"]
        kwargs.setdefault("base_url", str(self.base_url))
        ctx = app.test_request_context(path, headers=headers, **kwargs)
        request = ctx.request
        assert request is not None  # test_request_context always makes one
        async with ctx:
            session = await interface.open_session(app, request)
        if session is None or interface.is_null_session(session):
            raise RuntimeError(
                "session_transaction() found no session to open: the session interface gave none."
                " For the default cookie sessions, set the SECRET_KEY config value"
                " (app.secret_key = ...)."
            )
        yield session
        response = app.response_class()
        async with ctx:
            await interface.save_session(app, session, response)
        cookies = response.headers.getlist("set-cookie")
        if cookies:
            self.cookies.extract_cookies(
                httpx.Response(200, headers=[("set-cookie", value) for value in cookies], request=target)
            )

    def websocket(
        self,
        path: str,
        subprotocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> WebSocketTestSession:
        """Open a websocket to the app: `async with client.websocket("/ws") as ws:`.

        Args:
            path: the URL path (and query string).
            subprotocols: subprotocols to offer.
            headers: extra handshake headers (the client's cookies are sent too).
            timeout: seconds any receive may wait before `TimeoutError`.

        Raises:
            WebSocketDenied: (on entering) the app refused the handshake.
        """
        url = self.base_url.join(path)
        target = httpx.Request("GET", url, headers=headers)
        self.cookies.set_cookie_header(target)
        raw = [(key.lower(), value) for key, value in target.headers.raw]
        if subprotocols:
            raw.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode("latin-1")))
        # A new connection ends the context kept from the last request, as a request does.
        return WebSocketTestSession(
            self.app, websocket_scope(url, raw, subprotocols), timeout, before_connect=self._release_context
        )


def _as_test_response(response: httpx.Response) -> TestResponse:
    if not isinstance(response, TestResponse):
        # A transport other than the app's built a plain httpx response; the subclass adds
        # only properties, so the same object can take its class.
        response.__class__ = TestResponse
    return cast(TestResponse, response)
