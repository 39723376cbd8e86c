"""The response: a Starlette response with Flask's constructor and accessors."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.responses import Response as StarletteResponse
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from ..websockets import Websocket as Websocket

_FORBIDDEN_HEADER_CHARS = re.compile(r"[\r\n\x00]")
_TEXT_MIMETYPES = ("application/xml", "application/javascript", "application/ecmascript")


def _check_header(name: str, value: str) -> None:
    if _FORBIDDEN_HEADER_CHARS.search(name) or _FORBIDDEN_HEADER_CHARS.search(value):
        raise ValueError(
            f"Header {name!r} contains a newline or NUL character, which would let it split into"
            " extra headers. Remove CR, LF and NUL from header names and values."
        )


def _chunk_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"A response body's items must be str or bytes, not {type(chunk).__name__}.")


def content_type_for(mimetype: str) -> str:
    """The Content-Type for a mimetype, with `charset=utf-8` added for text types."""
    if "charset=" not in mimetype and (
        mimetype.startswith("text/") or mimetype in _TEXT_MIMETYPES or mimetype.endswith("+xml")
    ):
        return f"{mimetype}; charset=utf-8"
    return mimetype


class SafeHeaders(MutableHeaders):
    """Response headers that refuse CR, LF and NUL, so a value can never split a header."""

    def __setitem__(self, key: str, value: str) -> None:
        _check_header(key, value)
        super().__setitem__(key, value)

    def setdefault(self, key: str, value: str) -> str:
        _check_header(key, value)
        return super().setdefault(key, value)

    def append(self, key: str, value: str) -> None:
        _check_header(key, value)
        super().append(key, value)

    def add(self, key: str, value: str) -> None:
        """Add a header, keeping existing ones of the same name."""
        self.append(key, value)

    def set(self, key: str, value: str) -> None:
        """Replace a header."""
        self[key] = value

    def extend(self, items: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        """Add several headers, keeping existing ones."""
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, value in pairs:
            self.append(key, value)


HeadersInput = Mapping[str, str] | Iterable[tuple[str, str]] | Headers


class Response(StarletteResponse):
    """A response with Flask's constructor and helpers; it is a Starlette `Response`.

    The body may be `str`, `bytes`, a list or tuple of them (joined, as Werkzeug does with a
    sequence), or any other sync/async iterable of them (then it streams).

    Args:
        body: the content.
        status: the status code (an int, or a string starting with one).
        headers: a mapping or a list of pairs.
        mimetype: the type without charset (`text/html` by default).
        content_type: the full Content-Type header, used as given.
    """

    default_mimetype: str | None = "text/html"
    charset = "utf-8"
    _safe_headers: SafeHeaders

    def __init__(
        self,
        body: Any = "",
        status: int | str | HTTPStatus | None = 200,
        headers: HeadersInput | None = None,
        mimetype: str | None = None,
        content_type: str | None = None,
    ) -> None:
        self.background = None
        self.status_code = 200 if status is None else _status_code(status)
        self._stream: Iterable[Any] | AsyncIterable[Any] | None = None
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
        raw: list[tuple[bytes, bytes]] = []
        has_type = has_length = False
        if headers:
            items = headers.items() if isinstance(headers, (Mapping, Headers)) else headers
            for key, value in items:
                value = str(value)
                _check_header(key, value)
                lower = key.lower()
                if lower == "content-type":
                    has_type = True
                elif lower == "content-length":
                    has_length = True
                raw.append((lower.encode("latin-1"), value.encode("latin-1")))
        if not has_type:
            if content_type is None:
                mimetype = mimetype or self.default_mimetype
                content_type = content_type_for(mimetype) if mimetype else None
            if content_type is not None:
                _check_header("content-type", content_type)
                raw.append((b"content-type", content_type.encode("latin-1")))
        if (
            self._stream is None
            and not has_length
            and not (self.status_code < 200 or self.status_code in (204, 304))
        ):
            raw.append((b"content-length", str(len(self.body)).encode("latin-1")))
        self.raw_headers = raw

    @classmethod
    def with_body(cls, body: bytes, content_type: bytes) -> Response:
        """A 200 response with a ready body and Content-Type, skipping argument checks.

        The per-request fast path for `str` views and JSON; `content_type` must be trusted.
        """
        response = cls.__new__(cls)
        response.background = None
        response.status_code = 200
        response._stream = None
        response.body = body
        response.raw_headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode("latin-1")),
        ]
        return response

    @property
    def headers(self) -> SafeHeaders:
        """The response headers (setting a value with CR/LF/NUL is a `ValueError`)."""
        try:
            return self._safe_headers
        except AttributeError:
            self._safe_headers = SafeHeaders(raw=self.raw_headers)
            return self._safe_headers

    @property
    def status(self) -> str:
        """The status line, e.g. `"200 OK"`; assign an int or a string to change it."""
        try:
            phrase = HTTPStatus(self.status_code).phrase.upper()
        except ValueError:
            phrase = "UNKNOWN"
        return f"{self.status_code} {phrase}"

    @status.setter
    def status(self, value: int | str | HTTPStatus) -> None:
        self.status_code = _status_code(value)

    @property
    def content_type(self) -> str | None:
        """The Content-Type header."""
        return self.headers.get("content-type")

    @content_type.setter
    def content_type(self, value: str) -> None:
        self.headers["content-type"] = value

    @property
    def mimetype(self) -> str | None:
        """The Content-Type without parameters; assigning adds a charset for text types."""
        value = self.headers.get("content-type")
        return value.split(";", 1)[0].strip() if value else None

    @mimetype.setter
    def mimetype(self, value: str) -> None:
        self.headers["content-type"] = content_type_for(value)

    @property
    def content_length(self) -> int | None:
        """The Content-Length header as an integer."""
        value = self.headers.get("content-length")
        return int(value) if value and value.isascii() and value.isdigit() else None

    @property
    def location(self) -> str | None:
        """The Location header."""
        return self.headers.get("location")

    @location.setter
    def location(self, value: str) -> None:
        self.headers["location"] = value

    @property
    def is_streamed(self) -> bool:
        """Whether the body is an iterator sent chunk by chunk."""
        return self._stream is not None

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
        self.headers["content-length"] = str(len(self.body))

    @property
    def data(self) -> bytes:
        """The body as bytes (see `get_data`)."""
        return self.get_data()  # type: ignore[no-any-return]

    @data.setter
    def data(self, value: str | bytes) -> None:
        self.set_data(value)

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.get_data())

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | timedelta | None = None,
        expires: datetime | str | int | float | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none", "Lax", "Strict", "None"] | None = None,
        partitioned: bool = False,
    ) -> None:
        """Add a Set-Cookie header (Flask's signature: no SameSite unless asked).

        Args:
            key: the cookie name.
            value: the cookie value.
            max_age: seconds (or a timedelta) until it expires.
            expires: a datetime, a timestamp, or a preformatted date.
            path: the path the cookie applies to.
            domain: the domain it applies to.
            secure: only send it over HTTPS.
            httponly: hide it from JavaScript.
            samesite: `"Lax"`, `"Strict"` or `"None"`.
            partitioned: mark it partitioned (CHIPS).
        """
        if isinstance(max_age, timedelta):
            max_age = int(max_age.total_seconds())
        if isinstance(expires, datetime):
            # Naive datetimes are UTC, as in Werkzeug; aware ones are converted to UTC.
            utc = (
                expires.replace(tzinfo=timezone.utc)
                if expires.tzinfo is None
                else expires.astimezone(timezone.utc)
            )
            expires = format_datetime(utc, usegmt=True)
        elif isinstance(expires, (int, float)):
            # A POSIX timestamp, as in Werkzeug (Starlette would read it as "seconds from now").
            expires = formatdate(expires, usegmt=True)
        if samesite is not None:
            samesite = samesite.title()  # type: ignore[assignment]
            if samesite not in ("Strict", "Lax", "None"):
                raise ValueError(f"SameSite must be 'Strict', 'Lax' or 'None', not {samesite!r}.")
        if partitioned:
            secure = True  # Browsers ignore a Partitioned cookie that is not Secure.
        # Path and domain go into the header verbatim: refuse anything that could split it.
        _check_header("set-cookie", f"{key}={value}; {path or ''}; {domain or ''}; {expires or ''}")
        super().set_cookie(
            key,
            value,
            max_age=max_age,
            expires=expires,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,  # type: ignore[arg-type]
        )
        if partitioned:
            # Added by hand: http.cookies only knows the attribute from Python 3.14 on.
            name, cookie = self.raw_headers[-1]
            self.raw_headers[-1] = (name, cookie + b"; Partitioned")

    def delete_cookie(
        self,
        key: str,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none", "Lax", "Strict", "None"] | None = None,
        partitioned: bool = False,
    ) -> None:
        """Expire a cookie in the browser (same arguments as `set_cookie`)."""
        self.set_cookie(
            key,
            expires=0,
            max_age=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._stream is None:
            await super().__call__(scope, receive, send)
            return
        # Starlette's streaming machinery does the sending: threads for sync iterators and
        # a watch for client disconnects.
        streaming = StreamingResponse(self._stream, status_code=self.status_code, background=self.background)
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
        return f"<Response {kind} [{self.status_code}]>"


def _status_code(status: int | str | HTTPStatus) -> int:
    if isinstance(status, int):
        return int(status)
    text = str(status).strip()
    number = text.split(" ", 1)[0]
    if not (number.isascii() and number.isdigit()):
        raise ValueError(
            f"A status must be an integer or start with one, e.g. '404 NOT FOUND', not {status!r}."
        )
    return int(number)
