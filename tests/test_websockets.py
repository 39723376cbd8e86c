"""WebSockets: routing, the `websocket` object, hooks, refusals, errors, limits, a real server."""

from __future__ import annotations

import asyncio
import logging
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
import websockets.asyncio.client
import websockets.exceptions

from asyncflask import AsyncFlask, Blueprint, abort, current_app, g, has_websocket_context, url_for, websocket
from asyncflask.exceptions import Forbidden, NotFound, Unauthorized, WebSocketDisconnect
from asyncflask.testing import TestClient, WebSocketDenied, WebSocketTestSession

if TYPE_CHECKING:  # the root conftest.py, shared through its `live_server` fixture
    from conftest import LiveServers


def make_app(**config: Any) -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config.update(config)
    return app


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


# -- routing ----------------------------------------------------------------------------------------


async def test_rule_with_converter_passes_converted_value() -> None:
    app = make_app()

    @app.websocket("/room/<int:room>")
    async def room(room: int) -> None:
        message = await websocket.receive()
        assert isinstance(message, str)
        await websocket.send(f"{type(room).__name__}:{room}:{message}")

    async with app.test_client() as client, client.websocket("/room/42") as ws:
        await ws.send_text("hi")
        assert await ws.receive_text() == "int:42:hi"


async def test_converter_mismatch_is_a_404_denial() -> None:
    app = make_app()

    @app.websocket("/room/<int:room>")
    async def room(room: int) -> None:
        await websocket.send("unreachable")

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/room/abc"):
                pass
    assert denied.value.status_code == 404


async def test_blueprint_websocket_with_url_prefix() -> None:
    app = make_app()
    bp = Blueprint("chat", __name__, url_prefix="/chat")

    @bp.websocket("/<name>")
    async def room(name: str) -> None:
        await websocket.send_json(
            {
                "name": name,
                "endpoint": websocket.endpoint,
                "blueprint": websocket.blueprint,
                "relative": url_for(".room", name="x"),
            }
        )

    app.register_blueprint(bp)
    async with app.test_client() as client, client.websocket("/chat/ada") as ws:
        assert await ws.receive_json() == {
            "name": "ada",
            "endpoint": "chat.room",
            "blueprint": "chat",
            "relative": "/chat/x",
        }
    assert [rule.endpoint for rule in app.url_map.iter_rules() if rule.rule == "/chat/<name>"] == [
        "chat.room"
    ]


async def test_http_request_to_a_websocket_rule_is_400() -> None:
    # As with Werkzeug's routing: the URL exists, for the other kind of connection.
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("x")

    @app.get("/page")
    async def page() -> str:
        return "page"

    async with app.test_client() as client:
        response = await client.get("/ws")
        assert response.status_code == 400
        assert "This URL only accepts websocket requests." in response.text
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/page"):
                pass
        assert denied.value.status_code == 400
        assert (await client.get("/nowhere")).status_code == 404


async def test_unknown_path_is_a_404_denial() -> None:
    app = make_app()

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/nowhere"):
                pass
    assert denied.value.status_code == 404
    assert denied.value.response.content == NotFound().get_response().get_data()


# -- url_for ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "external", "expected"),
    [
        pytest.param("http://localhost", False, "/feed/3", id="relative"),
        pytest.param("http://localhost", True, "ws://localhost/feed/3", id="external-http"),
        pytest.param("https://localhost", True, "wss://localhost/feed/3", id="external-https"),
        pytest.param("https://example.com:8443", True, "wss://example.com:8443/feed/3", id="https-port"),
    ],
)
async def test_url_for_websocket_endpoint_in_a_request(base_url: str, external: bool, expected: str) -> None:
    app = make_app()

    @app.websocket("/feed/<int:n>")
    async def feed(n: int) -> None:
        await websocket.send("x")

    @app.get("/link")
    async def link() -> str:
        return url_for("feed", n=3, _external=external)

    async with app.test_client(base_url=base_url) as client:
        response = await client.get("/link")
    assert response.text == expected


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        pytest.param("http://localhost", "ws://localhost/feed/7", id="ws"),
        pytest.param("https://localhost", "wss://localhost/feed/7", id="wss"),
    ],
)
async def test_url_for_inside_a_websocket_handler(base_url: str, expected: str) -> None:
    app = make_app()

    @app.websocket("/feed/<int:n>")
    async def feed(n: int) -> None:
        await websocket.send(url_for("feed", n=7, _external=True))

    async with app.test_client(base_url=base_url) as client, client.websocket("/feed/1") as ws:
        assert await ws.receive_text() == expected


async def test_app_url_for_outside_a_request_uses_server_name_and_scheme() -> None:
    app = make_app(SERVER_NAME="example.com", PREFERRED_URL_SCHEME="https")

    @app.websocket("/feed")
    async def feed() -> None:
        await websocket.send("x")

    assert app.url_for("feed", _external=True) == "wss://example.com/feed"
    assert app.url_for("feed", _external=True, _scheme="http") == "ws://example.com/feed"


# -- the websocket object --------------------------------------------------------------------------


async def test_accept_with_subprotocol_and_headers() -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        assert websocket.subprotocols == ["json", "chat"]
        await websocket.accept(subprotocol="chat", headers={"X-Room": "lobby"})
        await websocket.send("accepted")

    async with app.test_client() as client, client.websocket("/ws", subprotocols=["json", "chat"]) as ws:
        assert ws.accepted_subprotocol == "chat"
        assert (b"x-room", b"lobby") in ws.accept_headers
        assert await ws.receive_text() == "accepted"


async def test_accept_without_subprotocol_when_none_chosen() -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        await websocket.send("ok")

    async with app.test_client() as client, client.websocket("/ws", subprotocols=["chat"]) as ws:
        assert ws.accepted_subprotocol is None
        assert await ws.receive_text() == "ok"


async def test_accepting_a_subprotocol_the_client_did_not_offer_is_an_error() -> None:
    app = make_app(TESTING=True)

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept(subprotocol="graphql")

    async with app.test_client() as client:
        with pytest.raises(ValueError, match=r"The subprotocol 'graphql' was not offered by the client"):
            async with client.websocket("/ws", subprotocols=["chat"]):
                pass


async def test_first_send_accepts_implicitly() -> None:
    app = make_app()
    states: list[bool] = []

    @app.websocket("/ws")
    async def handler() -> None:
        states.append(websocket.accepted)
        await websocket.send("hello")
        states.append(websocket.accepted)

    async with app.test_client() as client, client.websocket("/ws") as ws:
        assert ws.accepted_subprotocol is None
        assert await ws.receive_text() == "hello"
    assert states == [False, True]


async def test_receive_gives_str_for_text_and_bytes_for_binary() -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        for _ in range(2):
            message = await websocket.receive()
            await websocket.send(f"{type(message).__name__}:{message!r}")
        await websocket.send(b"\x00\xffraw")

    async with app.test_client() as client, client.websocket("/ws") as ws:
        await ws.send_text("héllo")
        await ws.send_bytes(b"\x01\x02")
        assert await ws.receive_text() == "str:'héllo'"
        assert await ws.receive_text() == "bytes:b'\\x01\\x02'"
        assert await ws.receive_bytes() == b"\x00\xffraw"


async def test_receive_json_and_send_json() -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        data = await websocket.receive_json()
        await websocket.send_json({"got": data, "sum": sum(data["numbers"])})

    async with app.test_client() as client, client.websocket("/ws") as ws:
        await ws.send_json({"numbers": [1, 2, 3], "name": "ü"})
        assert await ws.receive_json() == {"got": {"numbers": [1, 2, 3], "name": "ü"}, "sum": 6}


async def test_send_rejects_other_types() -> None:
    app = make_app(TESTING=True)

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send({"a": 1})  # type: ignore[arg-type]

    async with app.test_client() as client:
        with pytest.raises(TypeError, match=r"takes str or bytes, not dict; use send_json"):
            async with client.websocket("/ws") as ws:
                await ws.receive_text()


async def test_close_with_code_and_reason_reaches_the_client() -> None:
    app = make_app()
    after_close: list[bool] = []

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("bye soon")
        await websocket.close(4001, "go away")
        after_close.append(websocket.closed)

    async with app.test_client() as client, client.websocket("/ws") as ws:
        assert await ws.receive_text() == "bye soon"
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (4001, "go away")
    assert (ws.close_code, ws.close_reason) == (4001, "go away")
    assert after_close == [True]


async def test_handler_that_returns_after_accepting_closes_with_1000() -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()

    async with app.test_client() as client, client.websocket("/ws") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text()
    assert closed.value.code == 1000


async def test_close_before_accept_refuses_the_handshake() -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.close(1008)

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/ws"):
                pass
    assert denied.value.status_code == 403


async def test_handshake_data_args_headers_path_subprotocols() -> None:
    app = make_app()

    @app.websocket("/info/<kind>")
    async def info(kind: str) -> None:
        await websocket.send_json(
            {
                "kind": kind,
                "path": websocket.path,
                "full_path": websocket.full_path,
                "args": websocket.args.getlist("tag"),
                "first": websocket.args.get("tag"),
                "token": websocket.headers["x-token"],
                "subprotocols": websocket.subprotocols,
                "scheme": websocket.scheme,
                "method": websocket.method,
                "host": websocket.host,
                "remote_addr": websocket.remote_addr,
                "app": current_app.name,
            }
        )

    async with (
        app.test_client() as client,
        client.websocket(
            "/info/a%20b?tag=x&tag=y", subprotocols=["p1", "p2"], headers={"X-Token": "t0k"}
        ) as ws,
    ):
        assert await ws.receive_json() == {
            "kind": "a b",
            "path": "/info/a b",
            "full_path": "/info/a b?tag=x&tag=y",  # unquoted, as in Flask
            "args": ["x", "y"],
            "first": "x",
            "token": "t0k",
            "subprotocols": ["p1", "p2"],
            "scheme": "ws",
            "method": "GET",
            "host": "localhost",
            "remote_addr": "127.0.0.1",
            "app": __name__,
        }


async def test_client_cookies_and_session_reach_the_websocket() -> None:
    app = make_app(SECRET_KEY="secret")

    @app.get("/login")
    async def login() -> str:
        from asyncflask import session

        session["user"] = "ada"
        return "ok"

    @app.websocket("/ws")
    async def handler() -> None:
        from asyncflask import session

        await websocket.send(f"{session.get('user')}")

    async with app.test_client() as client:
        await client.get("/login")
        async with client.websocket("/ws") as ws:
            assert await ws.receive_text() == "ada"


async def test_websocket_proxy_outside_a_handler_raises() -> None:
    with pytest.raises(RuntimeError, match="Working outside of websocket context"):
        _ = websocket.path


# -- hooks -----------------------------------------------------------------------------------------


async def test_before_and_after_websocket_hooks_run_in_order() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    calls: list[str] = []

    @app.before_websocket
    async def app_before() -> None:
        g.user = "ada"
        calls.append("app before")

    @bp.before_websocket
    def bp_before() -> None:  # sync hooks run in a thread, with the context
        calls.append(f"bp before {websocket.path}")

    @bp.after_websocket
    async def bp_after(response: Any) -> Any:
        calls.append(f"bp after {response}")
        return response

    @app.after_websocket
    async def app_after(response: Any) -> Any:
        calls.append(f"app after {response}")
        return response

    @app.before_request
    async def not_for_websockets() -> None:
        calls.append("before_request")

    @bp.websocket("/ws")
    async def handler() -> None:
        await websocket.send(f"hello {g.user}")
        calls.append("handler")

    app.register_blueprint(bp)
    async with app.test_client() as client, client.websocket("/bp/ws") as ws:
        assert await ws.receive_text() == "hello ada"
    assert calls == ["app before", "bp before /bp/ws", "handler", "bp after None", "app after None"]


async def test_before_websocket_returning_a_value_refuses_the_handshake() -> None:
    app = make_app()
    seen: list[int] = []

    @app.before_websocket
    async def check_token() -> Any:
        if websocket.args.get("token") != "good":
            return "bad token", 401, {"X-Reason": "token"}
        return None

    @app.after_websocket
    async def after(response: Any) -> Any:
        seen.append(response.status_code)
        return response

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("welcome")

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/ws?token=bad"):
                pass
        async with client.websocket("/ws?token=good") as ws:
            assert await ws.receive_text() == "welcome"
    assert denied.value.status_code == 401
    assert denied.value.response.text == "bad token"
    assert denied.value.response.headers["x-reason"] == "token"
    assert str(denied.value) == "The websocket handshake was refused with status 401."
    assert seen == [401]


async def test_teardown_appcontext_runs_for_every_websocket() -> None:
    app = make_app()
    torn_down: list[BaseException | None] = []

    @app.teardown_appcontext
    async def teardown(exc: BaseException | None) -> None:
        if has_websocket_context():  # the lifespan's app contexts end here too
            torn_down.append(exc)

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("x")

    async with app.test_client() as client:
        async with client.websocket("/ws") as ws:
            assert await ws.receive_text() == "x"
        with pytest.raises(WebSocketDenied):
            async with client.websocket("/missing"):
                pass
    assert torn_down == [None, None]


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "status", "body"),
    [
        pytest.param("go away", 200, b"go away", id="str"),
        pytest.param(("no teapots", 418), 418, b"no teapots", id="tuple"),
        pytest.param({"error": "nope"}, 200, b'{"error":"nope"}\n', id="json"),
    ],
)
async def test_returning_a_value_before_accepting_answers_with_it(
    result: Any, status: int, body: bytes
) -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> Any:
        return result

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/ws"):
                pass
    assert denied.value.status_code == status
    assert denied.value.response.content == body


async def test_abort_before_accepting_refuses_with_that_status() -> None:
    app = make_app(TESTING=True)  # HTTP errors are answers, never raised into the test

    @app.websocket("/ws")
    async def handler() -> None:
        abort(401)

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/ws"):
                pass
    assert denied.value.status_code == 401
    assert denied.value.response.content == Unauthorized().get_response().get_data()
    assert denied.value.response.headers["content-type"] == "text/html; charset=utf-8"


async def test_returning_none_without_accepting_is_403() -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        return None

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/ws"):
                pass
    assert denied.value.status_code == 403
    assert denied.value.response.content == Forbidden().get_response().get_data()


async def test_abort_after_accepting_closes_with_policy_violation() -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("hi")
        abort(403)

    async with app.test_client() as client, client.websocket("/ws") as ws:
        assert await ws.receive_text() == "hi"
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text()
    assert closed.value.code == 1008


# -- error handlers --------------------------------------------------------------------------------


class RoomFull(Exception):
    pass


async def test_errorhandler_after_accept_can_still_send() -> None:
    app = make_app(TESTING=True)
    torn_down: list[BaseException | None] = []

    @app.errorhandler(RoomFull)
    async def room_full(error: RoomFull) -> Any:
        await websocket.send_json({"error": str(error)})
        return None

    @app.teardown_appcontext
    async def teardown(exc: BaseException | None) -> None:
        if has_websocket_context():  # the lifespan's app contexts end here too
            torn_down.append(exc)

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        raise RoomFull("the room is full")

    async with app.test_client() as client, client.websocket("/ws") as ws:
        assert await ws.receive_json() == {"error": "the room is full"}
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text()
    assert closed.value.code == 1000  # handled: an ordinary end
    assert torn_down == [None]  # a handled error does not reach teardown, as in Flask


async def test_errorhandler_before_accept_answers_the_handshake() -> None:
    app = make_app()

    @app.errorhandler(RoomFull)
    async def room_full(error: RoomFull) -> Any:
        return f"refused: {error}", 409

    @app.websocket("/ws")
    async def handler() -> None:
        raise RoomFull("full")

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/ws"):
                pass
    assert denied.value.status_code == 409
    assert denied.value.response.text == "refused: full"


async def test_errorhandler_for_http_code_answers_the_handshake() -> None:
    app = make_app()

    @app.errorhandler(401)
    async def unauthorized(error: Exception) -> Any:
        return {"error": "login first"}, 401

    @app.websocket("/ws")
    async def handler() -> None:
        abort(401)

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/ws"):
                pass
    assert denied.value.status_code == 401
    assert denied.value.response.json() == {"error": "login first"}


async def test_errorhandler_returning_none_before_accept_is_403() -> None:
    app = make_app()

    @app.errorhandler(RoomFull)
    async def room_full(error: RoomFull) -> None:
        return None

    @app.websocket("/ws")
    async def handler() -> None:
        raise RoomFull("full")

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/ws"):
                pass
    assert denied.value.status_code == 403


async def test_blueprint_errorhandler_applies_to_its_websockets() -> None:
    app = make_app()
    bp = Blueprint("bp", __name__)

    @bp.errorhandler(KeyError)
    async def missing(error: KeyError) -> Any:
        return "bp handled", 400

    @bp.websocket("/ws")
    async def handler() -> None:
        raise KeyError("x")

    app.register_blueprint(bp)
    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/ws"):
                pass
    assert (denied.value.status_code, denied.value.response.text) == (400, "bp handled")


# -- disconnects and failures ----------------------------------------------------------------------


async def test_client_disconnect_ends_the_handler_quietly(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()
    ended: list[str] = []
    torn_down: list[BaseException | None] = []
    finished = asyncio.Event()

    @app.teardown_appcontext
    async def teardown(exc: BaseException | None) -> None:
        if has_websocket_context():  # the lifespan's app contexts end here too
            torn_down.append(exc)
        finished.set()

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.receive()
        except WebSocketDisconnect as disconnect:
            ended.append(f"disconnect {disconnect.code}")
            raise

    caplog.set_level(logging.DEBUG)
    async with app.test_client() as client:
        async with client.websocket("/ws") as ws:
            await ws.send_text("one")
            await ws.close(1001)
        await asyncio.wait_for(finished.wait(), 2)
    assert ended == ["disconnect 1001"]
    assert torn_down == [None]
    assert error_records(caplog) == []


async def test_receive_after_the_client_left_raises_websocket_disconnect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app()
    codes: list[int] = []

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        for _ in range(3):
            try:
                await websocket.receive()
            except WebSocketDisconnect as disconnect:
                codes.append(disconnect.code)
        await websocket.send("nobody listens")

    async with app.test_client() as client:
        async with client.websocket("/ws") as ws:
            await ws.close(1000)
    assert codes == [1000, 1000, 1000]
    assert error_records(caplog) == []


async def test_unhandled_error_after_accept_closes_1011_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("started")
        raise ValueError("kaput")

    async with app.test_client() as client:
        async with client.websocket("/ws") as ws:
            assert await ws.receive_text() == "started"
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive_text()
        # The app keeps serving.
        async with client.websocket("/ws") as ws:
            assert await ws.receive_text() == "started"
    assert closed.value.code == 1011
    records = error_records(caplog)
    assert len(records) == 2  # once per connection
    assert records[0].getMessage() == "Exception on websocket /ws"
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], ValueError)


async def test_unhandled_error_before_accept_is_a_500_denial(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        raise ValueError("kaput")

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/ws"):
                pass
    assert denied.value.status_code == 500
    assert "kaput" not in denied.value.response.text
    assert [record.getMessage() for record in error_records(caplog)] == ["Exception on websocket /ws"]


async def test_unhandled_error_is_raised_into_the_test_in_testing_mode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(TESTING=True)
    torn_down: list[BaseException | None] = []

    @app.teardown_appcontext
    async def teardown(exc: BaseException | None) -> None:
        if has_websocket_context():  # the lifespan's app contexts end here too
            torn_down.append(exc)

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("started")
        raise ValueError("kaput")

    async with app.test_client() as client:
        with pytest.raises(ValueError, match="kaput"):
            async with client.websocket("/ws") as ws:
                assert await ws.receive_text() == "started"
                await ws.receive_text()
    assert len(torn_down) == 1
    assert isinstance(torn_down[0], ValueError)
    assert error_records(caplog) == []


@pytest.mark.parametrize(
    ("message", "closed"),
    [
        pytest.param("x" * 16, False, id="text-at-limit"),
        pytest.param("x" * 17, True, id="text-over-limit"),
        pytest.param("é" * 9, True, id="text-over-limit-in-utf8-bytes"),
        pytest.param(b"\x00" * 16, False, id="bytes-at-limit"),
        pytest.param(b"\x00" * 17, True, id="bytes-over-limit"),
    ],
)
async def test_message_over_the_size_limit_closes_with_1009(message: str | bytes, closed: bool) -> None:
    app = make_app(WEBSOCKET_MAX_MESSAGE_SIZE=16)

    @app.websocket("/ws")
    async def handler() -> None:
        while True:
            data = await websocket.receive()
            await websocket.send(f"got {len(data)}")

    async with app.test_client() as client, client.websocket("/ws") as ws:
        if isinstance(message, str):
            await ws.send_text(message)
        else:
            await ws.send_bytes(message)
        if closed:
            with pytest.raises(WebSocketDisconnect) as disconnect:
                await ws.receive_text()
            assert (disconnect.value.code, disconnect.value.reason) == (1009, "Message too big")
        else:
            assert await ws.receive_text() == f"got {len(message)}"


async def test_receive_timeout_raises_instead_of_hanging() -> None:
    app = make_app()

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        await websocket.receive()  # waits for the client, which sends nothing

    async with app.test_client() as client, client.websocket("/ws", timeout=0.05) as ws:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="The app sent nothing for 0.05 seconds"):
            await ws.receive_text()
        assert time.monotonic() - started < 1


async def test_handler_that_never_answers_the_handshake_times_out() -> None:
    app = make_app()
    cancelled = asyncio.Event()

    @app.websocket("/ws")
    async def handler() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with app.test_client() as client:
        with pytest.raises(TimeoutError):
            async with client.websocket("/ws", timeout=0.05):
                pass
    assert cancelled.is_set()


async def test_concurrent_connections_do_not_share_state() -> None:
    app = make_app()

    @app.websocket("/ws/<name>")
    async def handler(name: str) -> None:
        g.name = name
        await websocket.accept()
        await websocket.receive()
        await websocket.send(f"{g.name}:{websocket.path}")

    async with (
        app.test_client() as client,
        client.websocket("/ws/a") as first,
        client.websocket("/ws/b") as second,
    ):
        await second.send_text("go")
        await first.send_text("go")
        assert await first.receive_text() == "a:/ws/a"
        assert await second.receive_text() == "b:/ws/b"


# -- fixtures --------------------------------------------------------------------------------------


def echo_app() -> AsyncFlask:
    app = make_app()

    @app.websocket("/echo")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    return app


@pytest_asyncio.fixture
async def echo_client() -> AsyncIterator[TestClient]:
    async with echo_app().test_client() as client:
        yield client


@pytest_asyncio.fixture
async def echo_socket(echo_client: TestClient) -> AsyncIterator[WebSocketTestSession]:
    async with echo_client.websocket("/echo") as ws:
        yield ws


async def test_client_from_an_async_fixture(echo_client: TestClient) -> None:
    async with echo_client.websocket("/echo") as ws:
        await ws.send_text("ping")
        assert await ws.receive_text() == "ping"


async def test_websocket_session_from_an_async_fixture(echo_socket: WebSocketTestSession) -> None:
    await echo_socket.send_bytes(b"ping")
    assert await echo_socket.receive_bytes() == b"ping"


# -- a real server ---------------------------------------------------------------------------------

SERVER_APP = """
from asyncflask import AsyncFlask, websocket

app = AsyncFlask(__name__)


@app.websocket("/echo")
async def echo():
    await websocket.accept(subprotocol="echo" if "echo" in websocket.subprotocols else None)
    while True:
        await websocket.send("echo: " + await websocket.receive())


@app.websocket("/private")
async def private():
    return None


@app.websocket("/teapot")
async def teapot():
    return "short and stout", 418
"""


@pytest.fixture
def server(tmp_path: Path, live_server: LiveServers) -> str:
    (tmp_path / "ws_server_app.py").write_text(textwrap.dedent(SERVER_APP))
    argv = live_server.uvicorn_argv("ws_server_app:app", tmp_path, "--log-level", "warning")
    return f"ws://127.0.0.1:{live_server(argv, capture_output=True).port}"


async def test_real_server_echo_and_refusals(server: str) -> None:
    async with asyncio.timeout(15):
        offer = [websockets.Subprotocol("echo")]
        async with websockets.asyncio.client.connect(f"{server}/echo", subprotocols=offer) as ws:
            assert ws.subprotocol == "echo"
            await ws.send("hello")
            assert await ws.recv() == "echo: hello"
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.asyncio.client.connect(f"{server}/private"):
                pass
        assert refused.value.response.status_code == 403
        with pytest.raises(websockets.exceptions.InvalidStatus) as teapot:
            async with websockets.asyncio.client.connect(f"{server}/teapot"):
                pass
        assert teapot.value.response.status_code == 418
        assert teapot.value.response.body == b"short and stout"
        with pytest.raises(websockets.exceptions.InvalidStatus) as missing:
            async with websockets.asyncio.client.connect(f"{server}/nowhere"):
                pass
        assert missing.value.response.status_code == 404


async def test_after_websocket_returning_nothing_keeps_the_refusal() -> None:
    app = make_app()
    seen: list[int] = []

    @app.after_websocket
    async def observe(response: Any) -> None:
        seen.append(response.status_code)

    @app.websocket("/ws")
    async def handler() -> Any:
        return "go away", 403

    async with app.test_client() as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket("/ws"):
                pass
    assert (denied.value.status_code, denied.value.response.text) == (403, "go away")
    assert seen == [403]
