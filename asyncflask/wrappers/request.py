"""The request: Starlette's connection under Flask's names, with Flask's body limits."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope
from werkzeug.sansio.http import parse_cookie

from ..datastructures import CombinedMultiDict, ImmutableMultiDict, MIMEAccept
from ..exceptions import (
    BadRequest,
    ClientDisconnected,
    RequestEntityTooLarge,
    SecurityError,
    UnsupportedMediaType,
)

if TYPE_CHECKING:
    from ..app import AsyncFlask
    from ..routing import Rule
    from ..websockets import Websocket as Websocket

# `get_json`'s cache, (normal, silent) results; Ellipsis (which JSON cannot produce) is "not yet".
_NO_JSON: tuple[Any, Any] = (Ellipsis, Ellipsis)
# A Host header is a name or an IPv4/IPv6 literal with an optional port, nothing else.
_VALID_HOST = re.compile(r"^(?:[A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_PATH_SAFE = "/:@!$&'()*+,;=~"


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
    def cookies(self) -> dict[str, str]:
        """The request's cookies, parsed by Werkzeug in linear time; the first of a repeated name wins.

        (The standard library's unquoting is quadratic on some Python versions: one crafted
        header could pin a worker.)
        """
        try:
            return self._parsed_cookies
        except AttributeError:
            # HTTP/2 may split the header in several; they are one list of pairs.
            # Cookies are UTF-8 (as Werkzeug reads them); stray bytes must not fail the request.
            headers = self.scope["headers"]
            values = [value.decode("utf-8", "replace") for key, value in headers if key == b"cookie"]
            self._parsed_cookies: dict[str, str] = parse_cookie("; ".join(values)) if values else {}
            return self._parsed_cookies

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
