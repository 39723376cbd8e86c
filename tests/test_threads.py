"""Sync code of one request runs on one thread: thread-bound resources in `g` work."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from asyncflask import AsyncFlask, g, render_template_string
from asyncflask import threads as worker_threads


def make_app() -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config["TESTING"] = True
    return app


async def test_sqlite_connection_in_g_across_sync_hook_view_and_teardown(tmp_path: Path) -> None:
    app = make_app()
    database = tmp_path / "app.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE posts (title TEXT)")
        db.executemany("INSERT INTO posts VALUES (?)", [("first",), ("second",)])
    closed: list[bool] = []

    @app.before_request
    def open_db() -> None:
        g.db = sqlite3.connect(database)  # check_same_thread stays on, as in flaskr

    @app.get("/posts")
    def posts() -> dict[str, Any]:
        rows = g.db.execute("SELECT title FROM posts ORDER BY title").fetchall()
        time.sleep(0.001)  # let other requests interleave
        return {"titles": [title for (title,) in rows]}

    @app.teardown_request
    def close_db(exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()
            closed.append(True)

    async with app.test_client() as client:
        responses = await asyncio.gather(*(client.get("/posts") for _ in range(200)))
    assert [r.status_code for r in responses] == [200] * 200
    assert all(r.json() == {"titles": ["first", "second"]} for r in responses)
    assert len(closed) == 200


async def test_every_sync_function_of_a_request_sees_the_same_thread() -> None:
    # Sync hooks, a sync context processor (around an async view) and sync teardown.
    app = make_app()
    seen: dict[str, list[int]] = {}

    def record(step: str) -> None:
        seen.setdefault(g.request_id, []).append(threading.get_ident())

    @app.before_request
    def before() -> None:
        g.request_id = str(id(g._get_current_object()))
        record("before")

    @app.context_processor
    def processor() -> dict[str, Any]:
        record("context processor")
        return {}

    @app.get("/")
    async def view() -> str:
        return await render_template_string("{{ 1 + 1 }}")

    @app.after_request
    def after(response: Any) -> Any:
        record("after")
        return response

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        record("teardown")

    async with app.test_client() as client:
        await asyncio.gather(*(client.get("/") for _ in range(20)))
    assert len(seen) == 20
    for idents in seen.values():
        assert len(idents) == 4 and len(set(idents)) == 1, idents
    assert threading.get_ident() not in {i for idents in seen.values() for i in idents}


async def test_an_async_only_request_borrows_no_thread(monkeypatch: Any) -> None:
    app = make_app()
    borrowed: list[int] = []
    real_borrow = worker_threads.borrow

    async def counting_borrow() -> worker_threads.WorkerThread:
        borrowed.append(1)
        return await real_borrow()

    monkeypatch.setattr(worker_threads, "borrow", counting_borrow)

    @app.get("/async")
    async def async_view() -> str:
        return "async"

    @app.get("/sync")
    def sync_view() -> str:
        return "sync"

    async with app.test_client() as client:
        assert (await client.get("/async")).text == "async"
        assert borrowed == []
        assert (await client.get("/sync")).text == "sync"
        assert borrowed == [1]


async def test_concurrent_sync_requests_are_bounded_and_queue() -> None:
    app = make_app()
    running = 0
    peak = 0
    lock = threading.Lock()

    @app.get("/slow")
    def slow() -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return "done"

    async with app.test_client() as client:
        responses = await asyncio.gather(*(client.get("/slow") for _ in range(120)))
    assert all(r.text == "done" for r in responses)
    assert 1 < peak <= worker_threads.MAX_BORROWED


async def test_a_sync_error_reaches_the_error_handler_from_the_same_thread() -> None:
    app = make_app()
    idents: list[int] = []

    @app.get("/")
    def view() -> str:
        idents.append(threading.get_ident())
        raise ValueError("bad")

    @app.errorhandler(ValueError)
    def handle(error: ValueError) -> tuple[str, int]:
        idents.append(threading.get_ident())
        return f"handled {error}", 400

    async with app.test_client() as client:
        response = await client.get("/")
    assert (response.status_code, response.text) == (400, "handled bad")
    assert len(set(idents)) == 1


async def test_a_context_pushed_by_code_runs_sync_functions_on_the_callers_thread() -> None:
    import sqlite3
    import threading

    from asyncflask import AsyncFlask, g

    app = AsyncFlask(__name__)
    threads_seen: list[int] = []

    @app.teardown_appcontext
    def close_db(exc: BaseException | None) -> None:
        threads_seen.append(threading.get_ident())
        db = g.pop("db", None)
        if db is not None:
            db.close()  # a sqlite3 connection can only be closed on the thread that opened it

    async with app.app_context():
        g.db = sqlite3.connect(":memory:")
        assert g.db.execute("select 1").fetchone() == (1,)
    assert threads_seen == [threading.get_ident()]


async def test_flask_style_sync_views_use_the_helpers_without_await() -> None:
    from asyncflask import AsyncFlask, flash, get_flashed_messages, redirect, render_template_string, request

    app = AsyncFlask(__name__)
    app.secret_key = "test"

    @app.route("/form", methods=["GET", "POST"])
    def form_view() -> Any:
        if request.method == "POST":
            name = request.form["name"]
            files = request.files
            flash(f"saved {name}, {len(files)} files, {len(request.data)} bytes left")
            return redirect("/form")
        return render_template_string(
            "{% for m in get_flashed_messages() %}<p>{{ m }}</p>{% endfor %}{{ n }}",
            n=len(get_flashed_messages()),
        )

    @app.post("/json")
    def json_view() -> Any:
        # Typed as awaitables (what async code sees); in sync code they return the value.
        body: Any = request.get_data()
        payload: Any = request.get_json()
        return {"got": payload["x"], "raw": len(body)}

    async with app.test_client() as client:
        posted = await client.post("/form", data={"name": "ann"})
        assert (posted.status_code, posted.headers["location"]) == (302, "/form")
        page = await client.get("/form")
        assert page.text == "<p>saved ann, 0 files, 0 bytes left</p>1"
        data = await client.post("/json", json={"x": 5})
        assert data.json() == {"got": 5, "raw": 8}


async def test_unawaited_body_on_the_event_loop_is_a_clear_error() -> None:
    from asyncflask import AsyncFlask, request

    app = AsyncFlask(__name__)
    app.config["PRELOAD_BODY"] = False

    @app.post("/")
    async def index() -> str:
        try:
            request.form["name"]
        except RuntimeError as error:
            return str(error)
        return "no error"

    async with app.test_client() as client:
        response = await client.post("/", data={"name": "x"})
    assert "request.form was used without `await`" in response.text
