"""The body's helpers: an awaitable-and-callable accessor, `request.stream`, and the multipart
parser that notices a cut-off body."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Mapping
from typing import Any

from starlette.datastructures import FormData, Headers, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict

from ..exceptions import BadRequest, RequestEntityTooLarge
from ..threads import calling_loop, wait_on_loop
from .files import FileStorage


class Deferred:
    """A body accessor: `await request.form` (Flask's way) or `await request.form()` (Starlette's).

    Nothing is read or created until it is awaited or called. Used without `await` before
    the body was read, it says so, instead of quietly being an empty value.
    """

    __slots__ = ("_load", "_name")

    def __init__(self, load: Callable[[], Awaitable[Any]], name: str) -> None:
        self._load = load
        self._name = name

    def __await__(self) -> Generator[Any, None, Any]:
        return self._load().__await__()

    def __call__(self, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        return self._load()

    def _value(self) -> Any:
        # Sync code on a context's worker thread (a `def` view) may wait for the body; on the
        # event loop nothing may wait, so there it must be awaited.
        if calling_loop() is not None:
            return wait_on_loop(self._load)
        raise RuntimeError(
            f"request.{self._name} was used without `await` before the body was read. In async code"
            f" write `await request.{self._name}`. For sync code that runs on the event loop (a"
            " Flask extension's hook), set PRELOAD_BODY = True, and form bodies are read before the"
            " hooks run."
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._value(), name)

    def __getitem__(self, key: Any) -> Any:
        return self._value()[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._value()

    def __iter__(self) -> Any:
        return iter(self._value())

    def __len__(self) -> int:
        return len(self._value())

    def __bytes__(self) -> bytes:
        return bytes(self._value())

    def __eq__(self, other: object) -> bool:
        return bool(self._value() == other)

    __hash__ = None  # type: ignore[assignment]


class _Ready:
    """Makes an already-read body value awaitable too, so `await request.form` still works."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, Any]:
        return self
        yield  # a generator: awaiting it finishes at once with the value itself

    def __call__(self) -> Any:  # Starlette's `await request.form()`
        return self


class ReadyMultiDict(_Ready, ImmutableMultiDict[str, Any]):  # type: ignore[misc]
    """`request.form` / `files` once read: a MultiDict usable with or without `await`."""


class ReadyCombinedMultiDict(_Ready, CombinedMultiDict[str, Any]):  # type: ignore[misc]
    """`request.values` once the form is read: usable with or without `await`."""


class ReadyBytes(_Ready, bytes):
    """`request.data` once read: bytes usable with or without `await`."""


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


class CompleteMultiPartParser(MultiPartParser):
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


async def parse_form(
    mimetype: str, headers: Headers, chunks: AsyncGenerator[bytes, None], app_config: Mapping[str, Any]
) -> tuple[ReadyMultiDict, ReadyMultiDict]:
    """The fields and files of a URL-encoded or multipart body, within the app's form limits.

    Raises:
        RequestEntityTooLarge: a field over `MAX_FORM_MEMORY_SIZE`, or more than `MAX_FORM_PARTS`.
        BadRequest: a malformed body, or a multipart body cut off before its closing boundary.
    """
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, FileStorage]] = []
    max_parts = app_config.get("MAX_FORM_PARTS", 1000)
    max_memory = app_config.get("MAX_FORM_MEMORY_SIZE", 500_000)
    parser: FormParser | MultiPartParser | None = None
    if mimetype == "multipart/form-data":
        parser = CompleteMultiPartParser(
            headers,
            chunks,
            max_files=max_parts if max_parts is not None else float("inf"),
            max_fields=max_parts if max_parts is not None else float("inf"),
            max_part_size=max_memory if max_memory is not None else 2**62,
        )
    elif mimetype == "application/x-www-form-urlencoded":
        parser = FormParser(
            headers,
            chunks,
            max_fields=max_parts if max_parts is not None else float("inf"),
            # URL-encoded forms are bounded by MAX_CONTENT_LENGTH alone.
            max_part_size=2**62,
        )
    if parser is not None:
        try:
            form = await parser.parse()
            if isinstance(parser, CompleteMultiPartParser) and not parser.ended:
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
                upload.close()
            raise RequestEntityTooLarge(f"Too many form parts; the limit is {max_parts} (MAX_FORM_PARTS).")
    return ReadyMultiDict(fields), ReadyMultiDict(files)
