"""Signals: Flask's names and arguments, sync and async receivers, connect and disconnect."""

from __future__ import annotations

from typing import Any

import pytest
from blinker import NamedSignal

from asyncflask import (
    AsyncFlask,
    abort,
    flash,
    has_request_context,
    has_websocket_context,
    render_template_string,
    request,
    signals,
    websocket,
)
from asyncflask.wrappers import Response


def make_app(**config: Any) -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config.update(config)
    return app


def test_every_flask_signal_is_exported() -> None:
    names = {
        "template_rendered": "template-rendered",
        "before_render_template": "before-render-template",
        "request_started": "request-started",
        "request_finished": "request-finished",
        "request_tearing_down": "request-tearing-down",
        "got_request_exception": "got-request-exception",
        "appcontext_tearing_down": "appcontext-tearing-down",
        "appcontext_pushed": "appcontext-pushed",
        "appcontext_popped": "appcontext-popped",
        "message_flashed": "message-flashed",
        "websocket_started": "websocket-started",
        "websocket_finished": "websocket-finished",
    }
    for attribute, name in names.items():
        signal = getattr(signals, attribute)
        assert isinstance(signal, NamedSignal)
        assert signal.name == name
    assert set(signals.__all__) == {*names, "send"}


# -- the send helper ---------------------------------------------------------------------------------


async def test_send_calls_sync_and_async_receivers_with_sender_and_kwargs() -> None:
    app = make_app()
    calls: list[tuple[str, Any, dict[str, Any]]] = []

    def sync_receiver(sender: Any, **extra: Any) -> None:
        calls.append(("sync", sender, extra))

    async def async_receiver(sender: Any, **extra: Any) -> None:
        calls.append(("async", sender, extra))

    with (
        signals.request_finished.connected_to(sync_receiver, app),
        signals.request_finished.connected_to(async_receiver, app),
    ):
        await signals.send(signals.request_finished, app, response="r")
    assert sorted(calls, key=lambda call: call[0]) == [
        ("async", app, {"response": "r"}),
        ("sync", app, {"response": "r"}),
    ]


async def test_send_returns_each_receivers_result() -> None:
    app = make_app()

    def sync_receiver(sender: Any) -> str:
        return "sync"

    async def async_receiver(sender: Any) -> str:
        return "async"

    with (
        signals.request_started.connected_to(sync_receiver, app),
        signals.request_started.connected_to(async_receiver, app),
    ):
        results = await signals.send(signals.request_started, app)
    assert sorted(results, key=lambda pair: pair[1]) == [(async_receiver, "async"), (sync_receiver, "sync")]


async def test_send_without_receivers_does_nothing() -> None:
    app = make_app()
    assert await signals.send(signals.template_rendered, app, template=None, context={}) == []

    @app.get("/")
    async def index() -> str:
        return "ok"

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "ok"


async def test_receiver_for_one_app_ignores_another() -> None:
    mine, other = make_app(), make_app()
    seen: list[Any] = []

    def receiver(sender: Any) -> None:
        seen.append(sender)

    for app in (mine, other):

        @app.get("/")
        async def index() -> str:
            return "ok"

    with signals.request_started.connected_to(receiver, mine):
        async with mine.test_client() as client:
            await client.get("/")
        async with other.test_client() as client:
            await client.get("/")
    assert seen == [mine]


async def test_connect_and_disconnect() -> None:
    app = make_app()
    seen: list[str] = []

    async def receiver(sender: AsyncFlask) -> None:
        seen.append(request.path)

    @app.get("/<name>")
    async def page(name: str) -> str:
        return name

    async with app.test_client() as client:
        signals.request_started.connect(receiver, app)
        try:
            await client.get("/one")
        finally:
            signals.request_started.disconnect(receiver, app)
        await client.get("/two")
    assert seen == ["/one"]
    assert list(signals.request_started.receivers_for(app)) == []


# -- request signals ---------------------------------------------------------------------------------


async def test_request_started_runs_in_the_request_context_before_the_view() -> None:
    app = make_app()
    order: list[str] = []

    def started(sender: AsyncFlask) -> None:
        order.append(f"started {sender.name} {has_request_context()} {request.path}")

    @app.before_request
    async def before() -> None:
        order.append("before_request")

    @app.get("/page")
    async def page() -> str:
        order.append("view")
        return "ok"

    with signals.request_started.connected_to(started, app):
        async with app.test_client() as client:
            await client.get("/page")
    assert order == [f"started {__name__} True /page", "before_request", "view"]


async def test_request_finished_gets_the_final_response() -> None:
    app = make_app()
    seen: list[tuple[int, str | None, bytes]] = []

    async def finished(sender: AsyncFlask, response: Response) -> None:
        seen.append((response.status_code, response.headers.get("x-after"), bytes(response.body)))

    @app.after_request
    async def after(response: Response) -> Response:
        response.headers["X-After"] = "yes"
        return response

    @app.get("/")
    async def index() -> Any:
        return "created", 201

    with signals.request_finished.connected_to(finished, app):
        async with app.test_client() as client:
            response = await client.get("/")
    assert response.status_code == 201
    assert seen == [(201, "yes", b"created")]


async def test_got_request_exception_gets_the_unhandled_exception() -> None:
    """Sent for an unhandled exception only, as Flask's `handle_exception` does."""
    app = make_app()
    seen: list[BaseException] = []

    def got(sender: AsyncFlask, exception: BaseException) -> None:
        seen.append(exception)

    @app.get("/boom")
    async def boom() -> str:
        raise ValueError("boom")

    @app.get("/missing")
    async def missing() -> Any:
        abort(404)

    with signals.got_request_exception.connected_to(got, app):
        async with app.test_client() as client:
            assert (await client.get("/boom")).status_code == 500
            assert (await client.get("/missing")).status_code == 404  # handled: no signal
    assert [(type(error), str(error)) for error in seen] == [(ValueError, "boom")]


async def test_request_tearing_down_gets_the_exception() -> None:
    """Sent after the teardown_request functions, as Flask's `do_teardown_request` does."""
    app = make_app()
    seen: list[tuple[str, Any]] = []

    async def tearing_down(sender: AsyncFlask, exc: BaseException | None) -> None:
        seen.append((request.path, exc))

    @app.get("/")
    async def index() -> str:
        return "ok"

    with signals.request_tearing_down.connected_to(tearing_down, app):
        async with app.test_client() as client:
            await client.get("/")
    assert seen == [("/", None)]


async def test_appcontext_tearing_down_for_requests_and_websockets() -> None:
    """Sent after the teardown_appcontext functions of every context that ends."""
    app = make_app()
    seen: list[str] = []

    def tearing_down(sender: AsyncFlask, exc: BaseException | None) -> None:
        kind = "request" if has_request_context() else "websocket" if has_websocket_context() else "app"
        seen.append(f"{kind} {exc}")

    @app.get("/")
    async def index() -> str:
        return "ok"

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("x")

    async with app.test_client() as client:
        with signals.appcontext_tearing_down.connected_to(tearing_down, app):
            await client.get("/")
            async with client.websocket("/ws") as ws:
                assert await ws.receive_text() == "x"
            async with app.app_context():
                pass
    assert seen == ["request None", "websocket None", "app None"]


async def test_appcontext_pushed_and_popped() -> None:
    """Sent when a context is pushed and once it is popped, as in Flask."""
    app = make_app()
    events: list[str] = []

    def pushed(sender: AsyncFlask) -> None:
        events.append("pushed")

    async def popped(sender: AsyncFlask) -> None:
        events.append("popped")

    with (
        signals.appcontext_pushed.connected_to(pushed, app),
        signals.appcontext_popped.connected_to(popped, app),
    ):
        async with app.app_context():
            events.append("inside")
    assert events == ["pushed", "inside", "popped"]


# -- websocket signals -------------------------------------------------------------------------------


async def test_websocket_started_and_finished() -> None:
    app = make_app()
    events: list[str] = []

    def started(sender: AsyncFlask) -> None:
        events.append(f"started {websocket.path}")

    async def finished(sender: AsyncFlask) -> None:
        events.append(f"finished {websocket.path}")

    @app.websocket("/ws")
    async def handler() -> None:
        events.append("handler")
        await websocket.send("hi")

    with (
        signals.websocket_started.connected_to(started, app),
        signals.websocket_finished.connected_to(finished, app),
    ):
        async with app.test_client() as client, client.websocket("/ws") as ws:
            assert await ws.receive_text() == "hi"
    assert events == ["started /ws", "handler", "finished /ws"]


async def test_websocket_finished_is_sent_after_a_refusal_and_an_error() -> None:
    app = make_app()
    events: list[str] = []

    def finished(sender: AsyncFlask) -> None:
        events.append(websocket.path)

    @app.websocket("/refuse")
    async def refuse() -> None:
        abort(403)

    @app.websocket("/boom")
    async def boom() -> None:
        await websocket.accept()
        raise ValueError("boom")

    from asyncflask.testing import WebSocketDenied

    with signals.websocket_finished.connected_to(finished, app):
        async with app.test_client() as client:
            with pytest.raises(WebSocketDenied):
                async with client.websocket("/refuse"):
                    pass
            async with client.websocket("/boom"):
                pass
    assert events == ["/refuse", "/boom"]


# -- templates and flashing --------------------------------------------------------------------------


async def test_before_render_template_and_template_rendered() -> None:
    """Both get `template=` and `context=`, before and after rendering, as in Flask."""
    app = make_app()
    events: list[tuple[str, str, Any]] = []

    def before(sender: AsyncFlask, template: Any, context: dict[str, Any]) -> None:
        events.append(("before", type(template).__name__, context["name"]))

    async def rendered(sender: AsyncFlask, template: Any, context: dict[str, Any]) -> None:
        events.append(("rendered", type(template).__name__, context["name"]))

    @app.get("/")
    async def index() -> str:
        return await render_template_string("Hello {{ name }}", name="Ada")

    with (
        signals.before_render_template.connected_to(before, app),
        signals.template_rendered.connected_to(rendered, app),
    ):
        async with app.test_client() as client:
            response = await client.get("/")
    assert response.text == "Hello Ada"
    assert events == [("before", "Template", "Ada"), ("rendered", "Template", "Ada")]


async def test_message_flashed() -> None:
    app = make_app(SECRET_KEY="secret")
    seen: list[tuple[str, str]] = []

    async def flashed(sender: AsyncFlask, message: str, category: str) -> None:
        seen.append((message, category))

    @app.post("/")
    async def index() -> str:
        await flash("Saved")
        await flash("Careful", "warning")
        return "ok"

    with signals.message_flashed.connected_to(flashed, app):
        async with app.test_client() as client:
            await client.post("/")
    assert seen == [("Saved", "message"), ("Careful", "warning")]
