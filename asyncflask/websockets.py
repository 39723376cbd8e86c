"""WebSocket connections: routing a `websocket` scope to a handler."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import Receive, Scope, Send

if TYPE_CHECKING:
    from .dispatch import RequestHandler

__all__ = ["serve_websocket"]


async def serve_websocket(handler: RequestHandler, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve a websocket connection; without a websocket rule the handshake is refused."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 1000, "reason": ""})
