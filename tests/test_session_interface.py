"""A replaced or wrapped `app.session_interface` is what opens and saves sessions."""

from __future__ import annotations

from typing import Any

import pytest

from asyncflask import AsyncFlask, session
from asyncflask.sessions import SecureCookieSessionInterface, SessionInterface


class Recording:
    """Wraps another interface by delegation, recording the public calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def open_session(self, app: Any, request: Any) -> Any:
        self.calls.append("open")
        return await self.inner.open_session(app, request)

    async def save_session(self, app: Any, session: Any, response: Any) -> None:
        self.calls.append("save")
        await self.inner.save_session(app, session, response)


class RecordingSubclass(SessionInterface):
    """A `SessionInterface` subclass that wraps the default one."""

    def __init__(self) -> None:
        self.inner = SecureCookieSessionInterface()
        self.calls: list[str] = []

    async def open_session(self, app: Any, request: Any) -> Any:
        self.calls.append("open")
        return await self.inner.open_session(app, request)

    async def save_session(self, app: Any, session: Any, response: Any) -> None:
        self.calls.append("save")
        await self.inner.save_session(app, session, response)


def make_app() -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="interface-test")

    @app.get("/set")
    async def set_value() -> str:
        session["n"] = 1
        return "set"

    @app.get("/get")
    async def get_value() -> str:
        return str(session.get("n"))

    @app.get("/untouched")
    async def untouched() -> str:
        return "no session"

    return app


@pytest.mark.parametrize(
    "make_interface",
    [
        pytest.param(lambda: Recording(SecureCookieSessionInterface()), id="delegating-wrapper"),
        pytest.param(RecordingSubclass, id="subclass-wrapper"),
    ],
)
async def test_a_wrapping_interface_has_open_and_save_called(make_interface: Any) -> None:
    app = make_app()
    interface = make_interface()
    app.session_interface = interface
    async with app.test_client() as client:
        assert (await client.get("/set")).text == "set"
        assert interface.calls == ["open", "save"]
        response = await client.get("/get")
        assert response.text == "1"
        assert interface.calls == ["open", "save", "open", "save"]
        await client.get("/untouched")
        # Flask opens and saves the session for every request, touched or not.
        assert interface.calls[4:] == ["open", "save"]


async def test_the_default_interface_still_never_opens_an_untouched_session() -> None:
    app = make_app()
    opened: list[str] = []
    original = SecureCookieSessionInterface.open_session_now

    def spy(self: Any, app: Any, ctx: Any) -> Any:
        opened.append("now")
        return original(self, app, ctx)

    SecureCookieSessionInterface.open_session_now = spy  # type: ignore[method-assign]
    try:
        async with app.test_client() as client:
            await client.get("/untouched")
            assert opened == []
            await client.get("/set")
            assert opened == ["now"]
    finally:
        SecureCookieSessionInterface.open_session_now = original  # type: ignore[method-assign]
