"""asyncflask: Flask's API, made async, served over ASGI on Starlette."""

from __future__ import annotations

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
from .helpers import flash, get_flashed_messages, jsonify, make_response, redirect, url_for
from .sending import send_file, send_from_directory
from .templating import render_template, render_template_string, stream_template, stream_template_string
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
    "copy_current_app_context",
    "copy_current_request_context",
    "current_app",
    "flash",
    "g",
    "get_flashed_messages",
    "has_app_context",
    "has_request_context",
    "has_websocket_context",
    "jsonify",
    "make_response",
    "redirect",
    "render_template",
    "render_template_string",
    "request",
    "secure_filename",
    "send_file",
    "send_from_directory",
    "session",
    "stream_template",
    "stream_template_string",
    "url_for",
    "websocket",
]
