"""The application object: construction, configuration, ASGI entry, and the test client."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asyncflask import AsyncFlask, Response, redirect, request
from asyncflask.config import Config
from asyncflask.json import JSONProvider
from asyncflask.routing import Map, Rule
from asyncflask.testing import TestClient, make_test_scope

HERE = os.path.dirname(os.path.abspath(__file__))


async def _call(app: AsyncFlask, method: str = "GET", path: str = "/") -> list[Message]:
    """Call the app as a server would, with a bodiless request; the messages it sent."""
    scope, receive = make_test_scope(app, path, method, base_url="http://example.com")
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


# -- construction -----------------------------------------------------------------------------


def test_defaults() -> None:
    app = AsyncFlask(__name__)
    assert app.import_name == __name__
    assert app.name == __name__
    assert app.root_path == HERE
    assert app.static_folder == os.path.join(HERE, "static")
    assert app.static_url_path == "/static"
    assert app.has_static_folder
    assert app.template_folder == "templates"
    assert app.instance_path == os.path.join(HERE, "instance")
    assert isinstance(app.config, Config)
    assert app.config.root_path == HERE
    assert isinstance(app.url_map, Map)
    assert not app.url_map.host_matching
    assert not app.url_map.subdomain_matching
    [static] = app.url_map.iter_rules("static")
    assert static.rule == "/static/<path:filename>"
    assert list(app.view_functions) == ["static"]
    assert repr(app) == f"<AsyncFlask {__name__!r}>"


def test_static_options() -> None:
    app = AsyncFlask(__name__, static_url_path="/assets", static_folder="public")
    assert app.static_url_path == "/assets"
    assert app.static_folder == os.path.join(HERE, "public")
    assert [rule.rule for rule in app.url_map.iter_rules("static")] == ["/assets/<path:filename>"]

    folder_named = AsyncFlask(__name__, static_folder="files")
    assert folder_named.static_url_path == "/files"


def test_without_a_static_folder_there_is_no_static_rule() -> None:
    app = AsyncFlask(__name__, static_folder=None)
    assert app.static_folder is None
    assert app.static_url_path is None
    assert not app.has_static_folder
    assert list(app.url_map) == []
    assert app.view_functions == {}


def test_static_host_needs_host_matching() -> None:
    app = AsyncFlask(__name__, host_matching=True, static_host="static.example.com")
    assert app.url_map.host_matching
    [static] = app.url_map.iter_rules("static")
    assert static.host == "static.example.com"
    with pytest.raises(ValueError, match="host_matching"):
        AsyncFlask(__name__, static_host="static.example.com")
    with pytest.raises(ValueError, match="host_matching"):
        AsyncFlask(__name__, host_matching=True)
    assert AsyncFlask(__name__, host_matching=True, static_folder=None).url_map.host_matching


def test_subdomain_matching_option() -> None:
    assert AsyncFlask(__name__, subdomain_matching=True).url_map.subdomain_matching


def test_paths_and_instance_options(tmp_path: Any) -> None:
    root = str(tmp_path / "root")
    instance = str(tmp_path / "instance")
    app = AsyncFlask(__name__, root_path=root, instance_path=instance, template_folder="tpl")
    assert app.root_path == root
    assert app.instance_path == instance
    assert app.template_folder == "tpl"
    assert app.static_folder == os.path.join(root, "static")
    assert app.config.root_path == root

    relative = AsyncFlask(__name__, instance_path=instance, instance_relative_config=True)
    assert relative.config.root_path == instance

    with pytest.raises(ValueError, match="absolute"):
        AsyncFlask(__name__, instance_path="relative/instance")


@pytest.mark.parametrize(
    ("import_name", "main_file", "expected"),
    [
        pytest.param("myapp", None, "myapp", id="module"),
        pytest.param("pkg.sub.app", None, "pkg.sub.app", id="dotted"),
        pytest.param("__main__", "/somewhere/run_me.py", "run_me", id="main-script"),
        pytest.param("__main__", "missing", "__main__", id="main-without-file"),
    ],
)
def test_name(
    monkeypatch: pytest.MonkeyPatch, import_name: str, main_file: str | None, expected: str
) -> None:
    main = sys.modules["__main__"]
    if main_file == "missing":
        monkeypatch.delattr(main, "__file__", raising=False)
    elif main_file is not None:
        monkeypatch.setattr(main, "__file__", main_file, raising=False)
    app = AsyncFlask(import_name, root_path=HERE)
    assert app.name == expected


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("TESTING", False, id="TESTING"),
        pytest.param("PROPAGATE_EXCEPTIONS", None, id="PROPAGATE_EXCEPTIONS"),
        pytest.param("SECRET_KEY", None, id="SECRET_KEY"),
        pytest.param("SECRET_KEY_FALLBACKS", None, id="SECRET_KEY_FALLBACKS"),
        pytest.param("SESSION_COOKIE_NAME", "session", id="SESSION_COOKIE_NAME"),
        pytest.param("SESSION_COOKIE_DOMAIN", None, id="SESSION_COOKIE_DOMAIN"),
        pytest.param("SESSION_COOKIE_PATH", None, id="SESSION_COOKIE_PATH"),
        pytest.param("SESSION_COOKIE_HTTPONLY", True, id="SESSION_COOKIE_HTTPONLY"),
        pytest.param("SESSION_COOKIE_SECURE", False, id="SESSION_COOKIE_SECURE"),
        pytest.param("SESSION_COOKIE_SAMESITE", None, id="SESSION_COOKIE_SAMESITE"),
        pytest.param("SESSION_REFRESH_EACH_REQUEST", True, id="SESSION_REFRESH_EACH_REQUEST"),
        pytest.param("PERMANENT_SESSION_LIFETIME", timedelta(days=31), id="PERMANENT_SESSION_LIFETIME"),
        pytest.param("MAX_CONTENT_LENGTH", None, id="MAX_CONTENT_LENGTH"),
        pytest.param("MAX_FORM_MEMORY_SIZE", 500_000, id="MAX_FORM_MEMORY_SIZE"),
        pytest.param("MAX_FORM_PARTS", 1000, id="MAX_FORM_PARTS"),
        pytest.param("SEND_FILE_MAX_AGE_DEFAULT", None, id="SEND_FILE_MAX_AGE_DEFAULT"),
        pytest.param("TEMPLATES_AUTO_RELOAD", None, id="TEMPLATES_AUTO_RELOAD"),
        pytest.param("SERVER_NAME", None, id="SERVER_NAME"),
        pytest.param("APPLICATION_ROOT", "/", id="APPLICATION_ROOT"),
        pytest.param("PREFERRED_URL_SCHEME", "http", id="PREFERRED_URL_SCHEME"),
        pytest.param("TRAP_HTTP_EXCEPTIONS", False, id="TRAP_HTTP_EXCEPTIONS"),
        pytest.param("TRAP_BAD_REQUEST_ERRORS", None, id="TRAP_BAD_REQUEST_ERRORS"),
        pytest.param("EXPLAIN_TEMPLATE_LOADING", False, id="EXPLAIN_TEMPLATE_LOADING"),
        pytest.param("TRUSTED_HOSTS", None, id="TRUSTED_HOSTS"),
    ],
)
def test_config_defaults(key: str, expected: Any) -> None:
    app = AsyncFlask(__name__)
    assert app.config[key] == expected
    assert type(app.config[key]) is type(expected)


def test_debug_is_off_by_default() -> None:
    app = AsyncFlask(__name__)
    assert app.debug is False
    assert not app.config["DEBUG"]


def test_config_is_per_app() -> None:
    first = AsyncFlask(__name__)
    second = AsyncFlask(__name__)
    first.config["SECRET_KEY"] = "only first"
    assert second.config["SECRET_KEY"] is None


@pytest.mark.parametrize(
    ("attribute", "key", "first", "second"),
    [
        pytest.param("debug", "DEBUG", True, False, id="debug"),
        pytest.param("testing", "TESTING", True, False, id="testing"),
        pytest.param("secret_key", "SECRET_KEY", "s3cr3t", "other", id="secret_key"),
    ],
)
def test_attributes_are_bound_to_config(attribute: str, key: str, first: Any, second: Any) -> None:
    app = AsyncFlask(__name__)
    setattr(app, attribute, first)
    assert app.config[key] == first
    app.config[key] = second
    assert getattr(app, attribute) == second
    app.config.from_mapping({key: first})
    assert getattr(app, attribute) == first


def test_permanent_session_lifetime_accepts_seconds() -> None:
    app = AsyncFlask(__name__)
    app.config["PERMANENT_SESSION_LIFETIME"] = 60
    assert app.permanent_session_lifetime == timedelta(seconds=60)


# -- logger, extensions, registries, json -----------------------------------------------------


def test_logger(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)
    assert isinstance(app.logger, logging.Logger)
    assert app.logger.name == app.name
    assert app.logger is app.logger
    assert app.logger is logging.getLogger(app.name)
    app.logger.error("an error from the app")
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == app.name] == [
        ("ERROR", "an error from the app")
    ]


def test_logger_of_a_debug_app_shows_debug_messages() -> None:
    app = AsyncFlask("asyncflask_test_debug_logger_app")
    app.debug = True
    assert app.logger.isEnabledFor(logging.DEBUG)


def test_extensions_are_a_dict_per_app() -> None:
    first = AsyncFlask(__name__)
    second = AsyncFlask(__name__)
    assert first.extensions == {}
    first.extensions["db"] = object()
    assert "db" not in second.extensions


def test_url_map_and_view_functions() -> None:
    app = AsyncFlask(__name__, static_folder=None)

    @app.route("/")
    async def index() -> str:
        return "index"

    @app.route("/user/<int:id>/<name>", methods=["GET", "POST"], endpoint="user_page")
    async def user(id: int, name: str) -> str:
        return name

    async def by_rule() -> str:
        return "rule"

    app.add_url_rule("/added", view_func=by_rule)

    assert app.view_functions == {"index": index, "user_page": user, "by_rule": by_rule}
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    assert list(rules) == ["index", "user_page", "by_rule"]
    assert [rule.endpoint for rule in app.url_map] == ["index", "user_page", "by_rule"]
    assert rules["user_page"].rule == "/user/<int:id>/<name>"
    assert rules["user_page"].arguments == {"id", "name"}
    assert rules["user_page"].methods is not None
    assert {"GET", "POST", "HEAD"} <= rules["user_page"].methods
    assert rules["index"].arguments == set()
    assert all(isinstance(rule, Rule) for rule in app.url_map)


def test_route_returns_the_function_unchanged() -> None:
    app = AsyncFlask(__name__)

    async def view() -> str:
        return "x"

    assert app.route("/")(view) is view
    assert app.get("/get")(view) is view


def test_endpoint_conflict() -> None:
    app = AsyncFlask(__name__)

    @app.route("/a")
    async def page() -> str:
        return "a"

    async def other() -> str:
        return "b"

    with pytest.raises(ValueError, match="overwriting an existing endpoint function: page"):
        app.add_url_rule("/b", endpoint="page", view_func=other)
    # The same function under a second rule is fine.
    app.add_url_rule("/a2", endpoint="page", view_func=page)


def test_json_provider() -> None:
    app = AsyncFlask(__name__)
    assert isinstance(app.json, JSONProvider)
    assert app.json.loads(app.json.dumps({"a": [1, 2]})) == {"a": [1, 2]}
    assert app.json.loads(b'{"b": null}') == {"b": None}
    response = app.json.response({"key": "value"})
    assert isinstance(response, Response)
    assert response.mimetype == "application/json"
    assert app.json.loads(bytes(response.body)) == {"key": "value"}


async def test_setup_after_serving_started_is_refused() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        return "ok"

    async with app.test_client() as client:
        await client.get("/")

    async def late() -> str:
        return "late"

    with pytest.raises(RuntimeError, match="can no longer be called"):
        app.add_url_rule("/late", view_func=late)
    with pytest.raises(RuntimeError, match="can no longer be called"):
        app.before_request(late)


# -- ASGI -------------------------------------------------------------------------------------


async def test_app_is_an_asgi_callable() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        return f"hello {request.host}"

    messages = await _call(app)
    assert messages[0]["type"] == "http.response.start"
    assert messages[0]["status"] == 200
    headers = dict(messages[0]["headers"])
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert headers[b"content-length"] == b"17"
    body = b"".join(m.get("body", b"") for m in messages[1:])
    assert body == b"hello example.com"

    head = await _call(app, "HEAD")
    assert head[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in head[1:]) == b""

    missing = await _call(app, path="/missing")
    assert missing[0]["status"] == 404


class AddHeader:
    """A tiny ASGI middleware that adds a header to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-middleware", b"yes")]}
            await send(message)

        await self.app(scope, receive, send_with_header if scope["type"] == "http" else send)


async def test_asgi_app_can_be_wrapped_with_middleware() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        return "wrapped"

    started: list[str] = []

    @app.before_serving
    async def startup() -> None:
        started.append("yes")

    app.asgi_app = AddHeader(app.asgi_app)  # type: ignore[method-assign]

    messages = await _call(app)
    assert (b"x-middleware", b"yes") in messages[0]["headers"]

    async with app.test_client() as client:
        response = await client.get("/")
        assert response.text == "wrapped"
        assert response.headers["x-middleware"] == "yes"
        assert (await client.get("/missing")).headers["x-middleware"] == "yes"
    assert started == ["yes"]  # the lifespan goes through the middleware too


# -- the test client --------------------------------------------------------------------------


async def test_test_client_is_an_httpx_client() -> None:
    app = AsyncFlask(__name__)

    @app.route("/where")
    async def where() -> str:
        return request.url

    @app.route("/old")
    async def old() -> Response:
        return redirect("/new")

    client = app.test_client()
    assert isinstance(client, httpx.AsyncClient)
    assert isinstance(client, TestClient)
    assert client.base_url == httpx.URL("http://localhost")
    assert client.follow_redirects is False
    async with client:
        assert (await client.get("/where?x=1")).text == "http://localhost/where?x=1"
        response = await client.get("/old")
        assert response.status_code == 302
        assert response.headers["location"] == "/new"
        assert response.next_request is not None


async def test_test_client_keeps_cookies() -> None:
    app = AsyncFlask(__name__)

    @app.route("/set")
    async def set_cookie() -> Response:
        response = Response("set")
        response.set_cookie("flavour", "oatmeal")
        return response

    @app.route("/get")
    async def get_cookie() -> str:
        return request.cookies.get("flavour", "none")

    async with app.test_client() as client:
        assert (await client.get("/get")).text == "none"
        await client.get("/set")
        assert client.cookies["flavour"] == "oatmeal"
        assert (await client.get("/get")).text == "oatmeal"
    async with app.test_client() as fresh:
        assert (await fresh.get("/get")).text == "none"


async def test_test_client_sends_bodies() -> None:
    app = AsyncFlask(__name__)

    @app.post("/echo")
    async def echo() -> dict[str, Any]:
        return {"json": await request.get_json(), "args": request.args.to_dict()}

    async with app.test_client() as client:
        response = await client.post("/echo", params={"a": "1"}, json={"b": [2]})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"json": {"b": [2]}, "args": {"a": "1"}}


async def test_stream_reads_an_endless_response_and_closing_cancels_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = AsyncFlask(__name__)
    finished = asyncio.Event()
    produced: list[int] = []

    @app.route("/endless")
    async def endless() -> Response:
        async def generate() -> AsyncIterator[str]:
            n = 0
            try:
                while True:
                    produced.append(n)
                    yield f"chunk {n}\n"
                    n += 1
                    await asyncio.sleep(0)
            finally:
                finished.set()

        return Response(generate(), mimetype="text/plain")

    async with app.test_client() as client:
        async with client.stream("GET", "/endless") as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/plain; charset=utf-8"
            chunks = response.aiter_raw()
            assert await chunks.__anext__() == b"chunk 0\n"
            assert await chunks.__anext__() == b"chunk 1\n"
            assert await chunks.__anext__() == b"chunk 2\n"
            await chunks.aclose()  # type: ignore[attr-defined]
        await asyncio.wait_for(finished.wait(), 5)
        # Bounded: the app waited for the reader instead of running ahead without limit.
        assert len(produced) < 1000
        # The client still works afterwards.
        async with client.stream("GET", "/endless") as response:
            assert await response.aiter_raw().__anext__() == b"chunk 0\n"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_stream_from_a_generator_returned_by_the_view() -> None:
    app = AsyncFlask(__name__)
    release = asyncio.Event()

    @app.route("/events")
    async def events() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            yield b"first"
            await release.wait()
            yield b"second"

        return generate()

    async with app.test_client() as client:
        async with client.stream("GET", "/events") as response:
            chunks = response.aiter_raw()
            # The first chunk arrives while the app is still waiting to send the second.
            assert await asyncio.wait_for(chunks.__anext__(), 5) == b"first"
            release.set()
            assert await chunks.__anext__() == b"second"


@pytest.fixture
async def served_client() -> AsyncIterator[TestClient]:
    """A client entered (lifespan and all) in an async fixture and closed in its teardown."""
    app = AsyncFlask(__name__)
    app.extensions["events"] = []

    @app.before_serving
    async def start() -> None:
        app.extensions["events"].append("started")

    @app.after_serving
    async def stop() -> None:
        app.extensions["events"].append("stopped")

    @app.route("/")
    async def index() -> str:
        return "from fixture"

    async with app.test_client() as client:
        yield client
    assert app.extensions["events"] == ["started", "stopped"]


async def test_client_from_an_async_fixture(served_client: TestClient) -> None:
    response = await served_client.get("/")
    assert (response.status_code, response.text) == (200, "from fixture")
    assert served_client.app.extensions["events"] == ["started"]
    responses = await asyncio.gather(*(served_client.get("/") for _ in range(10)))
    assert {r.text for r in responses} == {"from fixture"}
