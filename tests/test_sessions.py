"""Tests for asyncflask.sessions, flash and session_transaction: Flask's cookie sessions, made async."""

from __future__ import annotations

import asyncio
import logging
import uuid
from base64 import urlsafe_b64encode
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from uuid import UUID

import flask
import httpx
import pytest
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from markupsafe import Markup

from asyncflask import AsyncFlask, flash, get_flashed_messages, session, websocket
from asyncflask.exceptions import Forbidden
from asyncflask.sessions import (
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionInterface,
    SessionMixin,
)
from asyncflask.wrappers import Request

UTC = timezone.utc
KEY = "test secret key"

# Every type the tagged serializer knows, including a dict whose only key looks like a tag.
RICH: dict[str, Any] = {
    "tuple": (1, "two", (3.5, None)),
    "bytes": b"\x00\xff\x10",
    "uuid": UUID("12345678-1234-5678-1234-567812345678"),
    "datetime": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
    "markup": Markup("<b>bold</b>"),
    "nested": {" t": {"inner": [1, (2, 3)], " di": "x"}},
    "list": [1, "a", None, True, [b"x", (4,)]],
    "text": "naïve ✓",
}


def make_app(**config: Any) -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config.update(SECRET_KEY=KEY, TESTING=True)
    app.config.update(config)
    return app


def signer(app: AsyncFlask) -> URLSafeTimedSerializer:
    """The app's own cookie serializer, to forge and decode cookies in tests."""
    interface = app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)
    serializer = interface.get_signing_serializer(app)
    assert serializer is not None
    return serializer


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def vary(response: httpx.Response) -> list[str]:
    return response.headers.get_list("vary")


def parse_cookie(header: str) -> tuple[str, str, dict[str, str]]:
    """`name`, `value` and the attributes (lower-case names) of one Set-Cookie header."""
    first, *rest = header.split(";")
    name, _, value = first.strip().partition("=")
    attributes: dict[str, str] = {}
    for part in rest:
        key, _, item = part.strip().partition("=")
        attributes[key.lower()] = item
    if "samesite" in attributes:
        # Browsers compare the value case-insensitively.
        attributes["samesite"] = attributes["samesite"].lower()
    return name, value, attributes


def only_cookie(response: httpx.Response) -> tuple[str, str, dict[str, str]]:
    headers = set_cookies(response)
    assert len(headers) == 1, headers
    return parse_cookie(headers[0])


def signed_at(app: AsyncFlask, data: Any, timestamp: int) -> str:
    """A cookie signed with the app's key, as if at `timestamp`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: timestamp)
        return str(signer(app).dumps(data))


def now() -> int:
    return int(datetime.now(UTC).timestamp())


# -- compatibility with Flask ------------------------------------------------------------------


def assert_rich(seen: Mapping[str, Any]) -> None:
    for key, value in RICH.items():
        assert seen[key] == value, key
        assert type(seen[key]) is type(value), key
    assert type(seen["nested"][" t"]["inner"][1]) is tuple


async def test_flask_cookie_is_read_by_asyncflask() -> None:
    flask_app = flask.Flask(__name__)
    flask_app.secret_key = KEY

    @flask_app.get("/set")
    def flask_set() -> str:
        flask.session.update(RICH)
        flask.session.permanent = True
        flask.flash("from flask", "info")
        return "set"

    with flask_app.test_client() as flask_client:
        assert flask_client.get("/set").status_code == 200
        cookie = flask_client.get_cookie("session")
        assert cookie is not None

    app = make_app()
    seen: dict[str, Any] = {}

    @app.get("/read")
    async def read() -> str:
        seen.update(session)
        seen["permanent"] = session.permanent
        seen["flashes"] = get_flashed_messages(with_categories=True)
        return "read"

    async with app.test_client() as client:
        response = await client.get("/read", headers={"Cookie": f"session={cookie.value}"})
    assert response.status_code == 200
    assert response.text == "read"
    assert_rich(seen)
    assert seen["permanent"] is True
    assert seen["flashes"] == [("info", "from flask")]


async def test_asyncflask_cookie_is_read_by_flask() -> None:
    app = make_app()

    @app.get("/set")
    async def set_session() -> str:
        session.update(RICH)
        session.permanent = True
        await flash("from asyncflask", "warning")
        return "set"

    async with app.test_client() as client:
        response = await client.get("/set")
    assert response.status_code == 200
    _, value, _ = only_cookie(response)

    flask_app = flask.Flask(__name__)
    flask_app.secret_key = KEY
    seen: dict[str, Any] = {}

    @flask_app.get("/read")
    def flask_read() -> str:
        seen.update(flask.session)
        seen["permanent"] = flask.session.permanent
        seen["flashes"] = flask.get_flashed_messages(with_categories=True)
        return "read"

    with flask_app.test_client() as flask_client:
        flask_client.set_cookie("session", value)
        assert flask_client.get("/read").status_code == 200
    assert_rich(seen)
    assert seen["permanent"] is True
    assert seen["flashes"] == [("warning", "from asyncflask")]


async def test_a_flask_cookie_with_another_key_is_rejected() -> None:
    flask_app = flask.Flask(__name__)
    flask_app.secret_key = "another key"

    @flask_app.get("/set")
    def flask_set() -> str:
        flask.session["user"] = "mallory"
        return "set"

    with flask_app.test_client() as flask_client:
        flask_client.get("/set")
        cookie = flask_client.get_cookie("session")
        assert cookie is not None

    app = make_app()

    @app.get("/")
    async def index() -> dict[str, Any]:
        return dict(session)

    async with app.test_client() as client:
        response = await client.get("/", headers={"Cookie": f"session={cookie.value}"})
    assert response.status_code == 200
    assert response.json() == {}


# -- keys ------------------------------------------------------------------------------------


async def test_fallback_keys_verify_and_the_current_key_signs() -> None:
    old_cookie = signer(make_app(SECRET_KEY="old key")).dumps({"user": "ann"})
    app = make_app(SECRET_KEY="new key", SECRET_KEY_FALLBACKS=["oldest key", "old key"])

    @app.get("/")
    async def index() -> str:
        session["seen"] = True
        return str(session.get("user"))

    async with app.test_client() as client:
        response = await client.get("/", headers={"Cookie": f"session={old_cookie}"})
    assert response.status_code == 200
    assert response.text == "ann"
    _, new_cookie, _ = only_cookie(response)
    assert signer(make_app(SECRET_KEY="new key")).loads(new_cookie) == {"user": "ann", "seen": True}
    with pytest.raises(BadSignature):
        signer(make_app(SECRET_KEY="old key")).loads(new_cookie)


async def test_a_key_that_is_not_a_fallback_is_rejected() -> None:
    stale = signer(make_app(SECRET_KEY="retired key")).dumps({"user": "ann"})
    app = make_app(SECRET_KEY="new key", SECRET_KEY_FALLBACKS=["old key"])

    @app.get("/")
    async def index() -> str:
        return str(session.get("user"))

    async with app.test_client() as client:
        response = await client.get("/", headers={"Cookie": f"session={stale}"})
    assert response.status_code == 200
    assert response.text == "None"
    assert set_cookies(response) == []


# -- the cookie ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param({}, {"httponly": "", "path": "/"}, id="defaults"),
        pytest.param(
            {"SESSION_COOKIE_DOMAIN": "example.com"},
            {"httponly": "", "path": "/", "domain": "example.com"},
            id="domain",
        ),
        pytest.param({"SESSION_COOKIE_PATH": "/app"}, {"httponly": "", "path": "/app"}, id="path"),
        pytest.param({"APPLICATION_ROOT": "/root"}, {"httponly": "", "path": "/root"}, id="application-root"),
        pytest.param(
            {"APPLICATION_ROOT": "/root", "SESSION_COOKIE_PATH": "/app"},
            {"httponly": "", "path": "/app"},
            id="path-over-application-root",
        ),
        pytest.param({"SESSION_COOKIE_HTTPONLY": False}, {"path": "/"}, id="not-httponly"),
        pytest.param(
            {"SESSION_COOKIE_SECURE": True}, {"httponly": "", "path": "/", "secure": ""}, id="secure"
        ),
        pytest.param(
            {"SESSION_COOKIE_SAMESITE": "Lax"},
            {"httponly": "", "path": "/", "samesite": "lax"},
            id="samesite-lax",
        ),
        pytest.param(
            {"SESSION_COOKIE_SAMESITE": "strict"},
            {"httponly": "", "path": "/", "samesite": "strict"},
            id="samesite-strict",
        ),
        pytest.param(
            # Partitioned implies Secure, as in Werkzeug.
            {"SESSION_COOKIE_PARTITIONED": True, "SESSION_COOKIE_SAMESITE": "None"},
            {"httponly": "", "path": "/", "secure": "", "samesite": "none", "partitioned": ""},
            id="partitioned",
        ),
    ],
)
async def test_cookie_attributes_follow_config(config: dict[str, Any], expected: dict[str, str]) -> None:
    app = make_app(**config)

    @app.get("/")
    async def index() -> str:
        session["x"] = 1
        return "ok"

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    name, value, attributes = only_cookie(response)
    assert name == "session"
    assert signer(app).loads(value) == {"x": 1}
    assert attributes == expected


async def test_cookie_name_is_configurable() -> None:
    app = make_app(SESSION_COOKIE_NAME="sid")

    @app.get("/set")
    async def set_session() -> str:
        session["user"] = "ann"
        return "ok"

    @app.get("/get")
    async def get_session() -> str:
        return str(session.get("user"))

    async with app.test_client() as client:
        response = await client.get("/set")
        assert only_cookie(response)[0] == "sid"
        assert (await client.get("/get")).text == "ann"
        value = client.cookies["sid"]
        client.cookies.clear()
        # The default name means nothing to this app.
        response = await client.get("/get", headers={"Cookie": f"session={value}"})
    assert response.text == "None"


async def test_invalid_samesite_config_is_a_clear_error() -> None:
    app = make_app(SESSION_COOKIE_SAMESITE="Sometimes")

    @app.get("/")
    async def index() -> str:
        session["x"] = 1
        return "ok"

    async with app.test_client() as client:
        with pytest.raises(ValueError, match="SESSION_COOKIE_SAMESITE must be 'Strict', 'Lax', 'None'"):
            await client.get("/")


@pytest.mark.parametrize(
    "lifetime",
    [pytest.param(timedelta(hours=2), id="timedelta"), pytest.param(7200, id="seconds")],
)
async def test_a_permanent_session_expires_after_its_lifetime(lifetime: timedelta | int) -> None:
    app = make_app(PERMANENT_SESSION_LIFETIME=lifetime)

    @app.get("/")
    async def index() -> str:
        session.permanent = True
        session["x"] = 1
        return "ok"

    before = datetime.now(UTC).replace(microsecond=0)
    async with app.test_client() as client:
        response = await client.get("/")
    after = datetime.now(UTC)
    _, value, attributes = only_cookie(response)
    expires = parsedate_to_datetime(attributes["expires"])
    assert before + timedelta(hours=2) <= expires <= after + timedelta(hours=2)
    assert "max-age" not in attributes
    assert signer(app).loads(value) == {"_permanent": True, "x": 1}


async def test_a_browser_session_cookie_has_no_expiry() -> None:
    app = make_app()

    @app.get("/")
    async def index() -> str:
        session["x"] = 1
        return str(session.permanent)

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "False"
    _, _, attributes = only_cookie(response)
    assert "expires" not in attributes
    assert "max-age" not in attributes


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        pytest.param(30, "ann", id="within-lifetime"),
        pytest.param(59, "ann", id="just-within"),
        pytest.param(61, "None", id="expired"),
        pytest.param(86_400 * 365, "None", id="a-year-old"),
        pytest.param(-3600, "None", id="future-dated"),
    ],
)
async def test_the_cookie_signature_expires_with_the_lifetime(age: int, expected: str) -> None:
    app = make_app(PERMANENT_SESSION_LIFETIME=60)
    cookie = signed_at(app, {"user": "ann"}, now() - age)

    @app.get("/")
    async def index() -> str:
        return str(session.get("user"))

    async with app.test_client() as client:
        response = await client.get("/", headers={"Cookie": f"session={cookie}"})
    assert response.status_code == 200
    assert response.text == expected
    assert set_cookies(response) == []


@pytest.mark.parametrize(
    ("refresh", "permanent", "resent"),
    [
        pytest.param(True, True, True, id="permanent-refreshed"),
        pytest.param(False, True, False, id="refresh-off"),
        pytest.param(True, False, False, id="browser-session"),
    ],
)
async def test_refresh_each_request(refresh: bool, permanent: bool, resent: bool) -> None:
    app = make_app(SESSION_REFRESH_EACH_REQUEST=refresh)

    @app.get("/login")
    async def login() -> str:
        session["user"] = "ann"
        session.permanent = permanent
        return "in"

    @app.get("/plain")
    async def plain() -> str:
        return "plain"

    async with app.test_client() as client:
        assert len(set_cookies(await client.get("/login"))) == 1
        response = await client.get("/plain")
    assert response.status_code == 200
    assert response.text == "plain"
    if resent:
        _, value, attributes = only_cookie(response)
        assert signer(app).loads(value) == {"user": "ann", "_permanent": True}
        assert "expires" in attributes
        assert vary(response) == ["Cookie"]
    else:
        assert set_cookies(response) == []
        assert vary(response) == []


async def test_refresh_needs_a_readable_cookie() -> None:
    app = make_app()

    @app.get("/plain")
    async def plain() -> str:
        return "plain"

    async with app.test_client() as client:
        response = await client.get("/plain", headers={"Cookie": "session=garbage"})
    assert response.status_code == 200
    assert set_cookies(response) == []
    assert vary(response) == []


async def test_a_nested_change_is_saved_only_when_marked_modified() -> None:
    app = make_app()

    @app.get("/start")
    async def start() -> str:
        session["cart"] = ["apple"]
        return "ok"

    @app.get("/quietly")
    async def quietly() -> str:
        session["cart"].append("pear")
        return "ok"

    @app.get("/marked")
    async def marked() -> str:
        session["cart"].append("plum")
        session.modified = True
        return "ok"

    @app.get("/cart")
    async def cart() -> str:
        return ",".join(session["cart"])

    async with app.test_client() as client:
        assert len(set_cookies(await client.get("/start"))) == 1
        response = await client.get("/quietly")
        assert set_cookies(response) == []
        assert vary(response) == ["Cookie"]
        assert (await client.get("/cart")).text == "apple"
        assert len(set_cookies(await client.get("/marked"))) == 1
        assert (await client.get("/cart")).text == "apple,plum"


def _set(s: SessionMixin) -> None:
    s["y"] = 2


def _delete(s: SessionMixin) -> None:
    del s["x"]


def _set_permanent(s: SessionMixin) -> None:
    s.permanent = True


@pytest.mark.parametrize(
    ("touch", "cookie", "varies"),
    [
        pytest.param(lambda s: None, None, False, id="untouched"),
        pytest.param(lambda s: s.get("x"), None, True, id="get"),
        pytest.param(lambda s: s["x"], None, True, id="getitem"),
        pytest.param(lambda s: "x" in s, None, True, id="contains"),
        pytest.param(lambda s: len(s), None, True, id="len"),
        pytest.param(lambda s: bool(s), None, True, id="bool"),
        pytest.param(lambda s: list(s), None, True, id="iterate"),
        pytest.param(lambda s: list(s.items()), None, True, id="items"),
        pytest.param(lambda s: s.permanent, None, True, id="read-permanent"),
        pytest.param(lambda s: s.pop("missing", None), None, True, id="pop-missing"),
        pytest.param(lambda s: s.setdefault("x", 5), None, True, id="setdefault-existing"),
        pytest.param(_set, "set", True, id="setitem"),
        pytest.param(lambda s: s.setdefault("y", 2), "set", True, id="setdefault-new"),
        pytest.param(lambda s: s.update(y=2), "set", True, id="update"),
        pytest.param(_set_permanent, "set", True, id="make-permanent"),
        pytest.param(lambda s: s.pop("x"), "delete", True, id="pop-last"),
        pytest.param(_delete, "delete", True, id="delete-last"),
        pytest.param(lambda s: s.clear(), "delete", True, id="clear"),
        pytest.param(lambda s: s.popitem(), "delete", True, id="popitem-last"),
    ],
)
async def test_set_cookie_and_vary_follow_what_the_view_did(
    touch: Callable[[SessionMixin], object], cookie: str | None, varies: bool
) -> None:
    app = make_app()
    existing = signer(app).dumps({"x": 1})

    @app.get("/")
    async def index() -> str:
        touch(session)
        return "ok"

    async with app.test_client() as client:
        response = await client.get("/", headers={"Cookie": f"session={existing}"})
    assert response.status_code == 200
    assert response.text == "ok"
    assert vary(response) == (["Cookie"] if varies else [])
    if cookie is None:
        assert set_cookies(response) == []
    elif cookie == "set":
        _, value, _ = only_cookie(response)
        assert signer(app).loads(value) != {"x": 1}
    else:
        name, value, attributes = only_cookie(response)
        assert name == "session"
        assert value in ("", '""')
        assert attributes["max-age"] == "0"
        assert parsedate_to_datetime(attributes["expires"]) <= datetime.now(UTC)


async def test_an_emptied_session_removes_the_cookie_with_the_same_attributes() -> None:
    app = make_app(
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PARTITIONED=True,
    )

    @app.get("/login")
    async def login() -> str:
        session["user"] = "ann"
        return "in"

    @app.get("/logout")
    async def logout() -> str:
        session.pop("user", None)
        return "out"

    @app.get("/me")
    async def me() -> str:
        return str(session.get("user"))

    async with app.test_client(base_url="https://localhost") as client:
        await client.get("/login")
        assert (await client.get("/me")).text == "ann"
        response = await client.get("/logout")
        _, _, attributes = only_cookie(response)
        assert attributes["max-age"] == "0"
        assert {
            "path": "/",
            "secure": "",
            "samesite": "strict",
            "partitioned": "",
        }.items() <= attributes.items()
        assert vary(response) == ["Cookie"]
        assert "session" not in client.cookies
        assert (await client.get("/me")).text == "None"


async def test_an_empty_unchanged_session_sends_nothing() -> None:
    app = make_app()

    @app.get("/")
    async def index() -> str:
        session.pop("user", None)
        return str(len(session))

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "0"
    assert set_cookies(response) == []
    assert vary(response) == ["Cookie"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("Accept-Encoding", ["Accept-Encoding, Cookie"], id="appended"),
        pytest.param("cookie", ["cookie"], id="already-there"),
        pytest.param("Accept, Cookie", ["Accept, Cookie"], id="already-in-a-list"),
        pytest.param("*", ["*"], id="star"),
    ],
)
async def test_vary_cookie_is_added_once(given: str, expected: list[str]) -> None:
    app = make_app()

    @app.get("/")
    async def index() -> tuple[str, dict[str, str]]:
        session["x"] = session.get("x", 0) + 1
        return "ok", {"Vary": given}

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert vary(response) == expected
    assert len(set_cookies(response)) == 1


async def test_session_changes_are_saved_on_error_responses() -> None:
    app = make_app()

    @app.get("/deny")
    async def deny() -> str:
        session["denied"] = True
        raise Forbidden()

    @app.errorhandler(404)
    async def not_found(error: Exception) -> tuple[str, int]:
        session["lost"] = True
        return "lost", 404

    async with app.test_client() as client:
        forbidden = await client.get("/deny")
        missing = await client.get("/nowhere")
    assert forbidden.status_code == 403
    assert signer(app).loads(only_cookie(forbidden)[1]) == {"denied": True}
    assert missing.status_code == 404
    assert missing.text == "lost"
    assert signer(app).loads(only_cookie(missing)[1]) == {"denied": True, "lost": True}


async def test_concurrent_requests_keep_their_own_sessions() -> None:
    app = make_app()
    both_inside = asyncio.Event()
    inside = 0

    @app.get("/<name>")
    async def index(name: str) -> str:
        nonlocal inside
        session["name"] = name
        inside += 1
        if inside == 2:
            both_inside.set()
        await asyncio.wait_for(both_inside.wait(), 5)
        return str(session["name"])

    async with app.test_client() as first, app.test_client() as second:
        one, two = await asyncio.gather(first.get("/ann"), second.get("/bob"))
    assert (one.text, two.text) == ("ann", "bob")
    assert signer(app).loads(only_cookie(one)[1]) == {"name": "ann"}
    assert signer(app).loads(only_cookie(two)[1]) == {"name": "bob"}


async def test_a_websocket_reads_the_session_cookie() -> None:
    app = make_app()

    @app.get("/login")
    async def login() -> str:
        session["user"] = "ann"
        return "in"

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(str(session.get("user")))

    async with app.test_client() as client:
        await client.get("/login")
        async with client.websocket("/ws") as connection:
            assert await connection.receive_text() == "ann"


# -- hostile cookies -------------------------------------------------------------------------


def _replace_payload(serializer: URLSafeTimedSerializer) -> str:
    valid = str(serializer.dumps({"user": "ann"}))
    _, timestamp, signature = valid.split(".")
    forged = urlsafe_b64encode(b'{"user":"admin"}').rstrip(b"=").decode()
    return f"{forged}.{timestamp}.{signature}"


def _flip_signature(serializer: URLSafeTimedSerializer) -> str:
    valid = str(serializer.dumps({"user": "ann"}))
    rest, signature = valid.rsplit(".", 1)
    # The first character: the last one carries padding bits that decoding ignores.
    return f"{rest}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


def _plain_json(serializer: URLSafeTimedSerializer, text: str) -> str:
    """`text` as the payload, correctly signed with the app's key (so only decoding can fail)."""
    signed = serializer.make_signer(serializer.salt).sign(urlsafe_b64encode(text.encode()).rstrip(b"="))
    return signed.decode()


def _other_salt(serializer: URLSafeTimedSerializer) -> str:
    return str(
        URLSafeTimedSerializer(KEY, salt="itsdangerous", signer_kwargs={"key_derivation": "hmac"}).dumps(
            {"user": "ann"}
        )
    )


HOSTILE: list[Any] = [
    pytest.param(_flip_signature, id="tampered-signature"),
    pytest.param(_replace_payload, id="tampered-payload"),
    pytest.param(lambda s: s.dumps({"user": "ann"})[:20], id="truncated"),
    pytest.param(lambda s: s.dumps({"user": "ann"}).split(".")[0], id="payload-only"),
    pytest.param(lambda s: s.dumps({"user": "ann"}).rsplit(".", 1)[0] + ".", id="empty-signature"),
    pytest.param(lambda s: "." + s.dumps({"user": "ann"}), id="compressed-flag-added"),
    pytest.param(lambda s: "!!!!.@@@@.####", id="base64-garbage"),
    pytest.param(lambda s: "....", id="dots"),
    pytest.param(lambda s: '"quoted value"', id="quoted"),
    pytest.param(lambda s: "a" * 100_000, id="huge-garbage"),
    pytest.param(lambda s: s.dumps({"user": "ann"}) + "x" * 50_000, id="huge-suffix"),
    pytest.param(
        lambda s: URLSafeTimedSerializer("other key", salt="cookie-session").dumps({"u": 1}), id="other-key"
    ),
    pytest.param(_other_salt, id="other-salt"),
    pytest.param(lambda s: s.dumps(["user", "ann"]), id="list-payload"),
    pytest.param(lambda s: s.dumps("user"), id="string-payload"),
    pytest.param(lambda s: s.dumps(None), id="null-payload"),
    pytest.param(lambda s: s.dumps(42), id="number-payload"),
    pytest.param(lambda s: _plain_json(s, "{not json"), id="bad-json"),
    pytest.param(lambda s: _plain_json(s, '{"x":{" u":"not-a-uuid"}}'), id="bad-uuid-tag"),
    pytest.param(lambda s: _plain_json(s, '{"x":{" b":"a"}}'), id="bad-bytes-tag"),
    pytest.param(lambda s: _plain_json(s, '{"x":{" t":5}}'), id="bad-tuple-tag"),
    pytest.param(lambda s: _plain_json(s, "[" * 100_000 + "]" * 100_000), id="deeply-nested"),
]


async def test_a_signed_cookie_with_an_unreadable_date_reads_it_as_none() -> None:
    # As Flask does: a date nobody could have written becomes None; the rest is kept.
    app = make_app(TESTING=False)
    cookie = _plain_json(signer(app), '{"x":{" d":"yesterday"},"y":1}')

    @app.get("/")
    async def index() -> dict[str, Any]:
        return dict(session)

    async with app.test_client() as client:
        response = await client.get("/", headers={"Cookie": f"session={cookie}"})
    assert (response.status_code, response.json()) == (200, {"x": None, "y": 1})


@pytest.mark.parametrize("make_cookie", HOSTILE)
async def test_a_hostile_cookie_gives_an_empty_session(
    make_cookie: Callable[[URLSafeTimedSerializer], str],
) -> None:
    app = make_app(TESTING=False)
    cookie = make_cookie(signer(app))

    @app.get("/")
    async def index() -> dict[str, Any]:
        return dict(session)

    @app.get("/write")
    async def write() -> dict[str, Any]:
        session["fresh"] = True
        return dict(session)

    async with app.test_client() as client:
        response = await client.get("/", headers={"Cookie": f"session={cookie}"})
        assert response.status_code == 200
        assert response.json() == {}
        assert set_cookies(response) == []
        # The next request, and a write, work normally.
        response = await client.get("/write", headers={"Cookie": f"session={cookie}"})
        assert response.status_code == 200
        assert response.json() == {"fresh": True}
        assert signer(app).loads(only_cookie(response)[1]) == {"fresh": True}


# -- no secret key ---------------------------------------------------------------------------


async def test_without_secret_key_reading_gives_an_empty_session() -> None:
    app = make_app(SECRET_KEY=None)
    cookie = signer(make_app()).dumps({"user": "ann"})

    @app.get("/")
    async def index() -> dict[str, Any]:
        return {"user": session.get("user"), "has": "user" in session, "all": dict(session)}

    async with app.test_client() as client:
        response = await client.get("/", headers={"Cookie": f"session={cookie}"})
    assert response.status_code == 200
    assert response.json() == {"user": None, "has": False, "all": {}}
    assert set_cookies(response) == []


def _pop(s: SessionMixin) -> None:
    s.pop("user", None)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(_set, id="setitem"),
        pytest.param(_set_permanent, id="permanent"),
        pytest.param(lambda s: s.setdefault("y", 1), id="setdefault"),
        pytest.param(lambda s: s.update(y=1), id="update"),
        pytest.param(_pop, id="pop"),
        pytest.param(lambda s: s.clear(), id="clear"),
    ],
)
async def test_without_secret_key_writing_raises_in_testing(write: Callable[[SessionMixin], object]) -> None:
    app = make_app(SECRET_KEY=None)

    @app.get("/")
    async def index() -> str:
        write(session)
        return "unreachable"

    async with app.test_client() as client:
        with pytest.raises(RuntimeError, match=r"no secret key was set\. Set the SECRET_KEY config value"):
            await client.get("/")


async def test_without_secret_key_flash_raises() -> None:
    app = make_app(SECRET_KEY="")

    @app.get("/")
    async def index() -> str:
        await flash("hello")
        return "unreachable"

    async with app.test_client() as client:
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            await client.get("/")


async def test_without_secret_key_writing_is_a_500_in_production(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(SECRET_KEY=None, TESTING=False)

    @app.get("/")
    async def index() -> str:
        session["user"] = "ann"
        return "unreachable"

    @app.get("/after")
    async def after() -> str:
        return "fine"

    with caplog.at_level(logging.ERROR):
        async with app.test_client() as client:
            response = await client.get("/")
            assert (await client.get("/after")).text == "fine"
    assert response.status_code == 500
    assert "Internal Server Error" in response.text
    assert "SECRET_KEY" not in response.text
    assert "Traceback" not in response.text
    assert set_cookies(response) == []
    assert any(
        record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
        for record in caplog.records
    )


async def test_null_session_is_never_saved() -> None:
    app = make_app(SECRET_KEY=None)

    @app.get("/")
    async def index() -> str:
        session.modified = True
        return type(session._get_current_object()).__name__  # type: ignore[attr-defined]

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "NullSession"
    assert set_cookies(response) == []


# -- the session object ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "modified"),
    [
        pytest.param(lambda s: s.get("a"), False, id="get"),
        pytest.param(lambda s: s.copy(), False, id="copy"),
        pytest.param(lambda s: s == {"a": 1}, False, id="eq"),
        pytest.param(lambda s: s != {"a": 1}, False, id="ne"),
        pytest.param(lambda s: list(s.keys()), False, id="keys"),
        pytest.param(lambda s: list(s.values()), False, id="values"),
        pytest.param(lambda s: s.pop("missing", None), False, id="pop-missing"),
        pytest.param(lambda s: s.setdefault("a", 2), False, id="setdefault-existing"),
        pytest.param(lambda s: s.pop("a"), True, id="pop"),
        pytest.param(lambda s: s.setdefault("b", 2), True, id="setdefault-new"),
        pytest.param(lambda s: s.popitem(), True, id="popitem"),
        pytest.param(lambda s: s.__ior__({"b": 2}), True, id="ior"),
        pytest.param(lambda s: s.update({"b": 2}), True, id="update"),
    ],
)
def test_session_tracks_reads_and_writes(
    operation: Callable[[SecureCookieSession], object], modified: bool
) -> None:
    s = SecureCookieSession({"a": 1})
    assert (s.accessed, s.modified) == (False, False)
    operation(s)
    assert s.accessed is True
    assert s.modified is modified


def test_a_failed_write_is_no_change() -> None:
    s = SecureCookieSession()
    with pytest.raises(KeyError):
        del s["missing"]
    with pytest.raises(KeyError):
        s.pop("missing")
    assert s.modified is False


def test_ior_keeps_the_session() -> None:
    s = SecureCookieSession({"a": 1})
    s |= {"b": 2}
    assert isinstance(s, SecureCookieSession)
    assert s == {"a": 1, "b": 2}
    assert s.modified is True


def test_null_session_refuses_every_write() -> None:
    s = NullSession()
    assert s.get("x") is None
    writes: list[Callable[[], object]] = [
        lambda: s.__setitem__("x", 1),
        lambda: s.__delitem__("x"),
        lambda: s.pop("x", None),
        lambda: s.setdefault("x", 1),
        lambda: s.update(x=1),
        lambda: s.clear(),
        lambda: s.popitem(),
        lambda: s.__ior__({"x": 1}),
    ]
    for write in writes:
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            write()
    assert dict(s) == {}


def test_repr_names_the_class() -> None:
    assert repr(SecureCookieSession({"a": 1})) == "<SecureCookieSession {'a': 1}>"


# -- another session interface ---------------------------------------------------------------


class MemorySession(dict[str, Any], SessionMixin):
    """A server-side session: the cookie only carries its id."""

    def __init__(self, sid: str, data: Mapping[str, Any] | None = None) -> None:
        super().__init__(data or {})
        self.sid = sid


class MemorySessionInterface(SessionInterface):
    """Sessions kept in a dict, keyed by the `sid` cookie."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, Any]] = {}
        self.opened = 0

    async def open_session(self, app: AsyncFlask, request: Request) -> SessionMixin | None:
        self.opened += 1
        sid = request.cookies.get("sid")
        if sid is not None and sid in self.store:
            return MemorySession(sid, self.store[sid])
        return MemorySession(uuid.uuid4().hex)

    async def save_session(self, app: AsyncFlask, session: SessionMixin, response: Any) -> None:
        assert isinstance(session, MemorySession)
        if not session:
            self.store.pop(session.sid, None)
            response.delete_cookie("sid")
            return
        self.store[session.sid] = dict(session)
        response.set_cookie("sid", session.sid, httponly=True)


async def test_a_replaced_session_interface_is_used() -> None:
    app = make_app(SECRET_KEY=None)
    interface = MemorySessionInterface()
    app.session_interface = interface

    @app.get("/login")
    async def login() -> str:
        session["user"] = "ann"
        session["cart"] = (1, 2)
        await flash("welcome")
        return "in"

    @app.get("/me")
    async def me() -> dict[str, Any]:
        return {"user": session.get("user"), "flashes": get_flashed_messages()}

    @app.get("/plain")
    async def plain() -> str:
        return "plain"

    async with app.test_client() as client:
        response = await client.get("/login")
        name, sid, _ = only_cookie(response)
        assert name == "sid"
        assert interface.store == {sid: {"user": "ann", "cart": (1, 2), "_flashes": [("message", "welcome")]}}
        response = await client.get("/me")
        assert response.json() == {"user": "ann", "flashes": ["welcome"]}
        assert interface.store[sid] == {"user": "ann", "cart": (1, 2)}
        opened = interface.opened
        assert (await client.get("/plain")).text == "plain"
        # Not lazy: the interface is awaited at the start of every request.
        assert interface.opened == opened + 1

        async with client.session_transaction() as sess:
            assert isinstance(sess, MemorySession)
            assert sess.sid == sid
            sess["user"] = "bob"
        assert interface.store[sid]["user"] == "bob"
        assert (await client.get("/me")).json() == {"user": "bob", "flashes": []}


async def test_an_interface_that_opens_no_session_gives_the_null_session() -> None:
    class Nothing(SessionInterface):
        async def open_session(self, app: AsyncFlask, request: Request) -> SessionMixin | None:
            return None

        async def save_session(self, app: AsyncFlask, session: SessionMixin, response: Any) -> None:
            raise AssertionError("a null session is never saved")

    app = make_app()
    app.session_interface = Nothing()

    @app.get("/read")
    async def read() -> str:
        return str(session.get("x"))

    @app.get("/write")
    async def write() -> str:
        session["x"] = 1
        return "unreachable"

    async with app.test_client() as client:
        assert (await client.get("/read")).text == "None"
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            await client.get("/write")
        with pytest.raises(RuntimeError, match="session interface gave none"):
            async with client.session_transaction():
                pass


async def test_a_cookie_interface_subclass_overriding_open_session_is_awaited() -> None:
    calls: list[str] = []

    class Audited(SecureCookieSessionInterface):
        async def open_session(self, app: AsyncFlask, request: Request) -> SessionMixin | None:
            calls.append(request.path)
            return await super().open_session(app, request)

    class StillLazy(SecureCookieSessionInterface):
        open_lazily = True

        async def open_session(self, app: AsyncFlask, request: Request) -> SessionMixin | None:
            raise AssertionError("not used")

    assert SecureCookieSessionInterface.open_lazily is True
    assert Audited.open_lazily is False
    assert StillLazy.open_lazily is True

    app = make_app()
    app.session_interface = Audited()

    @app.get("/set")
    async def set_session() -> str:
        session["x"] = 1
        return "ok"

    @app.get("/get")
    async def get_session() -> str:
        return str(session["x"])

    async with app.test_client() as client:
        await client.get("/set")
        assert (await client.get("/get")).text == "1"
    assert calls == ["/set", "/get"]


async def test_the_default_interface_opens_the_session_only_when_used() -> None:
    # Without refreshing, a request that never uses the session never reads its cookie.
    app = make_app(SESSION_REFRESH_EACH_REQUEST=False)
    loads: list[str | None] = []

    class Counting(SecureCookieSessionInterface):
        def load_cookie(self, app: AsyncFlask, value: str | None) -> SecureCookieSession | None:
            loads.append(value)
            return super().load_cookie(app, value)

    app.session_interface = Counting()

    @app.get("/plain")
    async def plain() -> str:
        return "plain"

    @app.get("/read")
    async def read() -> str:
        return str(session.get("x"))

    async with app.test_client() as client:
        await client.get("/plain", headers={"Cookie": "session=abc"})
        assert loads == []
        await client.get("/read", headers={"Cookie": "session=abc"})
        assert loads == ["abc"]


# -- flash -----------------------------------------------------------------------------------


async def test_flashed_messages_reach_the_next_request_once() -> None:
    app = make_app()

    @app.get("/add")
    async def add() -> str:
        await flash("saved")
        await flash("disk full", "error")
        await flash("look out", category="warning")
        return "added"

    @app.get("/show")
    async def show() -> dict[str, Any]:
        return {
            "plain": get_flashed_messages(),
            "pairs": get_flashed_messages(with_categories=True),
            "errors": get_flashed_messages(category_filter=["error"]),
            "problems": get_flashed_messages(with_categories=True, category_filter=("error", "warning")),
        }

    async with app.test_client() as client:
        response = await client.get("/add")
        stored = signer(app).loads(only_cookie(response)[1])
        assert stored == {"_flashes": [("message", "saved"), ("error", "disk full"), ("warning", "look out")]}
        assert all(type(item) is tuple for item in stored["_flashes"])

        response = await client.get("/show")
        assert response.json() == {
            "plain": ["saved", "disk full", "look out"],
            "pairs": [["message", "saved"], ["error", "disk full"], ["warning", "look out"]],
            "errors": ["disk full"],
            "problems": [["error", "disk full"], ["warning", "look out"]],
        }
        # Taking the messages emptied the session, so its cookie goes.
        assert only_cookie(response)[2]["max-age"] == "0"

        response = await client.get("/show")
        assert response.json() == {"plain": [], "pairs": [], "errors": [], "problems": []}
        assert set_cookies(response) == []


async def test_messages_flashed_after_reading_wait_for_the_next_request() -> None:
    app = make_app()

    @app.get("/")
    async def index() -> dict[str, Any]:
        before = get_flashed_messages()
        await flash("later")
        return {"before": before, "again": get_flashed_messages()}

    async with app.test_client() as client:
        assert (await client.get("/")).json() == {"before": [], "again": []}
        assert (await client.get("/")).json() == {"before": ["later"], "again": ["later"]}


async def test_flash_outside_a_request_is_an_error() -> None:
    app = make_app()
    with pytest.raises(RuntimeError, match=r"flash\(\) uses the session"):
        await flash("nowhere")
    async with app.app_context():
        with pytest.raises(RuntimeError, match=r"get_flashed_messages\(\) uses the session"):
            get_flashed_messages()


async def test_flash_in_a_test_request_context() -> None:
    app = make_app()
    async with app.test_request_context("/"):
        await flash("hi", "info")
        assert get_flashed_messages(with_categories=True) == [("info", "hi")]
        assert "_flashes" not in session


# -- session_transaction ---------------------------------------------------------------------


async def test_session_transaction_writes_what_the_next_request_reads() -> None:
    app = make_app()

    @app.get("/")
    async def index() -> dict[str, Any]:
        return {"user": session.get("user"), "roles": list(session.get("roles", ()))}

    async with app.test_client() as client:
        async with client.session_transaction() as sess:
            assert dict(sess) == {}
            sess["user"] = "ann"
            sess["roles"] = ("admin",)
        assert (await client.get("/")).json() == {"user": "ann", "roles": ["admin"]}
        assert signer(app).loads(client.cookies["session"]) == {"user": "ann", "roles": ("admin",)}


async def test_session_transaction_reads_and_edits_what_a_request_wrote() -> None:
    app = make_app()

    @app.get("/login")
    async def login() -> str:
        session["user"] = "ann"
        session["visits"] = 1
        return "in"

    @app.get("/visits")
    async def visits() -> str:
        return str(session["visits"])

    async with app.test_client() as client:
        await client.get("/login")
        async with client.session_transaction() as sess:
            assert dict(sess) == {"user": "ann", "visits": 1}
            sess["visits"] += 10
        assert (await client.get("/visits")).text == "11"
        before = client.cookies["session"]
        async with client.session_transaction() as sess:
            assert sess["user"] == "ann"
        # Nothing changed, so the cookie was left as it was.
        assert client.cookies["session"] == before
        async with client.session_transaction() as sess:
            sess.clear()
        assert "session" not in client.cookies


async def test_session_transaction_follows_the_cookie_path() -> None:
    app = make_app(SESSION_COOKIE_PATH="/admin")

    @app.get("/admin/me")
    async def admin() -> str:
        return str(session.get("user"))

    @app.get("/public")
    async def public() -> str:
        return str(session.get("user"))

    async with app.test_client() as client:
        async with client.session_transaction("/admin/me") as sess:
            sess["user"] = "root"
        assert (await client.get("/admin/me")).text == "root"
        assert (await client.get("/public")).text == "None"
        async with client.session_transaction("/admin/me") as sess:
            assert sess["user"] == "root"
        async with client.session_transaction("/public") as sess:
            assert dict(sess) == {}


async def test_session_transaction_flashes_for_the_next_request() -> None:
    app = make_app()

    @app.get("/")
    async def index() -> str:
        return ",".join(map(str, get_flashed_messages()))

    async with app.test_client() as client:
        async with client.session_transaction() as sess:
            sess["_flashes"] = [("message", "from the test")]
        assert (await client.get("/")).text == "from the test"


async def test_session_transaction_needs_a_secret_key() -> None:
    app = make_app(SECRET_KEY=None)
    async with app.test_client() as client:
        with pytest.raises(RuntimeError, match=r"set the SECRET_KEY config value"):
            async with client.session_transaction():
                pass
