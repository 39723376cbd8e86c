from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest

from asyncflask import AsyncFlask, g, request, session, websocket
from asyncflask.blueprints import Blueprint
from asyncflask.templating import (
    Environment,
    TemplateNotFound,
    render_template,
    render_template_string,
    stream_template,
    stream_template_string,
)

HTML = "text/html; charset=utf-8"


def write(folder: Path, **files: str) -> Path:
    """Write templates into `folder` (a `__` in a keyword stands for a dot)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (folder / name.replace("__", ".")).write_text(source)
    return folder


def make_app(folder: Path, **config: Any) -> AsyncFlask:
    app = AsyncFlask(__name__, template_folder=str(folder))
    app.config.update(config)
    return app


# -- rendering ------------------------------------------------------------------------------------


async def test_render_template_from_default_folder() -> None:
    app = AsyncFlask(__name__)  # root_path is tests/, so the folder is tests/templates

    @app.route("/")
    async def index() -> str:
        return await render_template("hello.html", name="World")

    async with app.test_client() as client:
        r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == HTML
    assert r.text == "Hello World!"


async def test_render_template_extends_and_sees_request() -> None:
    app = AsyncFlask(__name__)

    @app.route("/page")
    async def page() -> str:
        return await render_template("child.html")

    async with app.test_client() as client:
        r = await client.get("/page")
    assert r.status_code == 200
    assert r.text == "<main><p>/page</p></main>"


async def test_render_template_string() -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        return await render_template_string("{{ a }} + {{ b }} = {{ a + b }}", a=1, b=2)

    async with app.test_client() as client:
        r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == HTML
    assert r.text == "1 + 2 = 3"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(["missing.html", "b.html", "a.html"], "B", id="first-existing"),
        pytest.param(("a.html", "b.html"), "A", id="tuple-first-wins"),
    ],
)
async def test_render_template_list_picks_first_existing(
    tmp_path: Path, names: list[str] | tuple[str, ...], expected: str
) -> None:
    app = make_app(write(tmp_path, a__html="A", b__html="B"))

    @app.route("/")
    async def index() -> str:
        return await render_template(names)

    async with app.test_client() as client:
        r = await client.get("/")
    assert (r.status_code, r.text) == (200, expected)


async def test_template_not_found_names_template_and_folders(tmp_path: Path) -> None:
    folder = write(tmp_path / "templates")
    app = make_app(folder)
    app.register_blueprint(
        Blueprint("shop", __name__, template_folder="shop_templates", root_path=str(tmp_path))
    )
    async with app.app_context():
        with pytest.raises(TemplateNotFound) as info:
            await render_template("nope.html")
    message = str(info.value)
    assert info.value.name == "nope.html"
    assert "'nope.html' was not found" in message
    assert f"{folder} (application {app.name!r})" in message
    assert f"{tmp_path / 'shop_templates'} (blueprint 'shop', folder does not exist)" in message
    assert TemplateNotFound is jinja2.TemplateNotFound


async def test_template_list_not_found_names_templates_and_folders(tmp_path: Path) -> None:
    app = make_app(write(tmp_path))
    async with app.app_context():
        with pytest.raises(jinja2.TemplatesNotFound) as info:
            await render_template(["x.html", "y.html"])
    assert info.value.templates == ["x.html", "y.html"]
    assert "x.html" in str(info.value) and "y.html" in str(info.value)
    assert f"Searched: {tmp_path} (application" in str(info.value)


async def test_no_template_folder(tmp_path: Path) -> None:
    app = AsyncFlask(__name__, template_folder=None)
    async with app.app_context():
        with pytest.raises(TemplateNotFound, match="No template folder is configured"):
            await render_template("a.html")


async def test_render_needs_app_context() -> None:
    with pytest.raises(RuntimeError, match="outside of application context"):
        await render_template_string("x")


async def test_render_in_app_context_without_request(tmp_path: Path) -> None:
    app = make_app(write(tmp_path, mail__txt="Visit {{ url_for('index', _external=True) }}, {{ g.user }}."))
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/")
    async def index() -> str:
        return ""

    async with app.app_context():
        g.setdefault("user", "ann")
        assert await render_template("mail.txt") == "Visit http://example.com/, ann."
        assert await render_template_string("{{ request is defined }}") == "True"


async def test_url_for_outside_request_needs_server_name(tmp_path: Path) -> None:
    app = AsyncFlask(__name__)

    @app.route("/")
    async def index() -> str:
        return ""

    async with app.app_context():
        with pytest.raises(RuntimeError, match="SERVER_NAME"):
            await render_template_string("{{ url_for('index', _external=True) }}")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("page.html", "&lt;b&gt;&amp;", id="html"),
        pytest.param("page.htm", "&lt;b&gt;&amp;", id="htm"),
        pytest.param("page.xml", "&lt;b&gt;&amp;", id="xml"),
        pytest.param("page.xhtml", "&lt;b&gt;&amp;", id="xhtml"),
        pytest.param("page.svg", "&lt;b&gt;&amp;", id="svg"),
        pytest.param("page.txt", "<b>&", id="txt"),
        pytest.param("page.HTML.j2", "<b>&", id="other-extension"),
        pytest.param(None, "&lt;b&gt;&amp;", id="string"),
    ],
)
async def test_autoescape(tmp_path: Path, name: str | None, expected: str) -> None:
    if name is not None:
        (tmp_path / name).write_text("{{ value }}")
    app = make_app(tmp_path)

    @app.route("/")
    async def index() -> str:
        if name is None:
            return await render_template_string("{{ value }}", value="<b>&")
        return await render_template(name, value="<b>&")

    async with app.test_client() as client:
        r = await client.get("/")
    assert (r.status_code, r.text) == (200, expected)


async def test_tojson_uses_the_app_json_provider() -> None:
    app = AsyncFlask(__name__)
    async with app.app_context():
        rendered = await render_template_string("{{ data|tojson }}", data={"b": "</script>", "a": 1})
    assert rendered == '{"a": 1, "b": "\\u003c/script\\u003e"}'


# -- context ----------------------------------------------------------------------------------------


async def test_default_context_names() -> None:
    app = AsyncFlask(__name__)
    app.config.update(SECRET_KEY="test key", SITE="Shop")

    @app.before_request
    async def load_user() -> None:
        g.setdefault("user", "ann")

    @app.route("/items/<int:id>")
    async def item(id: int) -> str:
        session["cart"] = 3
        return await render_template_string(
            "{{ url_for('item', id=2) }}|{{ url_for('item', id=2, _external=True) }}|{{ config.SITE }}"
            "|{{ request.path }}?{{ request.args.q }}|{{ g.user }}|{{ session.cart }}"
            "|{{ get_flashed_messages is defined }}"
        )

    async with app.test_client() as client:
        r = await client.get("/items/1", params={"q": "x"})
    assert r.status_code == 200
    assert r.headers["content-type"] == HTML
    assert r.text == "/items/2|http://localhost/items/2|Shop|/items/1?x|ann|3|True"
    assert r.headers["vary"] == "Cookie"


async def test_request_names_reach_included_templates(tmp_path: Path) -> None:
    app = make_app(write(tmp_path, page__html='{% include "part.html" %}', part__html="{{ request.method }}"))

    @app.route("/")
    async def index() -> str:
        return await render_template("page.html")

    async with app.test_client() as client:
        r = await client.get("/")
    assert r.text == "GET"


async def test_context_processors_sync_and_async() -> None:
    app = AsyncFlask(__name__)

    @app.context_processor
    def sync_names() -> dict[str, Any]:
        return {"a": "sync", "shadowed": "processor"}

    @app.context_processor
    async def async_names() -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"b": "async", "c": request.path}

    @app.route("/")
    async def index() -> str:
        return await render_template_string("{{ a }} {{ b }} {{ c }} {{ shadowed }}", shadowed="caller")

    async with app.test_client() as client:
        r = await client.get("/")
    assert r.text == "sync async / caller"


async def test_sync_context_processor_runs_in_a_worker_thread_with_the_request() -> None:
    app = AsyncFlask(__name__)
    loop_thread = threading.get_ident()

    @app.context_processor
    def names() -> dict[str, Any]:
        return {"off_loop": threading.get_ident() != loop_thread, "path": request.path}

    @app.route("/page")
    async def page() -> str:
        return await render_template_string("{{ off_loop }} {{ path }}")

    async with app.test_client() as client:
        r = await client.get("/page")
    assert r.text == "True /page"


async def test_context_processors_of_blueprints_inner_wins() -> None:
    app = AsyncFlask(__name__)
    outer, inner, other = (Blueprint(name, __name__) for name in ("a", "b", "other"))
    app.context_processor(lambda: {"who": "app", "app_only": 1, "a_or_app": "app"})
    outer.context_processor(lambda: {"who": "a", "a_or_app": "a"})
    inner.context_processor(lambda: {"who": "a.b"})
    other.context_processor(lambda: {"who": "other"})
    other.app_context_processor(lambda: {"everywhere": "yes"})

    async def view() -> str:
        return await render_template_string("{{ who }} {{ app_only }} {{ a_or_app }} {{ everywhere }}")

    inner.add_url_rule("/view", "view", view)
    outer.add_url_rule("/view", "view", view)
    outer.register_blueprint(inner, url_prefix="/b")
    app.register_blueprint(outer, url_prefix="/a")
    app.register_blueprint(other, url_prefix="/other")
    app.add_url_rule("/view", "view", view)

    async with app.test_client() as client:
        bodies = [(await client.get(path)).text for path in ("/a/b/view", "/a/view", "/view")]
    assert bodies == ["a.b 1 a yes", "a 1 a yes", "app 1 app yes"]


async def test_websocket_handlers_render_with_websocket_and_blueprint_names() -> None:
    app = AsyncFlask(__name__)
    chat = Blueprint("chat", __name__)
    chat.context_processor(lambda: {"room": "lobby"})

    @chat.websocket("/ws")
    async def ws() -> None:
        await websocket.send(await render_template_string("{{ websocket.path }} {{ room }}"))

    app.register_blueprint(chat, url_prefix="/chat")
    async with app.test_client() as client:
        async with client.websocket("/chat/ws") as session_ws:
            assert await session_ws.receive_text() == "/chat/ws lobby"


async def test_context_processor_must_return_a_dict() -> None:
    app = AsyncFlask(__name__)

    @app.context_processor
    def broken() -> Any:
        return None

    async with app.test_request_context("/"):
        with pytest.raises(TypeError, match="context processor 'broken' returned NoneType"):
            await render_template_string("x")


async def test_context_processors_run_without_request() -> None:
    app = AsyncFlask(__name__)

    @app.context_processor
    def names() -> dict[str, Any]:
        return {"x": 1}

    async with app.app_context():
        assert await render_template_string("{{ x }} {{ request is defined }}") == "1 True"


async def test_get_flashed_messages_is_a_global() -> None:
    app = AsyncFlask(__name__)
    from asyncflask import helpers

    assert app.jinja_env.globals["get_flashed_messages"] is helpers.get_flashed_messages
    assert app.jinja_env.globals["config"] is app.config
    assert app.jinja_env.globals["url_for"] == app.url_for


# -- filters, tests, globals --------------------------------------------------------------------------


def register_filters(app: AsyncFlask) -> None:
    @app.template_filter
    def shout(value: str) -> str:
        return value.upper()

    @app.template_filter()
    def twice(value: str) -> str:
        return value * 2

    @app.template_filter("rev")
    def reverse(value: str) -> str:
        return value[::-1]

    app.add_template_filter(lambda value: f"[{value}]", "box")
    assert shout("a") == "A"  # the decorator hands the function back unchanged


def register_tests(app: AsyncFlask) -> None:
    @app.template_test
    def short(value: str) -> bool:
        return len(value) < 3

    @app.template_test()
    def empty(value: str) -> bool:
        return not value

    @app.template_test("palindrome")
    def is_palindrome(value: str) -> bool:
        return value == value[::-1]

    app.add_template_test(lambda value: value.isdigit(), "number")


def register_globals(app: AsyncFlask) -> None:
    @app.template_global
    def one() -> int:
        return 1

    @app.template_global()
    async def two() -> int:
        await asyncio.sleep(0)
        return 2

    @app.template_global("three")
    def make_three() -> int:
        return 3

    app.add_template_global(lambda: 4, "four")


@pytest.mark.parametrize(
    ("register", "source", "expected"),
    [
        pytest.param(
            register_filters,
            "{{ 'ab'|shout }} {{ 'ab'|twice }} {{ 'ab'|rev }} {{ 'ab'|box }}",
            "AB abab ba [ab]",
            id="filters",
        ),
        pytest.param(
            register_tests,
            "{{ 'ab' is short }} {{ '' is empty }} {{ 'aba' is palindrome }} {{ '12' is number }}"
            " {{ 'abc' is short }}",
            "True True True True False",
            id="tests",
        ),
        pytest.param(
            register_globals, "{{ one() }} {{ two() }} {{ three() }} {{ four() }}", "1 2 3 4", id="globals"
        ),
    ],
)
async def test_template_registration(
    register: Callable[[AsyncFlask], None], source: str, expected: str
) -> None:
    app = AsyncFlask(__name__)
    register(app)

    @app.route("/")
    async def index() -> str:
        return await render_template_string(source)

    async with app.test_client() as client:
        r = await client.get("/")
    assert (r.status_code, r.text) == (200, expected)


async def test_registration_reaches_an_existing_environment() -> None:
    app = AsyncFlask(__name__)
    env = app.jinja_env
    app.add_template_filter(str.upper, "up")
    assert app.jinja_env is env
    assert env.filters["up"] is str.upper


@pytest.mark.parametrize(
    "register",
    [
        pytest.param(lambda app: app.template_filter(str.upper), id="filter-bare"),
        pytest.param(lambda app: app.template_test("t")(str.isdigit), id="test-named"),
        pytest.param(lambda app: app.add_template_global(len), id="add-global"),
    ],
)
async def test_registration_refused_after_serving_starts(register: Callable[[AsyncFlask], Any]) -> None:
    app = AsyncFlask(__name__)
    async with app.test_client():
        with pytest.raises(RuntimeError, match="can no longer be called"):
            register(app)


# -- environment ---------------------------------------------------------------------------------------


def test_environment_is_async_and_created_once() -> None:
    app = AsyncFlask(__name__)
    env = app.jinja_env
    assert isinstance(env, Environment)
    assert env.is_async
    assert env.app is app
    assert app.jinja_env is env


@pytest.mark.parametrize(
    ("setting", "debug", "expected"),
    [
        pytest.param(None, False, False, id="default-off"),
        pytest.param(None, True, True, id="default-follows-debug"),
        pytest.param(True, False, True, id="on"),
        pytest.param(False, True, False, id="off-despite-debug"),
    ],
)
def test_auto_reload_setting(setting: bool | None, debug: bool, expected: bool) -> None:
    app = AsyncFlask(__name__)
    app.config.update(TEMPLATES_AUTO_RELOAD=setting, DEBUG=debug)
    assert app.jinja_env.auto_reload is expected


def test_auto_reload_follows_debug_set_later() -> None:
    app = AsyncFlask(__name__)
    assert app.jinja_env.auto_reload is False
    app.debug = True
    assert app.jinja_env.auto_reload is True


@pytest.mark.parametrize(
    ("setting", "expected"),
    [pytest.param(True, "new", id="reloads"), pytest.param(False, "old", id="cached")],
)
async def test_auto_reload_rereads_changed_templates(tmp_path: Path, setting: bool, expected: str) -> None:
    page = write(tmp_path, page__txt="old") / "page.txt"
    app = make_app(tmp_path, TEMPLATES_AUTO_RELOAD=setting)
    async with app.app_context():
        assert await render_template("page.txt") == "old"
        page.write_text("new")
        # A clearly later mtime, whatever the file system's timestamp resolution.
        later = os.stat(page).st_mtime + 10
        os.utime(page, (later, later))
        assert await render_template("page.txt") == expected


# -- loader ----------------------------------------------------------------------------------------------


async def test_app_folder_first_then_blueprints_in_registration_order(tmp_path: Path) -> None:
    app = make_app(write(tmp_path / "app", shared__html="app"))
    write(tmp_path / "one", shared__html="one", one__html="one", both__html="one")
    write(tmp_path / "two", two__html="two", both__html="two")
    app.register_blueprint(Blueprint("one", __name__, template_folder="one", root_path=str(tmp_path)))
    app.register_blueprint(Blueprint("none", __name__, root_path=str(tmp_path)))
    two = Blueprint("two", __name__, template_folder=str(tmp_path / "two"), root_path="/elsewhere")
    app.register_blueprint(two)
    app.register_blueprint(two, name="two_again")
    async with app.app_context():
        rendered = [await render_template(f"{name}.html") for name in ("shared", "one", "two", "both")]
    assert rendered == ["app", "one", "two", "one"]
    assert app.jinja_env.list_templates() == ["both.html", "one.html", "shared.html", "two.html"]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("../secret.html", id="parent"),
        pytest.param("sub/../../secret.html", id="nested-parent"),
    ],
)
async def test_loader_never_leaves_the_folders(tmp_path: Path, name: str) -> None:
    write(tmp_path, secret__html="secret")
    app = make_app(write(tmp_path / "templates"))
    async with app.app_context():
        with pytest.raises(TemplateNotFound):
            await render_template(name)


async def test_explain_template_loading(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(write(tmp_path / "app", page__html="app"), EXPLAIN_TEMPLATE_LOADING=True)
    write(tmp_path / "bp", page__html="bp")
    app.register_blueprint(Blueprint("bp", __name__, template_folder="bp", root_path=str(tmp_path)))
    with caplog.at_level(logging.INFO, logger=app.logger.name):
        async with app.app_context():
            assert await render_template("page.html") == "app"
            with pytest.raises(TemplateNotFound):
                await render_template("missing.html")
    found, missing = [record.getMessage() for record in caplog.records]
    assert found.splitlines() == [
        "Locating template 'page.html':",
        f"  1: application {app.name!r}: {tmp_path / 'app'} -> found",
        f"  2: blueprint 'bp': {tmp_path / 'bp'} -> found, but shadowed by the first match",
        "Warning: several folders have this template; the first one wins. Move blueprint templates"
        " into a subfolder named after the blueprint to keep them apart.",
    ]
    assert missing.splitlines()[1:] == [
        f"  1: application {app.name!r}: {tmp_path / 'app'} -> no match",
        f"  2: blueprint 'bp': {tmp_path / 'bp'} -> no match",
        "Error: the template was not found.",
    ]


# -- streaming ---------------------------------------------------------------------------------------------


async def test_stream_template_really_streams(tmp_path: Path) -> None:
    app = make_app(write(tmp_path, page__html="<h1>{{ title }}</h1>{{ wait() }}<p>{{ request.path }}</p>"))
    release = asyncio.Event()

    @app.template_global
    async def wait() -> str:
        await release.wait()
        return "<released>"

    @app.route("/page")
    async def page() -> Any:
        return await stream_template("page.html", title="Title")

    async with app.test_client() as client:
        async with client.stream("GET", "/page") as r:
            assert r.status_code == 200
            assert r.headers["content-type"] == HTML
            assert "content-length" not in r.headers
            chunks = r.aiter_bytes()
            received = b""
            # Jinja emits a chunk per piece of output; all of those before `wait()` must arrive
            # while the template is still blocked (a buffered body would time out here).
            while received != b"<h1>Title</h1>":
                received += await asyncio.wait_for(anext(chunks), timeout=5)
            release.set()
            rest = b"".join([chunk async for chunk in chunks])
    assert rest == b"&lt;released&gt;<p>/page</p>"


async def test_stream_template_string() -> None:
    app = AsyncFlask(__name__)

    @app.context_processor
    async def names() -> dict[str, Any]:
        return {"user": "ann"}

    @app.route("/")
    async def index() -> Any:
        return await stream_template_string("{% for i in items %}{{ i }},{% endfor %}{{ user }}", items="<ab")

    async with app.test_client() as client:
        r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == HTML
    assert r.text == "&lt;,a,b,ann"


async def test_stream_template_list_and_missing(tmp_path: Path) -> None:
    app = make_app(write(tmp_path, b__txt="b"), TESTING=True)

    @app.route("/list")
    async def from_list() -> Any:
        return await stream_template(["a.txt", "b.txt"])

    @app.route("/missing")
    async def missing() -> Any:
        return await stream_template("missing.txt")

    async with app.test_client() as client:
        r = await client.get("/list")
        assert (r.status_code, r.text) == (200, "b")
        # The lookup happens before the response starts, so it fails as a normal view error.
        with pytest.raises(TemplateNotFound, match="missing.txt"):
            await client.get("/missing")


async def test_stream_processor_error_happens_before_the_response(tmp_path: Path) -> None:
    app = AsyncFlask(__name__)

    @app.context_processor
    def broken() -> dict[str, Any]:
        raise LookupError("no user")

    @app.route("/")
    async def index() -> Any:
        return await stream_template_string("x")

    async with app.test_client() as client:
        r = await client.get("/")
    assert r.status_code == 500
