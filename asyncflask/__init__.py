"""asyncflask: Flask's API, made async, served over ASGI on Starlette."""

from __future__ import annotations

from .app import AsyncFlask
from .config import Config
from .ctx import (
    after_this_request,
    copy_current_app_context,
    copy_current_request_context,
    has_app_context,
    has_request_context,
    has_websocket_context,
)
from .exceptions import abort
from .globals import current_app, g, request, session, websocket
from .helpers import jsonify, make_response, redirect, url_for
from .wrappers import Request, Response

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncFlask",
    "Config",
    "Request",
    "Response",
    "abort",
    "after_this_request",
    "copy_current_app_context",
    "copy_current_request_context",
    "current_app",
    "g",
    "has_app_context",
    "has_request_context",
    "has_websocket_context",
    "jsonify",
    "make_response",
    "redirect",
    "request",
    "session",
    "url_for",
    "websocket",
]
