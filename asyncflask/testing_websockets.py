"""Testing websockets: a session that drives the app's websocket from a test."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import httpx
from starlette.types import ASGIApp, Message, Scope
from starlette.websockets import WebSocketDisconnect

from .testing_responses import TestResponse

__all__ = ["WebSocketDenied", "WebSocketTestSession", "websocket_scope"]

# Put on the app's queue when its task ends, so a waiting receive wakes up.
_DONE: Message = {"type": "asyncflask.testing_websockets.done"}


class WebSocketDenied(Exception):
    """The app refused the websocket handshake; `response` is the HTTP answer it gave.

    Attributes:
        response: a `TestResponse` with the refusal's status, headers and body.
    """

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"The websocket handshake was refused with status {response.status_code}.")
        self.response = response

    @property
    def status_code(self) -> int:
        """The refusal's HTTP status."""
        return self.response.status_code


class WebSocketTestSession:
    """A websocket connection to the app, driven from a test.

    Use it through `async with client.websocket("/ws") as ws:`. Every receive waits at most
    `timeout` seconds, so a test can never hang forever.

    Args:
        app: the ASGI app.
        scope: the websocket scope.
        timeout: seconds to wait for any message from the app.
    """

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        timeout: float = 5.0,
        before_connect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.scope = scope
        self.timeout = timeout
        self._before_connect = before_connect
        self.accepted_subprotocol: str | None = None
        self.accept_headers: list[tuple[bytes, bytes]] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._to_app.get, self._from_app.put)
        except BaseException as error:  # noqa: B036 - handed to the test on its next call
            self._error = error
        finally:
            await self._from_app.put(_DONE)

    async def _next(self) -> Message:
        try:
            message = await asyncio.wait_for(self._from_app.get(), self.timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"The app sent nothing for {self.timeout} seconds.") from None
        if message is _DONE:
            self._from_app.put_nowait(_DONE)  # every later call sees the end too
            error, self._error = self._error, None
            if error is not None and not isinstance(error, asyncio.CancelledError):
                raise error
        return message

    async def __aenter__(self) -> WebSocketTestSession:
        if self._before_connect is not None:
            await self._before_connect()
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._to_app.put({"type": "websocket.connect"})
        try:
            message = await self._next()
            if message["type"] == "websocket.accept":
                self.accepted_subprotocol = message.get("subprotocol")
                self.accept_headers = list(message.get("headers") or [])
                return self
            if message["type"] == "websocket.http.response.start":
                body = b""
                while True:
                    part = await self._next()
                    if part is _DONE:
                        break
                    body += part.get("body", b"")
                    if not part.get("more_body", False):
                        break
                denial = TestResponse(message["status"], headers=message.get("headers", []), content=body)
                raise WebSocketDenied(denial)
            if message["type"] == "websocket.close":
                self.close_code = message.get("code", 1000)
                raise WebSocketDenied(TestResponse(403))
            raise RuntimeError("The app ended without answering the websocket handshake.")
        except BaseException:
            await self._finish()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
        await self._finish()

    async def _finish(self) -> None:
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self.timeout)
        except asyncio.TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        error, self._error = self._error, None
        if error is not None and not isinstance(error, asyncio.CancelledError):
            raise error

    async def send_text(self, data: str) -> None:
        """Send a text message to the app."""
        await self._to_app.put({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        await self._to_app.put({"type": "websocket.receive", "bytes": data})

    async def send_json(self, data: Any) -> None:
        """Send `data` as a JSON text message."""
        await self.send_text(json.dumps(data))

    async def receive(self) -> Message:
        """The next raw ASGI message from the app.

        Raises:
            WebSocketDisconnect: the app closed the connection (its code is on the exception).
        """
        message = await self._next()
        if message is _DONE or message["type"] == "websocket.close":
            if message is not _DONE:
                self.close_code = message.get("code", 1000)
                self.close_reason = message.get("reason") or ""
            raise WebSocketDisconnect(self.close_code or 1000, self.close_reason)
        return message

    async def receive_text(self) -> str:
        """The next message, which must be text."""
        message = await self.receive()
        if message.get("text") is None:
            raise TypeError("Expected a text message, got a binary one.")
        return str(message["text"])

    async def receive_bytes(self) -> bytes:
        """The next message, which must be binary."""
        message = await self.receive()
        if message.get("bytes") is None:
            raise TypeError("Expected a binary message, got a text one.")
        return bytes(message["bytes"])

    async def receive_json(self) -> Any:
        """The next message, parsed as JSON."""
        message = await self.receive()
        text = message.get("text")
        return json.loads(text if text is not None else message.get("bytes", b""))

    async def close(self, code: int = 1000) -> None:
        """Close the connection from the client's side."""
        if self._task is not None and not self._task.done():
            await self._to_app.put({"type": "websocket.disconnect", "code": code})


def websocket_scope(
    url: httpx.URL,
    headers: list[tuple[bytes, bytes]],
    subprotocols: list[str] | None,
    root_path: str = "",
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> Scope:
    """The ASGI scope of a websocket handshake for `url` (which may be http or ws)."""
    scheme = {"http": "ws", "https": "wss"}.get(url.scheme, url.scheme)
    path = unquote(url.raw_path.split(b"?", 1)[0].decode("ascii"))
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": scheme,
        "path": root_path + path,
        "raw_path": root_path.encode() + url.raw_path.split(b"?", 1)[0],
        "root_path": root_path,
        "query_string": url.query,
        "headers": headers,
        "client": client,
        "server": (url.host, url.port or (443 if scheme == "wss" else 80)),
        "subprotocols": list(subprotocols or []),
        "state": {},
        "extensions": {"websocket.http.response": {}},
    }
