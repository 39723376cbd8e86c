"""Request hooks, error handlers, and what happens to errors nobody handles."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import werkzeug.exceptions
from starlette.types import Message, Scope

from asyncflask import AsyncFlask, Response, abort, after_this_request, g, has_request_context, request
from asyncflask.exceptions import (
    Forbidden,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
)
from asyncflask.testing import make_test_scope
from asyncflask.wrappers import Request

INTERNAL_ERROR_PAGE = InternalServerError().get_body()


def _errors(caplog: pytest.LogCaptureFixture, app: AsyncFlask) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == app.name and r.levelno >= logging.ERROR]


def _raw_scope(
    app: AsyncFlask, method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> Scope:
    """The scope a server would pass for this request (its own `receive` is made by the test)."""
    return make_test_scope(app, path, method, headers)[0]


class ParentError(Exception):
    pass


class ChildError(ParentError):
    pass


class GrandChildError(ChildError):
    pass


# -- before_request ---------------------------------------------------------------------------


async def test_before_request_runs_in_order_before_the_view() -> None:
    app = AsyncFlask(__name__)
    calls: list[str] = []

    @app.before_request
    async def first() -> None:
        calls.append("first")

    @app.before_request
    def second() -> None:
        calls.append("second")

    @app.route("/")
    async def index() -> str:
        calls.append("view")
        return "ok"

    async with app.test_client() as client:
        assert (await client.get("/")).text == "ok"
    assert calls == ["first", "second", "view"]


@pytest.mark.parametrize(
    ("returned", "status", "body"),
    [
        pytest.param("stopped", 200, "stopped", id="string"),
        pytest.param(("denied", 403), 403, "denied", id="tuple"),
        pytest.param({"error": "nope"}, 200, '{"error":"nope"}', id="dict"),
    ],
)
async def test_before_request_return_value_short_circuits(returned: Any, status: int, body: str) -> None:
    app = AsyncFlask(__name__)
    calls: list[str] = []

    @app.before_request
    async def stop() -> Any:
        calls.append("stop")
        return returned

    @app.before_request
    async def never() -> None:
        calls.append("never")

    @app.route("/")
    async def index() -> str:
        calls.append("view")
        return "view"

    @app.after_request
    async def after(response: Response) -> Response:
        calls.append("after")
        response.headers["X-After"] = "ran"
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        calls.append(f"teardown {exc}")

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == status
    assert response.text.replace(" ", "").strip() == body.replace(" ", "")
    assert response.headers["x-after"] == "ran"
    assert calls == ["stop", "after", "teardown None"]


async def test_abort_in_before_request() -> None:
    app = AsyncFlask(__name__)
    calls: list[str] = []

    @app.before_request
    async def guard() -> None:
        if request.headers.get("X-Token") != "secret":
            abort(403, description="No token.")

    @app.route("/")
    async def index() -> str:
        calls.append("view")
        return "secret data"

    @app.after_request
    async def after(response: Response) -> Response:
        calls.append(f"after {response.status_code}")
        return response

    async with app.test_client() as client:
        response = await client.get("/")
        assert response.status_code == 403
        assert "No token." in response.text
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        response = await client.get("/", headers={"X-Token": "secret"})
        assert response.text == "secret data"
    assert calls == ["after 403", "view", "after 200"]


async def test_exception_in_before_request_goes_to_error_handler() -> None:
    app = AsyncFlask(__name__)

    @app.before_request
    async def broken() -> None:
        raise ChildError("from hook")

    @app.errorhandler(ChildError)
    async def handle(error: ChildError) -> tuple[str, int]:
        return f"handled {error}", 418

    @app.route("/")
    async def index() -> str:
        return "unreachable"

    async with app.test_client() as client:
        response = await client.get("/")
    assert (response.status_code, response.text) == (418, "handled from hook")


# -- after_request, after_this_request --------------------------------------------------------


async def test_after_request_runs_in_reverse_registration_order() -> None:
    app = AsyncFlask(__name__)

    @app.after_request
    async def registered_first(response: Response) -> Response:
        response.headers.append("X-Order", "first")
        return response

    @app.after_request
    def registered_second(response: Response) -> Response:
        response.headers.append("X-Order", "second")
        return response

    @app.after_request
    async def registered_third(response: Response) -> Response:
        response.headers.append("X-Order", "third")
        return response

    @app.route("/")
    async def index() -> str:
        @after_this_request
        async def this_request(response: Response) -> Response:
            response.headers.append("X-Order", "this request")
            return response

        return "ok"

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.headers.get_list("x-order") == ["this request", "third", "second", "first"]


async def test_after_request_can_replace_the_response() -> None:
    app = AsyncFlask(__name__)

    @app.after_request
    async def replace(response: Response) -> Response:
        return Response(f"replaced {response.status_code}", status=202)

    @app.route("/")
    async def index() -> str:
        return "original"

    async with app.test_client() as client:
        response = await client.get("/")
    assert (response.status_code, response.text) == (202, "replaced 200")


async def test_after_request_runs_for_errors_too() -> None:
    app = AsyncFlask(__name__)

    @app.after_request
    async def mark(response: Response) -> Response:
        response.headers["X-Seen"] = str(response.status_code)
        return response

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("boom")

    async with app.test_client() as client:
        assert (await client.get("/missing")).headers["x-seen"] == "404"
        assert (await client.get("/boom")).headers["x-seen"] == "500"


# -- teardown ---------------------------------------------------------------------------------


async def test_teardown_request_gets_none_after_success() -> None:
    app = AsyncFlask(__name__)
    seen: list[BaseException | None] = []

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.route("/")
    async def index() -> str:
        return "ok"

    async with app.test_client() as client:
        await client.get("/")
    assert seen == [None]


async def test_teardown_request_gets_the_exception_when_the_view_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = AsyncFlask(__name__)
    seen: list[tuple[str, BaseException | None]] = []

    @app.teardown_request
    async def request_teardown(exc: BaseException | None) -> None:
        seen.append(("request", exc))
        assert request.path == "/boom"

    @app.teardown_appcontext
    async def app_teardown(exc: BaseException | None) -> None:
        seen.append(("app", exc))

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("broken view")

    async with app.test_client() as client:
        seen.clear()  # the lifespan's app context has ended once already
        response = await client.get("/boom")
        assert response.status_code == 500
        assert [kind for kind, _ in seen] == ["request", "app"]
    for _, exc in seen[:2]:
        assert isinstance(exc, ValueError) and str(exc) == "broken view"
    # Shutdown runs in an app context of its own, which ends cleanly.
    assert seen[2:] == [("app", None)]


async def test_teardown_request_runs_when_the_exception_propagates() -> None:
    app = AsyncFlask(__name__)
    app.testing = True
    seen: list[BaseException | None] = []

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("propagated")

    async with app.test_client() as client:
        with pytest.raises(ValueError, match="propagated"):
            await client.get("/boom")
    assert len(seen) == 1 and isinstance(seen[0], ValueError)


async def test_every_teardown_runs_when_one_raises(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)
    calls: list[str] = []

    @app.teardown_request
    async def registered_first(exc: BaseException | None) -> None:
        calls.append("first")

    @app.teardown_request
    async def broken_teardown(exc: BaseException | None) -> None:
        calls.append("broken")
        raise RuntimeError("teardown failed")

    @app.teardown_request
    def registered_last(exc: BaseException | None) -> None:
        calls.append("last")

    @app.teardown_appcontext
    async def broken_app_teardown(exc: BaseException | None) -> None:
        calls.append("app broken")
        raise KeyError("app teardown failed")

    @app.teardown_appcontext
    async def app_teardown(exc: BaseException | None) -> None:
        calls.append("app")

    @app.route("/")
    async def index() -> str:
        return "ok"

    # Without the lifespan (whose app contexts would run the app teardowns too).
    client = app.test_client()
    try:
        response = await client.get("/")
        assert (response.status_code, response.text) == (200, "ok")
        assert (await client.get("/")).text == "ok"  # the next request is served normally
    finally:
        await client.aclose()
    # Teardowns run in reverse registration order, request ones before app ones.
    assert calls == ["last", "broken", "first", "app", "app broken"] * 2
    errors = _errors(caplog, app)
    assert len(errors) == 4
    logged = [record.exc_info[1] for record in errors if record.exc_info]
    assert [type(e) for e in logged] == [RuntimeError, KeyError] * 2
    assert "broken_teardown" in errors[0].getMessage()


async def test_teardown_appcontext_runs_after_each_request() -> None:
    app = AsyncFlask(__name__)
    seen: list[str] = []

    @app.teardown_appcontext
    async def app_teardown(exc: BaseException | None) -> None:
        if has_request_context():  # not the lifespan's app contexts
            seen.append(g.get("marker", "unset"))

    @app.route("/")
    async def index() -> str:
        g.marker = request.args["m"]
        return "ok"

    async with app.test_client() as client:
        await client.get("/?m=one")
        await client.get("/?m=two")
    assert seen == ["one", "two"]


# -- url_value_preprocessor, context_processor ------------------------------------------------


async def test_url_value_preprocessor() -> None:
    app = AsyncFlask(__name__)
    seen: list[tuple[str | None, dict[str, Any] | None]] = []

    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
        seen.append((endpoint, dict(values) if values is not None else None))
        if values is not None:
            g.lang = values.pop("lang", None)

    @app.route("/<lang>/page/<int:n>")
    async def page(n: int) -> str:
        return f"{g.lang} {n}"

    async with app.test_client() as client:
        response = await client.get("/de/page/3")
    assert response.text == "de 3"
    assert seen == [("page", {"lang": "de", "n": 3})]


def test_context_processor_registration() -> None:
    app = AsyncFlask(__name__)

    def inject() -> dict[str, Any]:
        return {"answer": 42}

    assert app.context_processor(inject) is inject
    assert app.template_context_processors[None] == [inject]


# -- error handlers ---------------------------------------------------------------------------


async def test_errorhandler_by_code() -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(404)
    async def not_found(error: NotFound) -> tuple[str, int]:
        assert isinstance(error, NotFound)
        return f"custom 404 for {request.path}", 404

    @app.errorhandler(405)
    async def not_allowed(error: MethodNotAllowed) -> tuple[str, int]:
        return f"custom 405 {sorted(error.valid_methods or ())}", 405

    @app.errorhandler(500)
    async def server_error(error: InternalServerError) -> tuple[str, int]:
        return f"custom 500 from {type(error.original_exception).__name__}", 500

    @app.route("/")
    async def index() -> str:
        return "ok"

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("boom")

    @app.route("/gone")
    async def gone() -> None:
        abort(404)

    async with app.test_client() as client:
        assert (await client.get("/missing")).text == "custom 404 for /missing"
        response = await client.get("/gone")
        assert (response.status_code, response.text) == (404, "custom 404 for /gone")
        response = await client.post("/")
        assert response.status_code == 405
        assert response.text == "custom 405 ['GET', 'HEAD', 'OPTIONS']"
        response = await client.get("/boom")
        assert (response.status_code, response.text) == (500, "custom 500 from ValueError")


async def test_errorhandler_for_an_explicit_500() -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(InternalServerError)
    async def server_error(error: InternalServerError) -> tuple[str, int]:
        return f"handled {error.original_exception}", 500

    @app.route("/")
    async def index() -> None:
        abort(500)

    async with app.test_client() as client:
        response = await client.get("/")
    assert (response.status_code, response.text) == (500, "handled None")


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        pytest.param(ParentError, "parent handler: ParentError", id="exact-parent"),
        pytest.param(ChildError, "child handler: ChildError", id="exact-child"),
        pytest.param(GrandChildError, "child handler: GrandChildError", id="most-specific-base-wins"),
    ],
)
async def test_errorhandler_by_class_follows_the_mro(raised: type[Exception], expected: str) -> None:
    app = AsyncFlask(__name__)

    # Registered child-first and parent-last: the order of registration does not matter.
    @app.errorhandler(ChildError)
    async def child(error: ChildError) -> str:
        return f"child handler: {type(error).__name__}"

    @app.errorhandler(ParentError)
    async def parent(error: ParentError) -> str:
        return f"parent handler: {type(error).__name__}"

    @app.route("/")
    async def index() -> str:
        raise raised()

    async with app.test_client() as client:
        response = await client.get("/")
    assert (response.status_code, response.text) == (200, expected)


async def test_handler_for_a_base_class_catches_subclasses() -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(LookupError)
    async def lookup(error: LookupError) -> tuple[str, int]:
        return type(error).__name__, 404

    @app.route("/<kind>")
    async def index(kind: str) -> str:
        if kind == "key":
            raise KeyError("k")
        raise IndexError("i")

    async with app.test_client() as client:
        assert (await client.get("/key")).text == "KeyError"
        assert (await client.get("/index")).text == "IndexError"


async def test_register_error_handler() -> None:
    app = AsyncFlask(__name__)

    async def handle_parent(error: ParentError) -> tuple[str, int]:
        return f"registered {error}", 400

    def handle_forbidden(error: Forbidden) -> tuple[str, int]:
        return "sync forbidden handler", 403

    app.register_error_handler(ParentError, handle_parent)
    app.register_error_handler(403, handle_forbidden)

    @app.route("/parent")
    async def parent() -> str:
        raise ChildError("child")

    @app.route("/forbidden")
    async def forbidden() -> str:
        raise Forbidden()

    async with app.test_client() as client:
        assert (await client.get("/parent")).text == "registered child"
        response = await client.get("/forbidden")
        assert (response.status_code, response.text) == (403, "sync forbidden handler")


async def test_errorhandler_for_http_exception_catches_every_http_error() -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> tuple[str, int]:
        return f"http {error.code}", error.code or 500

    @app.route("/")
    async def index() -> None:
        abort(403)

    async with app.test_client() as client:
        response = await client.get("/missing")
        assert (response.status_code, response.text) == (404, "http 404")
        response = await client.get("/")
        assert (response.status_code, response.text) == (403, "http 403")
        response = await client.post("/")
        assert (response.status_code, response.text) == (405, "http 405")


async def test_errorhandler_for_a_custom_http_exception_base() -> None:
    app = AsyncFlask(__name__)

    class APIError(HTTPException):
        """A family of HTTP errors without a code of its own."""

    class PaymentRequired(APIError):
        code = 402
        description = "Pay first."

    @app.errorhandler(APIError)
    async def api_error(error: APIError) -> tuple[dict[str, Any], int]:
        return {"error": error.description}, error.code or 500

    @app.route("/")
    async def index() -> str:
        raise PaymentRequired()

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 402
    assert response.json() == {"error": "Pay first."}


async def test_code_handler_is_preferred_to_a_class_handler() -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(Exception)
    async def everything(error: Exception) -> tuple[str, int]:
        return "generic", 500

    @app.errorhandler(404)
    async def not_found(error: NotFound) -> tuple[str, int]:
        return "specific", 404

    async with app.test_client() as client:
        assert (await client.get("/missing")).text == "specific"


async def test_errorhandler_for_exception_catches_everything(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(Exception)
    async def everything(error: Exception) -> tuple[str, int]:
        code = (error.code or 500) if isinstance(error, HTTPException) else 500
        return f"caught {type(error).__name__}", code

    @app.route("/value")
    async def value() -> str:
        raise ValueError("v")

    @app.route("/bad")
    async def bad() -> None:
        abort(400)

    async with app.test_client() as client:
        assert (await client.get("/value")).text == "caught ValueError"
        response = await client.get("/missing")
        assert (response.status_code, response.text) == (404, "caught NotFound")
        response = await client.get("/bad")
        assert (response.status_code, response.text) == (400, "caught BadRequest")
    assert _errors(caplog, app) == []  # handled errors are not logged


async def test_error_handler_returning_a_full_tuple() -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(ParentError)
    async def handle(error: ParentError) -> tuple[str, int, dict[str, str]]:
        return "teapot", 418, {"X-Error": "parent", "Retry-After": "5"}

    @app.route("/")
    async def index() -> str:
        raise ParentError()

    async with app.test_client() as client:
        response = await client.get("/")
    assert (response.status_code, response.text) == (418, "teapot")
    assert response.headers["x-error"] == "parent"
    assert response.headers["retry-after"] == "5"


async def test_error_handler_returning_the_http_exception() -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(404)
    async def passthrough(error: NotFound) -> NotFound:
        return error

    async with app.test_client() as client:
        response = await client.get("/missing")
    assert response.status_code == 404
    assert response.text == NotFound().get_body()


async def test_error_inside_an_error_handler_is_a_plain_500(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(ParentError)
    async def broken(error: ParentError) -> str:
        raise RuntimeError("handler broke")

    @app.route("/")
    async def index() -> str:
        raise ParentError("original")

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert response.text == INTERNAL_ERROR_PAGE
    errors = _errors(caplog, app)
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert str(errors[0].exc_info[1]) == "handler broke"


async def test_error_inside_the_500_handler_is_a_plain_500(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(500)
    async def broken(error: InternalServerError) -> str:
        raise RuntimeError("500 handler broke")

    @app.route("/")
    async def index() -> str:
        raise ValueError("original")

    async with app.test_client() as client:
        response = await client.get("/")
        assert response.status_code == 500
        assert response.text == INTERNAL_ERROR_PAGE
        assert (await client.get("/missing")).status_code == 404
    logged = {str(r.exc_info[1]) for r in _errors(caplog, app) if r.exc_info}
    assert {"original", "500 handler broke"} <= logged


async def test_error_inside_a_404_handler_is_a_plain_500() -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(404)
    async def broken(error: NotFound) -> str:
        raise RuntimeError("404 handler broke")

    async with app.test_client() as client:
        response = await client.get("/missing")
    assert response.status_code == 500
    assert response.text == INTERNAL_ERROR_PAGE


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        pytest.param(ValueError("x"), TypeError, "is an instance, not a class", id="instance"),
        pytest.param(NotFound(), TypeError, "is an instance, not a class", id="http-instance"),
        pytest.param(int, TypeError, "is not a subclass of Exception", id="not-an-exception-class"),
        pytest.param("404", TypeError, "is not a subclass of Exception", id="string"),
        pytest.param(KeyboardInterrupt, ValueError, "is not a subclass of Exception", id="base-exception"),
        pytest.param(999, ValueError, "is not a recognized HTTP error code", id="unknown-code"),
        pytest.param(200, ValueError, "is not a recognized HTTP error code", id="success-code"),
    ],
)
def test_invalid_error_handler_registrations(key: Any, error: type[Exception], message: str) -> None:
    app = AsyncFlask(__name__)

    async def handler(e: Exception) -> str:
        return "never"

    with pytest.raises(error, match=message):
        app.errorhandler(key)(handler)
    with pytest.raises(error, match=message):
        app.register_error_handler(key, handler)


# -- unhandled errors -------------------------------------------------------------------------


async def test_unhandled_error_in_production_is_a_plain_500_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = AsyncFlask(__name__)
    assert not app.testing and not app.debug

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("secret detail")

    async with app.test_client() as client:
        response = await client.get("/boom")
        assert response.status_code == 500
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.text == INTERNAL_ERROR_PAGE
        assert "secret detail" not in response.text
        assert "Traceback" not in response.text
        assert (await client.get("/missing")).status_code == 404
    errors = _errors(caplog, app)
    assert len(errors) == 1
    record = errors[0]
    assert record.getMessage() == "Exception on /boom [GET]"
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
    assert "secret detail" in caplog.text
    assert "Traceback" in caplog.text


async def test_unhandled_error_in_a_sync_view_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)

    @app.post("/sync")
    def sync_boom() -> str:
        raise KeyError("sync")

    async with app.test_client() as client:
        response = await client.post("/sync")
    assert response.status_code == 500
    errors = _errors(caplog, app)
    assert [r.getMessage() for r in errors] == ["Exception on /sync [POST]"]


async def test_debug_mode_shows_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)
    app.debug = True

    @app.route("/boom")
    async def boom_in_debug() -> str:
        raise ValueError("detail <b>escaped</b>")

    async with app.test_client() as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert "Traceback" in response.text
    assert "boom_in_debug" in response.text
    assert "ValueError" in response.text
    assert "detail &lt;b&gt;escaped&lt;/b&gt;" in response.text
    assert "<b>escaped</b>" not in response.text
    assert len(_errors(caplog, app)) == 1


async def test_testing_mode_raises_into_the_test(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)
    app.testing = True

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("raised in the test")

    @app.route("/")
    async def index() -> str:
        return "fine"

    async with app.test_client() as client:
        with pytest.raises(ValueError, match="raised in the test"):
            await client.get("/boom")
        assert (await client.get("/")).text == "fine"
        assert (await client.get("/missing")).status_code == 404
    assert _errors(caplog, app) == []


@pytest.mark.parametrize(
    ("testing", "propagate", "raises"),
    [
        pytest.param(False, None, False, id="production"),
        pytest.param(True, None, True, id="testing"),
        pytest.param(False, True, True, id="propagate-explicitly"),
        pytest.param(True, False, False, id="testing-without-propagation"),
    ],
)
async def test_propagate_exceptions(testing: bool, propagate: bool | None, raises: bool) -> None:
    app = AsyncFlask(__name__)
    app.config.update(TESTING=testing, PROPAGATE_EXCEPTIONS=propagate)

    @app.route("/boom")
    async def boom() -> str:
        raise ZeroDivisionError("boom")

    async with app.test_client() as client:
        if raises:
            with pytest.raises(ZeroDivisionError):
                await client.get("/boom")
        else:
            assert (await client.get("/boom")).status_code == 500


async def test_propagated_error_still_runs_the_500_handler_only_when_not_propagating() -> None:
    app = AsyncFlask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.testing = True

    @app.errorhandler(500)
    async def server_error(error: InternalServerError) -> tuple[str, int]:
        return "handled", 500

    @app.route("/boom")
    async def boom() -> str:
        raise ZeroDivisionError()

    async with app.test_client() as client:
        assert (await client.get("/boom")).text == "handled"


@pytest.mark.parametrize(
    ("testing", "expected"),
    [
        pytest.param(True, "raises", id="testing-raises-the-http-error"),
        pytest.param(False, 500, id="production-500"),
    ],
)
async def test_trap_http_exceptions(testing: bool, expected: Any) -> None:
    app = AsyncFlask(__name__)
    app.config.update(TESTING=testing, TRAP_HTTP_EXCEPTIONS=True)

    @app.route("/")
    async def index() -> None:
        abort(404)

    async with app.test_client() as client:
        for path in ("/", "/missing"):
            if expected == "raises":
                with pytest.raises(NotFound):
                    await client.get(path)
            else:
                assert (await client.get(path)).status_code == expected


async def test_trapped_http_exception_still_reaches_its_handler() -> None:
    app = AsyncFlask(__name__)
    app.config.update(TESTING=True, TRAP_HTTP_EXCEPTIONS=True)

    @app.errorhandler(404)
    async def not_found(error: NotFound) -> tuple[str, int]:
        return "handled while trapped", 404

    async with app.test_client() as client:
        assert (await client.get("/missing")).text == "handled while trapped"


async def test_trap_bad_request_errors() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        return str(request.args["missing"])

    async with app.test_client() as client:
        assert (await client.get("/")).status_code == 400
        app.config.update(TESTING=True, TRAP_BAD_REQUEST_ERRORS=True)
        # The missing key is Werkzeug's BadRequestKeyError, a Werkzeug BadRequest.
        with pytest.raises(werkzeug.exceptions.BadRequest):
            await client.get("/")
        with pytest.raises(KeyError):
            await client.get("/")


async def test_invalid_view_return_value_names_the_view(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)

    @app.route("/none")
    async def returns_none() -> None:
        return None

    @app.route("/int")
    async def returns_int() -> int:
        return 42

    async with app.test_client() as client:
        assert (await client.get("/none")).status_code == 500
        app.testing = True
        with pytest.raises(TypeError, match="'returns_none'.*returned None"):
            await client.get("/none")
        with pytest.raises(TypeError, match="'returns_int'.*int"):
            await client.get("/int")


async def test_client_disconnect_while_reading_the_body_is_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = AsyncFlask(__name__)
    teardowns: list[BaseException | None] = []

    @app.post("/upload")
    async def upload() -> str:
        data = await request.get_data()
        return f"{len(data)} bytes"

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    messages: Iterator[Message] = iter(
        [
            {"type": "http.request", "body": b"partial", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Message:
        try:
            return next(messages)
        except StopIteration:
            await asyncio.Event().wait()
            raise AssertionError("unreachable") from None

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            raise OSError("the client is gone")

    scope = _raw_scope(app, "POST", "/upload", [(b"content-length", b"1000")])
    with caplog.at_level(logging.DEBUG):
        await app(scope, receive, send)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert len(teardowns) == 1


async def test_request_class_is_used_for_requests() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        return type(request._get_current_object()).__name__  # type: ignore[attr-defined]

    async with app.test_client() as client:
        assert (await client.get("/")).text == Request.__name__


async def test_cancelled_request_still_runs_every_teardown(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)
    started = asyncio.Event()
    calls: list[str] = []

    @app.route("/slow")
    async def slow() -> str:
        started.set()
        await asyncio.sleep(3600)
        return "never"

    @app.teardown_request
    async def broken(exc: BaseException | None) -> None:
        calls.append("broken")
        raise RuntimeError("teardown failed")

    @app.teardown_request
    async def request_teardown(exc: BaseException | None) -> None:
        await asyncio.sleep(0)  # a teardown may still await after the cancellation
        calls.append("request")

    @app.teardown_appcontext
    async def app_teardown(exc: BaseException | None) -> None:
        calls.append(f"app {has_request_context()}")

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    task = asyncio.ensure_future(app(_raw_scope(app, "GET", "/slow"), receive, send))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == ["request", "broken", "app True"]
    assert [r.getMessage() for r in _errors(caplog, app)] == ["Teardown function 'broken' failed"]


async def test_error_after_the_response_started_is_logged_once_without_a_second_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = AsyncFlask(__name__)
    teardowns: list[BaseException | None] = []

    @app.route("/stream")
    async def stream() -> Response:
        async def generate() -> AsyncIterator[bytes]:
            yield b"first part"
            raise ValueError("broke mid-stream")

        return Response(generate())

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_raw_scope(app, "GET", "/stream"), receive, send)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1 and starts[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body") == b"first part"
    errors = _errors(caplog, app)
    assert len(errors) == 1
    assert errors[0].exc_info is not None and str(errors[0].exc_info[1]) == "broke mid-stream"
    assert len(teardowns) == 1 and isinstance(teardowns[0], ValueError)


async def test_error_in_after_request_is_a_plain_500() -> None:
    app = AsyncFlask(__name__)

    @app.after_request
    async def broken(response: Response) -> Response:
        raise RuntimeError("after_request failed")

    @app.route("/")
    async def index() -> str:
        return "fine"

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert response.text == INTERNAL_ERROR_PAGE
