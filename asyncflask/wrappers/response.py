"""The response: a Starlette response with Flask's constructor and Werkzeug's accessors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response as StarletteResponse
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import generate_etag, http_date, parse_etags, parse_range_header, remove_entity_headers
from werkzeug.sansio.http import is_resource_modified
from werkzeug.utils import get_content_type

from .headers import HeaderAccessors, HeadersInput, SafeHeaders, check_header, encode_headers

if TYPE_CHECKING:
    from starlette.background import BackgroundTask
    from starlette.datastructures import Headers as StarletteHeaders

__all__ = ["Response", "SafeHeaders", "content_type_for"]


def content_type_for(mimetype: str) -> str:
    """The Content-Type for a mimetype, with `charset=utf-8` added for text types."""
    return get_content_type(mimetype, "utf-8")


def _chunk_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"A response body's items must be str or bytes, not {type(chunk).__name__}.")


class _BodyWriter:
    """`response.stream`: a write-only file whose writes append to the body."""

    mode = "wb+"
    encoding = "utf-8"

    def __init__(self, response: Response) -> None:
        self.response = response
        self.closed = False

    def write(self, value: str | bytes) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        data = _chunk_bytes(value)
        self.response.set_data(self.response.get_data() + data)
        return len(data)

    def writelines(self, lines: Iterable[str | bytes]) -> None:
        for line in lines:
            self.write(line)

    def tell(self) -> int:
        return len(self.response.body)

    def flush(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


class Response(HeaderAccessors, StarletteResponse):  # type: ignore[misc]
    """A response with Flask's constructor and Werkzeug's accessors; it is a Starlette `Response`.

    The body may be `str`, `bytes`, a list or tuple of them (joined, as Werkzeug does with a
    sequence), or any other sync/async iterable of them (then it streams). Headers,
    cookies, cache control, ETags and conditional requests are Werkzeug's own code.

    Args:
        body: the content (Flask calls it `response`).
        status: the status code (an int, or a string starting with one).
        headers: a mapping, a list of pairs, or Werkzeug `Headers`.
        mimetype: the type without charset (`text/html` by default).
        content_type: the full Content-Type header, used as given.
        direct_passthrough: kept for Flask code; the body is never re-encoded anyway.
    """

    default_mimetype: str | None = "text/html"
    charset = "utf-8"
    # Defaults for what most responses never change (the fast path sets none of them).
    background: BackgroundTask | None = None
    direct_passthrough = False
    _stream: Iterable[Any] | AsyncIterable[Any] | None = None
    _on_close: tuple[Callable[[], Any], ...] = ()
    autocorrect_location_header = False
    automatically_set_content_length = True
    implicit_sequence_conversion = True

    def __init__(
        self,
        body: Any = "",
        status: int | str | HTTPStatus | None = 200,
        headers: HeadersInput | None = None,
        mimetype: str | None = None,
        content_type: str | None = None,
        direct_passthrough: bool = False,
    ) -> None:
        if direct_passthrough:
            self.direct_passthrough = True
        if status is None or status == 200:
            self._status_code, self._status = 200, "200 OK"  # the common case, without parsing
        else:
            self.status = status
        if type(body) is bytes:
            self.body, self._stream = body, None
        else:
            self._set_body(body)
        raw = encode_headers(headers) if headers else []
        names = {key for key, _ in raw} if raw else ()
        if b"content-type" not in names:
            if content_type is None:
                mimetype = mimetype or self.default_mimetype
                content_type = get_content_type(mimetype, "utf-8") if mimetype else None
            if content_type is not None:
                check_header("content-type", content_type)
                raw.append((b"content-type", content_type.encode("latin-1")))
        code = self._status_code
        if self._stream is None and b"content-length" not in names and not (code < 200 or code in (204, 304)):
            raw.append((b"content-length", str(len(self.body)).encode("latin-1")))
        self._raw = raw

    def _may_have_body(self) -> bool:
        return not (self.status_code < 200 or self.status_code in (204, 304))

    def _set_body(self, body: Any) -> None:
        self._stream = None
        if body is None:
            self.body = b""
        elif isinstance(body, bytes):
            self.body = body
        elif isinstance(body, str):
            self.body = body.encode("utf-8")
        elif isinstance(body, (bytearray, memoryview)):
            self.body = bytes(body)
        elif isinstance(body, (list, tuple)):
            # A sequence is already in memory: join it, so it has a length and `get_data()` works.
            self.body = b"".join(map(_chunk_bytes, body))
        elif isinstance(body, (AsyncIterable, Iterable)):
            self.body = b""
            self._stream = body
        else:
            raise TypeError(
                f"A response body must be str, bytes or an iterable of them, not {type(body).__name__}."
            )

    @classmethod
    def with_body(cls, body: bytes, content_type: bytes) -> Response:
        """A 200 response with a ready body and Content-Type, skipping argument checks.

        The per-request fast path for `str` views and JSON; `content_type` must be trusted.
        """
        response = cls.__new__(cls)  # the rest are class defaults
        response._status_code = 200
        response._status = "200 OK"
        response.body = body
        response._raw = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode("latin-1")),
        ]
        return response

    @classmethod
    def force_type(cls, response: Any, environ: Any = None) -> Response:
        """This class's kind of response from a Werkzeug or Starlette one with a body in memory.

        Raises:
            TypeError: the response streams (a Starlette streaming or file response).
        """
        if isinstance(response, cls):
            return response
        headers = list(response.headers.items()) if hasattr(response, "get_wsgi_headers") else None
        if headers is not None:  # Werkzeug's WSGI response
            return cls(response.get_data(), response.status, headers)
        if isinstance(response, StarletteResponse) and not isinstance(response, StreamingResponse):
            converted = cls(response.body, response.status_code)
            converted.raw_headers = list(response.raw_headers)
            converted.background = response.background
            return converted
        raise TypeError(f"{type(response).__name__} cannot be converted to {cls.__name__}.")

    @property
    def json_module(self) -> Any:
        """The JSON module `get_json` uses: `asyncflask.json`, which follows `app.json`."""
        from .. import json

        return json

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]
        """`MAX_COOKIE_SIZE` of the current app (Werkzeug's 4093 outside one)."""
        from ..globals import _cv_context

        ctx = _cv_context.get(None)
        if ctx is not None:
            return int(ctx.app.config["MAX_COOKIE_SIZE"])
        return 4093

    @property
    def is_streamed(self) -> bool:
        """Whether the body is an iterator sent chunk by chunk."""
        return self._stream is not None

    @property
    def is_sequence(self) -> bool:
        """Whether the body is in memory (the opposite of `is_streamed`)."""
        return self._stream is None

    @property
    def response(self) -> Iterable[Any] | AsyncIterable[Any]:
        """The body as an iterable: the stream, or a one-item list of the bytes."""
        return self._stream if self._stream is not None else [self.body]

    @response.setter
    def response(self, value: Any) -> None:
        self._set_body(value)
        if self._stream is None:
            self.headers["Content-Length"] = str(len(self.body))
        else:
            self.headers.pop("Content-Length", None)

    def get_data(self, as_text: bool = False) -> Any:
        """The body of a response that is not streamed.

        Raises:
            TypeError: the body is a stream; iterate it instead.
        """
        if self._stream is not None:
            raise TypeError(
                "This response streams its body; it has no data to get. Iterate the stream"
                " (or read it through the test client) instead."
            )
        body = self.body if isinstance(self.body, bytes) else bytes(self.body)
        return body.decode(self.charset) if as_text else body

    def set_data(self, value: str | bytes) -> None:
        """Replace the body (and its Content-Length)."""
        self.body = value.encode(self.charset) if isinstance(value, str) else bytes(value)
        self._stream = None
        if self.automatically_set_content_length:
            self.headers["Content-Length"] = str(len(self.body))

    @property
    def data(self) -> bytes:
        """The body as bytes (see `get_data`)."""
        return self.get_data()  # type: ignore[no-any-return]

    @data.setter
    def data(self, value: str | bytes) -> None:
        self.set_data(value)

    def calculate_content_length(self) -> int | None:
        """The body's length, or None when it streams."""
        return None if self._stream is not None else len(self.body)

    def iter_encoded(self) -> Iterator[bytes]:
        """The body as bytes chunks (a sync stream is iterated; an async one cannot be)."""
        if self._stream is None:
            yield bytes(self.body)
            return
        if isinstance(self._stream, AsyncIterable):
            raise TypeError("An async body cannot be iterated synchronously; use `async for`.")
        for chunk in self._stream:
            yield _chunk_bytes(chunk)

    def make_sequence(self) -> None:
        """Read a sync stream into memory, so the body has a length and `get_data()` works."""
        if self._stream is None:
            return
        stream = self._stream
        self.body = b"".join(self.iter_encoded())
        self._stream = None
        close = getattr(stream, "close", None)
        if close is not None:
            self.call_on_close(close)

    def freeze(self) -> None:
        """Read the body into memory and set its Content-Length (e.g. before caching it)."""
        self.make_sequence()
        self.headers["Content-Length"] = str(len(self.body))

    @property
    def stream(self) -> _BodyWriter:
        """A write-only file: what is written is added to the body."""
        return _BodyWriter(self)

    def call_on_close(self, func: Callable[[], Any]) -> Callable[[], Any]:
        """Call `func` once the response has been sent (or closed); returns it (a decorator)."""
        self._on_close = (*self._on_close, func)
        return func

    def close(self) -> None:
        """Close a sync stream and run the `call_on_close` functions."""
        close = getattr(self._stream, "close", None)
        if close is not None and not hasattr(self._stream, "aclose"):
            close()
        callbacks, self._on_close = self._on_close, ()
        for func in callbacks:
            func()

    def get_json(self, force: bool = False, silent: bool = False) -> Any:
        """The body parsed as JSON; None when it is not JSON-typed, unless `force`.

        Raises:
            ValueError: the body is not valid JSON and `silent` is false.
        """
        if not (force or self.is_json):
            return None
        try:
            return self.json_module.loads(self.get_data())
        except ValueError:
            if not silent:
                raise
            return None

    @property
    def json(self) -> Any:
        """The body parsed as JSON, if it is JSON-typed (see `get_json`)."""
        return self.get_json()

    def add_etag(self, overwrite: bool = False, weak: bool = False) -> None:
        """Set an ETag computed from the body, unless one is set (or `overwrite`)."""
        if overwrite or "etag" not in self.headers:
            self.set_etag(generate_etag(self.get_data()), weak)

    def make_conditional(
        self,
        request_or_environ: Any,
        accept_ranges: bool | str = False,
        complete_length: int | None = None,
    ) -> Response:
        """Answer the request's conditional headers: 304, 412, or 206 for a Range.

        Call it with the request after setting ETag and/or Last-Modified. With
        `accept_ranges` and the body's `complete_length`, a Range request gets its part.

        Raises:
            RequestedRangeNotSatisfiable: the Range header cannot be satisfied (416).
        """
        request_headers: StarletteHeaders = request_or_environ.headers
        if request_or_environ.method not in ("GET", "HEAD"):
            return self
        if "date" not in self.headers:
            self.headers["Date"] = http_date()
        partial = self._process_range_request(request_headers, complete_length, accept_ranges)
        if not partial and not is_resource_modified(
            http_range=request_headers.get("range"),
            http_if_range=request_headers.get("if-range"),
            http_if_modified_since=request_headers.get("if-modified-since"),
            http_if_none_match=request_headers.get("if-none-match"),
            http_if_match=request_headers.get("if-match"),
            etag=self.headers.get("etag"),
            last_modified=self.headers.get("last-modified"),
        ):
            if parse_etags(request_headers.get("if-match")):
                self.status_code = 412
            else:
                self.status_code = 304
                # What a 304 says about the body would be wrong: it has none.
                remove_entity_headers(self.headers)
                self.headers.pop("Content-Length", None)
                self.body, self._stream = b"", None
        if (
            self.automatically_set_content_length
            and "content-length" not in self.headers
            and self._may_have_body()
        ):
            length = self.calculate_content_length()
            if length is not None:
                self.headers["Content-Length"] = str(length)
        return self

    def _process_range_request(
        self, request_headers: StarletteHeaders, complete_length: int | None, accept_ranges: bool | str
    ) -> bool:
        if not accept_ranges:
            return False
        self.accept_ranges = "bytes" if accept_ranges is True else accept_ranges
        if not (complete_length and "range" in request_headers):
            return False
        if "if-range" in request_headers and is_resource_modified(
            http_range=request_headers.get("range"),
            http_if_range=request_headers.get("if-range"),
            etag=self.headers.get("etag"),
            last_modified=self.headers.get("last-modified"),
            ignore_if_range=False,
        ):
            return False
        parsed = parse_range_header(request_headers.get("range"))
        if parsed is None:
            raise RequestedRangeNotSatisfiable(complete_length)
        span = parsed.range_for_length(complete_length)
        content_range = parsed.to_content_range_header(complete_length)
        if span is None or content_range is None:
            raise RequestedRangeNotSatisfiable(complete_length)
        start, stop = span
        self.headers["Content-Length"] = str(stop - start)
        self.headers["Content-Range"] = content_range
        self.status_code = 206
        if self._stream is None:
            self.body = self.body[start:stop]
        else:
            self._stream = _byte_range(self._stream, start, stop - start)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._stream is None and not self._on_close and self.background is None:
            if scope["type"] == "http":
                # Starlette's two messages, sent directly: every plain response comes this way.
                raw = self._raw if self._headers is None else self._headers.raw
                await send({"type": "http.response.start", "status": self._status_code, "headers": raw})
                await send({"type": "http.response.body", "body": self.body})
                return
        try:
            if self._stream is None:
                await super().__call__(scope, receive, send)
            else:
                await self._send_stream(scope, receive, send)
        finally:
            callbacks, self._on_close = self._on_close, ()
            for func in callbacks:
                await run_in_threadpool(func)

    async def _send_stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Starlette's streaming machinery does the sending: threads for sync iterators and
        # a watch for client disconnects.
        body: Any = self._stream
        streaming = StreamingResponse(body, status_code=self.status_code, background=self.background)
        streaming.raw_headers = self.raw_headers

        async def send_or_disconnect(message: Message) -> None:
            try:
                await send(message)
            except OSError:
                # ASGI's word for "the client is gone" (as Starlette reads it from spec 2.4 on);
                # only a failed send means that, not an OSError from the body's own code.
                raise ClientDisconnect() from None

        try:
            await streaming(scope, receive, send_or_disconnect)
        finally:
            # A stream cut short (client gone, error) is closed now, so its `finally` blocks run
            # and its resources are released, instead of whenever it is garbage collected.
            aclose = getattr(self._stream, "aclose", None)
            close = getattr(self._stream, "close", None)
            if aclose is not None:
                await aclose()
            elif close is not None:
                # A sync generator's cleanup may block: run it where its body runs, in a thread.
                with contextlib.suppress(ValueError):  # still executing: it ends by itself
                    await run_in_threadpool(close)

    def __repr__(self) -> str:
        kind = "streamed" if self._stream is not None else f"{len(self.body)} bytes"
        return f"<{type(self).__name__} {kind} [{self.status}]>"


async def _byte_range(
    stream: Iterable[Any] | AsyncIterable[Any], start: int, length: int
) -> AsyncIterator[bytes]:
    """The bytes `start` to `start + length` of a streamed body."""
    chunks = stream if isinstance(stream, AsyncIterable) else iterate_in_threadpool(iter(stream))
    position = 0
    try:
        async for chunk in chunks:
            data = _chunk_bytes(chunk)
            end = position + len(data)
            if end > start:
                yield data[max(0, start - position) : start + length - position]
            position = end
            if position >= start + length:
                break
    finally:
        aclose = getattr(stream, "aclose", None)
        close = getattr(stream, "close", None)
        if aclose is not None:
            await aclose()
        elif close is not None:
            await run_in_threadpool(close)
