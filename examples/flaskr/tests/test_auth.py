from __future__ import annotations

from typing import Any

import pytest

from asyncflask import AsyncFlask, g, session
from flaskr.db import get_db


async def test_register(client: Any, app: AsyncFlask) -> None:
    assert (await client.get("/auth/register")).status_code == 200
    response = await client.post("/auth/register", data={"username": "a", "password": "a"})
    assert response.headers["Location"] == "/auth/login"

    async with app.app_context():
        assert get_db().execute("SELECT * FROM user WHERE username = 'a'").fetchone() is not None


@pytest.mark.parametrize(
    ("username", "password", "message"),
    (
        ("", "", b"Username is required."),
        ("a", "", b"Password is required."),
        ("test", "test", b"already registered"),
    ),
)
async def test_register_validate_input(client: Any, username: str, password: str, message: bytes) -> None:
    response = await client.post("/auth/register", data={"username": username, "password": password})
    assert message in response.data


async def test_login(client: Any, auth: Any) -> None:
    assert (await client.get("/auth/login")).status_code == 200
    response = await auth.login()
    assert response.headers["Location"] == "/"

    async with client:
        await client.get("/")
        assert session["user_id"] == 1
        assert g.user["username"] == "test"


@pytest.mark.parametrize(
    ("username", "password", "message"),
    (("a", "test", b"Incorrect username."), ("test", "a", b"Incorrect password.")),
)
async def test_login_validate_input(auth: Any, username: str, password: str, message: bytes) -> None:
    response = await auth.login(username, password)
    assert message in response.data


async def test_logout(client: Any, auth: Any) -> None:
    await auth.login()

    async with client:
        await auth.logout()
        assert "user_id" not in session
