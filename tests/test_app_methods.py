"""Flask's app methods: calling them works, and overriding one changes every request, as in Flask."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from asyncflask import AsyncFlask, Response, current_app, g, redirect, request
from asyncflask.exceptions import HTTPException, NotFound
from asyncflask.testing import make_test_scope


def add_routes(app: AsyncFlask) -> AsyncFlask:
    @app.get("/")
    async def index() -> str:
        return "index"

    @app.get("/boom")
    async def boom() -> str:
        raise ValueError("boom")

    @app.get("/missing")
    async def missing() -> str:
        raise NotFound()

    return app


async def test_overriding_process_response_changes_every_response() -> None:
    class Stamped(AsyncFlask):
        async def process_response(self, response: Any) -> Any:
            response = await super().process_response(response)
            response.headers["X-Stamp"] = "yes"
            return response

    app = add_routes(Stamped(__name__))

    @app.after_request
    async def after(response: Response) -> Response:
        response.headers["X-After"] = "ran"
        return response

    async with app.test_client() as client:
        ok = await client.get("/")
        missing = await client.get("/missing")
    assert (ok.text, ok.headers["x-stamp"], ok.headers["x-after"]) == ("index", "yes", "ran")
    assert (missing.status_code, missing.headers["x-stamp"]) == (404, "yes")


async def test_overriding_full_and_dispatch_request() -> None:
    calls: list[str] = []

    class Traced(AsyncFlask):
        async def full_dispatch_request(self) -> Any:
            calls.append("full")
            return await super().full_dispatch_request()

        async def dispatch_request(self) -> Any:
            rv = await super().dispatch_request()
            return f"[{rv}]" if isinstance(rv, str) else rv

        async def preprocess_request(self) -> Any:
            calls.append("pre")
            return await super().preprocess_request()

    app = add_routes(Traced(__name__))
    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "[index]"
    assert calls == ["full", "pre"]


async def test_overriding_handle_exception_and_log_exception() -> None:
    logged: list[BaseException] = []

    class Quiet(AsyncFlask):
        def log_exception(self, exc_info: Any) -> None:
            logged.append(exc_info[1])

        async def handle_exception(self, e: Exception) -> Any:
            response = await super().handle_exception(e)
            response.headers["X-Handled"] = type(e).__name__
            return response

    app = add_routes(Quiet(__name__))
    async with app.test_client() as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["x-handled"] == "ValueError"
    assert [str(error) for error in logged] == ["boom"]


async def test_overriding_handle_http_exception_and_user_exception() -> None:
    class Friendly(AsyncFlask):
        async def handle_http_exception(self, e: HTTPException) -> Any:
            return f"friendly {e.code}", e.code

        async def handle_user_exception(self, e: Exception) -> Any:
            if isinstance(e, ValueError):
                return "value error handled", 422
            return await super().handle_user_exception(e)

    app = add_routes(Friendly(__name__))
    async with app.test_client() as client:
        missing = await client.get("/missing")
        unrouted = await client.get("/nowhere")
        boom = await client.get("/boom")
    assert (missing.status_code, missing.text) == (404, "friendly 404")
    assert (unrouted.status_code, unrouted.text) == (404, "friendly 404")
    assert (boom.status_code, boom.text) == (422, "value error handled")


async def test_trap_http_exception_override_raises_in_tests() -> None:
    class Trapping(AsyncFlask):
        def trap_http_exception(self, e: Exception) -> bool:
            return isinstance(e, NotFound)

    app = add_routes(Trapping(__name__))
    app.testing = True
    async with app.test_client() as client:
        with pytest.raises(NotFound):
            await client.get("/missing")


async def test_overriding_default_options_and_routing_exception() -> None:
    class Custom(AsyncFlask):
        def make_default_options_response(self) -> Response:
            response = super().make_default_options_response()
            response.headers["X-Options"] = "custom"
            return response

        def raise_routing_exception(self, request: Any) -> Any:
            raise NotFound(f"No page at {request.path}.")

    app = add_routes(Custom(__name__))
    async with app.test_client() as client:
        options = await client.options("/")
        missing = await client.get("/nowhere")
    assert options.headers["x-options"] == "custom"
    assert sorted(options.headers["allow"].split(", ")) == ["GET", "HEAD", "OPTIONS"]
    assert missing.status_code == 404 and "No page at /nowhere." in missing.text


async def test_should_ignore_error_and_teardown_overrides() -> None:
    seen: list[Any] = []

    class Ignoring(AsyncFlask):
        def should_ignore_error(self, error: BaseException | None) -> bool:
            return isinstance(error, ValueError)

        async def do_teardown_request(self, exc: Any = None) -> None:
            seen.append(("request", exc))
            await super().do_teardown_request(exc)

        async def do_teardown_appcontext(self, exc: Any = None) -> None:
            seen.append(("app", exc))
            await super().do_teardown_appcontext(exc)

    app = add_routes(Ignoring(__name__))

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen.append(("hook", exc))

    client = app.test_client()  # no lifespan, whose app contexts would be torn down too
    assert (await client.get("/boom")).status_code == 500
    await client.aclose()
    assert seen == [("request", None), ("hook", None), ("app", None)]


async def test_redirect_and_send_file_max_age_overrides(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("static")

    class Tuned(AsyncFlask):
        def redirect(self, location: str, code: int = 302) -> Response:
            return super().redirect(location, 303)

        def get_send_file_max_age(self, filename: str | None) -> int | None:
            return 123

    app = Tuned(__name__, static_folder=str(tmp_path), static_url_path="/static")

    @app.get("/go")
    async def go() -> Response:
        return redirect("/there")

    async with app.test_client() as client:
        moved = await client.get("/go")
        static = await client.get("/static/a.txt")
    assert (moved.status_code, moved.headers["location"]) == (303, "/there")
    assert static.headers["cache-control"] == "public, max-age=123"


def test_get_send_file_max_age_reads_the_config() -> None:
    app = AsyncFlask(__name__)
    assert app.get_send_file_max_age("x") is None
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = timedelta(hours=1)
    assert app.get_send_file_max_age("x") == 3600
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 60
    assert app.get_send_file_max_age("x") == 60


async def test_the_methods_can_be_called_in_a_request_context() -> None:
    app = add_routes(AsyncFlask(__name__))

    @app.before_request
    async def early() -> str | None:
        return "early" if request.args.get("early") else None

    async with app.test_request_context("/?early=1"):
        assert await app.preprocess_request() == "early"
    async with app.test_request_context("/"):
        assert await app.preprocess_request() is None
        assert await app.dispatch_request() == "index"
        response = await app.full_dispatch_request()
        assert (response.status_code, response.get_data()) == (200, b"index")
    with pytest.raises(RuntimeError, match="request context"):
        await app.dispatch_request()


async def test_request_context_from_a_scope() -> None:
    app = add_routes(AsyncFlask(__name__))
    scope, _ = make_test_scope(app, "/?x=1")
    async with app.request_context(scope):
        assert (request.path, request.args["x"], request.endpoint) == ("/", "1", "index")


# --- ensure_sync / async_to_sync: how sync extension code calls async views --------------------


def sync_decorator(view: Callable[..., Any]) -> Callable[..., Any]:
    """What Flask-Login's `login_required` does: a plain function calling `ensure_sync(view)`."""

    @functools.wraps(view)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        g.checked = True
        return current_app.ensure_sync(view)(*args, **kwargs)

    return decorated


async def test_ensure_sync_lets_a_sync_decorator_wrap_an_async_view() -> None:
    app = AsyncFlask(__name__)

    @app.get("/hello/<name>")
    @sync_decorator
    async def hello(name: str) -> str:
        return f"hello {name}, checked={g.checked}"

    async with app.test_client() as client:
        response = await client.get("/hello/ann")
    assert (response.status_code, response.text) == (200, "hello ann, checked=True")


async def test_async_to_sync_from_a_sync_view_sees_the_request() -> None:
    app = AsyncFlask(__name__)

    async def lookup(key: str) -> str:
        return f"{key}={request.args[key]}"

    @app.get("/sync")
    def sync_view() -> str:
        return str(current_app.async_to_sync(lookup)("q"))

    async with app.test_client() as client:
        response = await client.get("/sync?q=42")
    assert (response.status_code, response.text) == (200, "q=42")


async def test_async_to_sync_on_the_event_loop_is_a_clear_error() -> None:
    app = AsyncFlask(__name__)

    async def work() -> int:
        return 1

    with pytest.raises(RuntimeError, match="worker threads"):
        app.async_to_sync(work)()
    plain = app.ensure_sync(len)
    assert plain is len


async def test_default_log_exception_names_the_request(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)
    error = ValueError("x")
    with caplog.at_level(logging.ERROR):
        async with app.test_request_context("/orders", method="POST"):
            app.log_exception((ValueError, error, None))
        app.log_exception((ValueError, error, None))
    inside, outside = caplog.records[-2:]
    assert inside.getMessage() == "Exception on /orders [POST]"
    assert inside.exc_info is not None and inside.exc_info[1] is error
    assert outside.getMessage() == "Exception"
