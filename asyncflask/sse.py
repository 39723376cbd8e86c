"""Server-sent events: stream `ServerSentEvent`s (or plain data) from a view.

```python
from asyncflask import sse

@app.get("/clock")
async def clock():
    async def ticks():
        while True:
            yield sse.ServerSentEvent(datetime.now().isoformat(), event="tick")
            await asyncio.sleep(1)
    return sse.EventStream(ticks(), keepalive=15)
```
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from .globals import _cv_context
from .wrappers import Response

__all__ = ["EventStream", "ServerSentEvent", "last_event_id", "parse_events"]


@dataclass
class ServerSentEvent:
    """One event.

    Attributes:
        data: the payload; a `str` is sent as it is (line by line), anything else as JSON.
        event: the event type (`onmessage` handles events without one).
        id: the event id, which the browser sends back as `Last-Event-ID` on reconnect.
        retry: the reconnection delay the browser should use, in milliseconds.
        comment: a comment line (ignored by browsers; used for keep-alives).
    """

    data: Any = None
    event: str | None = None
    id: str | int | None = None
    retry: int | None = None
    comment: str | None = None

    def encode(self) -> bytes:
        """The event in the `text/event-stream` wire format."""
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(f": {line}" for line in self.comment.splitlines() or [""])
        for name, value in (("event", self.event), ("id", self.id)):
            if value is not None:
                text = str(value)
                if "\n" in text or "\r" in text:
                    raise ValueError(f"An event's {name} may not contain a newline.")
                lines.append(f"{name}: {text}")
        if self.retry is not None:
            lines.append(f"retry: {int(self.retry)}")
        if self.data is not None:
            text = self.data if isinstance(self.data, str) else json.dumps(self.data, separators=(",", ":"))
            lines.extend(f"data: {line}" for line in text.splitlines() or [""])
        return ("\n".join(lines) + "\n\n").encode("utf-8")


def _as_event(item: Any) -> bytes:
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, bytes):
        return item
    return ServerSentEvent(data=item).encode()


async def _with_keepalive(events: AsyncIterable[Any], interval: float | None) -> AsyncIterator[bytes]:
    iterator = aiter(events)
    if interval is None:
        async for item in iterator:
            yield _as_event(item)
        return
    pending: asyncio.Task[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                # Nothing to say for a while: a comment keeps proxies from closing the stream.
                yield b": keep-alive\n\n"
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                pending = None
                return
            pending = None
            yield _as_event(item)
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class EventStream(Response):
    """A `text/event-stream` response from an async iterable of events.

    Args:
        events: yields `ServerSentEvent`s, strings or JSON-able values.
        keepalive: seconds of silence after which a `: keep-alive` comment is sent (None: never).
        status: the status code.
        headers: extra headers.
    """

    def __init__(
        self,
        events: AsyncIterable[Any],
        keepalive: float | None = 15.0,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        base = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        base.update(headers or {})
        super().__init__(
            _with_keepalive(events, keepalive),
            status=status,
            headers=base,
            content_type="text/event-stream; charset=utf-8",
        )


def last_event_id() -> str | None:
    """The `Last-Event-ID` header of the current request (sent by a reconnecting browser)."""
    ctx = _cv_context.get(None)
    if ctx is None or ctx.request is None:
        raise RuntimeError("last_event_id() needs a request context: call it inside a view.")
    return ctx.request.headers.get("last-event-id")


async def parse_events(chunks: AsyncIterable[bytes | str]) -> AsyncIterator[ServerSentEvent]:
    """Parse a `text/event-stream` body into events, one at a time (comments are skipped).

    Works on anything that yields the body's chunks, e.g. `response.aiter_bytes()` of the
    test client's `client.stream(...)`.
    """
    buffer = ""
    async for chunk in chunks:
        buffer += chunk.decode("utf-8") if isinstance(chunk, bytes) else chunk
        buffer = buffer.replace("\r\n", "\n")
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            event = _parse_block(block)
            if event is not None:
                yield event


def _parse_block(block: str) -> ServerSentEvent | None:
    event = ServerSentEvent()
    data: list[str] = []
    seen = False
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        seen = True
        if name == "data":
            data.append(value)
        elif name == "event":
            event.event = value
        elif name == "id":
            event.id = value
        elif name == "retry" and value.isdigit():
            event.retry = int(value)
    if not seen:
        return None
    event.data = "\n".join(data) if data else None
    return event
