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
import codecs
import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from .globals import _cv_context
from .shutdown import ShutdownNotice
from .wrappers import Response

__all__ = ["EventStream", "ServerSentEvent", "last_event_id", "parse_events"]


# The line breaks of the `text/event-stream` format.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


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
            lines.extend(f": {line}" for line in _LINE_BREAK.split(self.comment))
        for name, value in (("event", self.event), ("id", self.id)):
            if value is not None:
                text = str(value)
                if "\n" in text or "\r" in text or "\0" in text:
                    raise ValueError(f"An event's {name} may not contain a newline or a NUL character.")
                lines.append(f"{name}: {text}")
        if self.retry is not None:
            lines.append(f"retry: {int(self.retry)}")
        if self.data is not None:
            text = self.data if isinstance(self.data, str) else json.dumps(self.data, separators=(",", ":"))
            # Only CR, LF and CRLF end a line in an event stream (str.splitlines knows more,
            # and drops a trailing newline): one `data:` line per line, so the browser joins
            # them back with "\n" into exactly `text`.
            lines.extend(f"data: {line}" for line in _LINE_BREAK.split(text))
        return ("\n".join(lines) + "\n\n").encode("utf-8")


def _as_event(item: Any) -> bytes:
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, bytes):
        return item
    return ServerSentEvent(data=item).encode()


async def _with_keepalive(
    events: AsyncIterable[Any], interval: float | None, shutdown: ShutdownNotice | None = None
) -> AsyncGenerator[bytes, None]:
    iterator = aiter(events)
    pending: asyncio.Task[Any] | None = None
    # The stream ends cleanly when the server begins to shut down, so the server need not
    # wait for (or cut) a response that would otherwise never finish.
    stopping = asyncio.ensure_future(shutdown.wait()) if shutdown is not None else None
    try:
        if interval is None and stopping is None:
            async for item in iterator:
                yield _as_event(item)
            return
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            waiting = {pending} if stopping is None else {pending, stopping}
            done, _ = await asyncio.wait(waiting, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            if pending not in done:
                if stopping is not None and stopping in done:
                    return
                # Nothing to say for a while: a comment keeps proxies from closing the stream.
                yield b": keep-alive\n\n"
                continue
            task, pending = pending, None
            try:
                item = task.result()
            except StopAsyncIteration:
                return
            yield _as_event(item)
    finally:
        if stopping is not None:
            stopping.cancel()
        if pending is not None and not pending.done():
            # The source is in the middle of a step, in its own task: cancelling that task ends
            # it there (its `finally` runs). No await here: this may run inside a cancelled scope.
            pending.cancel()
            pending.add_done_callback(_retrieve)
        else:
            if pending is not None:
                _retrieve(pending)  # finished while we were leaving: collect its outcome
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()


def _retrieve(task: asyncio.Task[Any]) -> None:
    # Nobody awaits a step cancelled on the way out: an error from the source's own clean-up
    # is logged here (once), not reported later as "exception was never retrieved".
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, StopAsyncIteration):
        ctx = _cv_context.get(None)  # callbacks run in the context they were added from
        logger = ctx.app.logger if ctx is not None else logging.getLogger(__name__)
        logger.error(
            "The event source failed while closing", exc_info=(type(error), error, error.__traceback__)
        )


class EventStream(Response):
    """A `text/event-stream` response from an async iterable of events.

    Args:
        events: yields `ServerSentEvent`s, strings or JSON-able values.
        keepalive: seconds of silence after which a `: keep-alive` comment is sent (None: never).
            The stream ends, cleanly, when the server begins to shut down (`app.shutting_down`).
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
        # A client that goes away stops the stream; `Response` then closes this generator,
        # which closes (or cancels) the source, so its `finally` runs while the request is on.
        ctx = _cv_context.get(None)
        shutdown = ctx.app.shutting_down if ctx is not None else None
        super().__init__(
            _with_keepalive(events, keepalive, shutdown),
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
    # Incremental: a multi-byte character, or a CRLF, may be split between two chunks.
    decoder = codecs.getincrementaldecoder("utf-8")()
    buffer = ""
    async for chunk in chunks:
        buffer += decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        # Hold back a final CR: it may be the first half of a CRLF.
        held = "\r" if buffer.endswith("\r") else ""
        buffer = _LINE_BREAK.sub("\n", buffer[: len(buffer) - len(held)]) + held
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            event = _parse_block(block)
            if event is not None:
                yield event
    # The stream ended: a CR held back for a CRLF that never came is a line break after all.
    if buffer.endswith("\r"):
        buffer = buffer[:-1] + "\n"
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
        elif name == "id" and "\0" not in value:
            event.id = value
        elif name == "retry" and value.isdigit():
            event.retry = int(value)
    if not seen:
        return None
    event.data = "\n".join(data) if data else None
    return event
