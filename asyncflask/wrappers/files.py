"""Uploaded files: Werkzeug's `FileStorage` over Starlette's spooled upload file.

`read`, `seek`, `save` and `close` work synchronously, exactly as in Werkzeug (and Flask), on the
spooled temporary file. Their results may also be awaited, so `await f.read()` and
`await f.save(path)` keep working; `await f.save_async(path)` and `await f.read_async()` copy in a
worker thread, for files large enough that a blocking copy would stall the event loop.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator
from typing import IO, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from werkzeug.datastructures import FileStorage as _WerkzeugFileStorage
from werkzeug.datastructures import Headers


class AwaitableBytes(bytes):
    """Bytes that can also be awaited (to the same bytes), so sync and async callers both work."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, bytes]:
        return bytes(self)
        yield  # pragma: no cover - makes this a generator


class Done:
    """The result of a finished sync call that may also be awaited (to None)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return None
        yield  # pragma: no cover - makes this a generator

    def __bool__(self) -> bool:
        return False


_DONE = Done()


class FileStorage(_WerkzeugFileStorage):
    """An uploaded file: a Werkzeug `FileStorage` (`isinstance` checks see one).

    Attributes:
        filename: the name the client gave, or None (pass it through `secure_filename`).
        name: the form field name.
        size: the number of bytes received.
    """

    def __init__(self, upload: UploadFile, name: str) -> None:
        super().__init__(
            stream=upload.file,
            filename=upload.filename,
            name=name,
            headers=Headers(upload.headers.items()),
        )
        self.size = upload.size

    def read(self, size: int = -1) -> AwaitableBytes:
        """Read from the spooled file; the result is bytes, and may also be awaited."""
        return AwaitableBytes(self.stream.read(size))

    def seek(self, offset: int, whence: int = 0) -> Any:
        """Move the read position (sync, as on any file); the result may be awaited."""
        self.stream.seek(offset, whence)
        return _DONE

    def save(  # type: ignore[override]
        self, dst: str | os.PathLike[str] | IO[bytes], buffer_size: int = 16384
    ) -> Done:
        """Copy the file to a path or a binary file, as Werkzeug does; the result may be awaited."""
        super().save(dst, buffer_size)
        return _DONE

    async def save_async(self, dst: str | os.PathLike[str] | IO[bytes], buffer_size: int = 64 * 1024) -> None:
        """Copy the whole file (from its start) in a worker thread, without blocking the loop."""

        def copy() -> None:
            self.stream.seek(0)
            if isinstance(dst, (str, os.PathLike)):
                with open(dst, "wb") as target:
                    shutil.copyfileobj(self.stream, target, buffer_size)
            else:
                shutil.copyfileobj(self.stream, dst, buffer_size)

        await run_in_threadpool(copy)

    async def read_async(self, size: int = -1) -> bytes:
        """Read in a worker thread (for a large file that spilled to disk)."""
        return await run_in_threadpool(self.stream.read, size)
