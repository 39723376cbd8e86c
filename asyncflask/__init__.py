"""asyncflask: Flask's API, made async, served over ASGI on Starlette."""

from __future__ import annotations

from typing import Any

from werkzeug.utils import secure_filename

from .app import AsyncFlask
from .blueprints import Blueprint
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
from .helpers import (
    flash,
    get_flashed_messages,
    jsonify,
    make_response,
    redirect,
    stream_with_context,
    url_for,
)
from .sending import send_file, send_from_directory
from .signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    before_render_template,
    got_request_exception,
    message_flashed,
    request_finished,
    request_started,
    request_tearing_down,
    template_rendered,
)
from .templating import (
    get_template_attribute,
    render_template,
    render_template_string,
    stream_template,
    stream_template_string,
)
from .wrappers import Request, Response

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncFlask",
    "Blueprint",
    "Config",
    "Request",
    "Response",
    "abort",
    "after_this_request",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "copy_current_app_context",
    "copy_current_request_context",
    "current_app",
    "flash",
    "g",
    "get_flashed_messages",
    "get_template_attribute",
    "got_request_exception",
    "has_app_context",
    "has_request_context",
    "has_websocket_context",
    "jsonify",
    "make_response",
    "message_flashed",
    "redirect",
    "render_template",
    "render_template_string",
    "request",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "secure_filename",
    "send_file",
    "send_from_directory",
    "session",
    "stream_template",
    "stream_template_string",
    "stream_with_context",
    "template_rendered",
    "url_for",
    "websocket",
]


def __getattr__(name: str) -> Any:
    # `asyncflask.cli` (click and the command line) loads only when asked for, as a submodule.
    if name == "cli":
        import importlib

        return importlib.import_module(".cli", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
