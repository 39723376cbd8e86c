"""Fixtures: a fresh app with a temporary database for each test, its client and CLI runner."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncflask import AsyncFlask
from flaskr import create_app
from flaskr.db import get_db, init_db

DATA_SQL = (Path(__file__).parent / "data.sql").read_text("utf8")


@pytest.fixture
async def app() -> AsyncIterator[AsyncFlask]:
    db_fd, db_path = tempfile.mkstemp()
    app = create_app({"TESTING": True, "DATABASE": db_path})
    async with app.app_context():
        init_db()
        get_db().executescript(DATA_SQL)
    yield app
    os.close(db_fd)
    os.unlink(db_path)


@pytest.fixture
def client(app: AsyncFlask) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: AsyncFlask) -> Any:
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client: Any) -> None:
        self._client = client

    async def login(self, username: str = "test", password: str = "test") -> Any:
        return await self._client.post("/auth/login", data={"username": username, "password": password})

    async def logout(self) -> Any:
        return await self._client.get("/auth/logout")


@pytest.fixture
def auth(client: Any) -> Iterator[AuthActions]:
    yield AuthActions(client)
