"""Sending files: `send_file`, `send_from_directory` and `safe_join`.

Paths are served by Starlette's `FileResponse` (chunked reads off the event loop, Range,
multipart ranges); this module adds Flask's part: validators (ETag, Last-Modified), the
conditional 304/412 answers, Cache-Control, Content-Disposition, file objects, and a
Range pre-check so hostile or odd Range headers never reach Starlette's parser.
"""

from __future__ import annotations

import errno
import inspect
import io
import mimetypes
import os
import posixpath
import re
import stat
import time
import unicodedata
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from typing import IO, Any
from urllib.parse import quote

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import FileResponse, StreamingResponse
from starlette.responses import Response as StarletteResponse
from starlette.types import Receive, Scope, Send
from werkzeug.datastructures import Headers as WerkzeugHeaders

from .exceptions import NotFound, PreconditionFailed, RequestedRangeNotSatisfiable, error_response
from .globals import _cv_context
from .threads import also_sync
from .wrappers import content_type_for

__all__ = ["safe_join", "send_file", "send_from_directory"]

MaxAge = int | timedelta | Callable[[str | None], Any] | None

# More ranges than this and the Range header is ignored (a 200 with the whole file), as
# Starlette does; it also bounds the work a single header can cause.
MAX_RANGES = FileResponse.max_ranges
# Any position at least this large is past the end of every real file, so longer digit
# strings need no exact value (and int() stays cheap whatever the client sends).
_HUGE = 10**18
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_DRIVE = re.compile(r"[A-Za-z]:")
# RFC 5987 attr-char, minus ALPHA / DIGIT which `quote` always keeps.
_ATTR_CHARS = "!#$&+-.^_`|~"


class _NoFileName(ValueError, TypeError):
    """No name to guess a mimetype from or to offer as the attachment's name.

    A `ValueError`, and a `TypeError` as Flask raises, so either `except` catches it.
    """


# -- public API -------------------------------------------------------------------------------


def safe_join(directory: str | os.PathLike[str], *paths: str) -> str | None:
    """Join untrusted path segments below `directory`, or refuse.

    Stricter than Werkzeug's: any `..` segment, an absolute path (`/x`, `C:\\x`, `C:x`), a
    backslash or a NUL byte is refused outright rather than normalized. Symlinks are not
    looked at here; `send_from_directory` resolves them as well.

    Args:
        directory: the trusted base folder.
        *paths: untrusted, `/`-separated relative paths.

    Returns:
        The joined path, or None when a segment could leave `directory`.
    """
    parts = [os.fspath(directory) or "."]
    for path in paths:
        if (
            "\x00" in path
            or "\\" in path
            or path.startswith("/")
            or _DRIVE.match(path)
            or os.path.isabs(path)
            or ".." in path.split("/")
        ):
            return None
        parts.append(posixpath.normpath(path) if path else "")
    return posixpath.join(*parts)


@also_sync
async def send_file(
    path_or_file: str | os.PathLike[str] | IO[bytes],
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: MaxAge = None,
) -> StarletteResponse:
    """Send a file's contents to the client.

    With `conditional`, a request whose `If-None-Match` / `If-Modified-Since` still holds is
    answered 304, a failed `If-Match` / `If-Unmodified-Since` raises 412, and `Range` gives
    206 (several ranges: `multipart/byteranges`; only one for file objects) or raises 416.
    A Range header that is malformed, in another unit, or lists more than `MAX_RANGES`
    ranges is ignored: the whole file is sent with 200.

    Args:
        path_or_file: a path (relative ones are below the app's `root_path`), or a binary
            file object, read from its current position in a worker thread and closed once sent.
        mimetype: the Content-Type; guessed from `download_name` (or the path) when not given.
        as_attachment: offer the file as a download (`Content-Disposition: attachment`).
        download_name: the name the browser sees; the path's base name by default.
        conditional: answer conditional and Range requests.
        etag: compute an ETag for a path (True), use this string, or send none (False).
        last_modified: the Last-Modified time; the file's mtime by default for paths.
        max_age: seconds (or a timedelta, or a callable taking the path) for Cache-Control;
            `SEND_FILE_MAX_AGE_DEFAULT` when None (itself None: `no-cache`).

    Returns:
        A Starlette response: `FileResponse` for paths, a streamed response for file objects.

    Raises:
        ValueError: a file object without `mimetype` or `download_name`, or an attachment
            without any name.
        TypeError: a text-mode file object.
    """
    if isinstance(path_or_file, (str, os.PathLike)):
        path = os.fspath(path_or_file)
        if not os.path.isabs(path):
            ctx = _cv_context.get(None)
            path = os.path.join(ctx.app.root_path if ctx is not None else os.getcwd(), path)
        stat_result = await run_in_threadpool(_stat_regular_file, path)
        file = None
    elif isinstance(path_or_file, io.TextIOBase):
        raise TypeError("send_file() needs a file opened in binary mode ('rb'), not a text-mode file.")
    elif not callable(getattr(path_or_file, "read", None)):
        raise TypeError(
            f"send_file() needs a path or a binary file object, not {type(path_or_file).__name__}."
        )
    else:
        path, stat_result, file = None, None, path_or_file
    try:
        return await _respond(
            path,
            stat_result,
            file,
            mimetype=mimetype,
            as_attachment=as_attachment,
            download_name=download_name,
            conditional=conditional,
            etag=etag,
            last_modified=last_modified,
            max_age=max_age,
        )
    except BaseException:
        if file is not None:
            await _close(file)
        raise


@also_sync
async def send_from_directory(
    directory: str | os.PathLike[str], path: str, **kwargs: Any
) -> StarletteResponse:
    """Send a file from inside `directory`, where `path` comes from the client.

    Nothing outside `directory` is ever sent: `..` segments, absolute paths, backslashes,
    NUL bytes, names the OS rejects, and symlinks that resolve outside the folder are all 404,
    as are directories and missing files.

    Args:
        directory: the folder to serve from (relative ones are below the app's `root_path`).
        path: the untrusted relative path of the file.
        **kwargs: passed to `send_file`.

    Returns:
        The `send_file` response.

    Raises:
        NotFound: (404) the path is unsafe, missing, or not a regular file.
    """
    folder = os.fspath(directory)
    ctx = _cv_context.get(None)
    if ctx is not None and not os.path.isabs(folder):
        folder = os.path.join(ctx.app.root_path, folder)
    found = await run_in_threadpool(_resolve_inside, folder, path)
    if found is None:
        raise NotFound()
    requested, real_path, stat_result = found
    if kwargs.get("download_name") is None:
        # The name the client asked for, not where a symlink inside the folder leads.
        kwargs["download_name"] = posixpath.basename(requested)
    return await _respond(real_path, stat_result, None, **kwargs)


# -- building the response --------------------------------------------------------------------


async def _respond(
    path: str | None,
    stat_result: os.stat_result | None,
    file: IO[bytes] | None,
    *,
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: MaxAge = None,
) -> StarletteResponse:
    ctx = _cv_context.get(None)
    app = ctx.app if ctx is not None else None
    request = ctx.request if ctx is not None else None
    if download_name is None and path is not None:
        download_name = os.path.basename(path)
    headers: dict[str, str] = {}

    if mimetype is None:
        if download_name is None:
            raise _NoFileName(
                "Unable to detect the MIME type because a file name is not available. Either set"
                " 'download_name', pass a path instead of a file, or set 'mimetype'."
            )
        mimetype, encoding = mimetypes.guess_type(download_name)
        mimetype = mimetype or "application/octet-stream"
        # An encoding on a download makes browsers unpack it (a .tar.gz saved as .tar).
        if encoding is not None and not as_attachment:
            headers["content-encoding"] = encoding
    content_type = content_type_for(mimetype)
    headers["content-type"] = content_type

    if download_name is not None:
        headers["content-disposition"] = _content_disposition(
            "attachment" if as_attachment else "inline", download_name
        )
    elif as_attachment:
        raise _NoFileName(
            "No name provided for the attachment. Set 'download_name' or pass a path instead of a file."
        )

    offset, size = (0, stat_result.st_size) if stat_result is not None else await _measure(file)
    etag_value: str | None = None
    if isinstance(etag, str):
        etag_value = _quote_etag(etag)
    elif etag and path is not None and stat_result is not None:
        # Flask's recipe, so caches keep their ETags when an app moves between the two.
        check = zlib.adler32(os.fsencode(path)) & 0xFFFFFFFF
        etag_value = f'"{stat_result.st_mtime}-{stat_result.st_size}-{check}"'
    if etag_value is not None:
        headers["etag"] = etag_value

    if last_modified is None and stat_result is not None:
        last_modified = stat_result.st_mtime
    modified_at = _as_utc_seconds(last_modified) if last_modified is not None else None
    if modified_at is not None:
        headers["last-modified"] = format_datetime(modified_at, usegmt=True)

    headers.update(_cache_headers(await _resolve_max_age(max_age, path, app)))
    ranges_enabled = conditional and size is not None

    if conditional and request is not None and request.method in ("GET", "HEAD"):
        outcome = _evaluate_preconditions(request.headers, etag_value, modified_at)
        if outcome == 412:
            raise PreconditionFailed()
        if outcome == 304:
            if file is not None:
                await _close(file)
            return StarletteResponse(status_code=304, headers=_not_modified_headers(headers))
        if size is not None:
            # Raises 416 here, in the view, so the app's error handlers and hooks see it.
            _plan_ranges(request.method, request.headers, size, headers)

    if file is not None:
        if size is not None:
            headers["content-length"] = str(size)
        if ranges_enabled:
            headers["accept-ranges"] = "bytes"
        return _FileObjectResponse(file, offset, size, ranges_enabled, headers)

    assert path is not None and stat_result is not None
    response = _PathResponse(path, headers, stat_result, ranges_enabled)
    if etag_value is None:
        del response.headers["etag"]
    if not conditional:
        del response.headers["accept-ranges"]
    return response


class _PathResponse(FileResponse):
    """`FileResponse` with the Range header checked (and rewritten) before Starlette sees it."""

    def __init__(
        self, path: str, headers: dict[str, str], stat_result: os.stat_result, ranges_enabled: bool
    ) -> None:
        super().__init__(path, headers=headers, stat_result=stat_result)
        self.ranges_enabled = ranges_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            ranges = None
            if self.status_code == 200 and self.ranges_enabled and self.stat_result is not None:
                try:
                    ranges = _plan_ranges(
                        scope["method"], Headers(scope=scope), self.stat_result.st_size, self.headers
                    )
                except RequestedRangeNotSatisfiable as error:
                    await error_response(error)(scope, receive, send)
                    return
            # Starlette answers a malformed header 400 and reads If-Range itself; hand it
            # only a range set already known to be valid and wanted, in canonical form.
            scope = _with_range(scope, ranges)
        await super().__call__(scope, receive, send)


class _FileObjectResponse(StreamingResponse):
    """Streams a binary file object from worker threads; one byte range when it is seekable.

    Several ranges are answered with the whole file (200), which RFC 9110 allows.
    """

    chunk_size = 64 * 1024

    def __init__(
        self, file: IO[bytes], offset: int, size: int | None, ranges_enabled: bool, headers: dict[str, str]
    ) -> None:
        super().__init__((), headers=headers)
        self.file = file
        self.offset = offset
        self.size = size
        self.ranges_enabled = ranges_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            start, end = 0, self.size
            if (
                scope["type"] == "http"
                and self.status_code == 200
                and self.ranges_enabled
                and self.size is not None
            ):
                try:
                    ranges = _plan_ranges(scope["method"], Headers(scope=scope), self.size, self.headers)
                except RequestedRangeNotSatisfiable as error:
                    await error_response(error)(scope, receive, send)
                    return
                if ranges is not None and len(ranges) == 1:
                    start, end = ranges[0]
                    self.status_code = 206
                    self.headers["content-range"] = f"bytes {start}-{end - 1}/{self.size}"
                    self.headers["content-length"] = str(end - start)
            head = scope["type"] == "http" and scope["method"] == "HEAD"
            self.body_iterator = _no_chunks() if head else self._chunks(start, end)
            await super().__call__(scope, receive, send)
        finally:
            await _close(self.file)

    async def _chunks(self, start: int, end: int | None) -> AsyncIterator[bytes]:
        file = self.file
        if end is None:
            while chunk := await run_in_threadpool(file.read, self.chunk_size):
                yield _check_bytes(chunk)
            return
        if start:
            await run_in_threadpool(file.seek, self.offset + start)
        remaining = end - start
        while remaining > 0:
            chunk = _check_bytes(await run_in_threadpool(file.read, min(self.chunk_size, remaining)))
            if not chunk:
                raise RuntimeError(
                    "The file object ended before the size it had when send_file() measured it."
                )
            remaining -= len(chunk)
            yield chunk


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield  # pragma: no cover - makes this an async generator


def _check_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, str):
        raise TypeError("send_file() needs a file opened in binary mode ('rb'); read() returned str.")
    return bytes(chunk)


async def _close(file: Any) -> None:
    close = getattr(file, "close", None)
    if callable(close):
        # Closing must finish even when the transfer is being cancelled.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(close)


async def _measure(file: IO[bytes] | None) -> tuple[int, int | None]:
    """`(position, bytes left)` of a seekable file object; `(0, None)` when it cannot seek."""

    def measure() -> tuple[int, int | None]:
        seekable = getattr(file, "seekable", None)
        if file is None or seekable is None or not seekable():
            return 0, None
        position = file.tell()
        end = file.seek(0, os.SEEK_END)
        file.seek(position)
        return position, max(end - position, 0)

    return await run_in_threadpool(measure)


def _stat_regular_file(path: str) -> os.stat_result:
    result = os.stat(path)
    if stat.S_ISDIR(result.st_mode):
        raise IsADirectoryError(f"send_file() was given a directory, not a file: {path!r}.")
    if not stat.S_ISREG(result.st_mode):
        # A FIFO or a device has no size to announce and may never end.
        raise OSError(f"send_file() sends regular files only: {path!r}.")
    if not os.access(path, os.R_OK):
        # Fail here, in the view; once the headers are sent, all that is left is a cut-off body.
        raise PermissionError(errno.EACCES, "send_file() cannot read the file", path)
    return result


def _resolve_inside(directory: str, path: str) -> tuple[str, str, os.stat_result] | None:
    """`(joined, real path, stat)` of a regular file really inside `directory`, else None."""
    joined = safe_join(directory, path)
    if joined is None:
        return None
    try:
        root = os.path.realpath(directory)
        target = os.path.realpath(joined)
        # A symlink inside the folder may point anywhere; judge where it really leads.
        if os.path.commonpath([root, target]) != root:
            return None
        result = os.stat(target)
    except (OSError, ValueError):
        # ENAMETOOLONG, ELOOP, EACCES, a NUL byte, paths on different drives: not found.
        return None
    if not stat.S_ISREG(result.st_mode) or not os.access(target, os.R_OK):
        return None
    return joined, target, result


# -- headers ----------------------------------------------------------------------------------


def _content_disposition(kind: str, name: str) -> str:
    """`inline`/`attachment` with the name; RFC 6266 `filename*` when it is not plain ASCII."""
    if all(" " <= char < "\x7f" for char in name):
        return f"{kind}; filename={_quote_value(name)}"
    # Control characters take this branch too, so a name can never break the header.
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(char for char in fallback if " " <= char < "\x7f")
    return f"{kind}; filename={_quote_value(fallback)}; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"


def _quote_value(value: str) -> str:
    if _TOKEN.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _quote_etag(value: str) -> str:
    if '"' in value or any(char < " " or char == "\x7f" for char in value):
        raise ValueError(
            f"The ETag {value!r} may not contain quotes or control characters; pass it unquoted."
        )
    return f'"{value}"'


def _as_utc_seconds(value: datetime | int | float) -> datetime:
    # HTTP dates have whole seconds; keeping microseconds would make every comparison "newer".
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).replace(microsecond=0)
    return datetime.fromtimestamp(int(value), timezone.utc)


async def _resolve_max_age(max_age: MaxAge, path: str | None, app: Any) -> int | None:
    value: Any = max_age
    if value is None and app is not None:
        # A Flask-style `get_send_file_max_age(path)` on the app wins over the config key.
        getter = getattr(app, "get_send_file_max_age", None)
        value = getter if callable(getter) else app.config.get("SEND_FILE_MAX_AGE_DEFAULT")
    if callable(value):
        value = value(path)
        if inspect.isawaitable(value):
            value = await value
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"max_age must be a number of seconds >= 0, a timedelta or None, not {value!r}.")
    return int(value)


def _cache_headers(max_age: int | None) -> dict[str, str]:
    if max_age is None:
        return {"cache-control": "no-cache"}
    control = f"public, max-age={max_age}" if max_age > 0 else "no-cache, max-age=0"
    return {"cache-control": control, "expires": formatdate(time.time() + max_age, usegmt=True)}


def _not_modified_headers(headers: dict[str, str]) -> dict[str, str]:
    # RFC 9110 15.4.5: the validators and caching fields of the 200, no representation
    # metadata; Last-Modified only when there is no ETag to validate with.
    kept = {key: value for key, value in headers.items() if key in ("etag", "cache-control", "expires")}
    if "etag" not in kept and "last-modified" in headers:
        kept["last-modified"] = headers["last-modified"]
    return kept


# -- conditional requests and ranges ----------------------------------------------------------


def _parse_http_date(value: str | None) -> datetime | None:
    if not value or len(value) > 64:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _etag_matches(header: str, etag: str | None, weak: bool) -> bool:
    """Whether an `If-Match`/`If-None-Match` list holds `etag` (weak or strong comparison)."""
    if header.strip() == "*":
        return True
    mine = _ENTITY_TAG.fullmatch(etag) if etag is not None else None
    if mine is None:
        return False
    mine_weak, opaque = mine.groups()
    for candidate in _ENTITY_TAG.finditer(header):
        if candidate.group(2) == opaque and (weak or not (candidate.group(1) or mine_weak)):
            return True
    return False


def _evaluate_preconditions(
    headers: Headers | WerkzeugHeaders, etag: str | None, modified_at: datetime | None
) -> int | None:
    """RFC 9110 13.2.2 for GET/HEAD: 412, 304, or None to serve the file."""
    if_match = headers.get("if-match")
    if if_match is not None:
        if not _etag_matches(if_match, etag, weak=False):
            return 412
    else:
        unmodified_since = _parse_http_date(headers.get("if-unmodified-since"))
        if unmodified_since is not None and modified_at is not None and modified_at > unmodified_since:
            return 412
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return 304 if _etag_matches(if_none_match, etag, weak=True) else None
    modified_since = _parse_http_date(headers.get("if-modified-since"))
    if modified_since is not None and modified_at is not None and modified_at <= modified_since:
        return 304
    return None


def _if_range_holds(value: str, headers: MutableHeaders | dict[str, str]) -> bool:
    """If-Range: a strong ETag equal to ours, or exactly our Last-Modified date."""
    value = value.strip()
    if value.startswith(('"', "W/")):
        etag = headers.get("etag")
        return etag is not None and not value.startswith("W/") and not etag.startswith("W/") and value == etag
    when = _parse_http_date(value)
    modified = _parse_http_date(headers.get("last-modified"))
    return when is not None and when == modified


def _plan_ranges(
    method: str,
    request_headers: Headers | WerkzeugHeaders,
    size: int,
    headers: MutableHeaders | dict[str, str],
) -> list[tuple[int, int]] | None:
    """The byte ranges `[start, end)` to send, sorted and merged, or None for the whole file.

    Raises:
        RequestedRangeNotSatisfiable: (416) a valid Range header none of whose ranges is in the file.
    """
    value = request_headers.get("range")
    if value is None or method not in ("GET", "HEAD") or size == 0:
        return None
    if_range = request_headers.get("if-range")
    if if_range is not None and not _if_range_holds(if_range, headers):
        return None
    return _parse_range(value, size)


def _digits(text: str) -> int:
    text = text.lstrip("0")
    return int(text or "0") if len(text) <= 18 else _HUGE


def _reversed(first: str, last: str) -> bool:
    """Whether `last < first`, compared exactly however long the numbers are."""
    a, b = first.lstrip("0"), last.lstrip("0")
    return (len(b), b) < (len(a), a)


def _parse_range(value: str, size: int) -> list[tuple[int, int]] | None:
    """Parse `bytes=...` in one pass; None when it is not a valid byte-range set to honour."""
    unit, equals, spec = value.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    parts = spec.split(",", MAX_RANGES)
    if len(parts) > MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    seen = False
    for part in parts:
        part = part.strip(" \t")
        if not part:
            continue  # RFC 9110 5.6.1: empty list elements are ignored.
        match = _RANGE_SPEC.fullmatch(part)
        if match is None:
            return None
        first, last = match.groups()
        seen = True
        if first:
            start = _digits(first)
            if last and _reversed(first, last):
                return None
            end = min(_digits(last) + 1, size) if last else size
        elif last:
            suffix = _digits(last)
            if suffix == 0:
                continue  # A zero-length suffix selects nothing.
            start, end = max(size - suffix, 0), size
        else:
            return None
        if start < size:
            ranges.append((start, end))
    if not seen:
        return None
    if not ranges:
        raise RequestedRangeNotSatisfiable(length=size)
    ranges.sort()
    merged = [ranges[0]]
    for start, end in ranges[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def _with_range(scope: Scope, ranges: Sequence[tuple[int, int]] | None) -> Scope:
    """A copy of `scope` whose only range headers are the canonical form of `ranges`."""
    raw = [(key, value) for key, value in scope["headers"] if key not in (b"range", b"if-range")]
    if ranges:
        spec = ",".join(f"{start}-{end - 1}" for start, end in ranges)
        raw.append((b"range", f"bytes={spec}".encode("latin-1")))
    return {**scope, "headers": raw}
