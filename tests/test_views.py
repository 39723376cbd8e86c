"""Views: async and plain functions, and the class-based View and MethodView."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from asyncflask import AsyncFlask, Response, current_app, g, make_response, request
from asyncflask.views import MethodView, View

# -- function views ---------------------------------------------------------------------------


async def test_async_view_runs_on_the_event_loop_thread() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        return str(threading.get_ident())

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.text == str(threading.get_ident())


async def test_sync_view_runs_in_a_worker_thread_with_the_context() -> None:
    app = AsyncFlask(__name__)
    loop_thread = threading.get_ident()

    @app.before_request
    async def set_user() -> None:
        g.user = "ann"

    @app.route("/sync")
    def sync_view() -> dict[str, Any]:
        return {
            "other_thread": threading.get_ident() != loop_thread,
            "arg": request.args["q"],
            "user": g.user,
            "app": current_app.name,
            "method": request.method,
        }

    async with app.test_client() as client:
        response = await client.get("/sync?q=1")
    assert response.status_code == 200
    assert response.json() == {
        "other_thread": True,
        "arg": "1",
        "user": "ann",
        "app": app.name,
        "method": "GET",
    }


async def test_sync_view_with_url_variables() -> None:
    app = AsyncFlask(__name__)

    @app.route("/add/<int:a>/<int:b>")
    def add(a: int, b: int) -> str:
        return str(a + b)

    async with app.test_client() as client:
        response = await client.get("/add/2/40")
    assert response.text == "42"


async def test_sync_hooks_and_handlers_run_in_worker_threads() -> None:
    app = AsyncFlask(__name__)
    loop_thread = threading.get_ident()
    threads: dict[str, bool] = {}

    @app.before_request
    def before() -> None:
        threads["before"] = threading.get_ident() != loop_thread
        g.from_before = request.path

    @app.after_request
    def after(response: Response) -> Response:
        threads["after"] = threading.get_ident() != loop_thread
        response.headers["X-Before"] = g.from_before
        return response

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        threads["teardown"] = threading.get_ident() != loop_thread
        threads["teardown_has_g"] = g.from_before == "/missing"

    @app.errorhandler(404)
    def not_found(error: Exception) -> tuple[str, int]:
        threads["handler"] = threading.get_ident() != loop_thread
        return f"no {request.path} for {current_app.name}", 404

    async with app.test_client() as client:
        response = await client.get("/missing")
    assert response.status_code == 404
    assert response.text == f"no /missing for {app.name}"
    assert response.headers["x-before"] == "/missing"
    assert threads == {
        "before": True,
        "after": True,
        "teardown": True,
        "teardown_has_g": True,
        "handler": True,
    }


async def test_sync_view_changes_to_g_are_seen_by_async_hooks() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    def index() -> str:
        g.set_in_thread = "yes"
        return "ok"

    @app.after_request
    async def after(response: Response) -> Response:
        response.headers["X-G"] = g.set_in_thread
        return response

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.headers["x-g"] == "yes"


# -- View -------------------------------------------------------------------------------------


async def test_view_dispatch_request() -> None:
    app = AsyncFlask(__name__)

    class Index(View):
        methods = ["GET", "POST"]

        async def dispatch_request(self, **kwargs: Any) -> str:
            return f"{request.method} {kwargs}"

    app.add_url_rule("/", view_func=Index.as_view("index"))
    app.add_url_rule("/item/<int:id>", view_func=Index.as_view("item"))

    async with app.test_client() as client:
        assert (await client.get("/")).text == "GET {}"
        assert (await client.post("/")).text == "POST {}"
        assert (await client.get("/item/3")).text == "GET {'id': 3}"
        response = await client.put("/")
        assert response.status_code == 405
        assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    async with app.test_request_context("/"):
        assert app.url_for("item", id=3) == "/item/3"
    assert {rule.endpoint for rule in app.url_map.iter_rules()} >= {"index", "item"}


async def test_view_without_methods_accepts_get_only() -> None:
    app = AsyncFlask(__name__)

    class Index(View):
        async def dispatch_request(self) -> str:
            return "index"

    app.add_url_rule("/", view_func=Index.as_view("index"))
    async with app.test_client() as client:
        assert (await client.get("/")).text == "index"
        assert (await client.post("/")).status_code == 405


async def test_view_that_does_not_override_dispatch_request_fails_with_500() -> None:
    app = AsyncFlask(__name__)
    app.add_url_rule("/", view_func=View.as_view("bare"))
    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 500


async def test_as_view_passes_arguments_and_sets_attributes() -> None:
    app = AsyncFlask(__name__)

    class Greeting(View):
        """Greets someone."""

        def __init__(self, greeting: str, *, punctuation: str = ".") -> None:
            self.greeting = greeting
            self.punctuation = punctuation

        async def dispatch_request(self, name: str) -> str:
            return f"{self.greeting}, {name}{self.punctuation}"

    view = Greeting.as_view("greet", "Hello", punctuation="!")
    assert view.__name__ == "greet"
    assert view.__doc__ == "Greets someone."
    assert view.__module__ == __name__
    assert view.view_class is Greeting  # type: ignore[attr-defined]
    app.add_url_rule("/hello/<name>", view_func=view)
    assert app.view_functions["greet"] is view
    async with app.test_client() as client:
        assert (await client.get("/hello/ann")).text == "Hello, ann!"


@pytest.mark.parametrize(
    ("init_every_request", "expected_instances"),
    [
        pytest.param(True, 3, id="new-instance-per-request"),
        pytest.param(False, 1, id="one-shared-instance"),
    ],
)
async def test_init_every_request(init_every_request: bool, expected_instances: int) -> None:
    app = AsyncFlask(__name__)
    instances: list[object] = []

    class Counter(View):
        def __init__(self) -> None:
            instances.append(self)
            self.calls = 0

        async def dispatch_request(self) -> str:
            self.calls += 1
            return str(self.calls)

    Counter.init_every_request = init_every_request
    app.add_url_rule("/", view_func=Counter.as_view("counter"))
    async with app.test_client() as client:
        bodies = [(await client.get("/")).text for _ in range(3)]
    assert len(instances) == expected_instances
    assert bodies == (["1", "1", "1"] if init_every_request else ["1", "2", "3"])


async def test_view_decorators_wrap_in_order() -> None:
    app = AsyncFlask(__name__)

    def add_header(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            async def wrapped(**kwargs: Any) -> Any:
                response = await make_response(await view(**kwargs))
                response.headers.append("X-Order", name)
                return response

            return wrapped

        return decorator

    class Index(View):
        decorators: ClassVar[list[Callable[..., Any]]] = [add_header("inner"), add_header("outer")]

        async def dispatch_request(self) -> str:
            return "decorated"

    app.add_url_rule("/", view_func=Index.as_view("index"))
    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "decorated"
    assert response.headers.get_list("x-order") == ["inner", "outer"]


async def test_decorators_can_short_circuit() -> None:
    app = AsyncFlask(__name__)

    def require_token(view: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapped(**kwargs: Any) -> Any:
            if request.headers.get("X-Token") != "secret":
                return "forbidden", 403
            return await view(**kwargs)

        return wrapped

    class Secret(View):
        decorators: ClassVar[list[Callable[..., Any]]] = [require_token]

        async def dispatch_request(self) -> str:
            return "the secret"

    app.add_url_rule("/", view_func=Secret.as_view("secret"))
    async with app.test_client() as client:
        assert (await client.get("/")).status_code == 403
        response = await client.get("/", headers={"X-Token": "secret"})
    assert response.status_code == 200
    assert response.text == "the secret"


async def test_sync_dispatch_request_runs_in_a_worker_thread() -> None:
    app = AsyncFlask(__name__)
    loop_thread = threading.get_ident()

    class Sync(View):
        def dispatch_request(self) -> str:
            return f"{threading.get_ident() != loop_thread} {request.path}"

    app.add_url_rule("/sync", view_func=Sync.as_view("sync"))
    async with app.test_client() as client:
        assert (await client.get("/sync")).text == "True /sync"


async def test_view_provide_automatic_options() -> None:
    app = AsyncFlask(__name__)

    class Manual(View):
        methods = ["GET", "OPTIONS"]
        provide_automatic_options = False

        async def dispatch_request(self) -> str:
            return f"manual {request.method}"

    app.add_url_rule("/", view_func=Manual.as_view("manual"))
    async with app.test_client() as client:
        response = await client.options("/")
    assert response.text == "manual OPTIONS"


# -- MethodView -------------------------------------------------------------------------------


class Items(MethodView):
    async def get(self, id: int | None = None) -> str:
        return f"get {id}"

    async def post(self) -> tuple[str, int]:
        return f"post {(await request.get_json())['name']}", 201

    async def delete(self, id: int | None = None) -> tuple[str, int]:
        return "", 204


def test_method_view_methods_are_the_defined_ones() -> None:
    assert Items.methods == {"GET", "POST", "DELETE"}

    class Nothing(MethodView):
        pass

    assert Nothing.methods is None


async def test_method_view_dispatches_by_method() -> None:
    app = AsyncFlask(__name__)
    view = Items.as_view("items")
    app.add_url_rule("/items", view_func=view)
    app.add_url_rule("/items/<int:id>", view_func=view, endpoint="item")
    async with app.test_client() as client:
        assert (await client.get("/items")).text == "get None"
        assert (await client.get("/items/5")).text == "get 5"
        response = await client.post("/items", json={"name": "pen"})
        assert (response.status_code, response.text) == (201, "post pen")
        response = await client.delete("/items/5")
        assert (response.status_code, response.content) == (204, b"")


async def test_method_view_head_falls_back_to_get() -> None:
    app = AsyncFlask(__name__)
    app.add_url_rule("/items", view_func=Items.as_view("items"))
    async with app.test_client() as client:
        response = await client.head("/items")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len("get None"))


async def test_method_view_with_its_own_head() -> None:
    app = AsyncFlask(__name__)

    class WithHead(MethodView):
        async def get(self) -> str:
            return "full body"

        async def head(self) -> Response:
            return Response("", headers={"X-Head": "own"})

    app.add_url_rule("/", view_func=WithHead.as_view("with_head"))
    async with app.test_client() as client:
        response = await client.head("/")
    assert response.headers["x-head"] == "own"


async def test_method_view_undefined_method_is_405_with_allow() -> None:
    app = AsyncFlask(__name__)
    app.add_url_rule("/items", view_func=Items.as_view("items"))
    async with app.test_client() as client:
        response = await client.put("/items")
        assert response.status_code == 405
        assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "DELETE", "OPTIONS"}
        response = await client.options("/items")
        assert response.status_code == 200
        assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "DELETE", "OPTIONS"}


@pytest.mark.parametrize(
    "method",
    [
        pytest.param("PROPFIND", id="webdav-method"),
        pytest.param("PUT", id="standard-but-undefined"),
        pytest.param("__INIT__", id="dunder-init"),
        pytest.param("DISPATCH_REQUEST", id="dispatch_request"),
        pytest.param("AS_VIEW", id="as_view"),
    ],
)
async def test_method_view_never_looks_up_arbitrary_attributes(method: str) -> None:
    app = AsyncFlask(__name__)
    called: list[str] = []

    class Dangerous(MethodView):
        # The rule accepts these methods, so only the class itself can refuse them.
        methods = ["GET", "PROPFIND", "PUT", "__INIT__", "DISPATCH_REQUEST", "AS_VIEW"]

        def __init__(self) -> None:
            called.append("init")

        async def get(self) -> str:
            return "get"

        async def propfind(self) -> str:  # not a standard method: never dispatched
            called.append("propfind")
            return "propfind"

    app.add_url_rule("/", view_func=Dangerous.as_view("dangerous"))
    async with app.test_client() as client:
        response = await client.request(method, "/")
        assert response.status_code == 405
        assert "get" not in response.text
        assert called == ["init"]
        assert (await client.get("/")).text == "get"


async def test_method_view_rejects_a_non_callable_attribute() -> None:
    app = AsyncFlask(__name__)

    class Odd(MethodView):
        methods = ["GET", "POST"]
        post = "not callable"

        async def get(self) -> str:
            return "get"

    app.add_url_rule("/", view_func=Odd.as_view("odd"))
    async with app.test_client() as client:
        assert (await client.post("/")).status_code == 405


async def test_method_view_inheritance() -> None:
    app = AsyncFlask(__name__)

    class Base(MethodView):
        async def get(self) -> str:
            return "base get"

    class Child(Base):
        async def post(self) -> str:
            return "child post"

    class GrandChild(Child):
        async def get(self) -> str:
            return "grandchild get"

        def delete(self) -> str:
            return f"sync delete in {request.path}"

    assert Base.methods == {"GET"}
    assert Child.methods == {"GET", "POST"}
    assert GrandChild.methods == {"GET", "POST", "DELETE"}
    app.add_url_rule("/child", view_func=Child.as_view("child"))
    app.add_url_rule("/grandchild", view_func=GrandChild.as_view("grandchild"))
    async with app.test_client() as client:
        assert (await client.get("/child")).text == "base get"
        assert (await client.post("/child")).text == "child post"
        assert (await client.delete("/child")).status_code == 405
        assert (await client.get("/grandchild")).text == "grandchild get"
        assert (await client.post("/grandchild")).text == "child post"
        assert (await client.delete("/grandchild")).text == "sync delete in /grandchild"


async def test_method_view_with_a_mixin_and_explicit_methods() -> None:
    app = AsyncFlask(__name__)

    class PostMixin:
        async def post(self) -> str:
            return "mixin post"

    class Combined(PostMixin, MethodView):
        async def get(self) -> str:
            return "get"

    class Restricted(Combined):
        methods = ["GET"]

    assert Combined.methods == {"GET", "POST"}
    app.add_url_rule("/combined", view_func=Combined.as_view("combined"))
    app.add_url_rule("/restricted", view_func=Restricted.as_view("restricted"))
    async with app.test_client() as client:
        assert (await client.post("/combined")).text == "mixin post"
        assert (await client.post("/restricted")).status_code == 405
        assert (await client.get("/restricted")).text == "get"


async def test_method_view_sync_methods_run_in_worker_threads() -> None:
    app = AsyncFlask(__name__)
    loop_thread = threading.get_ident()

    class Sync(MethodView):
        def get(self) -> str:
            return f"{threading.get_ident() != loop_thread} {request.args['q']} {g.get('x')}"

    @app.before_request
    async def before() -> None:
        g.x = "gx"

    app.add_url_rule("/", view_func=Sync.as_view("sync"))
    async with app.test_client() as client:
        assert (await client.get("/?q=arg")).text == "True arg gx"


async def test_method_view_init_every_request_false_and_arguments() -> None:
    app = AsyncFlask(__name__)

    class Counter(MethodView):
        init_every_request = False

        def __init__(self, start: int) -> None:
            self.count = start

        async def post(self) -> str:
            self.count += 1
            return str(self.count)

    app.add_url_rule("/", view_func=Counter.as_view("counter", 10))
    async with app.test_client() as client:
        assert [(await client.post("/")).text for _ in range(3)] == ["11", "12", "13"]
