"""stream_with_context, get_template_attribute and Flask's signal names at the top level."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import asyncflask
from asyncflask import AsyncFlask, Response, g, get_template_attribute, request, stream_with_context


async def test_stream_with_context_binds_a_generator_iterated_in_another_task() -> None:
    app = AsyncFlask(__name__)
    collected: list[str] = []

    @app.get("/")
    async def index() -> str:
        g.user = "ann"

        async def chunks() -> AsyncIterator[str]:
            yield request.args["x"]
            yield g.user

        bound = stream_with_context(chunks())

        async def consume() -> None:
            # A fresh task with an empty context: only the binding gives it the request.
            collected.extend([chunk async for chunk in bound])

        await contextvars.Context().run(asyncio.get_running_loop().create_task, consume())
        return "done"

    async with app.test_client() as client:
        assert (await client.get("/?x=1")).text == "done"
    assert collected == ["1", "ann"]


async def test_stream_with_context_as_a_decorator_on_sync_and_async_generators() -> None:
    app = AsyncFlask(__name__)

    @app.get("/sync")
    async def sync_stream() -> Response:
        @stream_with_context
        def chunks() -> Iterator[str]:
            yield "hello "
            yield request.args["name"]

        return Response(chunks())

    @app.get("/async")
    async def async_stream() -> Response:
        @stream_with_context
        async def chunks() -> AsyncIterator[str]:
            yield "hi "
            yield request.args["name"]

        return Response(chunks())

    async with app.test_client() as client:
        assert (await client.get("/sync?name=bo")).text == "hello bo"
        assert (await client.get("/async?name=cy")).text == "hi cy"


def test_stream_with_context_needs_a_request() -> None:
    with pytest.raises(RuntimeError, match="request context"):
        stream_with_context(iter(["x"]))


async def test_get_template_attribute_returns_a_macro_and_a_variable(tmp_path: Path) -> None:
    (tmp_path / "_macros.html").write_text(
        "{% macro hello(name) %}Hello {{ name }}!{% endmacro %}{% set version = 3 %}"
    )
    app = AsyncFlask(__name__, template_folder=str(tmp_path))
    async with app.app_context():
        hello = await get_template_attribute("_macros.html", "hello")
        assert str(await hello("<World>")) == "Hello &lt;World&gt;!"
        assert await get_template_attribute("_macros.html", "version") == 3
        with pytest.raises(AttributeError):
            await get_template_attribute("_macros.html", "missing")


async def test_flasks_signal_names_are_at_the_top_level() -> None:
    app = AsyncFlask(__name__)

    @app.get("/")
    async def index() -> str:
        return "ok"

    seen: list[Any] = []

    def started(sender: Any, **extra: Any) -> None:
        seen.append(("started", sender))

    async def finished(sender: Any, response: Any, **extra: Any) -> None:
        seen.append(("finished", response.status_code))

    asyncflask.request_started.connect(started, app)
    asyncflask.request_finished.connect(finished, app)
    try:
        async with app.test_client() as client:
            await client.get("/")
    finally:
        asyncflask.request_started.disconnect(started, app)
        asyncflask.request_finished.disconnect(finished, app)
    assert seen == [("started", app), ("finished", 200)]
    assert asyncflask.template_rendered is asyncflask.signals.template_rendered


def test_cli_is_a_lazy_submodule() -> None:
    import asyncflask.cli

    assert asyncflask.cli is asyncflask.__getattr__("cli")
    with pytest.raises(AttributeError):
        asyncflask.__getattr__("nope")
