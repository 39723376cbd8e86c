"""The public surface promised in API.md: names importable where it says, with its signatures."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest

import asyncflask
from asyncflask import AsyncFlask, Blueprint, Response
from asyncflask.testing import TestClient, WebSocketTestSession

TOP_LEVEL = [
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
    "jsonify",
    "make_response",
    "redirect",
    "render_template",
    "render_template_string",
    "request",
    "send_file",
    "send_from_directory",
    "session",
    "stream_template",
    "stream_template_string",
    "url_for",
    "websocket",
]

MODULE_NAMES = [
    pytest.param("asyncflask.routing", ["BaseConverter", "BuildError", "ValidationError"], id="routing"),
    pytest.param("asyncflask.views", ["View", "MethodView"], id="views"),
    pytest.param(
        "asyncflask.sessions", ["SessionInterface", "SecureCookieSessionInterface"], id="sessions"
    ),
    pytest.param(
        "asyncflask.exceptions",
        [
            "HTTPException",
            "BadRequest",
            "Unauthorized",
            "Forbidden",
            "NotFound",
            "MethodNotAllowed",
            "RequestEntityTooLarge",
            "UnsupportedMediaType",
            "InternalServerError",
            "WebSocketDisconnect",
        ],
        id="exceptions",
    ),
    pytest.param("asyncflask.sse", ["ServerSentEvent", "EventStream", "parse_events"], id="sse"),
    pytest.param("asyncflask.cli", ["AppGroup", "AsyncFlaskCliRunner", "main"], id="cli"),
]


def params(func: Any) -> dict[str, Any]:
    """Parameter name → default (`inspect.Parameter.empty` when required)."""
    return {name: p.default for name, p in inspect.signature(func).parameters.items() if name != "self"}


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_names(name: str) -> None:
    assert name in asyncflask.__all__
    assert getattr(asyncflask, name) is not None


@pytest.mark.parametrize(("module", "names"), MODULE_NAMES)
def test_module_names(module: str, names: list[str]) -> None:
    imported = __import__(module, fromlist=names)
    for name in names:
        assert hasattr(imported, name), f"{module}.{name}"


def test_application_constructor() -> None:
    assert params(AsyncFlask) == {
        "import_name": inspect.Parameter.empty,
        "static_url_path": None,
        "static_folder": "static",
        "static_host": None,
        "host_matching": False,
        "subdomain_matching": False,
        "template_folder": "templates",
        "instance_path": None,
        "instance_relative_config": False,
        "root_path": None,
    }


def test_blueprint_constructor_takes_the_options_in_the_listed_order() -> None:
    listed = [
        "name",
        "import_name",
        "static_folder",
        "static_url_path",
        "template_folder",
        "url_prefix",
        "subdomain",
        "url_defaults",
        "root_path",
    ]
    assert list(params(Blueprint))[: len(listed)] == listed


def test_run_defaults() -> None:
    run = params(AsyncFlask.run)
    assert (run["host"], run["port"], run["debug"], run["load_dotenv"]) == ("127.0.0.1", 5000, None, True)


def test_url_for_keywords() -> None:
    names = params(asyncflask.url_for)
    assert {"_external", "_anchor", "_method", "_scheme"} <= set(names)
    assert all(names[key] is None for key in ("_anchor", "_method", "_scheme"))


def test_response_constructor_and_cookie_defaults() -> None:
    assert params(Response) == {
        "body": "",
        "status": 200,
        "headers": None,
        "mimetype": None,
        "content_type": None,
        "direct_passthrough": False,
    }
    cookie = params(Response.set_cookie)
    assert (cookie["samesite"], cookie["httponly"], cookie["path"]) == (None, False, "/")


def test_helpers_defaults() -> None:
    assert params(asyncflask.redirect)["code"] == 302
    assert params(asyncflask.abort)["description"] is None
    assert params(asyncflask.flash)["category"] == "message"
    flashed = params(asyncflask.get_flashed_messages)
    assert (flashed["with_categories"], tuple(flashed["category_filter"])) == (False, ())
    sent = params(asyncflask.send_file)
    assert {
        "mimetype": None,
        "as_attachment": False,
        "download_name": None,
        "conditional": True,
        "etag": True,
        "last_modified": None,
        "max_age": None,
    }.items() <= sent.items()


def test_request_json_options() -> None:
    assert {"force": False, "silent": False}.items() <= params(asyncflask.Request.get_json).items()


def test_test_request_context_options() -> None:
    assert {
        "path",
        "method",
        "headers",
        "query_string",
        "json",
        "data",
    } <= set(params(AsyncFlask.test_request_context))


async def test_test_client_is_an_httpx_client_that_keeps_redirects() -> None:
    app = AsyncFlask(__name__)
    client = app.test_client()
    try:
        assert isinstance(client, httpx.AsyncClient)
        assert isinstance(client, TestClient)
        assert str(client.base_url) == "http://localhost"
        assert client.follow_redirects is False
    finally:
        await client.aclose()


def test_websocket_test_session_methods() -> None:
    for method in ("send_text", "send_bytes", "send_json", "receive_text", "receive_bytes", "receive_json"):
        assert callable(getattr(WebSocketTestSession, method))
    assert "subprotocols" in params(TestClient.websocket)


def test_app_attributes() -> None:
    app = AsyncFlask(__name__)
    for name in ("config", "logger", "extensions", "url_map", "view_functions", "jinja_env", "json"):
        assert getattr(app, name) is not None
    assert app.name == __name__
    assert (app.debug, app.testing, app.secret_key) == (False, False, None)
    for method in ("dumps", "loads", "response"):
        assert callable(getattr(app.json, method))
