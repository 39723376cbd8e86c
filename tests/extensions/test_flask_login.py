# mypy: disable-error-code="untyped-decorator,misc"
"""Flask-Login, unchanged, on an asyncflask app: sync and async views."""

from __future__ import annotations

from typing import Any

import pytest

flask_login = pytest.importorskip("flask_login")

from flask_login import (  # noqa: E402
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)

from asyncflask import AsyncFlask, render_template_string, request, signals  # noqa: E402
from asyncflask.flask_context import forward_flask_signals  # noqa: E402


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


USERS = {"ann": User("ann"), "bo": User("bo")}


def make_app(login_view: str | None = "login") -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.secret_key = "test secret"
    manager = LoginManager(app)
    manager.login_view = login_view

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        return USERS.get(user_id)

    @app.post("/login")
    async def login() -> str | tuple[str, int]:
        form = await request.form
        user = USERS.get(form.get("name", ""))
        if user is None:
            return "unknown", 403
        login_user(user, remember=form.get("remember") == "1")
        return f"logged in {current_user.id}"

    @app.get("/login")
    def login_page() -> str:
        return "please log in"

    @app.get("/me")
    async def me() -> str:
        return current_user.id if current_user.is_authenticated else "anonymous"

    @app.get("/private")
    @login_required
    async def private() -> str:
        return f"async secret for {current_user.id}"

    @app.get("/private-sync")
    @login_required
    def private_sync() -> str:
        return f"sync secret for {current_user.id}"

    @app.get("/greeting")
    async def greeting() -> str:
        # `current_user` comes from Flask-Login's context processor.
        return await render_template_string(
            "{% if current_user.is_authenticated %}hi {{ current_user.id }}{% else %}hi guest{% endif %}"
        )

    @app.post("/logout")
    @login_required
    async def logout() -> str:
        logout_user()
        return "bye"

    return app


async def test_login_current_user_and_logout() -> None:
    async with make_app().test_client() as client:
        assert (await client.get("/me")).text == "anonymous"
        assert (await client.get("/greeting")).text == "hi guest"
        response = await client.post("/login", data={"name": "ann"})
        assert (response.status_code, response.text) == (200, "logged in ann")
        assert (await client.get("/me")).text == "ann"
        assert (await client.get("/greeting")).text == "hi ann"
        assert (await client.get("/private")).text == "async secret for ann"
        assert (await client.get("/private-sync")).text == "sync secret for ann"
        assert (await client.post("/logout")).text == "bye"
        assert (await client.get("/me")).text == "anonymous"


async def test_login_required_redirects_to_the_login_view() -> None:
    async with make_app().test_client() as client:
        response = await client.get("/private?x=1")
        assert response.status_code == 302
        assert response.headers["location"] == "/login?next=%2Fprivate%3Fx%3D1"
        sync = await client.get("/private-sync")
        assert (sync.status_code, sync.headers["location"]) == (302, "/login?next=%2Fprivate-sync")


async def test_login_required_without_a_login_view_is_401() -> None:
    async with make_app(login_view=None).test_client() as client:
        response = await client.get("/private")
    assert response.status_code == 401
    assert "<title>401 Unauthorized</title>" in response.text


async def test_remember_me_cookie_logs_in_a_new_session() -> None:
    app = make_app()
    async with app.test_client() as client:
        response = await client.post("/login", data={"name": "bo", "remember": "1"})
        remember = client.get_cookie("remember_token")
        assert remember is not None and remember.value.startswith("bo|")
        assert "remember_token=" in ",".join(response.headers.get_list("set-cookie"))
    async with app.test_client() as fresh:
        fresh.set_cookie("remember_token", remember.value)
        assert (await fresh.get("/me")).text == "bo"


async def test_flask_globals_are_asyncflask_objects() -> None:
    import flask

    app = AsyncFlask(__name__)
    app.secret_key = "x"
    seen: dict[str, Any] = {}

    @app.get("/")
    async def index() -> str:
        seen.update(
            app=flask.current_app._get_current_object(),  # type: ignore[attr-defined]
            request=flask.request._get_current_object(),  # type: ignore[attr-defined]
            has_request=flask.has_request_context(),
        )
        flask.g.value = 1
        flask.session["k"] = "v"
        from asyncflask import g, session

        seen.update(g=g.value, session=session["k"])
        return "ok"

    async with app.test_client() as client:
        assert (await client.get("/")).text == "ok"
    assert seen["app"] is app
    assert seen["request"].path == "/"
    assert (seen["has_request"], seen["g"], seen["session"]) == (True, 1, "v")
    async with app.app_context():
        assert flask.current_app._get_current_object() is app  # type: ignore[attr-defined]
        assert not flask.has_request_context()
    assert not flask.has_app_context()


async def test_flasks_signals_fire_for_asyncflask_requests() -> None:
    import flask

    app = AsyncFlask(__name__)

    @app.get("/")
    async def index() -> str:
        from asyncflask import render_template_string

        return await render_template_string("hi {{ who }}", who="there")

    seen: list[str] = []

    def on_started(sender: Any, **extra: Any) -> None:
        seen.append(f"started {sender is app}")

    def on_rendered(sender: Any, template: Any, context: Any, **extra: Any) -> None:
        seen.append(f"rendered {context['who']}")

    flask.request_started.connect(on_started)
    flask.template_rendered.connect(on_rendered)
    try:
        async with app.test_client() as client:
            assert (await client.get("/")).text == "hi there"
    finally:
        flask.request_started.disconnect(on_started)
        flask.template_rendered.disconnect(on_rendered)
        # What the next app's start would do: forwarding to receiver-less signals stops.
        forward_flask_signals()
    assert seen == ["started True", "rendered there"]
    assert not any(getattr(r, "forwards_to_flask", False) for r in signals.request_started.receivers.values())
