"""ASGI middleware, mounted apps, and a legacy Flask app as the fallback."""

from __future__ import annotations

import gzip
from typing import Any

import fastapi
import flask
import pytest
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket as StarletteWebSocket

from asyncflask import AsyncFlask, request, session, websocket
from asyncflask.testing import WebSocketDenied


def make_app(**config: Any) -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config.update(config)
    return app


class Tag:
    """A pure ASGI middleware that records the order it runs in and tags the response."""

    def __init__(self, app: ASGIApp, name: str, log: list[str]) -> None:
        self.app = app
        self.name = name
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.log.append(f"{self.name} in")

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-tag", self.name.encode())]
            await send(message)

        await self.app(scope, receive, tagged)
        self.log.append(f"{self.name} out")


# -- add_middleware ----------------------------------------------------------------------------------


async def test_cors_answers_preflight_and_tags_simple_requests() -> None:
    app = make_app()
    app.add_middleware(CORSMiddleware, allow_origins=["https://app.example"], allow_methods=["GET", "POST"])

    @app.get("/data")
    async def data() -> dict[str, int]:
        return {"n": 1}

    async with app.test_client() as client:
        preflight = await client.options(
            "/data",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        )
        simple = await client.get("/data", headers={"Origin": "https://app.example"})
        foreign = await client.get("/data", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 200
    assert preflight.text == "OK"  # CORS answered it; the app's automatic OPTIONS would be empty
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-methods"] == "GET, POST"
    assert simple.json() == {"n": 1}
    assert simple.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in foreign.headers


@pytest.mark.parametrize(
    ("size", "accept_encoding", "gzipped"),
    [
        pytest.param(1000, "gzip", True, id="large-gzip"),
        pytest.param(5, "gzip", False, id="below-minimum-size"),
        pytest.param(1000, "identity", False, id="client-without-gzip"),
    ],
)
async def test_gzip_middleware(size: int, accept_encoding: str, gzipped: bool) -> None:
    app = make_app()
    app.add_middleware(GZipMiddleware, minimum_size=10)

    @app.get("/text/<int:size>")
    async def text(size: int) -> str:
        return "a" * size

    async with app.test_client() as client:
        response = await client.get(f"/text/{size}", headers={"Accept-Encoding": accept_encoding})
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == ("gzip" if gzipped else None)
    if gzipped:
        assert int(response.headers["content-length"]) < size
    assert response.text == "a" * size  # httpx decodes it


async def test_gzip_body_really_is_compressed() -> None:
    app = make_app()
    app.add_middleware(GZipMiddleware, minimum_size=10)

    @app.get("/")
    async def index() -> str:
        return "hello " * 100

    headers = {"Accept-Encoding": "gzip"}
    async with app.test_client() as client, client.stream("GET", "/", headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert gzip.decompress(raw) == b"hello " * 100


async def test_last_added_middleware_is_outermost() -> None:
    app = make_app()
    log: list[str] = []
    app.add_middleware(Tag, "inner", log)
    app.add_middleware(Tag, name="outer", log=log)

    @app.get("/")
    async def index() -> str:
        log.append("view")
        return "ok"

    async with app.test_client() as client:
        response = await client.get("/")
    assert log == ["outer in", "inner in", "view", "inner out", "outer out"]
    # The inner one adds its header first.
    assert response.headers.get_list("x-tag") == ["inner", "outer"]


async def test_wrapping_asgi_app_works_with_add_middleware() -> None:
    app = make_app()
    log: list[str] = []
    app.asgi_app = Tag(app.asgi_app, "wrapped", log)  # type: ignore[method-assign]
    app.add_middleware(Tag, "added", log)

    @app.get("/")
    async def index() -> str:
        return "ok"

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "ok"
    assert log == ["added in", "wrapped in", "wrapped out", "added out"]


async def test_wrapping_asgi_app_alone() -> None:
    app = make_app()
    log: list[str] = []
    app.asgi_app = Tag(app.asgi_app, "only", log)  # type: ignore[method-assign]

    @app.get("/")
    async def index() -> str:
        return "ok"

    async with app.test_client() as client:
        response = await client.get("/")
    assert (response.text, response.headers["x-tag"]) == ("ok", "only")
    assert log == ["only in", "only out"]


async def test_middleware_sees_websockets_and_lifespan_pass_through() -> None:
    app = make_app()
    scopes: list[str] = []
    started: list[bool] = []

    class Spy:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            scopes.append(scope["type"])
            await self.app(scope, receive, send)

    app.add_middleware(Spy)

    @app.before_serving
    async def startup() -> None:
        started.append(True)

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("hi")

    async with app.test_client() as client, client.websocket("/ws") as ws:
        assert await ws.receive_text() == "hi"
    assert scopes == ["lifespan", "websocket"]
    assert started == [True]


async def test_add_middleware_after_serving_started_is_refused() -> None:
    app = make_app()

    async with app.test_client():
        with pytest.raises(RuntimeError, match="The setup method 'add_middleware' can no longer be called"):
            app.add_middleware(GZipMiddleware)


# -- mount -------------------------------------------------------------------------------------------


def make_fastapi() -> fastapi.FastAPI:
    api = fastapi.FastAPI()

    @api.get("/items/{item_id}")
    async def item(item_id: int, request: fastapi.Request) -> dict[str, Any]:
        return {"id": item_id, "root_path": request.scope["root_path"], "path": request.scope["path"]}

    @api.get("/link")
    async def link(request: fastapi.Request) -> str:
        return str(request.url_for("item", item_id=5))

    return api


async def test_mount_fastapi_app_with_its_own_routing_and_404() -> None:
    app = make_app()
    app.mount("/api", make_fastapi())

    @app.get("/")
    async def index() -> str:
        return "asyncflask"

    @app.get("/api/own")
    async def own() -> str:
        return "asyncflask wins"

    async with app.test_client() as client:
        item = await client.get("/api/items/3")
        bad = await client.get("/api/items/abc")
        missing = await client.get("/api/nowhere")
        own_response = await client.get("/api/own")
        index_response = await client.get("/")
        outside = await client.get("/elsewhere")
    assert item.status_code == 200
    assert item.json() == {"id": 3, "root_path": "/api", "path": "/api/items/3"}
    assert bad.status_code == 422  # FastAPI's own validation
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    assert own_response.text == "asyncflask wins"
    assert index_response.text == "asyncflask"
    assert outside.status_code == 404
    assert "<title>404 Not Found</title>" in outside.text  # asyncflask's page, not FastAPI's


async def test_mounted_app_url_for_includes_the_prefix() -> None:
    app = make_app()
    app.mount("/api", make_fastapi())

    async with app.test_client() as client:
        response = await client.get("/api/link")
    assert response.json() == "http://localhost/api/items/5"


async def test_mount_starlette_app_with_websockets() -> None:
    async def hello(request: StarletteRequest) -> PlainTextResponse:
        return PlainTextResponse(f"{request.scope['root_path']}|{request.url.path}")

    async def info(request: StarletteRequest) -> JSONResponse:
        return JSONResponse({"name": request.path_params["name"]})

    async def echo(ws: StarletteWebSocket) -> None:
        await ws.accept()
        await ws.send_text("sub: " + await ws.receive_text())
        await ws.close()

    sub = Starlette(
        routes=[Route("/hello", hello), Route("/info/{name}", info), WebSocketRoute("/ws", echo)]
    )
    app = make_app()
    app.mount("/sub/", sub)

    @app.websocket("/ws")
    async def own_ws() -> None:
        await websocket.send("asyncflask")

    async with app.test_client() as client:
        hello_response = await client.get("/sub/hello")
        info_response = await client.get("/sub/info/ada")
        missing = await client.get("/sub/missing")
        async with client.websocket("/sub/ws") as ws:
            await ws.send_text("hi")
            assert await ws.receive_text() == "sub: hi"
        async with client.websocket("/ws") as ws:
            assert await ws.receive_text() == "asyncflask"
    assert hello_response.text == "/sub|/sub/hello"
    assert info_response.json() == {"name": "ada"}
    assert (missing.status_code, missing.text) == (404, "Not Found")  # Starlette's own 404


async def test_mount_after_serving_started_is_refused() -> None:
    app = make_app()

    async with app.test_client():
        with pytest.raises(RuntimeError, match="The setup method 'mount' can no longer be called"):
            app.mount("/api", make_fastapi())


# -- fallback to a legacy Flask app -------------------------------------------------------------------

SECRET = "shared secret"


def make_legacy() -> flask.Flask:
    legacy = flask.Flask("legacy")
    legacy.secret_key = SECRET

    @legacy.route("/old")
    def old() -> str:
        return f"flask {flask.request.method} {flask.request.args.get('q')} {flask.request.path}"

    @legacy.post("/form")
    def form() -> dict[str, Any]:
        return {"name": flask.request.form["name"], "tags": flask.request.form.getlist("tag")}

    @legacy.route("/")
    def index() -> str:
        return "flask index"

    @legacy.post("/flask-login")
    def flask_login() -> str:
        flask.session["user"] = flask.request.form["user"]
        return "logged in on flask"

    @legacy.get("/flask-whoami")
    def flask_whoami() -> str:
        return f"flask sees {flask.session.get('user')}"

    @legacy.get("/redirect")
    def legacy_redirect() -> Any:
        return flask.redirect(flask.url_for("old"))

    return legacy


def make_migrating_app() -> AsyncFlask:
    app = make_app(SECRET_KEY=SECRET)

    @app.get("/")
    async def index() -> str:
        return "asyncflask index"

    @app.post("/login")
    async def login() -> str:
        session["user"] = (await request.form)["user"]
        return "logged in on asyncflask"

    @app.get("/whoami")
    async def whoami() -> str:
        return f"asyncflask sees {session.get('user')}"

    app.fallback(make_legacy())
    return app


async def test_fallback_serves_unrouted_paths_from_flask() -> None:
    app = make_migrating_app()

    async with app.test_client() as client:
        old = await client.get("/old?q=1")
        form = await client.post("/form", data={"name": "Ada", "tag": ["a", "b"]})
        index = await client.get("/")
        missing = await client.get("/gone")
        redirect = await client.get("/redirect")
    assert (old.status_code, old.text) == (200, "flask GET 1 /old")
    assert form.json() == {"name": "Ada", "tags": ["a", "b"]}
    assert index.text == "asyncflask index"  # asyncflask's routes win
    assert missing.status_code == 404
    assert "The requested URL was not found on the server." in missing.text
    assert (redirect.status_code, redirect.headers["location"]) == (302, "/old")


async def test_fallback_shares_the_login_from_flask_to_asyncflask() -> None:
    app = make_migrating_app()

    async with app.test_client() as client:
        assert (await client.post("/flask-login", data={"user": "ada"})).text == "logged in on flask"
        response = await client.get("/whoami")
    assert response.text == "asyncflask sees ada"


async def test_fallback_shares_the_login_from_asyncflask_to_flask() -> None:
    app = make_migrating_app()

    async with app.test_client() as client:
        assert (await client.post("/login", data={"user": "grace"})).text == "logged in on asyncflask"
        response = await client.get("/flask-whoami")
    assert response.text == "flask sees grace"


async def test_fallback_does_not_take_websockets() -> None:
    app = make_migrating_app()

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/old"):
                pass
    assert denied.value.status_code == 404


class OtherApp:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse(f"other {scope['path']}")(scope, receive, send)


async def other_app(scope: Scope, receive: Receive, send: Send) -> None:
    await OtherApp()(scope, receive, send)


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(OtherApp(), id="asgi-instance"),
        pytest.param(other_app, id="asgi-function"),
    ],
)
async def test_fallback_asgi_app_and_method_not_allowed_stays_with_asyncflask(other: ASGIApp) -> None:
    app = make_app()
    app.fallback(other)

    @app.get("/mine")
    async def mine() -> str:
        return "mine"

    async with app.test_client() as client:
        unrouted = await client.get("/theirs")
        wrong_method = await client.post("/mine")
    assert unrouted.text == "other /theirs"
    assert wrong_method.status_code == 405  # a known path stays asyncflask's
