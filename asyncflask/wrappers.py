"""Request and Response: Starlette's objects under Flask's names, with Flask's limits."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, formatdate
from http import HTTPStatus
from typing import IO, TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, Headers, MutableHeaders, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.responses import Response as StarletteResponse
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from .datastructures import CombinedMultiDict, ImmutableMultiDict, MIMEAccept
from .exceptions import (
    BadRequest,
    ClientDisconnected,
    RequestEntityTooLarge,
    SecurityError,
    UnsupportedMediaType,
)

if TYPE_CHECKING:
    from .app import AsyncFlask
    from .routing import Rule
    from .websockets import Websocket as Websocket

__all__ = ["FileStorage", "Request", "Response", "Websocket"]


def __getattr__(name: str) -> Any:
    # `Websocket` lives in websockets.py (which imports Request from here); it is offered here
    # too, lazily, so every connection wrapper can be imported from one module.
    if name == "Websocket":
        from .websockets import Websocket

        return Websocket
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# `get_json`'s cache, (normal, silent) results; Ellipsis (which JSON cannot produce) is "not yet".
_NO_JSON: tuple[Any, Any] = (Ellipsis, Ellipsis)
_FORBIDDEN_HEADER_CHARS = re.compile(r"[\r\n\x00]")
# A Host header is a name or an IPv4/IPv6 literal with an optional port, nothing else.
_VALID_HOST = re.compile(r"^(?:[A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_TEXT_MIMETYPES = ("application/xml", "application/javascript", "application/ecmascript")
_PATH_SAFE = "/:@!$&'()*+,;=~"


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


def host_is_trusted(host: str, trusted: Iterable[str]) -> bool:
    """Whether `host` (port ignored) matches a trusted name; `.example.com` also allows subdomains."""
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.lower()
    for pattern in trusted:
        pattern = pattern.lower()
        if pattern.startswith("."):
            if hostname == pattern[1:] or hostname.endswith(pattern):
                return True
        elif hostname == pattern:
            return True
    return False


class FileStorage:
    """An uploaded file from a multipart form.

    Attributes:
        filename: the name the client gave, or None.
        content_type: the part's Content-Type.
        name: the form field name.
    """

    def __init__(self, upload: UploadFile, name: str) -> None:
        self._upload = upload
        self.name = name
        self.filename = upload.filename
        self.content_type = upload.content_type
        self.headers = upload.headers

    @property
    def mimetype(self) -> str:
        """The Content-Type without parameters, lowercased."""
        return (self.content_type or "").split(";", 1)[0].strip().lower()

    @property
    def size(self) -> int | None:
        """The number of bytes received."""
        return self._upload.size

    @property
    def stream(self) -> IO[bytes]:
        """The underlying (spooled temporary) file."""
        return self._upload.file

    async def read(self, size: int = -1) -> bytes:
        """Read bytes from the upload (in a worker thread when it spilled to disk)."""
        return await self._upload.read(size)

    async def seek(self, offset: int) -> None:
        """Move the read position."""
        await self._upload.seek(offset)

    async def save(self, destination: str | Any, buffer_size: int = 64 * 1024) -> None:
        """Copy the upload to a path or a writable binary file, without blocking the loop.

        Args:
            destination: a filesystem path or an open binary file.
            buffer_size: how many bytes to copy at a time.
        """

        def copy() -> None:
            source = self._upload.file
            source.seek(0)
            if isinstance(destination, (str, bytes)) or hasattr(destination, "__fspath__"):
                with open(destination, "wb") as target:
                    while chunk := source.read(buffer_size):
                        target.write(chunk)
            else:
                while chunk := source.read(buffer_size):
                    destination.write(chunk)

        await run_in_threadpool(copy)

    async def close(self) -> None:
        """Release the temporary file."""
        await self._upload.close()

    def __bool__(self) -> bool:
        return bool(self.filename)

    def __repr__(self) -> str:
        return f"<FileStorage {self.filename!r} ({self.content_type!r})>"


class Request(HTTPConnection):
    """The incoming request, read through Starlette, with Flask's attribute names.

    Sync attributes read the request line and headers; the body is read on demand with
    `await request.get_data()`, `await request.json`, `await request.form`, or streamed
    with `async for chunk in request.body`.
    """

    url_rule: Rule | None
    view_args: dict[str, Any] | None
    # Parsed on first use only (annotations, not assignments, so nothing is done per request).
    _args: ImmutableMultiDict[str]
    _host: str
    _accept: MIMEAccept

    def __init__(self, scope: Scope, receive: Receive, app: AsyncFlask | None = None) -> None:
        self.scope = scope
        self._receive = receive
        self._app = app
        self.url_rule = None
        self.view_args = None
        self.routing_exception: Exception | None = None
        self._cached_data: bytes | None = None
        self._stream_consumed = False
        self._cached_json: tuple[Any, Any] = _NO_JSON
        self._form: ImmutableMultiDict[str] | None = None
        self._files: ImmutableMultiDict[FileStorage] | None = None

    # -- request line -----------------------------------------------------------------------

    @property
    def method(self) -> str:
        """The HTTP method, uppercase."""
        return self.scope["method"]  # type: ignore[no-any-return]

    @property
    def script_root(self) -> str:
        """Where the app is mounted (the ASGI `root_path`), without a trailing slash."""
        return str(self.scope.get("root_path", "")).rstrip("/")

    @property
    def path(self) -> str:
        """The path below `script_root`, starting with a slash."""
        path: str = self.scope["path"]
        root = self.scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return path or "/"

    @property
    def query_string(self) -> bytes:
        """The raw query string."""
        return self.scope.get("query_string", b"")  # type: ignore[no-any-return]

    @property
    def full_path(self) -> str:
        """The path and query string (always with a `?`, as in Flask)."""
        return f"{self.path}?{self.query_string.decode('latin-1')}"

    @property
    def args(self) -> ImmutableMultiDict[str]:
        """The query string parameters (first value wins for `args[key]`)."""
        try:
            return self._args
        except AttributeError:
            self._args = ImmutableMultiDict(
                parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True)
            )
            return self._args

    @property
    def scheme(self) -> str:
        """`http` or `https`."""
        return self.scope.get("scheme", "http")  # type: ignore[no-any-return]

    @property
    def is_secure(self) -> bool:
        """Whether the request came over TLS."""
        return self.scheme in ("https", "wss")

    @property
    def host(self) -> str:
        """The Host header (or the server address), checked against `TRUSTED_HOSTS`.

        Raises:
            SecurityError: a 400, when the host is malformed or not trusted.
        """
        try:
            return self._host
        except AttributeError:
            pass
        hosts = self.headers.getlist("host")
        if len(hosts) > 1:
            raise SecurityError("The request has more than one Host header.")
        host = hosts[0] if hosts else None
        if not host:
            server = self.scope.get("server")
            if server:
                name, port = server[0], server[1]
                default = 443 if self.is_secure else 80
                host = name if port in (None, default) else f"{name}:{port}"
            else:
                host = ""
        if host and not _VALID_HOST.match(host):
            raise SecurityError(f"The Host header {host[:64]!r} is not a valid host name.")
        trusted = self._app.config.get("TRUSTED_HOSTS") if self._app is not None else None
        if trusted is not None and not host_is_trusted(host, trusted):
            raise SecurityError(f"Host {host[:64]!r} is not trusted.")
        self._host = host
        return host

    @property
    def host_url(self) -> str:
        """`scheme://host/`."""
        return f"{self.scheme}://{self.host}/"

    @property
    def url_root(self) -> str:
        """`scheme://host/script_root/`."""
        return f"{self.scheme}://{self.host}{quote(self.script_root, safe=_PATH_SAFE)}/"

    @property
    def base_url(self) -> str:  # type: ignore[override]
        """The URL without the query string."""
        return f"{self.scheme}://{self.host}{quote(self.script_root + self.path, safe=_PATH_SAFE)}"

    @property
    def url(self) -> str:  # type: ignore[override]
        """The full URL the client asked for."""
        query = self.query_string
        return self.base_url + ("?" + query.decode("latin-1") if query else "")

    @property
    def remote_addr(self) -> str | None:
        """The client's address."""
        client = self.scope.get("client")
        return client[0] if client else None

    # -- headers ------------------------------------------------------------------------------

    @property
    def content_type(self) -> str | None:
        """The Content-Type header as sent."""
        return self.headers.get("content-type")

    @property
    def mimetype(self) -> str:
        """The Content-Type without parameters, lowercased (`""` when absent)."""
        return (self.content_type or "").split(";", 1)[0].strip().lower()

    @property
    def mimetype_params(self) -> dict[str, str]:
        """The Content-Type's parameters, e.g. `{"charset": "utf-8"}`."""
        params: dict[str, str] = {}
        for part in (self.content_type or "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip():
                params[key.strip().lower()] = value.strip().strip('"')
        return params

    @property
    def content_length(self) -> int | None:
        """The Content-Length header as an integer, or None."""
        value = self.headers.get("content-length")
        if value is None or not (value.isascii() and value.isdigit()):
            return None
        return int(value)

    @property
    def is_json(self) -> bool:
        """Whether the body is declared as JSON (`application/json` or `*/*+json`)."""
        mimetype = self.mimetype
        return mimetype == "application/json" or (
            mimetype.startswith("application/") and mimetype.endswith("+json")
        )

    @property
    def accept_mimetypes(self) -> MIMEAccept:
        """The parsed Accept header."""
        try:
            return self._accept
        except AttributeError:
            self._accept = MIMEAccept(self.headers.get("accept", ""))
            return self._accept

    @property
    def user_agent(self) -> str:
        """The User-Agent header (empty when absent)."""
        return self.headers.get("user-agent", "")

    # -- routing ------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule."""
        return self.url_rule.endpoint if self.url_rule is not None else None

    @property
    def blueprint(self) -> str | None:
        """The name of the (innermost) blueprint that owns the endpoint."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The blueprint and its parents, innermost first."""
        name = self.blueprint
        if name is None:
            return []
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]

    # -- body ---------------------------------------------------------------------------------

    @property
    def max_content_length(self) -> int | None:
        """The body size limit (`MAX_CONTENT_LENGTH`)."""
        return self._app.config["MAX_CONTENT_LENGTH"] if self._app is not None else None

    def _start_reading(self) -> int | None:
        """Claim the body stream (it can be read once) and return the size limit."""
        if self._stream_consumed:
            raise RuntimeError(
                "The request body was already streamed; read it once with 'await request.get_data()'"
                " if it is needed more than once."
            )
        self._stream_consumed = True
        limit = self.max_content_length
        if limit is not None:
            declared = self.content_length
            if declared is not None and declared > limit:
                raise RequestEntityTooLarge()
        return limit

    async def _receive_chunk(self, limit: int | None, received: int) -> tuple[bytes, bool]:
        """The next chunk of the body and whether more follows, within `limit` bytes in all."""
        message = await self._receive()
        if message["type"] == "http.request":
            chunk: bytes = message.get("body", b"")
            # Chunked bodies carry no Content-Length: count as they arrive.
            if limit is not None and received + len(chunk) > limit:
                raise RequestEntityTooLarge()
            return chunk, message.get("more_body", False)
        if message["type"] == "http.disconnect":
            raise ClientDisconnected("The client disconnected while sending the body.")
        return b"", True

    async def _iter_body(self) -> AsyncGenerator[bytes, None]:
        if self._cached_data is not None:
            if self._cached_data:
                yield self._cached_data
            return
        limit = self._start_reading()
        received = 0
        more = True
        while more:
            chunk, more = await self._receive_chunk(limit, received)
            if chunk:
                received += len(chunk)
                yield chunk

    @property
    def body(self) -> AsyncIterator[bytes]:
        """The body as an async iterator of chunks, never buffered whole.

        `MAX_CONTENT_LENGTH` applies while streaming; the body can be streamed once.
        """
        return self._iter_body()

    async def stream(self) -> AsyncIterator[bytes]:
        """Starlette's name for `body`."""
        async for chunk in self._iter_body():
            yield chunk

    async def get_data(self, cache: bool = True, as_text: bool = False) -> Any:
        """The whole body.

        Args:
            cache: keep the body so it can be read again.
            as_text: decode it as UTF-8 (invalid bytes are replaced).

        Returns:
            `bytes`, or `str` with `as_text=True`.
        """
        if self._cached_data is None:
            limit = self._start_reading()
            data, more = await self._receive_chunk(limit, 0)
            if more:
                # Most bodies arrive in one message; only a longer one needs joining.
                chunks = [data]
                received = len(data)
                while more:
                    chunk, more = await self._receive_chunk(limit, received)
                    received += len(chunk)
                    chunks.append(chunk)
                data = b"".join(chunks)
            if cache:
                self._cached_data = data
        else:
            data = self._cached_data
        return data.decode("utf-8", "replace") if as_text else data

    @property
    def data(self) -> Any:
        """Awaitable: the body as bytes."""
        return self.get_data()

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """Parse the body as JSON.

        Args:
            force: parse even when the Content-Type is not JSON.
            silent: return None instead of raising on any problem.
            cache: remember the result for later calls.

        Returns:
            The decoded value (None when `silent` and the body is not usable).

        Raises:
            UnsupportedMediaType: (415) the body is not declared as JSON.
            BadRequest: (400) the body is not valid JSON.
        """
        if cache:
            cached = self._cached_json[silent]
            if cached is not Ellipsis:
                return cached
        if not (force or self.is_json):
            if silent:
                return None
            raise UnsupportedMediaType(
                "Did not attempt to load JSON data because the request Content-Type was not"
                " 'application/json'."
            )
        data = await self.get_data(cache=cache)
        try:
            text = data.decode("utf-8")
            loads = self._app.json.loads if self._app is not None else json.loads
            value = loads(text)
        except (ValueError, RecursionError) as error:
            # ValueError covers bad UTF-8 and bad JSON; RecursionError is hostile nesting.
            if silent:
                if cache:
                    # Only the silent result is known: a later non-silent call still raises.
                    self._cached_json = (self._cached_json[0], None)
                return None
            value = self.on_json_loading_failed(error)
        if cache:
            self._cached_json = (value, value)
        return value

    def on_json_loading_failed(self, error: Exception | None) -> Any:
        """Called when the body is not valid JSON; raises a 400 (override to change)."""
        raise BadRequest(f"Failed to decode JSON object: {error}")

    @property
    def json(self) -> Any:
        """Awaitable: the body parsed as JSON (see `get_json`)."""
        return self.get_json()

    async def _load_form(self) -> None:
        if self._form is not None:
            return
        fields: list[tuple[str, str]] = []
        files: list[tuple[str, FileStorage]] = []
        mimetype = self.mimetype
        app_config = self._app.config if self._app is not None else {}
        max_parts = app_config.get("MAX_FORM_PARTS", 1000)
        max_memory = app_config.get("MAX_FORM_MEMORY_SIZE", 500_000)
        parser: FormParser | MultiPartParser | None = None
        headers = self.headers
        if mimetype == "multipart/form-data":
            parser = _CompleteMultiPartParser(
                headers,
                self._iter_body(),
                max_files=max_parts if max_parts is not None else float("inf"),
                max_fields=max_parts if max_parts is not None else float("inf"),
                max_part_size=max_memory if max_memory is not None else 2**62,
            )
        elif mimetype == "application/x-www-form-urlencoded":
            parser = FormParser(
                headers,
                self._iter_body(),
                max_fields=max_parts if max_parts is not None else float("inf"),
                # URL-encoded forms are bounded by MAX_CONTENT_LENGTH alone.
                max_part_size=2**62,
            )
        if parser is not None:
            try:
                form = await parser.parse()
                if isinstance(parser, _CompleteMultiPartParser) and not parser.ended:
                    await form.close()
                    raise MultiPartException("The multipart body ended before its closing boundary.")
            except MultiPartException as error:
                message = error.message
                if message.startswith(("Part exceeded", "Field exceeded")):
                    raise RequestEntityTooLarge(
                        f"A form field is larger than MAX_FORM_MEMORY_SIZE ({max_memory} bytes)."
                    ) from None
                if message.startswith("Too many"):
                    raise RequestEntityTooLarge(f"{message} (MAX_FORM_PARTS)") from None
                raise BadRequest(message) from None
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files.append((key, FileStorage(value, key)))
                else:
                    fields.append((key, value))
            if max_parts is not None and len(fields) + len(files) > max_parts:
                for _, upload in files:
                    await upload.close()
                raise RequestEntityTooLarge(
                    f"Too many form parts; the limit is {max_parts} (MAX_FORM_PARTS)."
                )
        self._form = ImmutableMultiDict(fields)
        self._files = ImmutableMultiDict(files)

    async def _get_form(self) -> ImmutableMultiDict[str]:
        await self._load_form()
        assert self._form is not None
        return self._form

    async def _get_files(self) -> ImmutableMultiDict[FileStorage]:
        await self._load_form()
        assert self._files is not None
        return self._files

    async def _get_values(self) -> CombinedMultiDict[Any]:
        if self.method == "GET":
            return CombinedMultiDict([self.args])
        return CombinedMultiDict([self.args, await self._get_form()])

    @property
    def form(self) -> Any:
        """Awaitable: the form fields (URL-encoded or multipart)."""
        return self._get_form()

    @property
    def files(self) -> Any:
        """Awaitable: the uploaded files of a multipart form."""
        return self._get_files()

    @property
    def values(self) -> Any:
        """Awaitable: `args` and `form` combined (`args` first)."""
        return self._get_values()

    async def close(self) -> None:
        """Release uploaded files."""
        if self._files is not None:
            for _, upload in self._files.items(multi=True):
                await upload.close()

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.scope.get('path', '')!r}>"


class _CompleteMultiPartParser(MultiPartParser):
    """Starlette's multipart parser, noting whether the closing boundary arrived: a body cut
    short is a bad request, not a form with its last part silently dropped."""

    ended = False

    def on_end(self) -> None:
        self.ended = True
        super().on_end()

    async def parse(self) -> FormData:
        form = await super().parse()
        if not self.ended:
            # The part cut off mid-way never reached the form: release its file here.
            for file in self._files_to_close_on_error:
                file.close()
        return form


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
