"""Contexts and the context-local proxies: request, g, current_app, session."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

import pytest

from asyncflask import (
    AsyncFlask,
    Response,
    after_this_request,
    copy_current_app_context,
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
    url_for,
)
from asyncflask.ctx import AppContext
from asyncflask.globals import ContextProxy
from asyncflask.wrappers import Request

APP_MESSAGE = "Working outside of application context"
REQUEST_MESSAGE = "Working outside of request context"


# -- outside any context ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("use", "message"),
    [
        pytest.param(lambda: request.args, REQUEST_MESSAGE, id="request-attribute"),
        pytest.param(lambda: request.method, REQUEST_MESSAGE, id="request-method"),
        pytest.param(lambda: session.get("x"), REQUEST_MESSAGE, id="session-get"),
        pytest.param(lambda: session["x"], REQUEST_MESSAGE, id="session-item"),
        pytest.param(lambda: g.user, APP_MESSAGE, id="g-attribute"),
        pytest.param(lambda: setattr(g, "user", 1), APP_MESSAGE, id="g-set"),
        pytest.param(lambda: "user" in g, APP_MESSAGE, id="g-contains"),
        pytest.param(lambda: current_app.config, APP_MESSAGE, id="current_app-config"),
        pytest.param(lambda: current_app.name, APP_MESSAGE, id="current_app-name"),
    ],
)
def test_proxies_outside_a_context_raise_helpful_errors(use: Any, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        use()


def test_request_error_message_says_how_to_fix_it() -> None:
    with pytest.raises(RuntimeError) as info:
        request.path  # noqa: B018 - the access is the test
    assert "test_request_context" in str(info.value)
    with pytest.raises(RuntimeError) as info:
        current_app.name  # noqa: B018
    assert "app.app_context()" in str(info.value)


def test_unbound_proxies_are_falsy_and_have_a_repr() -> None:
    assert not request
    assert not current_app
    assert not g
    assert repr(request) == "<unbound request>"
    assert repr(current_app) == "<unbound current_app>"
    assert dir(g) == []
    assert isinstance(current_app, ContextProxy)
    assert not has_app_context()
    assert not has_request_context()


async def test_request_needs_a_request_context_not_just_an_app_context() -> None:
    app = AsyncFlask(__name__)
    async with app.app_context():
        assert current_app.name == app.name
        with pytest.raises(RuntimeError, match=REQUEST_MESSAGE):
            request.path  # noqa: B018
        with pytest.raises(RuntimeError, match=REQUEST_MESSAGE):
            session.get("x")


# -- app context ------------------------------------------------------------------------------


async def test_app_context_binds_current_app_and_g() -> None:
    app = AsyncFlask(__name__)
    assert not has_app_context()
    async with app.app_context() as ctx:
        assert isinstance(ctx, AppContext)
        assert has_app_context()
        assert not has_request_context()
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        assert current_app == app
        assert isinstance(current_app, AsyncFlask)
        assert hash(current_app) == hash(app)
        g.value = 42
        assert g.value == 42
        assert ctx.g.value == 42
    assert not has_app_context()


async def test_g_is_a_namespace() -> None:
    app = AsyncFlask(__name__)
    async with app.app_context():
        assert "x" not in g
        assert g.get("x") is None
        assert g.get("x", 1) == 1
        assert g.setdefault("x", 2) == 2
        assert g.setdefault("x", 3) == 2
        g.y = "why"
        assert sorted(g) == ["x", "y"]
        assert g.pop("x") == 2
        assert g.pop("x", "gone") == "gone"
        with pytest.raises(KeyError):
            g.pop("x")
        with pytest.raises(AttributeError):
            g.missing  # noqa: B018
        del g.y
        assert "y" not in g
        assert repr(g) == f"<asyncflask.g of {app.name!r}>"


async def test_each_app_context_has_its_own_g() -> None:
    app = AsyncFlask(__name__)
    async with app.app_context():
        g.value = "outer"
        async with app.app_context():
            assert "value" not in g
            g.value = "inner"
        assert g.value == "outer"
    async with app.app_context():
        assert "value" not in g


async def test_nested_contexts_restore_the_outer_one() -> None:
    first = AsyncFlask("first")
    second = AsyncFlask("second")
    async with first.app_context():
        assert current_app.name == "first"
        async with second.test_request_context("/inner"):
            assert current_app.name == "second"
            assert request.path == "/inner"
            async with first.app_context():
                assert current_app.name == "first"
                assert not has_request_context()
            assert request.path == "/inner"
            assert current_app.name == "second"
        assert current_app.name == "first"
        assert not has_request_context()
    assert not has_app_context()


async def test_manual_push_and_pop() -> None:
    app = AsyncFlask(__name__)
    ctx = app.app_context()
    ctx.push()
    try:
        assert current_app.name == app.name
    finally:
        await ctx.pop()
    assert not has_app_context()
    with pytest.raises(RuntimeError, match="popped more often than it was pushed"):
        await ctx.pop()


async def test_context_is_popped_when_the_block_raises() -> None:
    app = AsyncFlask(__name__)
    seen: list[BaseException | None] = []

    @app.teardown_appcontext
    async def record(exc: BaseException | None) -> None:
        seen.append(exc)

    with pytest.raises(ZeroDivisionError):
        async with app.app_context():
            1 / 0  # noqa: B018
    assert not has_app_context()
    assert len(seen) == 1 and isinstance(seen[0], ZeroDivisionError)


async def test_teardown_appcontext_runs_once_when_the_context_ends() -> None:
    app = AsyncFlask(__name__)
    calls: list[BaseException | None] = []

    @app.teardown_appcontext
    def record(exc: BaseException | None) -> None:
        calls.append(exc)

    async with app.app_context() as ctx:
        ctx.push()  # pushed twice: torn down only on the last pop
        await ctx.pop()
        assert calls == []
    assert calls == [None]


# -- test_request_context ---------------------------------------------------------------------


async def test_test_request_context_with_query_and_json() -> None:
    app = AsyncFlask(__name__)
    async with app.test_request_context("/x?a=1&a=2&b=3", method="POST", json={"key": [1, 2]}):
        assert has_request_context()
        assert has_app_context()
        assert request.method == "POST"
        assert request.path == "/x"
        assert request.args["a"] == "1"
        assert request.args.getlist("a") == ["1", "2"]
        assert request.args.get("b", type=int) == 3
        assert request.is_json
        assert await request.get_json() == {"key": [1, 2]}
        assert request.url == "http://localhost/x?a=1&a=2&b=3"
        assert isinstance(request, Request)
        assert current_app.name == app.name
    assert not has_request_context()


async def test_test_request_context_options() -> None:
    app = AsyncFlask(__name__)
    async with app.test_request_context(
        "/form", method="PUT", headers={"X-Thing": "yes"}, query_string={"q": "search"}, data={"f": "v"}
    ):
        assert request.method == "PUT"
        assert request.headers["x-thing"] == "yes"
        assert request.args["q"] == "search"
        assert (await request.form)["f"] == "v"
    async with app.test_request_context("/raw", method="POST", data=b"payload"):
        assert await request.get_data() == b"payload"


async def test_test_request_context_uses_server_name_scheme_and_application_root() -> None:
    app = AsyncFlask(__name__)
    app.config.update(SERVER_NAME="example.com:8080", PREFERRED_URL_SCHEME="https", APPLICATION_ROOT="/app")

    @app.route("/page")
    async def page() -> str:
        return ""

    async with app.test_request_context("/page?x=1"):
        assert request.url == "https://example.com:8080/app/page?x=1"
        assert (request.path, request.script_root, request.host) == ("/page", "/app", "example.com:8080")
        assert url_for("page") == "/app/page"
    async with app.test_request_context("/page", base_url="http://other.org"):
        assert request.url == "http://other.org/app/page"


async def test_test_request_context_binds_the_url_rule() -> None:
    app = AsyncFlask(__name__)

    @app.route("/user/<int:id>")
    async def user(id: int) -> str:
        return str(id)

    async with app.test_request_context("/user/7"):
        assert request.endpoint == "user"
        assert request.view_args == {"id": 7}
    async with app.test_request_context("/nowhere"):
        assert request.endpoint is None


async def test_test_request_context_runs_teardown_request() -> None:
    app = AsyncFlask(__name__)
    calls: list[str] = []

    @app.teardown_request
    async def request_teardown(exc: BaseException | None) -> None:
        calls.append(f"request {exc!r}")

    @app.teardown_appcontext
    async def app_teardown(exc: BaseException | None) -> None:
        calls.append(f"app {exc!r}")

    async with app.test_request_context("/"):
        pass
    assert calls == ["request None", "app None"]


# -- g and requests ---------------------------------------------------------------------------


async def test_g_lives_for_one_request() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        before = g.get("counter", 0)
        g.counter = before + 1
        return str(g.counter)

    async with app.test_client() as client:
        for _ in range(3):
            response = await client.get("/")
            assert response.text == "1"


async def test_request_context_is_visible_in_hooks_and_view() -> None:
    app = AsyncFlask(__name__)

    @app.before_request
    async def load() -> None:
        assert has_request_context()
        g.user = request.args.get("user", "anonymous")

    @app.route("/")
    async def index() -> str:
        return f"{g.user} at {request.path} in {current_app.name}"

    async with app.test_client() as client:
        response = await client.get("/?user=ann")
        assert response.text == f"ann at / in {app.name}"
    assert not has_request_context()


async def test_after_this_request() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        @after_this_request
        async def add_header(response: Response) -> Response:
            response.headers["X-After"] = "async"
            return response

        def add_sync_header(response: Response) -> Response:
            response.headers["X-Sync"] = "sync"
            return response

        after_this_request(add_sync_header)
        return "body"

    @app.route("/plain")
    async def plain() -> str:
        return "plain"

    async with app.test_client() as client:
        response = await client.get("/")
        assert response.headers["x-after"] == "async"
        assert response.headers["x-sync"] == "sync"
        response = await client.get("/plain")
        assert "x-after" not in response.headers


async def test_after_this_request_outside_a_request_raises() -> None:
    app = AsyncFlask(__name__)

    def noop(response: Response) -> Response:
        return response

    with pytest.raises(RuntimeError, match="after_this_request"):
        after_this_request(noop)
    async with app.app_context():
        with pytest.raises(RuntimeError, match="after_this_request"):
            after_this_request(noop)


# -- copying contexts -------------------------------------------------------------------------


async def test_copy_current_request_context_in_a_spawned_task() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        g.marker = "from view"

        @copy_current_request_context
        async def work(suffix: str) -> str:
            return f"{request.args['q']} {g.marker} {current_app.name} {suffix}"

        # A fresh, empty context: only the copy makes the request visible there.
        task = contextvars.Context().run(asyncio.ensure_future, work("!"))
        return await task

    async with app.test_client() as client:
        response = await client.get("/?q=query")
        assert response.text == f"query from view {app.name} !"


async def test_copied_request_context_runs_concurrently_in_many_tasks() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        @copy_current_request_context
        async def work(n: int) -> str:
            for _ in range(n % 3 + 1):
                await asyncio.sleep(0)
            return f"{request.args['q']}{n}"

        results = await asyncio.gather(*(asyncio.ensure_future(work(n)) for n in range(20)))
        return ",".join(results)

    async with app.test_client() as client:
        response = await client.get("/?q=x")
        assert response.status_code == 200
        assert response.text == ",".join(f"x{n}" for n in range(20))


async def test_copy_current_request_context_for_a_thread() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        @copy_current_request_context
        def work() -> str:
            return f"{request.args['q']} {threading.get_ident() != loop_thread}"

        loop_thread = threading.get_ident()
        # run_in_executor does not copy the context: the decorator has to.
        return await asyncio.get_running_loop().run_in_executor(None, work)

    async with app.test_client() as client:
        response = await client.get("/?q=threaded")
        assert response.text == "threaded True"


async def test_background_work_outliving_the_request_keeps_its_values() -> None:
    app = AsyncFlask(__name__)
    finished: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    @app.route("/")
    async def index() -> str:
        g.who = "view"

        @copy_current_request_context
        async def later() -> None:
            await release.wait()
            finished.set_result(f"{request.args['q']} {g.who}")

        asyncio.ensure_future(later())
        return "started"

    async with app.test_client() as client:
        response = await client.get("/?q=kept")
        assert response.text == "started"
        release.set()
        assert await asyncio.wait_for(finished, 5) == "kept view"


async def test_copy_current_app_context() -> None:
    app = AsyncFlask(__name__)
    async with app.app_context():
        g.value = "shared g"

        @copy_current_app_context
        async def work() -> str:
            assert not has_request_context()
            return f"{current_app.name} {g.value}"

        result = await contextvars.Context().run(asyncio.ensure_future, work())
    assert result == f"{app.name} shared g"
    assert not has_app_context()


async def test_copy_current_app_context_sync_function() -> None:
    app = AsyncFlask(__name__)
    async with app.app_context():

        @copy_current_app_context
        def work() -> str:
            return str(current_app.name)

        result = await asyncio.get_running_loop().run_in_executor(None, work)
    assert result == app.name


async def test_copy_decorators_need_a_context() -> None:
    async def work() -> None:
        pass

    with pytest.raises(RuntimeError, match="copy_current_request_context needs an active request"):
        copy_current_request_context(work)
    with pytest.raises(RuntimeError, match="copy_current_app_context needs an active application"):
        copy_current_app_context(work)
    app = AsyncFlask(__name__)
    async with app.app_context():
        with pytest.raises(RuntimeError, match="copy_current_request_context"):
            copy_current_request_context(work)


async def test_copied_function_unbinds_itself() -> None:
    app = AsyncFlask(__name__)
    async with app.test_request_context("/"):

        @copy_current_request_context
        async def work() -> None:
            assert has_request_context()

    assert not has_request_context()
    await work()
    # Running the copy binds it only for the call.
    assert not has_request_context()


# -- concurrency ------------------------------------------------------------------------------


async def test_concurrent_requests_never_see_each_others_values() -> None:
    app = AsyncFlask(__name__)

    @app.before_request
    async def remember() -> None:
        g.value = request.args["n"]
        for _ in range(3):
            await asyncio.sleep(0)
        assert g.value == request.args["n"]

    @app.route("/")
    async def index() -> dict[str, Any]:
        seen = [g.value]
        for _ in range(5):
            await asyncio.sleep(0)
            seen.append(g.value)
            seen.append(request.args["n"])
        g.value = f"{g.value}!"
        await asyncio.sleep(0)
        return {"n": request.args["n"], "seen": sorted(set(seen)), "final": g.value}

    async with app.test_client() as client:
        responses = await asyncio.gather(*(client.get("/", params={"n": str(i)}) for i in range(3000)))
    for i, response in enumerate(responses):
        assert response.status_code == 200
        assert response.json() == {"n": str(i), "seen": [str(i)], "final": f"{i}!"}


async def test_concurrent_app_contexts_are_isolated_per_task() -> None:
    app = AsyncFlask(__name__)

    async def work(n: int) -> int:
        async with app.app_context():
            g.n = n
            await asyncio.sleep(0)
            return int(g.n)

    assert await asyncio.gather(*(work(n) for n in range(200))) == list(range(200))
    assert not has_app_context()
