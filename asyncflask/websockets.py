"""WebSockets: the `websocket` object handlers use, and how a connection is served."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket as StarletteWebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from . import signals
from .ctx import AppContext
from .datastructures import ImmutableMultiDict
from .exceptions import HTTPException, NotFound, error_response
from .wrappers import Request

if TYPE_CHECKING:
    from starlette.responses import Response as StarletteResponse

    from .app import AsyncFlask
    from .dispatch import HandlerChain, RequestHandler
    from .routing import Rule

__all__ = ["Websocket", "allowed_origins", "origin_is_allowed", "serve_websocket"]

F = TypeVar("F", bound=Callable[..., Any])


class Websocket(HTTPConnection):
    """The current websocket connection: handshake data plus send/receive.

    Sending or receiving before `accept()` accepts the connection implicitly. A client that
    disconnects makes `receive()` raise `asyncflask.exceptions.WebSocketDisconnect`.
    """

    url_rule: Rule | None
    view_args: dict[str, Any] | None

    def __init__(self, scope: Scope, receive: Receive, send: Send, app: AsyncFlask | None = None) -> None:
        self.scope = scope
        self._app = app
        self._socket = StarletteWebSocket(scope, receive, send)
        self._max_size: int | None = app.config.get("WEBSOCKET_MAX_MESSAGE_SIZE") if app is not None else None
        self.url_rule = None
        self.view_args = None
        self.routing_exception: Exception | None = None
        self._close_code: int | None = None
        # The connection attributes are the request's; borrow them rather than repeat them.
        self._request_view = Request(scope, receive, app)

    # -- handshake data -----------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The path below the app's root."""
        return self._request_view.path

    @property
    def script_root(self) -> str:
        """Where the app is mounted."""
        return self._request_view.script_root

    @property
    def full_path(self) -> str:
        """The path and query string."""
        return self._request_view.full_path

    @property
    def args(self) -> ImmutableMultiDict[str, str]:
        """The query string parameters."""
        return ImmutableMultiDict(parse_qsl(self.scope.get("query_string", b"").decode("latin-1"), True))

    @property
    def host(self) -> str:
        """The Host header (checked like `request.host`)."""
        return self._request_view.host

    @property
    def scheme(self) -> str:
        """`ws` or `wss`."""
        return str(self.scope.get("scheme", "ws"))

    @property
    def method(self) -> str:
        """Always `GET`: a websocket starts as a GET request."""
        return "GET"

    @property
    def cookies(self) -> dict[str, str]:
        """The handshake's cookies (parsed like `request.cookies`)."""
        return self._request_view.cookies

    @property
    def remote_addr(self) -> str | None:
        """The client's address."""
        return self._request_view.remote_addr

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self.scope.get("subprotocols", []))

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule."""
        return self.url_rule.endpoint if self.url_rule is not None else None

    @property
    def blueprint(self) -> str | None:
        """The (innermost) blueprint of the endpoint."""
        endpoint = self.endpoint
        return endpoint.rpartition(".")[0] if endpoint and "." in endpoint else None

    @property
    def blueprints(self) -> list[str]:
        """The blueprint and its parents, innermost first."""
        name = self.blueprint
        if name is None:
            return []
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]

    # -- state ----------------------------------------------------------------------------------

    @property
    def accepted(self) -> bool:
        """Whether the handshake was accepted."""
        return self._socket.application_state != WebSocketState.CONNECTING

    @property
    def closed(self) -> bool:
        """Whether the connection is closed (by either side)."""
        return WebSocketState.DISCONNECTED in (self._socket.application_state, self._socket.client_state)

    # -- messages -------------------------------------------------------------------------------

    async def accept(self, subprotocol: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        """Accept the handshake.

        Args:
            subprotocol: the subprotocol chosen from `subprotocols`.
            headers: extra response headers for the handshake.
        """
        if self.accepted:
            return
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise ValueError(
                f"The subprotocol {subprotocol!r} was not offered by the client;"
                f" choose one of {self.subprotocols}."
            )
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
        await self._socket.accept(subprotocol=subprotocol, headers=raw or None)

    def _raise_if_gone(self) -> None:
        # Once either side has closed, every further call ends the handler the same quiet way
        # (Starlette would raise a RuntimeError, which would be logged as a server error).
        if self.closed:
            raise WebSocketDisconnect(self._close_code or 1006)

    async def receive(self) -> str | bytes:
        """The next message, `str` for text frames and `bytes` for binary ones.

        Raises:
            WebSocketDisconnect: the connection is closed, or the message was over
                `WEBSOCKET_MAX_MESSAGE_SIZE` bytes (then it is closed with 1009).
        """
        await self.accept()
        self._raise_if_gone()
        message = await self._socket.receive()
        if message["type"] == "websocket.disconnect":
            # After our own close, the client's answer does not change why the socket ended.
            if self._close_code is None:
                self._close_code = int(message.get("code", 1000))
            raise WebSocketDisconnect(self._close_code, message.get("reason"))
        data: str | bytes | None = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        if self._max_size is not None and _size(data, self._max_size) > self._max_size:
            await self.close(1009, "Message too big")
            raise WebSocketDisconnect(1009, "Message too big")
        return data

    async def receive_json(self) -> Any:
        """The next message, parsed as JSON."""
        data = await self.receive()
        loads = self._app.json.loads if self._app is not None else json.loads
        return loads(data)

    async def send(self, data: str | bytes) -> None:
        """Send a text (`str`) or binary (`bytes`) message."""
        await self.accept()
        self._raise_if_gone()
        if isinstance(data, str):
            await self._socket.send({"type": "websocket.send", "text": data})
        elif isinstance(data, (bytes, bytearray, memoryview)):
            await self._socket.send({"type": "websocket.send", "bytes": bytes(data)})
        else:
            raise TypeError(f"websocket.send() takes str or bytes, not {type(data).__name__}; use send_json.")

    async def send_json(self, obj: Any) -> None:
        """Send `obj` as a JSON text message."""
        dumps = self._app.json.dumps if self._app is not None else json.dumps
        await self.send(dumps(obj))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (before accepting, this refuses the handshake)."""
        if not self.closed:
            self._close_code = code
            await self._socket.close(code, reason)

    async def send_denial(self, response: StarletteResponse) -> None:
        """Refuse the handshake with an HTTP response (or a close, if the server can't send one)."""
        if "websocket.http.response" in self.scope.get("extensions", {}):
            await self._socket.send_denial_response(response)
        else:
            await self._socket.close(1008 if response.status_code < 500 else 1011)

    def __repr__(self) -> str:
        return f"<Websocket {self.scope.get('path', '')!r}>"


def _size(data: str | bytes, limit: int) -> int:
    """The size of a message in bytes, as a server counts it (UTF-8 for text)."""
    if isinstance(data, bytes) or len(data) * 4 <= limit:
        return len(data)  # a text message this short cannot be over the limit
    return len(data.encode("utf-8"))


async def serve_websocket(handler: RequestHandler, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve a websocket connection: route it, run hooks and the handler, close cleanly."""
    app = handler.app
    websocket = Websocket(scope, receive, send, app)
    ctx = AppContext(app, websocket=websocket)
    ctx._served = True
    try:
        host = websocket.host if app.config["TRUSTED_HOSTS"] is not None or app.url_map.needs_host else None
        rule, view_args = app.url_map.match(websocket.path, "GET", host, websocket=True)
    except HTTPException as routing_error:
        if isinstance(routing_error, NotFound) and await handler.delegate(scope, receive, send):
            return
        websocket.routing_exception = routing_error
    else:
        websocket.url_rule = ctx.rule = rule
        websocket.view_args = view_args
        if not _origin_accepted(app, websocket, rule.endpoint):
            await websocket.send_denial(_cross_origin_refusal(websocket))
            return
    chain = handler.chain_for(ctx.rule.endpoint if ctx.rule is not None else None)
    ctx.push()
    app.shutting_down.track(websocket)
    error: BaseException | None = None
    propagating = False
    try:
        if signals.appcontext_pushed.receivers:
            await signals.send(signals.appcontext_pushed, app)
        if signals.websocket_started.receivers:
            await signals.send(signals.websocket_started, app)
        rv = await _run_handler(handler, websocket, chain)
        if rv is not None or not websocket.accepted:
            # Returning (or finishing) before accepting refuses the handshake.
            response = handler.make_response(rv, chain) if rv is not None else _forbidden()
            for after in chain.after_websocket:
                # A hook that returns nothing keeps the response it was given.
                response = await after(response) or response
            if not websocket.accepted:
                await websocket.send_denial(response)
        else:
            for after in chain.after_websocket:
                await after(None)
    except WebSocketDisconnect:
        pass  # The client went away: an ordinary end, not an error.
    except asyncio.CancelledError:
        if not app.shutting_down.ended_by_shutdown(websocket):
            raise
        # Cancelled by the shutdown notice, after closing with 1012: an ordinary end too.
        task = asyncio.current_task()
        if task is not None and hasattr(task, "uncancel"):
            task.uncancel()
    except Exception as exc:
        error = exc
        propagating = True  # until _handle_error returns: testing mode raises it to the test
        if await _handle_error(handler, websocket, chain, exc):
            error = None  # only an unhandled error reaches teardown, as in Flask
        propagating = False
    finally:
        try:
            # A propagated error is the server's (or the test's) to report; it closes with 1011.
            if not propagating and websocket.accepted:
                await _close_quietly(websocket, 1000)
        finally:
            app.shutting_down.untrack(websocket)
            try:
                if signals.websocket_finished.receivers:
                    await signals.send(signals.websocket_finished, app)
            finally:
                await ctx.pop(error)


async def _run_handler(handler: RequestHandler, websocket: Websocket, chain: HandlerChain) -> Any:
    for before in chain.before_websocket:
        rv = await before()
        if rv is not None:
            return rv
    if websocket.routing_exception is not None:
        raise websocket.routing_exception
    if chain.view is None:
        raise RuntimeError(f"No handler is registered for the websocket endpoint {chain.endpoint!r}.")
    view_args = websocket.view_args or {}
    return await chain.view(**view_args)


def _forbidden() -> Any:
    from .exceptions import Forbidden

    return error_response(Forbidden())


def _close_code(error: HTTPException) -> int:
    """The close code for an HTTP error after the handshake: policy violation or server error."""
    return 1008 if (error.code or 500) < 500 else 1011


async def _close_quietly(websocket: Websocket, code: int) -> None:
    try:
        await websocket.close(code)
    except (RuntimeError, OSError, WebSocketDisconnect):
        pass  # The client is already gone.


async def _handle_error(
    handler: RequestHandler, websocket: Websocket, chain: HandlerChain, error: Exception
) -> bool:
    """Answer an error from a handler or hook; whether it was handled (not a server error)."""
    app = handler.app
    error_handler = handler.find_error_handler(error, chain.blueprints)
    if error_handler is not None:
        rv = await error_handler(error)
        # Handled: before the handshake its return value (or 403) answers it; after, the
        # connection ends normally unless the handler closed it itself.
        if not websocket.accepted:
            await websocket.send_denial(handler.make_response(rv, chain) if rv is not None else _forbidden())
        return True
    if isinstance(error, HTTPException):
        if not websocket.accepted:
            await websocket.send_denial(error_response(error))
        else:
            await _close_quietly(websocket, _close_code(error))
        return True
    if handler.propagate():
        raise error
    app.logger.error(
        "Exception on websocket %s", websocket.path, exc_info=(type(error), error, error.__traceback__)
    )
    if not websocket.accepted:
        from .exceptions import InternalServerError

        await websocket.send_denial(error_response(InternalServerError()))
    else:
        await _close_quietly(websocket, 1011)
    return False


# -- the Origin policy ---------------------------------------------------------------------------
# A browser sends the page's cookies with a websocket handshake whatever page opens it, and
# CORS does not apply to websockets: without a check, any site could talk to the app as the
# logged-in user (cross-site websocket hijacking).


def allowed_origins(*origins: str) -> Callable[[F], F]:
    """Set the Origins allowed to open this websocket route, instead of `WEBSOCKET_ALLOWED_ORIGINS`.

    The app's own origin is always allowed, and so is a handshake without an Origin header
    (a client that is not a browser). `"*"` allows any origin.

    Args:
        *origins: full origins, such as `"https://app.example.com"`.
    """

    def decorator(func: F) -> F:
        func.allowed_origins = tuple(origins)  # type: ignore[attr-defined]
        return func

    return decorator


def origin_is_allowed(origin: str | None, host: str, allowed: Iterable[str]) -> bool:
    """Whether a handshake's Origin is the app's own (same host as `host`) or in `allowed`.

    The scheme is not compared, so a TLS-terminating proxy does not make the app's own pages
    foreign; the port is, when the Host header names one.
    """
    if origin is None:
        return True
    origin = origin.strip().lower()
    listed = {entry.strip().lower().rstrip("/") for entry in allowed}
    if "*" in listed or origin in listed:
        return True
    try:
        parts = urlsplit(origin)
        origin_port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False  # "null" (a sandboxed page, a file) and anything else unusual
    host = host.lower()
    hostname, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if not hostname:
        hostname, port = host, ""
    if hostname.strip("[]") != parts.hostname:
        return False
    return not port or (port.isdigit() and int(port) == origin_port)


def _origin_accepted(app: AsyncFlask, websocket: Websocket, endpoint: str) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    view = app.view_functions.get(endpoint)
    allowed = getattr(view, "allowed_origins", None)
    if allowed is None:
        allowed = app.config["WEBSOCKET_ALLOWED_ORIGINS"] or ()
        if isinstance(allowed, str):
            allowed = (allowed,)
    return origin_is_allowed(origin, websocket.headers.get("host", ""), allowed)


def _cross_origin_refusal(websocket: Websocket) -> StarletteResponse:
    from starlette.responses import PlainTextResponse

    origin = websocket.headers.get("origin", "")
    return PlainTextResponse(
        f"Forbidden: a websocket may not be opened from the origin {origin!r}. Allow it with"
        " the WEBSOCKET_ALLOWED_ORIGINS setting or @allowed_origins(...) on the route.",
        status_code=403,
    )
