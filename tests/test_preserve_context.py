"""`async with client:` keeps the last request's context readable, as Flask's `with client:`."""

from __future__ import annotations

import pytest

from asyncflask import AsyncFlask, g, has_request_context, request, session


def make_app() -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="preserve")
    return app


async def test_request_g_and_session_stay_readable_until_the_next_request() -> None:
    app = make_app()
    torn_down: list[str] = []

    @app.post("/login")
    async def login() -> str:
        session["user_id"] = 7
        g.user = "ann"
        return "in"

    @app.get("/other")
    async def other() -> str:
        g.user = "bob"
        return "other"

    @app.teardown_request
    async def record(exc: BaseException | None) -> None:
        torn_down.append(request.path)

    async with app.test_client() as client:
        await client.post("/login", data={"name": "ann"})
        assert has_request_context()
        assert request.path == "/login"
        assert request.method == "POST"
        assert g.user == "ann"
        assert session["user_id"] == 7
        assert torn_down == ["/login"]  # teardown ran as usual, as with Flask
        await client.get("/other")
        assert request.path == "/other" and g.user == "bob"
    assert torn_down == ["/login", "/other"]
    assert not has_request_context()


async def test_without_the_block_nothing_is_kept() -> None:
    app = make_app()

    @app.get("/")
    async def index() -> str:
        g.value = 1
        return "ok"

    client = app.test_client()
    try:
        await client.get("/")
        assert not has_request_context()
    finally:
        await client.aclose()


async def test_a_teardown_error_reaches_the_test_inside_the_block() -> None:
    app = make_app()

    @app.get("/")
    async def index() -> str:
        return "ok"

    @app.teardown_request
    async def fails(exc: BaseException | None) -> None:
        raise RuntimeError("teardown failed")

    async with app.test_client() as client:
        with pytest.raises(RuntimeError, match="teardown failed"):
            await client.get("/")
    assert not has_request_context()


async def test_concurrent_requests_in_the_block_are_all_torn_down() -> None:
    import asyncio

    app = make_app()
    torn_down: list[int] = []

    @app.get("/<int:n>")
    def view(n: int) -> str:
        return str(n)

    @app.teardown_request
    def record(exc: BaseException | None) -> None:
        torn_down.append(1)

    async with app.test_client() as client:
        responses = await asyncio.gather(*(client.get(f"/{n}") for n in range(100)))
        assert [r.text for r in responses] == [str(n) for n in range(100)]
        assert len(torn_down) == 100
    assert not has_request_context()


async def test_sync_view_and_its_kept_context_share_a_thread_until_teardown() -> None:
    import sqlite3

    app = make_app()

    @app.before_request
    def connect() -> None:
        g.db = sqlite3.connect(":memory:")

    @app.get("/")
    def view() -> str:
        return str(g.db.execute("SELECT 1").fetchone()[0])

    @app.teardown_request
    def close(exc: BaseException | None) -> None:
        g.db.close()

    async with app.test_client() as client:
        assert (await client.get("/")).text == "1"
        assert "db" in g
        assert (await client.get("/")).text == "1"
