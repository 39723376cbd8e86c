"""The body accessors' helpers: an awaitable-and-callable accessor and `request.stream`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any


class Deferred:
    """A body accessor: `await request.form` (Flask's way) or `await request.form()` (Starlette's).

    Nothing is read or created until it is awaited or called.
    """

    __slots__ = ("_load",)

    def __init__(self, load: Callable[[], Awaitable[Any]]) -> None:
        self._load = load

    def __await__(self) -> Generator[Any, None, Any]:
        return self._load().__await__()

    def __call__(self, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        return self._load()


class BodyStream:
    """`request.stream`: the body read once, as `await stream.read(size)` or `async for chunk in
    stream`; calling it (`request.stream()`, Starlette's way) gives the chunk iterator."""

    __slots__ = ("_chunks", "_buffer", "_done")

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._done = False

    async def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when `size` is negative); `b""` at the end."""
        while not self._done and (size < 0 or len(self._buffer) < size):
            try:
                self._buffer += await self._chunks.__anext__()
            except StopAsyncIteration:
                self._done = True
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        if self._buffer:
            data, self._buffer = self._buffer, b""
            yield data
        async for chunk in self._chunks:
            yield chunk

    def __call__(self) -> AsyncIterator[bytes]:
        return self._iterate()
