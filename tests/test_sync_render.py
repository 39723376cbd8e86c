"""Templates that need no awaiting render synchronously, and the ones that do still work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from asyncflask import AsyncFlask, render_template
from asyncflask.sync_render import sync_twin


def make_app(tmp_path: Path, **templates: str) -> AsyncFlask:
    for name, source in templates.items():
        (tmp_path / name.replace("__", ".")).write_text(source)
    return AsyncFlask(__name__, template_folder=str(tmp_path))


def twin_for(app: AsyncFlask, name: str, **context: Any) -> Any:
    return sync_twin(app, app.jinja_env.get_template(name), context)


async def test_a_plain_template_renders_through_its_sync_twin(tmp_path: Path) -> None:
    app = make_app(tmp_path, page__html="{% for i in items %}<li>{{ i }}</li>{% endfor %}")
    async with app.app_context():
        assert await render_template("page.html", items=["<a>", "b"]) == "<li>&lt;a&gt;</li><li>b</li>"
        twin = twin_for(app, "page.html", items=[])
        assert twin is not None and not twin.environment.is_async


async def test_async_global_and_filter_registered_after_the_first_render(tmp_path: Path) -> None:
    app = make_app(tmp_path, page__html="{{ greet('ann') }} {{ 'x' | shout }}", plain__html="plain")
    async with app.app_context():
        assert await render_template("plain.html") == "plain"
        assert twin_for(app, "plain.html") is not None

    async def greet(name: str) -> str:
        return f"hello {name}"

    async def shout(value: str) -> str:
        return value.upper()

    app.jinja_env.globals["greet"] = greet
    app.jinja_env.filters["shout"] = shout
    async with app.app_context():
        assert await render_template("page.html") == "hello ann X"
        assert twin_for(app, "plain.html") is None  # an async callable is registered now
    del app.jinja_env.globals["greet"]
    del app.jinja_env.filters["shout"]
    async with app.app_context():
        assert twin_for(app, "plain.html") is not None


async def test_async_values_in_the_context(tmp_path: Path) -> None:
    app = make_app(tmp_path, loop__html="{% for x in rows %}{{ x }}{% endfor %}", call__html="{{ fetch() }}")

    async def rows() -> AsyncIterator[int]:
        for i in range(3):
            yield i

    async def fetch() -> str:
        return "fetched"

    async with app.app_context():
        assert await render_template("loop.html", rows=rows()) == "012"
        assert await render_template("call.html", fetch=fetch) == "fetched"
        assert twin_for(app, "loop.html", rows=rows()) is None
        assert await render_template("loop.html", rows=[7, 8]) == "78"


async def test_an_async_context_processor_value(tmp_path: Path) -> None:
    app = make_app(tmp_path, page__html="{{ who() }}")

    async def who() -> str:
        return "processor"

    @app.context_processor
    def add_who() -> dict[str, Any]:
        return {"who": who}

    @app.get("/")
    async def index() -> str:
        return await render_template("page.html")

    async with app.test_client() as client:
        assert (await client.get("/")).text == "processor"


async def test_registries_replaced_wholesale_are_picked_up(tmp_path: Path) -> None:
    app = make_app(tmp_path, page__html="{{ now() }}", plain__html="plain")
    async with app.app_context():
        assert await render_template("plain.html") == "plain"

    async def now() -> str:
        return "later"

    app.jinja_env.globals = {**app.jinja_env.globals, "now": now}
    async with app.app_context():
        assert await render_template("page.html") == "later"


async def test_edits_reload_in_both_environments(tmp_path: Path) -> None:
    app = make_app(tmp_path, page__html="v1")
    app.jinja_env.auto_reload = True
    async with app.app_context():
        assert await render_template("page.html") == "v1"
        page = tmp_path / "page.html"
        page.write_text("v2")
        import os

        stat = page.stat()
        os.utime(page, (stat.st_atime, stat.st_mtime + 5))
        assert await render_template("page.html") == "v2"


async def test_sync_globals_changed_after_the_first_render_are_seen(tmp_path: Path) -> None:
    app = make_app(tmp_path, page__html="{{ site }}|{{ motto | default('none') }}|{{ title }}")
    app.jinja_env.globals["site"] = "one"
    async with app.app_context():
        assert await render_template("page.html", title="t") == "one|none|t"
        assert twin_for(app, "page.html") is not None
    app.jinja_env.globals["site"] = "two"  # replaced
    app.jinja_env.globals["motto"] = "new"  # added
    async with app.app_context():
        assert await render_template("page.html", title="t") == "two|new|t"
        # The context's names win over globals of the same name, as in Jinja.
        assert await render_template("page.html", title="t", site="mine") == "mine|new|t"
    app.jinja_env.get_template("page.html")  # the async template, unchanged
    twin = twin_for(app, "page.html")
    twin.globals["site"] = "its own"
    async with app.app_context():
        assert await render_template("page.html", title="t") == "its own|new|t"
