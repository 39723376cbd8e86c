"""Blueprints: scoped routes and hooks, registration options, nesting, templates, static files,
error handlers, deferred setup and CLI commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import jinja2
import pytest

from asyncflask import (
    AsyncFlask,
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    render_template,
    render_template_string,
    request,
    url_for,
    websocket,
)
from asyncflask.blueprints import BlueprintSetupState
from asyncflask.exceptions import Forbidden, HTTPException, NotFound

ASSETS = Path(__file__).parent / "blueprint_assets"
HTML = "text/html; charset=utf-8"


def make_app(**config: Any) -> AsyncFlask:
    """A tiny app whose template folder is the fixture folder (never the shared tests/templates)."""
    app = AsyncFlask(__name__, template_folder=str(ASSETS / "app_templates"))
    app.config.update(config)
    return app


def admin_blueprint(**options: Any) -> Blueprint:
    """The fixture blueprint with a template folder and a static folder."""
    return Blueprint(
        "admin",
        __name__,
        root_path=str(ASSETS / "admin"),
        template_folder="templates",
        static_folder="static",
        **options,
    )


# -- route decorators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decorator", "method", "other"),
    [
        pytest.param("get", "GET", "POST", id="get"),
        pytest.param("post", "POST", "GET", id="post"),
        pytest.param("put", "PUT", "POST", id="put"),
        pytest.param("patch", "PATCH", "PUT", id="patch"),
        pytest.param("delete", "DELETE", "GET", id="delete"),
    ],
)
async def test_method_decorators(decorator: str, method: str, other: str) -> None:
    app = make_app()
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    async def thing() -> str:
        return f"{request.method} {request.endpoint}"

    getattr(bp, decorator)("/thing")(thing)
    app.register_blueprint(bp)

    async with app.test_client() as client:
        r = await client.request(method, "/bp/thing")
        wrong = await client.request(other, "/bp/thing")
    assert (r.status_code, r.text) == (200, f"{method} bp.thing")
    assert wrong.status_code == 405
    assert method in wrong.headers["allow"]


async def test_method_decorators_refuse_methods() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(TypeError, match="Use the 'route' decorator to pass 'methods'"):
        bp.get("/", methods=["POST"])


async def test_route_with_methods_and_default_endpoint() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.route("/form", methods=["GET", "POST"])
    async def form() -> str:
        return f"{request.method} {request.endpoint}"

    app.register_blueprint(bp)
    async with app.test_client() as client:
        got = await client.get("/form")
        posted = await client.post("/form")
        put = await client.put("/form")
    assert (got.status_code, got.text) == (200, "GET bp.form")
    assert (posted.status_code, posted.text) == (200, "POST bp.form")
    assert put.status_code == 405
    assert "bp.form" in app.view_functions


async def test_custom_endpoints_and_add_url_rule() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.route("/foo")
    async def foo() -> str:
        return str(request.endpoint)

    @bp.route("/bar", endpoint="bar")
    async def foo_bar() -> str:
        return str(request.endpoint)

    @bp.route("/bar/123", endpoint="123")
    async def foo_bar_foo() -> str:
        return str(request.endpoint)

    async def plain() -> str:
        return str(request.endpoint)

    bp.add_url_rule("/plain", view_func=plain)
    bp.add_url_rule("/named", "named", plain, methods=["POST"])

    @app.route("/")
    async def index() -> str:
        return str(request.endpoint)

    app.register_blueprint(bp, url_prefix="/py")
    async with app.test_client() as client:
        bodies = [
            (await client.get("/")).text,
            (await client.get("/py/foo")).text,
            (await client.get("/py/bar")).text,
            (await client.get("/py/bar/123")).text,
            (await client.get("/py/plain")).text,
            (await client.post("/py/named")).text,
        ]
    assert bodies == ["index", "bp.foo", "bp.bar", "bp.123", "bp.plain", "bp.named"]


async def test_endpoint_decorator_attaches_an_app_level_view() -> None:
    # As in Flask: a view given with `bp.endpoint(name)` serves the app rule of that exact name.
    app = make_app()
    app.add_url_rule("/foo", endpoint="bar")
    bp = Blueprint("bp", __name__)

    @bp.endpoint("bar")
    async def foobar() -> str:
        return str(request.endpoint)

    app.register_blueprint(bp, url_prefix="/bp_prefix")
    async with app.test_client() as client:
        r = await client.get("/foo")
        missing = await client.get("/bp_prefix/bar")
    assert (r.status_code, r.text) == (200, "bar")
    assert missing.status_code == 404


async def test_rule_defaults_on_blueprint_routes() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.route("/", defaults={"page": 1})
    @bp.route("/page/<int:page>")
    async def something(page: int) -> str:
        return str(page)

    app.register_blueprint(bp)
    async with app.test_client() as client:
        first = await client.get("/")
        second = await client.get("/page/2")
    assert (first.status_code, first.text) == (200, "1")
    assert (second.status_code, second.text) == (200, "2")


async def test_websocket_route_on_blueprint() -> None:
    app = make_app()
    bp = Blueprint("live", __name__, url_prefix="/live")
    seen: list[str] = []

    @bp.before_websocket
    async def before() -> None:
        g.greeting = "bp-before"

    @bp.after_websocket
    async def after(response: Any) -> Any:
        seen.append("bp-after")
        return response

    @bp.websocket("/echo/<name>")
    async def echo(name: str) -> None:
        await websocket.accept()
        message = await websocket.receive()
        assert isinstance(message, str)
        await websocket.send(f"{websocket.blueprint} {websocket.endpoint} {g.greeting} {name}: {message}")
        await websocket.close()

    @app.websocket("/plain")
    async def plain() -> None:
        await websocket.send(f"{websocket.blueprint} {g.get('greeting')}")
        await websocket.close()

    app.register_blueprint(bp)
    async with app.test_client() as client:
        async with client.websocket("/live/echo/ann") as ws:
            await ws.send_text("hi")
            assert await ws.receive_text() == "live live.echo bp-before ann: hi"
        async with client.websocket("/plain") as ws:
            assert await ws.receive_text() == "None None"
    assert seen == ["bp-after"]
    async with app.test_request_context("/"):
        assert url_for("live.echo", name="bob", _external=True) == "ws://localhost/live/echo/bob"


# -- hooks scoped to the blueprint -----------------------------------------------------------------


async def test_request_hooks_run_in_order_for_blueprint_requests() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)
    events: list[str] = []

    @bp.before_request
    async def before_bp() -> None:
        events.append("before")

    @bp.after_request
    async def after_bp(response: Response) -> Response:
        response.data = response.get_data() + b"|after"
        events.append("after")
        return response

    @bp.teardown_request
    async def teardown_bp(exc: BaseException | None) -> None:
        events.append("teardown")

    @bp.route("/bp")
    async def bp_endpoint() -> str:
        return "request"

    app.register_blueprint(bp)
    assert events == []
    async with app.test_client() as client:
        r = await client.get("/bp")
    assert (r.status_code, r.text) == (200, "request|after")
    assert events == ["before", "after", "teardown"]


async def test_blueprint_hooks_skip_other_requests() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    other = Blueprint("other", __name__, url_prefix="/other")
    events: list[str] = []

    @bp.before_request
    async def before() -> None:
        events.append(f"before {request.path}")

    @bp.after_request
    async def after(response: Response) -> Response:
        events.append(f"after {request.path}")
        response.headers["X-Blueprint"] = "bp"
        return response

    @bp.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append(f"teardown {request.path}")

    @bp.route("/")
    async def bp_index() -> str:
        return "bp"

    @other.route("/")
    async def other_index() -> str:
        return "other"

    @app.route("/")
    async def index() -> str:
        return "app"

    app.register_blueprint(bp)
    app.register_blueprint(other)
    async with app.test_client() as client:
        plain = await client.get("/")
        sibling = await client.get("/other/")
        missing = await client.get("/bp/missing")
        own = await client.get("/bp/")
    assert (plain.text, sibling.text, missing.status_code, own.text) == ("app", "other", 404, "bp")
    assert "x-blueprint" not in plain.headers
    assert "x-blueprint" not in sibling.headers
    assert own.headers["x-blueprint"] == "bp"
    assert events == ["before /bp/", "after /bp/", "teardown /bp/"]


async def test_blueprint_before_request_can_answer() -> None:
    app = make_app()
    bp = Blueprint("locked", __name__, url_prefix="/locked")

    @bp.before_request
    async def refuse() -> tuple[str, int]:
        return "members only", 403

    @bp.route("/")
    async def secret() -> str:
        return "secret"

    @app.route("/")
    async def index() -> str:
        return "open"

    app.register_blueprint(bp)
    async with app.test_client() as client:
        locked = await client.get("/locked/")
        open_ = await client.get("/")
    assert (locked.status_code, locked.text) == (403, "members only")
    assert (open_.status_code, open_.text) == (200, "open")


async def test_app_wide_request_hooks_from_a_blueprint() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)
    events: list[str] = []

    @bp.before_app_request
    async def before_app() -> None:
        events.append("before")

    @bp.after_app_request
    async def after_app(response: Response) -> Response:
        response.data = response.get_data() + b"|after"
        events.append("after")
        return response

    @bp.teardown_app_request
    async def teardown_app(exc: BaseException | None) -> None:
        events.append("teardown")

    app.register_blueprint(bp)

    @app.route("/")
    async def app_endpoint() -> str:
        return "request"

    async with app.test_client() as client:
        first = await client.get("/")
        assert events == ["before", "after", "teardown"]
        second = await client.get("/")
    assert (first.status_code, first.text) == (200, "request|after")
    assert (second.status_code, second.text) == (200, "request|after")
    assert events == ["before", "after", "teardown"] * 2


async def test_app_wide_hooks_registered_once_for_two_registrations() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)
    calls: list[str] = []

    @bp.before_app_request
    async def count() -> None:
        calls.append(request.path)

    @bp.route("/")
    async def index() -> str:
        return str(request.endpoint)

    app.register_blueprint(bp, url_prefix="/a", name="a")
    app.register_blueprint(bp, url_prefix="/b", name="b")
    async with app.test_client() as client:
        assert (await client.get("/a/")).text == "a.index"
        assert (await client.get("/b/")).text == "b.index"
    assert calls == ["/a/", "/b/"]


async def test_context_processors_scoped_and_app_wide() -> None:
    app = make_app()
    answer_bp = Blueprint("answer_bp", __name__)
    source = (
        "{% if notanswer %}{{ notanswer }} is not the answer. {% endif %}"
        "{% if answer %}{{ answer }} is the answer.{% endif %}"
    )

    @answer_bp.app_context_processor
    def not_answer_context_processor() -> dict[str, Any]:
        return {"notanswer": 43}

    @answer_bp.context_processor
    async def answer_context_processor() -> dict[str, Any]:
        return {"answer": 42}

    @answer_bp.route("/bp")
    async def bp_page() -> str:
        return await render_template_string(source)

    @app.route("/")
    async def app_page() -> str:
        return await render_template_string(source)

    app.register_blueprint(answer_bp)
    async with app.test_client() as client:
        app_page_text = (await client.get("/")).text
        bp_page_text = (await client.get("/bp")).text
    assert app_page_text == "43 is not the answer. "
    assert bp_page_text == "43 is not the answer. 42 is the answer."


async def test_url_processors_scoped_to_the_blueprint() -> None:
    app = make_app()
    bp = Blueprint("frontend", __name__, url_prefix="/<lang_code>")

    @bp.url_defaults
    def add_language_code(endpoint: str, values: dict[str, Any]) -> None:
        values.setdefault("lang_code", g.lang_code)

    @bp.url_value_preprocessor
    def pull_lang_code(endpoint: str | None, values: dict[str, Any] | None) -> None:
        assert values is not None
        g.lang_code = values.pop("lang_code")

    @bp.route("/")
    async def index() -> str:
        return url_for(".about")

    @bp.route("/about")
    async def about() -> str:
        return url_for(".index")

    @app.route("/<lang_code>/app")
    async def app_view(lang_code: str) -> str:
        # Neither the blueprint's preprocessor nor its defaults apply here.
        return f"{lang_code} {g.get('lang_code')} {url_for('app_view', lang_code='fr')}"

    app.register_blueprint(bp)
    async with app.test_client() as client:
        index_r = await client.get("/de/")
        about_r = await client.get("/de/about")
        app_r = await client.get("/de/app")
    assert (index_r.status_code, index_r.text) == (200, "/de/about")
    assert (about_r.status_code, about_r.text) == (200, "/de/")
    assert (app_r.status_code, app_r.text) == (200, "de None /fr/app")


async def test_url_defaults_apply_to_the_blueprints_endpoints_only() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.url_defaults
    def add_ref(endpoint: str, values: dict[str, Any]) -> None:
        values.setdefault("ref", endpoint)

    @bp.route("/page")
    async def page() -> str:
        return f"{url_for('.page')} {url_for('plain')}"

    @app.route("/plain")
    async def plain() -> str:
        return f"{url_for('bp.page')} {url_for('plain')}"

    app.register_blueprint(bp)
    async with app.test_client() as client:
        from_bp = await client.get("/bp/page")
        from_app = await client.get("/plain")
    assert from_bp.text == "/bp/page?ref=bp.page /plain"
    assert from_app.text == "/bp/page?ref=bp.page /plain"


async def test_app_url_processors_from_a_blueprint() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.app_url_defaults
    def add_language_code(endpoint: str, values: dict[str, Any]) -> None:
        values.setdefault("lang_code", g.lang_code)

    @bp.app_url_value_preprocessor
    def pull_lang_code(endpoint: str | None, values: dict[str, Any] | None) -> None:
        assert values is not None
        g.lang_code = values.pop("lang_code")

    @app.route("/<lang_code>/")
    async def index() -> str:
        return url_for("about")

    @app.route("/<lang_code>/about")
    async def about() -> str:
        return url_for("index")

    app.register_blueprint(bp)
    async with app.test_client() as client:
        index_r = await client.get("/de/")
        about_r = await client.get("/de/about")
    assert (index_r.status_code, index_r.text) == (200, "/de/about")
    assert (about_r.status_code, about_r.text) == (200, "/de/")


async def test_nested_hook_order() -> None:
    app = make_app()
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)
    after: list[str] = []
    teardown: list[str] = []

    def add_hooks(scaffold: AsyncFlask | Blueprint, label: str) -> None:
        for number in (1, 2):
            name = f"{label}_{number}"

            def before(name: str = name) -> None:
                g.setdefault("seen", []).append(name)

            def after_request(response: Response, name: str = name) -> Response:
                after.append(name)
                return response

            def teardown_request(exc: BaseException | None, name: str = name) -> None:
                teardown.append(name)

            scaffold.before_request(before)
            scaffold.after_request(after_request)
            scaffold.teardown_request(teardown_request)

        @scaffold.context_processor
        def key() -> dict[str, str]:
            return {"key": label}

        @scaffold.url_value_preprocessor
        def preprocess(endpoint: str | None, values: dict[str, Any] | None) -> None:
            g.setdefault("preprocessed", []).append(label)

    add_hooks(app, "app")
    add_hooks(parent, "parent")
    add_hooks(child, "child")

    @child.route("/a")
    async def a() -> str:
        return ", ".join(g.seen) + " / " + ", ".join(g.preprocessed)

    @child.route("/b")
    async def b() -> str:
        return await render_template_string("{{ key }}")

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    async with app.test_client() as client:
        r = await client.get("/a")
        assert after == ["child_2", "child_1", "parent_2", "parent_1", "app_2", "app_1"]
        assert teardown == ["child_2", "child_1", "parent_2", "parent_1", "app_2", "app_1"]
        key = await client.get("/b")
    assert r.text == "app_1, app_2, parent_1, parent_2, child_1, child_2 / app, parent, child"
    assert key.text == "child"


# -- app-wide template filters, tests and globals -----------------------------------------------


async def test_app_template_filters_every_spelling() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.app_template_filter()
    def my_reverse(s: str) -> str:
        return s[::-1]

    @bp.app_template_filter
    def my_reverse_2(s: str) -> str:
        return s[::-1]

    @bp.app_template_filter("my_reverse_custom_name_3")
    def my_reverse_3(s: str) -> str:
        return s[::-1]

    @bp.app_template_filter(name="my_reverse_custom_name_4")
    def my_reverse_4(s: str) -> str:
        return s[::-1]

    def my_reverse_5(s: str) -> str:
        return s[::-1]

    bp.add_app_template_filter(my_reverse_5)
    bp.add_app_template_filter(my_reverse_5, "strrev")
    assert "my_reverse" not in app.jinja_env.filters
    app.register_blueprint(bp, url_prefix="/py")

    filters = app.jinja_env.filters
    assert filters["my_reverse"] is my_reverse
    assert filters["my_reverse_2"] is my_reverse_2
    assert filters["my_reverse_custom_name_3"] is my_reverse_3
    assert filters["my_reverse_custom_name_4"] is my_reverse_4
    assert filters["my_reverse_5"] is my_reverse_5
    assert filters["strrev"] is my_reverse_5
    async with app.app_context():
        rendered = await render_template_string(
            "{{ 'ab'|my_reverse }} {{ 'cd'|my_reverse_2 }} {{ 'ef'|my_reverse_custom_name_3 }}"
            " {{ 'gh'|my_reverse_custom_name_4 }} {{ 'ij'|my_reverse_5 }} {{ 'kl'|strrev }}"
        )
    assert rendered == "ba dc fe hg ji lk"


async def test_app_template_filter_registered_after_the_route() -> None:
    app = make_app()

    @app.route("/")
    async def index() -> str:
        return await render_template_string("{{ value|super_reverse }}", value="abcd")

    bp = Blueprint("bp", __name__)

    @bp.app_template_filter()
    def super_reverse(s: str) -> str:
        return s[::-1]

    app.register_blueprint(bp, url_prefix="/py")
    async with app.test_client() as client:
        r = await client.get("/")
    assert (r.status_code, r.text) == (200, "dcba")


async def test_app_template_tests_every_spelling() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.app_template_test()
    def is_boolean(value: object) -> bool:
        return isinstance(value, bool)

    @bp.app_template_test
    def boolean_2(value: object) -> bool:
        return isinstance(value, bool)

    @bp.app_template_test("my_boolean_custom_name")
    def boolean_3(value: object) -> bool:
        return isinstance(value, bool)

    @bp.app_template_test(name="my_boolean_custom_name_2")
    def boolean_4(value: object) -> bool:
        return isinstance(value, bool)

    def boolean_5(value: object) -> bool:
        return isinstance(value, bool)

    bp.add_app_template_test(boolean_5)
    bp.add_app_template_test(boolean_5, "boolean")
    app.register_blueprint(bp, url_prefix="/py")

    tests = app.jinja_env.tests
    assert tests["is_boolean"] is is_boolean
    assert tests["boolean_2"] is boolean_2
    assert tests["my_boolean_custom_name"] is boolean_3
    assert tests["my_boolean_custom_name_2"] is boolean_4
    assert tests["boolean_5"] is boolean_5
    assert tests["boolean"] is boolean_5

    @app.route("/")
    async def index() -> str:
        return await render_template_string(
            "{% if value is is_boolean and value is boolean_2 and value is my_boolean_custom_name"
            " and value is my_boolean_custom_name_2 and value is boolean_5 and value is boolean"
            " and not (1 is boolean) %}Success!{% endif %}",
            value=False,
        )

    async with app.test_client() as client:
        r = await client.get("/")
    assert (r.status_code, r.text) == (200, "Success!")


async def test_app_template_globals_every_spelling() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.app_template_global()
    def get_answer() -> int:
        return 42

    @bp.app_template_global
    def get_stuff_1() -> str:
        return "get_stuff_1"

    @bp.app_template_global("my_get_stuff_custom_name_2")
    def get_stuff_2() -> str:
        return "get_stuff_2"

    @bp.app_template_global(name="my_get_stuff_custom_name_3")
    def get_stuff_3() -> str:
        return "get_stuff_3"

    def get_stuff_4() -> str:
        return "get_stuff_4"

    bp.add_app_template_global(get_stuff_4, "stuff_4")
    assert "get_answer" not in app.jinja_env.globals
    app.register_blueprint(bp)

    assert app.jinja_env.globals["get_answer"] is get_answer
    async with app.app_context():
        rendered = await render_template_string(
            "{{ get_answer() }} {{ get_stuff_1() }} {{ my_get_stuff_custom_name_2() }}"
            " {{ my_get_stuff_custom_name_3() }} {{ stuff_4() }}"
        )
    assert rendered == "42 get_stuff_1 get_stuff_2 get_stuff_3 get_stuff_4"


# -- url prefixes, subdomains, url_defaults ----------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "rule", "url"),
    [
        pytest.param("", "/", "/", id="empty-prefix-root"),
        pytest.param("/", "", "/", id="slash-prefix-empty-rule"),
        pytest.param("/", "/", "/", id="slash-prefix-root"),
        pytest.param("/foo", "", "/foo", id="prefix-empty-rule"),
        pytest.param("/foo/", "", "/foo/", id="slashed-prefix-empty-rule"),
        pytest.param("", "/bar", "/bar", id="empty-prefix"),
        pytest.param("/foo/", "/bar", "/foo/bar", id="both-slashes"),
        pytest.param("/foo/", "bar", "/foo/bar", id="prefix-slash-only"),
        pytest.param("/foo", "/bar", "/foo/bar", id="rule-slash-only"),
        pytest.param("/foo/", "//bar", "/foo/bar", id="double-slash-rule"),
        pytest.param("/foo//", "/bar", "/foo/bar", id="double-slash-prefix"),
        pytest.param(None, "/bar", "/bar", id="no-prefix"),
    ],
)
async def test_url_prefix_slashes(prefix: str | None, rule: str, url: str) -> None:
    app = make_app()
    bp = Blueprint("test", __name__, url_prefix=prefix)

    @bp.route(rule)
    async def index() -> tuple[str, int]:
        return "", 204

    app.register_blueprint(bp)
    async with app.test_client() as client:
        r = await client.get(url)
    assert r.status_code == 204
    async with app.test_request_context("/"):
        assert url_for("test.index") == url


async def test_registration_url_prefix_replaces_the_blueprints() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__, url_prefix="/own")

    @bp.route("/page")
    async def page() -> str:
        return str(request.endpoint)

    app.register_blueprint(bp, name="moved", url_prefix="/moved/")
    app.register_blueprint(bp, name="kept", url_prefix=None)  # None: the blueprint's own prefix
    async with app.test_client() as client:
        own = await client.get("/own/page")
        moved = await client.get("/moved/page")
    assert (own.status_code, own.text) == (200, "kept.page")
    assert (moved.status_code, moved.text) == (200, "moved.page")
    async with app.test_request_context("/"):
        assert url_for("kept.page") == "/own/page"
        assert url_for("moved.page") == "/moved/page"


async def test_url_defaults_on_the_blueprint_and_per_registration() -> None:
    app = make_app()
    bp = Blueprint("test", __name__, url_defaults={"bar": 1})

    @bp.route("/foo", defaults={"baz": 42})
    async def foo(bar: int, baz: int) -> str:
        return f"{bar}/{baz:d}"

    @bp.route("/bar")
    async def bar(bar: int) -> str:
        return str(bar)

    app.register_blueprint(bp, url_prefix="/0")
    app.register_blueprint(bp, name="test1", url_prefix="/1", url_defaults={"bar": 23})
    app.register_blueprint(bp, name="test2", url_prefix="/2", url_defaults={"bar": 19})
    async with app.test_client() as client:
        bodies = [(await client.get(url)).text for url in ("/0/foo", "/1/foo", "/2/foo", "/1/bar", "/2/bar")]
    assert bodies == ["1/42", "23/42", "19/42", "23", "19"]


async def test_subdomain_blueprint() -> None:
    app = AsyncFlask(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    api = Blueprint("api", __name__, subdomain="api")

    @api.route("/")
    async def index() -> str:
        return f"api {request.blueprint} {url_for('.index')} {url_for('main')}"

    @app.route("/")
    async def main() -> str:
        return f"main {url_for('api.index')}"

    app.register_blueprint(api)
    async with app.test_client() as client:
        on_api = await client.get("http://api.example.test/")
        on_main = await client.get("http://example.test/")
        elsewhere = await client.get("http://other.example.test/")
    assert (on_api.status_code, on_api.text) == (200, "api api / http://example.test/")
    assert (on_main.status_code, on_main.text) == (200, "main http://api.example.test/")
    assert elsewhere.status_code == 404


async def test_subdomain_given_at_registration() -> None:
    app = AsyncFlask(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    bp = Blueprint("bp", __name__, subdomain="ignored")

    @bp.route("/")
    async def index() -> str:
        return str(request.endpoint)

    app.register_blueprint(bp, subdomain="admin")
    async with app.test_client() as client:
        admin = await client.get("http://admin.example.test/")
        ignored = await client.get("http://ignored.example.test/")
    assert (admin.status_code, admin.text) == (200, "bp.index")
    assert ignored.status_code == 404


async def test_registration_overrides_together() -> None:
    app = AsyncFlask(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    bp = Blueprint("bp", __name__, url_prefix="/bp", subdomain="one", url_defaults={"tag": "own"})

    @bp.route("/view")
    async def view(tag: str) -> str:
        return f"{request.endpoint} {request.blueprint} {tag}"

    app.register_blueprint(bp, url_prefix="/x", name="renamed", subdomain="two", url_defaults={"tag": "set"})
    async with app.test_client() as client:
        r = await client.get("http://two.example.test/x/view")
        old = await client.get("http://one.example.test/bp/view")
    assert (r.status_code, r.text) == (200, "renamed.view renamed set")
    assert old.status_code == 404
    assert app.blueprints == {"renamed": bp}
    async with app.app_context():
        assert url_for("renamed.view") == "http://two.example.test/x/view"


# -- names ----------------------------------------------------------------------------------------


async def test_same_blueprint_twice_under_different_names() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.route("/view")
    async def view() -> str:
        return f"{request.endpoint} {url_for('.view')}"

    app.register_blueprint(bp, name="a", url_prefix="/a")
    app.register_blueprint(bp, name="b", url_prefix="/b")
    async with app.test_client() as client:
        a = await client.get("/a/view")
        b = await client.get("/b/view")
    assert (a.status_code, a.text) == (200, "a.view /a/view")
    assert (b.status_code, b.text) == (200, "b.view /b/view")
    assert {"a.view", "b.view"} <= set(app.view_functions)
    assert app.blueprints == {"a": bp, "b": bp}
    assert app.iter_blueprints() == [bp, bp]


async def test_unique_blueprint_names() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)
    bp2 = Blueprint("bp", __name__)

    app.register_blueprint(bp)
    with pytest.raises(ValueError, match="The name 'bp' is already registered for this blueprint"):
        app.register_blueprint(bp)
    app.register_blueprint(bp, name="again")
    with pytest.raises(ValueError, match="already registered for a different blueprint. Use 'name='"):
        app.register_blueprint(bp2)
    app.register_blueprint(bp2, name="alt")
    assert list(app.blueprints) == ["bp", "again", "alt"]


@pytest.mark.parametrize(
    "name",
    [pytest.param("app.ui", id="dotted"), pytest.param("", id="empty")],
)
async def test_bad_blueprint_names(name: str) -> None:
    with pytest.raises(ValueError):
        Blueprint(name, __name__)


async def test_dotted_name_at_registration() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="may not contain a dot"):
        app.register_blueprint(bp, name="app.ui")
    assert app.blueprints == {}


async def test_dotted_endpoints_refused() -> None:
    bp = Blueprint("bp", __name__)

    async def dotted() -> str:
        return ""

    with pytest.raises(ValueError, match="may not contain a dot"):
        bp.route("/", endpoint="a.b")(dotted)
    with pytest.raises(ValueError, match="may not contain a dot"):
        bp.add_url_rule("/", endpoint="a.b")
    dotted.__name__ = "a.b"
    with pytest.raises(ValueError, match="may not contain a dot"):
        bp.add_url_rule("/", view_func=dotted)


async def test_self_registration_refused() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="cannot be registered on itself"):
        bp.register_blueprint(bp)


async def test_dotted_names_from_app() -> None:
    app = make_app()
    test = Blueprint("test", __name__)

    @app.route("/")
    async def app_index() -> str:
        return f"{url_for('test.index')} {request.blueprint} {request.blueprints}"

    @test.route("/test/")
    async def index() -> str:
        return f"{url_for('app_index')} {url_for('.index')} {request.blueprint} {request.blueprints}"

    app.register_blueprint(test)
    async with app.test_client() as client:
        from_app = await client.get("/")
        from_bp = await client.get("/test/")
    assert from_app.text == "/test/ None []"
    assert from_bp.text == "/ /test/ test ['test']"


async def test_relative_url_for_outside_a_blueprint_is_app_level() -> None:
    app = make_app()

    @app.route("/page")
    async def page() -> str:
        return url_for(".page")

    async with app.test_client() as client:
        r = await client.get("/page")
    assert (r.status_code, r.text) == (200, "/page")


# -- nesting ----------------------------------------------------------------------------------------


async def test_nested_blueprints_three_levels() -> None:
    app = make_app()
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)
    grandchild = Blueprint("grandchild", __name__)

    @parent.errorhandler(403)
    async def forbidden(e: HTTPException) -> tuple[str, int]:
        return "Parent no", 403

    @parent.route("/")
    async def parent_index() -> str:
        return f"Parent yes {request.blueprints} {url_for('.child.child_index')}"

    @parent.route("/no")
    async def parent_no() -> Any:
        abort(403)

    @child.route("/")
    async def child_index() -> str:
        return f"Child yes {request.blueprint} {url_for('.grandchild.grandchild_index')}"

    @child.route("/no")
    async def child_no() -> Any:
        abort(403)

    @grandchild.errorhandler(403)
    async def grandchild_forbidden(e: HTTPException) -> tuple[str, int]:
        return "Grandchild no", 403

    @grandchild.route("/")
    async def grandchild_index() -> str:
        return f"Grandchild yes {request.endpoint} {request.blueprints} {url_for('.grandchild_index')}"

    @grandchild.route("/no")
    async def grandchild_no() -> Any:
        abort(403)

    child.register_blueprint(grandchild, url_prefix="/grandchild")
    parent.register_blueprint(child, url_prefix="/child")
    app.register_blueprint(parent, url_prefix="/parent")

    async with app.test_client() as client:
        responses = {
            path: await client.get(path)
            for path in (
                "/parent/",
                "/parent/child/",
                "/parent/child/grandchild/",
                "/parent/no",
                "/parent/child/no",
                "/parent/child/grandchild/no",
            )
        }
    bodies = {path: (r.status_code, r.text) for path, r in responses.items()}
    assert bodies == {
        "/parent/": (200, "Parent yes ['parent'] /parent/child/"),
        "/parent/child/": (200, "Child yes parent.child /parent/child/grandchild/"),
        "/parent/child/grandchild/": (
            200,
            "Grandchild yes parent.child.grandchild.grandchild_index"
            " ['parent.child.grandchild', 'parent.child', 'parent'] /parent/child/grandchild/",
        ),
        "/parent/no": (403, "Parent no"),
        "/parent/child/no": (403, "Parent no"),
        "/parent/child/grandchild/no": (403, "Grandchild no"),
    }
    assert list(app.blueprints) == ["parent", "parent.child", "parent.child.grandchild"]


@pytest.mark.parametrize(
    ("parent_init", "child_init", "parent_registration", "child_registration"),
    [
        pytest.param("/parent", "/child", None, None, id="constructors"),
        pytest.param("/parent", None, None, "/child", id="child-at-registration"),
        pytest.param(None, None, "/parent", "/child", id="both-at-registration"),
        pytest.param("/other", "/something", "/parent", "/child", id="registration-wins"),
        pytest.param("/parent/", "child/", None, None, id="slashes"),
    ],
)
async def test_nesting_url_prefixes(
    parent_init: str | None,
    child_init: str | None,
    parent_registration: str | None,
    child_registration: str | None,
) -> None:
    app = make_app()
    parent = Blueprint("parent", __name__, url_prefix=parent_init)
    child = Blueprint("child", __name__, url_prefix=child_init)

    @child.route("/")
    async def index() -> str:
        return "index"

    parent.register_blueprint(child, url_prefix=child_registration)
    app.register_blueprint(parent, url_prefix=parent_registration)
    async with app.test_client() as client:
        r = await client.get("/parent/child/")
    assert (r.status_code, r.text) == (200, "index")


async def test_nested_prefix_from_parent_only() -> None:
    app = make_app()
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__)

    @child.route("/leaf")
    async def leaf() -> str:
        return str(request.endpoint)

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    async with app.test_client() as client:
        r = await client.get("/parent/leaf")
    assert (r.status_code, r.text) == (200, "parent.child.leaf")


async def test_nesting_subdomains() -> None:
    app = AsyncFlask(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)

    @child.route("/child/")
    async def index() -> str:
        return "child"

    parent.register_blueprint(child)
    app.register_blueprint(parent, subdomain="api")
    async with app.test_client() as client:
        r = await client.get("http://api.example.test/child/")
        bare = await client.get("http://example.test/child/")
    assert (r.status_code, r.text) == (200, "child")
    assert bare.status_code == 404


async def test_child_and_parent_subdomain() -> None:
    app = AsyncFlask(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__, subdomain="api")

    @child.route("/")
    async def index() -> str:
        return "child"

    parent.register_blueprint(child)
    app.register_blueprint(parent, subdomain="parent")
    async with app.test_client() as client:
        nested = await client.get("http://api.parent.example.test/")
        outer = await client.get("http://parent.example.test/")
    assert (nested.status_code, nested.text) == (200, "child")
    assert outer.status_code == 404
    async with app.app_context():
        assert url_for("parent.child.index") == "http://api.parent.example.test/"


async def test_nested_blueprint_renaming() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)
    bp2 = Blueprint("bp2", __name__)

    @bp.get("/")
    async def index() -> str:
        return str(request.endpoint)

    @bp.get("/error")
    async def error() -> Any:
        abort(403)

    @bp.errorhandler(403)
    async def forbidden(_: Exception) -> tuple[str, int]:
        return "Error", 403

    @bp2.get("/")
    async def index2() -> str:
        return str(request.endpoint)

    bp.register_blueprint(bp2, url_prefix="/a", name="sub")
    app.register_blueprint(bp, url_prefix="/a")
    app.register_blueprint(bp, url_prefix="/b", name="alt")
    async with app.test_client() as client:
        bodies = {path: (await client.get(path)).text for path in ("/a/", "/b/", "/a/a/", "/b/a/")}
        errors = [await client.get("/a/error"), await client.get("/b/error")]
    assert bodies == {
        "/a/": "bp.index",
        "/b/": "alt.index",
        "/a/a/": "bp.sub.index2",
        "/b/a/": "alt.sub.index2",
    }
    assert [(r.status_code, r.text) for r in errors] == [(403, "Error"), (403, "Error")]


# -- error handlers -------------------------------------------------------------------------------


async def test_error_handlers_by_code_blueprint_first() -> None:
    app = make_app()
    frontend = Blueprint("frontend", __name__)
    backend = Blueprint("backend", __name__)
    sideend = Blueprint("sideend", __name__)

    @frontend.errorhandler(403)
    async def frontend_forbidden(e: HTTPException) -> tuple[str, int]:
        return "frontend says no", 403

    @frontend.route("/frontend-no")
    async def frontend_no() -> Any:
        abort(403)

    @backend.errorhandler(403)
    def backend_forbidden(e: HTTPException) -> tuple[str, int]:
        return "backend says no", 403

    @backend.route("/backend-no")
    async def backend_no() -> Any:
        abort(403)

    @sideend.route("/what-is-a-sideend")
    async def sideend_no() -> Any:
        abort(403)

    app.register_blueprint(frontend)
    app.register_blueprint(backend)
    app.register_blueprint(sideend)

    @app.errorhandler(403)
    async def app_forbidden(e: HTTPException) -> tuple[str, int]:
        return "application itself says no", 403

    async with app.test_client() as client:
        results = [await client.get(p) for p in ("/frontend-no", "/backend-no", "/what-is-a-sideend")]
    assert [(r.status_code, r.text) for r in results] == [
        (403, "frontend says no"),
        (403, "backend says no"),
        (403, "application itself says no"),
    ]


async def test_error_handlers_by_exception_class() -> None:
    class MyDecoratorException(Exception):
        pass

    class MyFunctionException(Exception):
        pass

    app = make_app()
    blue = Blueprint("blue", __name__)

    @blue.errorhandler(MyDecoratorException)
    async def my_decorator_exception_handler(e: MyDecoratorException) -> str:
        assert isinstance(e, MyDecoratorException)
        return "boom"

    async def my_function_exception_handler(e: MyFunctionException) -> str:
        assert isinstance(e, MyFunctionException)
        return "bam"

    blue.register_error_handler(MyFunctionException, my_function_exception_handler)

    @blue.route("/decorator")
    async def blue_deco_test() -> str:
        raise MyDecoratorException()

    @blue.route("/function")
    async def blue_func_test() -> str:
        raise MyFunctionException()

    app.register_blueprint(blue)
    async with app.test_client() as client:
        deco = await client.get("/decorator")
        func = await client.get("/function")
    assert (deco.status_code, deco.text) == (200, "boom")
    assert (func.status_code, func.text) == (200, "bam")


async def test_error_handlers_blueprint_then_app_by_class() -> None:
    class AppError(Exception):
        pass

    class SpecificError(AppError):
        pass

    class OtherError(Exception):
        pass

    app = make_app()
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.errorhandler(AppError)
    async def bp_app_error(e: AppError) -> tuple[str, int]:
        return f"bp {type(e).__name__}", 409

    @app.errorhandler(SpecificError)
    async def app_specific(e: SpecificError) -> tuple[str, int]:
        return "app specific", 410

    @app.errorhandler(OtherError)
    async def app_other(e: OtherError) -> tuple[str, int]:
        return "app other", 418

    async def raise_specific() -> str:
        raise SpecificError()

    async def raise_other() -> str:
        raise OtherError()

    bp.add_url_rule("/specific", "specific", raise_specific)
    bp.add_url_rule("/other", "other", raise_other)
    app.add_url_rule("/specific", "specific", raise_specific)
    app.register_blueprint(bp)
    async with app.test_client() as client:
        in_bp = await client.get("/bp/specific")
        falls_back = await client.get("/bp/other")
        in_app = await client.get("/specific")
    # The blueprint's handler wins even though the app has a more specific one.
    assert (in_bp.status_code, in_bp.text) == (409, "bp SpecificError")
    assert (falls_back.status_code, falls_back.text) == (418, "app other")
    assert (in_app.status_code, in_app.text) == (410, "app specific")


async def test_error_handler_code_and_http_exception_class() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.errorhandler(HTTPException)
    async def any_http(e: HTTPException) -> tuple[str, int]:
        return f"bp http {e.code}", e.code or 500

    @app.errorhandler(404)
    async def app_not_found(e: HTTPException) -> tuple[str, int]:
        return "app 404", 404

    @bp.route("/gone")
    async def gone() -> Any:
        abort(404)

    @bp.route("/forbidden")
    async def forbidden() -> str:
        raise Forbidden()

    app.register_blueprint(bp)
    async with app.test_client() as client:
        gone_r = await client.get("/bp/gone")
        forbidden_r = await client.get("/bp/forbidden")
        unrouted = await client.get("/bp/nothing-here")
    # By code first (the app's 404 handler), then by class (the blueprint's HTTPException one).
    assert (gone_r.status_code, gone_r.text) == (404, "app 404")
    assert (forbidden_r.status_code, forbidden_r.text) == (403, "bp http 403")
    # A URL no rule matches belongs to no blueprint: only app handlers see it.
    assert (unrouted.status_code, unrouted.text) == (404, "app 404")


async def test_blueprint_500_handler_for_unhandled_errors() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.errorhandler(500)
    async def server_error(e: HTTPException) -> tuple[str, int]:
        original = getattr(e, "original_exception", None)
        return f"bp 500 {type(original).__name__}", 500

    @bp.route("/crash")
    async def crash() -> str:
        raise KeyError("boom")

    @app.route("/crash")
    async def app_crash() -> str:
        raise KeyError("boom")

    app.register_blueprint(bp)
    app.logger.disabled = True
    try:
        async with app.test_client() as client:
            in_bp = await client.get("/bp/crash")
            in_app = await client.get("/crash")
    finally:
        app.logger.disabled = False
    assert (in_bp.status_code, in_bp.text) == (500, "bp 500 KeyError")
    assert in_app.status_code == 500
    assert "bp 500" not in in_app.text


async def test_app_errorhandler_from_a_blueprint() -> None:
    app = make_app()
    errors = Blueprint("errors", __name__)

    @errors.app_errorhandler(403)
    async def forbidden_handler(e: HTTPException) -> tuple[str, int]:
        return "you shall not pass", 403

    @errors.app_errorhandler(NotFound)
    async def not_found(e: HTTPException) -> tuple[str, int]:
        return "nothing here", 404

    @app.route("/forbidden")
    async def app_forbidden() -> Any:
        abort(403)

    forbidden_bp = Blueprint("forbidden_bp", __name__)

    @forbidden_bp.route("/nope")
    async def bp_forbidden() -> Any:
        abort(403)

    app.register_blueprint(errors)
    app.register_blueprint(forbidden_bp)
    async with app.test_client() as client:
        results = [await client.get(p) for p in ("/forbidden", "/nope", "/missing")]
    assert [(r.status_code, r.text) for r in results] == [
        (403, "you shall not pass"),
        (403, "you shall not pass"),
        (404, "nothing here"),
    ]


# -- templates and static files ---------------------------------------------------------------------


async def test_blueprint_templates() -> None:
    app = make_app()
    admin = admin_blueprint(url_prefix="/admin")
    frontend = Blueprint(
        "frontend", __name__, root_path=str(ASSETS / "frontend"), template_folder="templates"
    )

    @admin.route("/")
    async def index() -> str:
        return await render_template("admin/index.html", who=request.blueprint)

    @admin.route("/shared")
    async def shared() -> str:
        return await render_template("shared.html")

    @frontend.context_processor
    def answer() -> dict[str, int]:
        return {"answer": 42}

    @frontend.app_template_filter()
    def shout(s: str) -> str:
        return s.upper()

    @frontend.route("/")
    async def front() -> str:
        return await render_template("frontend/index.html")

    @app.route("/from-app")
    async def from_app() -> str:
        # Blueprint folders are searched for every request, not only the blueprint's own.
        return await render_template("admin/index.html", who="app")

    app.register_blueprint(admin)
    app.register_blueprint(frontend)
    async with app.test_client() as client:
        r_admin = await client.get("/admin/")
        r_shared = await client.get("/admin/shared")
        r_front = await client.get("/")
        r_app = await client.get("/from-app")
    assert (r_admin.status_code, r_admin.text) == (200, "Hello from the Admin, admin")
    assert r_admin.headers["content-type"] == HTML
    # On a name clash the app's own folder wins, as in Flask.
    assert (r_shared.status_code, r_shared.text) == (200, "shared from the app")
    assert (r_front.status_code, r_front.text) == (200, "Hello from the Frontend: 42 ABC")
    assert (r_app.status_code, r_app.text) == (200, "Hello from the Admin, app")
    assert app.jinja_env.list_templates() == [
        "admin/index.html",
        "frontend/index.html",
        "shared.html",
    ]
    async with app.app_context():
        with pytest.raises(jinja2.TemplateNotFound) as info:
            await render_template("missing.html")
    assert info.value.name == "missing.html"


async def test_blueprint_static_files() -> None:
    app = make_app(SEND_FILE_MAX_AGE_DEFAULT=3600)
    app.register_blueprint(admin_blueprint(url_prefix="/admin"))
    async with app.test_client() as client:
        text = await client.get("/admin/static/test.txt")
        nested = await client.get("/admin/static/css/test.css")
        missing = await client.get("/admin/static/missing.txt")
        escape = await client.get("/admin/static/..%2F..%2Fapp_templates%2Fshared.html")
    assert (text.status_code, text.text) == (200, "Admin File\n")
    assert text.headers["content-type"].startswith("text/plain")
    assert text.headers["cache-control"] == "public, max-age=3600"
    assert (nested.status_code, nested.text) == (200, "/* nested file */\n")
    assert nested.headers["content-type"].startswith("text/css")
    assert missing.status_code == 404
    assert escape.status_code == 404
    assert "admin.static" in app.view_functions
    async with app.test_request_context("/"):
        assert url_for("admin.static", filename="test.txt") == "/admin/static/test.txt"
        assert url_for("admin.static", filename="css/test.css") == "/admin/static/css/test.css"


async def test_blueprint_static_url_path_and_relative_url_for() -> None:
    app = make_app()
    bp = admin_blueprint(url_prefix="/admin", static_url_path="/assets")

    @bp.route("/")
    async def index() -> str:
        return url_for(".static", filename="test.txt")

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="other", url_prefix="/other")
    async with app.test_client() as client:
        link = await client.get("/admin/")
        served = await client.get("/admin/assets/test.txt")
        second = await client.get("/other/assets/test.txt")
        default_path = await client.get("/admin/static/test.txt")
    assert (link.status_code, link.text) == (200, "/admin/assets/test.txt")
    assert (served.status_code, served.text) == (200, "Admin File\n")
    assert (second.status_code, second.text) == (200, "Admin File\n")
    assert default_path.status_code == 404


async def test_blueprint_static_max_age_override() -> None:
    class MyBlueprint(Blueprint):
        def get_send_file_max_age(self, filename: str | None) -> int | None:
            return 100

    app = make_app(SEND_FILE_MAX_AGE_DEFAULT=3600)
    bp = MyBlueprint(
        "bp", __name__, url_prefix="/bp", root_path=str(ASSETS / "admin"), static_folder="static"
    )
    app.register_blueprint(bp)
    async with app.test_client() as client:
        r = await client.get("/bp/static/test.txt")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=100"


# -- deferred setup, and setup once serving has started -------------------------------------------


async def test_record_and_record_once() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    states: list[BlueprintSetupState] = []
    once: list[str] = []

    bp.record(states.append)
    bp.record_once(lambda state: once.append(state.name))

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="again", url_prefix="/again", url_defaults={"x": 1})
    assert once == ["bp"]
    assert [(s.app, s.blueprint, s.name, s.url_prefix, s.first_registration) for s in states] == [
        (app, bp, "bp", "/bp", True),
        (app, bp, "again", "/again", False),
    ]
    assert states[1].options == {"name": "again", "url_prefix": "/again", "url_defaults": {"x": 1}}
    assert states[1].url_defaults == {"x": 1}


async def test_record_adds_rules_through_the_state() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    async def extra() -> str:
        return str(request.endpoint)

    bp.record(lambda state: state.add_url_rule("/extra", view_func=extra))
    app.register_blueprint(bp)
    async with app.test_client() as client:
        r = await client.get("/bp/extra")
    assert (r.status_code, r.text) == (200, "bp.extra")


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda bp: bp.route("/late")(lambda: "late"), id="route"),
        pytest.param(lambda bp: bp.before_request(lambda: None), id="before_request"),
        pytest.param(lambda bp: bp.errorhandler(404)(lambda e: "x"), id="errorhandler"),
        pytest.param(lambda bp: bp.app_template_filter()(str), id="app_template_filter"),
        pytest.param(lambda bp: bp.record(lambda state: None), id="record"),
        pytest.param(lambda bp: bp.register_blueprint(Blueprint("late", __name__)), id="register_blueprint"),
    ],
)
async def test_setup_after_registration_is_an_error(setup: Any) -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(RuntimeError, match="can no longer be called on the blueprint 'bp'"):
        setup(bp)


async def test_registration_after_serving_started_is_an_error() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.route("/late")
    async def late() -> str:
        return "late"

    @app.route("/")
    async def index() -> str:
        return "index"

    async with app.test_client() as client:
        assert (await client.get("/")).text == "index"
        with pytest.raises(
            RuntimeError, match="'register_blueprint' can no longer be called on the application"
        ):
            app.register_blueprint(bp)
        with pytest.raises(RuntimeError, match="started serving"):
            app.route("/later")(late)
        assert (await client.get("/late")).status_code == 404
    assert app.blueprints == {}


async def test_registration_after_lifespan_startup_is_an_error() -> None:
    app = make_app()
    async with app.test_client():
        with pytest.raises(RuntimeError, match="Register everything .* before serving"):
            app.register_blueprint(Blueprint("bp", __name__))


# -- command line ---------------------------------------------------------------------------------


async def test_blueprint_cli_commands() -> None:
    app = make_app(GREETING="hello")
    grouped = Blueprint("grouped", __name__)
    top = Blueprint("top", __name__, cli_group=None)
    custom = Blueprint("custom", __name__, cli_group="named")

    @grouped.cli.command("greet")
    @click.argument("who")
    def greet(who: str) -> None:
        click.echo(f"{current_app.config['GREETING']} {who}")

    @top.cli.command("top")
    def top_command() -> None:
        click.echo("top level")

    @custom.cli.command("run-it")
    async def run_it() -> None:
        click.echo(f"async in {current_app.import_name}")

    app.register_blueprint(grouped)
    app.register_blueprint(top)
    app.register_blueprint(custom)
    runner = app.test_cli_runner()

    greeted = runner.invoke(args=["grouped", "greet", "you"])
    assert (greeted.exit_code, greeted.output) == (0, "hello you\n")
    top_level = runner.invoke(args=["top"])
    assert (top_level.exit_code, top_level.output) == (0, "top level\n")
    custom_r = runner.invoke(args=["named", "run-it"])
    assert (custom_r.exit_code, custom_r.output) == (0, f"async in {__name__}\n")
    not_grouped = runner.invoke(args=["top", "top"])
    assert not_grouped.exit_code == 2
    assert set(app.cli.commands) == {"grouped", "top", "named"}


async def test_blueprint_cli_group_follows_the_registered_name() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.cli.command("hello")
    def hello() -> None:
        click.echo("hi")

    app.register_blueprint(bp, name="renamed")
    result = app.test_cli_runner().invoke(args=["renamed", "hello"])
    assert (result.exit_code, result.output) == (0, "hi\n")


async def test_blueprint_cli_group_at_registration() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.cli.command("hello")
    def hello() -> None:
        click.echo("hi")

    app.register_blueprint(bp, cli_group=None)
    result = app.test_cli_runner().invoke(args=["hello"])
    assert (result.exit_code, result.output) == (0, "hi\n")


def test_positional_arguments_follow_flasks_order() -> None:
    import inspect

    import flask

    ours = list(inspect.signature(Blueprint).parameters)
    theirs = list(inspect.signature(flask.Blueprint).parameters)
    assert ours == theirs
    args = ("bp", __name__, "static", "/assets", "templates", "/prefix")
    bp, flask_bp = Blueprint(*args), flask.Blueprint(*args)
    for name in ("static_folder", "static_url_path", "template_folder", "url_prefix"):
        assert getattr(bp, name) == getattr(flask_bp, name), name
    assert bp.url_prefix == "/prefix"
