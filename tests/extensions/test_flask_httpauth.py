# mypy: disable-error-code="untyped-decorator"
"""Flask-HTTPAuth, unchanged, on an asyncflask app: Basic and token auth."""

from __future__ import annotations

import base64

import pytest

pytest.importorskip("flask_httpauth")

from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth

from asyncflask import AsyncFlask

USERS = {"ann": "secret"}
TOKENS = {"tok-1": "bo"}


def basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def make_app() -> AsyncFlask:
    app = AsyncFlask(__name__)
    basic_auth = HTTPBasicAuth()
    token_auth = HTTPTokenAuth(scheme="Bearer")

    @basic_auth.verify_password
    def verify_password(username: str, password: str) -> str | None:
        return username if USERS.get(username) == password else None

    @token_auth.verify_token
    async def verify_token(token: str) -> str | None:
        return TOKENS.get(token)

    @app.get("/basic")
    @basic_auth.login_required
    async def basic_view() -> str:
        return f"hello {basic_auth.current_user()}"

    @app.get("/basic-sync")
    @basic_auth.login_required
    def basic_sync_view() -> str:
        return f"sync hello {basic_auth.current_user()}"

    @app.get("/token")
    @token_auth.login_required
    async def token_view() -> str:
        return f"token for {token_auth.current_user()}"

    return app


async def test_basic_auth() -> None:
    async with make_app().test_client() as client:
        ok = await client.get("/basic", headers=basic("ann", "secret"))
        sync = await client.get("/basic-sync", headers=basic("ann", "secret"))
        wrong = await client.get("/basic", headers=basic("ann", "nope"))
        missing = await client.get("/basic")
    assert (ok.status_code, ok.text) == (200, "hello ann")
    assert (sync.status_code, sync.text) == (200, "sync hello ann")
    for refused in (wrong, missing):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Basic realm="Authentication Required"'
        assert refused.text == "Unauthorized Access"


async def test_token_auth() -> None:
    async with make_app().test_client() as client:
        ok = await client.get("/token", headers={"Authorization": "Bearer tok-1"})
        wrong = await client.get("/token", headers={"Authorization": "Bearer nope"})
    assert (ok.status_code, ok.text) == (200, "token for bo")
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == 'Bearer realm="Authentication Required"'
