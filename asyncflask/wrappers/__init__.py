"""Request, Response and Websocket: the connection wrappers, importable from one module."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .files import FileStorage
from .headers import HeaderAccessors, SafeHeaders, _status_code
from .request import Request, host_is_trusted
from .response import Response, content_type_for

if TYPE_CHECKING:
    from ..websockets import Websocket as Websocket

__all__ = [
    "FileStorage",
    "HeaderAccessors",
    "Request",
    "Response",
    "SafeHeaders",
    "Websocket",
    "_status_code",
    "content_type_for",
    "host_is_trusted",
]


def __getattr__(name: str) -> Any:
    # `Websocket` lives in websockets.py (which imports Request from here); it is offered here
    # too, lazily, so every connection wrapper can be imported from one module.
    if name == "Websocket":
        from ..websockets import Websocket

        return Websocket
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
