# mypy: disable-error-code="untyped-decorator,misc,no-untyped-call,name-defined"
"""Flask-SQLAlchemy, unchanged, on SQLite in the worker thread; and the async engine path.

Sync views use Flask-SQLAlchemy as on Flask: one session per request, removed at teardown
on the thread the view ran on. Async views use SQLAlchemy's own async engine (aiosqlite)
with a session per request kept on `g`, which is the path docs/extensions.md recommends.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flask_sqlalchemy")
pytest.importorskip("aiosqlite")

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from asyncflask import AsyncFlask, abort, g, jsonify, request


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


def make_sync_app(tmp_path: Path) -> tuple[AsyncFlask, SQLAlchemy, dict[str, Any]]:
    db = SQLAlchemy(model_class=Base)
    app = AsyncFlask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'notes.db'}"
    app.config["TESTING"] = False  # errors become 500s, as in production
    db.init_app(app)  # type: ignore[arg-type]
    seen: dict[str, Any] = {"sessions": [], "view_threads": [], "checkin_threads": []}

    @app.post("/notes")
    def add_note() -> tuple[dict[str, int], int]:
        note = Note(text=request.form["text"])
        db.session.add(note)
        db.session.commit()
        seen["sessions"].append(db.session())
        seen["view_threads"].append(threading.get_ident())
        return {"id": note.id}, 201

    @app.post("/notes/broken")
    def add_then_fail() -> str:
        db.session.add(Note(text=request.form["text"]))
        db.session.flush()
        seen["view_threads"].append(threading.get_ident())
        raise RuntimeError("after the insert, before the commit")

    @app.get("/notes")
    def list_notes() -> Any:
        seen["sessions"].append(db.session())
        rows = db.session.execute(select(Note).order_by(Note.id)).scalars()
        return jsonify([note.text for note in rows])

    @app.get("/notes/<int:note_id>")
    def show_note(note_id: int) -> str:
        return db.get_or_404(Note, note_id).text

    return app, db, seen


async def start(app: AsyncFlask, db: SQLAlchemy, seen: dict[str, Any]) -> None:
    async with app.app_context():
        db.create_all()
        engine = db.engine

    @event.listens_for(engine, "checkin")
    def returned(*_: Any) -> None:
        seen["checkin_threads"].append(threading.get_ident())


async def test_session_per_request_removed_at_teardown(tmp_path: Path) -> None:
    app, db, seen = make_sync_app(tmp_path)
    await start(app, db, seen)
    async with app.test_client() as client:
        created = await client.post("/notes", data={"text": "first"})
        assert (created.status_code, created.json()) == (201, {"id": 1})
        assert (await client.post("/notes", data={"text": "second"})).json() == {"id": 2}
        listed = await client.get("/notes")
        assert listed.json() == ["first", "second"]
        assert (await client.get("/notes/2")).text == "second"
        assert (await client.get("/notes/3")).status_code == 404

    first, second, third = seen["sessions"]
    assert first is not second and second is not third
    # Removed at teardown: each request's session was closed, nothing left in it.
    assert all(len(session.identity_map) == 0 for session in seen["sessions"])
    async with app.app_context():
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    # The connection went back to the pool on the thread that used it (SQLite's rule).
    assert seen["checkin_threads"][: len(seen["view_threads"])] == seen["view_threads"]


async def test_an_error_rolls_the_request_back(tmp_path: Path) -> None:
    app, db, seen = make_sync_app(tmp_path)
    await start(app, db, seen)
    async with app.test_client() as client:
        assert (await client.post("/notes", data={"text": "kept"})).status_code == 201
        failed = await client.post("/notes/broken", data={"text": "lost"})
        assert failed.status_code == 500
        assert (await client.get("/notes")).json() == ["kept"]


def make_async_app(url: str) -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config["TESTING"] = False
    engine: AsyncEngine = create_async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    app.extensions["test_engine"] = engine

    @app.while_serving
    async def database() -> AsyncGenerator[None, None]:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    def db_session() -> AsyncSession:
        if "db" not in g:
            g.db = sessions()
        session: AsyncSession = g.db
        return session

    @app.teardown_appcontext
    async def close_session(error: BaseException | None) -> None:
        session: AsyncSession | None = g.pop("db", None)
        if session is not None:
            if error is None:
                await session.commit()
            await session.close()

    @app.post("/notes")
    async def add_note() -> tuple[dict[str, str], int]:
        form = await request.form
        db_session().add(Note(text=form["text"]))
        if form["text"] == "boom":
            raise RuntimeError("rolled back")
        return {"added": form["text"]}, 201

    @app.get("/notes")
    async def list_notes() -> Any:
        rows = await db_session().scalars(select(Note).order_by(Note.id))
        return jsonify([note.text for note in rows])

    @app.get("/notes/<int:note_id>")
    async def show_note(note_id: int) -> str:
        note = await db_session().get(Note, note_id)
        if note is None:
            abort(404)
        return note.text

    return app


async def test_async_engine_session_per_request(tmp_path: Path) -> None:
    app = make_async_app(f"sqlite+aiosqlite:///{tmp_path / 'async.db'}")
    engine: AsyncEngine = app.extensions["test_engine"]
    async with app.test_client() as client:
        created = await client.post("/notes", data={"text": "first"})
        assert (created.status_code, created.json()) == (201, {"added": "first"})
        assert (await client.post("/notes", data={"text": "boom"})).status_code == 500
        assert (await client.post("/notes", data={"text": "second"})).status_code == 201
        assert (await client.get("/notes")).json() == ["first", "second"]
        assert (await client.get("/notes/2")).text == "second"
        assert (await client.get("/notes/9")).status_code == 404
        # Every request's session gave its connection back at teardown.
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
