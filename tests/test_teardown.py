"""Teardown runs before a whole response is sent, and its errors reach tests, as in Flask."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from asyncflask import AsyncFlask, g
from asyncflask.testing import make_test_scope

if TYPE_CHECKING:
    from conftest import LiveServers


def make_app(**config: Any) -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config.update(**config)
    return app


async def run_raw(app: AsyncFlask, path: str, events: list[str]) -> None:
    """Serve one request straight through ASGI, recording what is sent, in order."""
    scope, receive = make_test_scope(app, path)

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            events.append(f"start {message['status']}")
        elif message["type"] == "http.response.body" and message.get("body"):
            events.append(f"body {message['body'].decode()}")

    async with app.test_client():  # runs the lifespan, so the app is started as when served
        events.clear()  # the lifespan's own app contexts are torn down too
        await app(scope, receive, send)
        seen = list(events)
    events[:] = seen


async def test_teardown_runs_before_a_whole_response_is_sent() -> None:
    app = make_app()
    events: list[str] = []

    @app.get("/")
    async def index() -> str:
        return "hello"

    @app.teardown_request
    async def request_done(exc: BaseException | None) -> None:
        events.append("teardown_request")

    @app.teardown_appcontext
    async def app_done(exc: BaseException | None) -> None:
        events.append("teardown_appcontext")

    await run_raw(app, "/", events)
    assert events == ["teardown_request", "teardown_appcontext", "start 200", "body hello"]


async def test_a_streamed_response_keeps_its_context_until_it_ends() -> None:
    app = make_app()
    events: list[str] = []

    @app.get("/stream")
    async def stream() -> Any:
        g.user = "ann"

        async def chunks() -> AsyncIterator[str]:
            yield "a"
            yield g.user  # the context is still there while streaming

        return chunks()

    @app.teardown_request
    async def request_done(exc: BaseException | None) -> None:
        events.append("teardown_request")

    await run_raw(app, "/stream", events)
    assert events == ["start 200", "body a", "body ann", "teardown_request"]


async def test_failing_teardown_is_raised_in_tests_after_the_others_ran() -> None:
    app = make_app(TESTING=True)
    ran: list[str] = []

    @app.get("/")
    async def index() -> str:
        return "ok"

    @app.teardown_request
    async def fails(exc: BaseException | None) -> None:
        raise RuntimeError("could not close the database")

    @app.teardown_appcontext
    async def still_runs(exc: BaseException | None) -> None:
        ran.append("appcontext")

    client = app.test_client()
    try:
        with pytest.raises(RuntimeError, match="could not close the database"):
            await client.get("/")
    finally:
        await client.aclose()
    assert ran == ["appcontext"]
    # Inside `async with client:` too (the context is kept, but torn down all the same).
    async with app.test_client() as kept:
        ran.clear()
        with pytest.raises(RuntimeError, match="could not close the database"):
            await kept.get("/")
        assert ran == ["appcontext"]


async def test_failing_teardown_in_production_is_logged_once_and_keeps_the_response(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(TESTING=False)
    ran: list[str] = []

    @app.post("/items")
    async def create() -> tuple[str, int]:
        return "created", 201

    @app.teardown_request
    async def fails(exc: BaseException | None) -> None:
        raise RuntimeError("commit failed")

    @app.teardown_request
    async def other(exc: BaseException | None) -> None:
        ran.append("other")

    with caplog.at_level(logging.ERROR):
        async with app.test_client() as client:
            response = await client.post("/items")
    assert (response.status_code, response.text) == (201, "created")
    assert ran == ["other"]
    failures = [r for r in caplog.records if "Teardown function" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None and str(failures[0].exc_info[1]) == "commit failed"


SERVER_APP = """
import asyncio, os, sqlite3
from asyncflask import AsyncFlask, g

app = AsyncFlask(__name__)
DB = os.environ["TEARDOWN_DB"]
with sqlite3.connect(DB) as db:
    db.execute("CREATE TABLE IF NOT EXISTS items (n INTEGER)")


@app.before_request
async def connect():
    g.db = sqlite3.connect(DB, check_same_thread=False)


@app.post("/items/<int:n>")
async def create(n):
    g.db.execute("INSERT INTO items (n) VALUES (?)", (n,))
    return "created", 201


@app.get("/items")
async def count():
    return str(g.db.execute("SELECT COUNT(*) FROM items").fetchone()[0])


@app.teardown_request
async def commit(exc):
    db = g.pop("db", None)
    if db is not None:
        await asyncio.sleep(0.05)  # a slow commit
        db.commit()
        db.close()
"""


async def test_a_teardown_commit_is_visible_to_the_next_request_on_a_real_server(
    tmp_path: Path, live_server: LiveServers
) -> None:
    (tmp_path / "teardown_app.py").write_text(textwrap.dedent(SERVER_APP))
    argv = live_server.uvicorn_argv("teardown_app:app", tmp_path, "--log-level", "warning")
    server = live_server(argv, env={"TEARDOWN_DB": str(tmp_path / "items.db")}, capture_output=True)
    seen = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
        for n in range(1, 21):
            created = await client.post(f"/items/{n}")
            assert created.status_code == 201
            seen.append((await client.get("/items")).text)
    assert seen == [str(n) for n in range(1, 21)]
