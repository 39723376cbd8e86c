"""The JSON provider: what it can serialize, and replacing it on an app."""

from __future__ import annotations

import dataclasses
import decimal
import json as stdlib_json
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from asyncflask import AsyncFlask, jsonify, request
from asyncflask import json as af_json
from asyncflask.json import DefaultJSONProvider, JSONProvider
from asyncflask.wrappers import Response


@dataclasses.dataclass
class Point:
    x: int
    y: int


@dataclasses.dataclass
class Shape:
    name: str
    points: list[Point]


class Markup:
    def __init__(self, text: str) -> None:
        self.text = text

    def __html__(self) -> str:
        return f"<em>{self.text}</em>"


class Opaque:
    pass


@pytest.fixture(params=["UTC", "America/New_York", "Asia/Kolkata"])
def local_timezone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run with the process in another local time zone: HTTP dates must not depend on it."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def provider() -> DefaultJSONProvider:
    return DefaultJSONProvider(AsyncFlask(__name__))


SERIALIZED = [
    pytest.param(date(2020, 1, 31), '"Fri, 31 Jan 2020 00:00:00 GMT"', id="date"),
    pytest.param(
        datetime(2020, 1, 31, 23, 30, 5), '"Fri, 31 Jan 2020 23:30:05 GMT"', id="naive-datetime-is-utc"
    ),
    pytest.param(
        datetime(2020, 1, 31, 23, 30, 5, tzinfo=timezone.utc),
        '"Fri, 31 Jan 2020 23:30:05 GMT"',
        id="utc-datetime",
    ),
    pytest.param(
        datetime(2020, 2, 1, 1, 30, 5, tzinfo=timezone(timedelta(hours=2))),
        '"Fri, 31 Jan 2020 23:30:05 GMT"',
        id="aware-datetime-converted",
    ),
    pytest.param(
        datetime(2020, 1, 31, 18, 30, 5, tzinfo=timezone(timedelta(hours=-5))),
        '"Fri, 31 Jan 2020 23:30:05 GMT"',
        id="negative-offset",
    ),
    pytest.param(decimal.Decimal("1.10"), '"1.10"', id="decimal"),
    pytest.param(decimal.Decimal("-1E+3"), '"-1E+3"', id="decimal-exponent"),
    pytest.param(
        uuid.UUID("12345678-1234-5678-1234-567812345678"), '"12345678-1234-5678-1234-567812345678"', id="uuid"
    ),
    pytest.param(Point(1, 2), '{"x": 1, "y": 2}', id="dataclass"),
    pytest.param(
        Shape("line", [Point(0, 0), Point(1, 1)]),
        '{"name": "line", "points": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]}',
        id="nested-dataclass",
    ),
    pytest.param(Markup("hi"), '"<em>hi</em>"', id="html"),
    pytest.param({"b": 1, "a": 2}, '{"a": 2, "b": 1}', id="keys-sorted"),
    pytest.param("é☃", '"\\u00e9\\u2603"', id="ascii-escaped"),
    pytest.param({"when": date(2000, 2, 29)}, '{"when": "Tue, 29 Feb 2000 00:00:00 GMT"}', id="nested-date"),
]


@pytest.mark.parametrize(("value", "expected"), SERIALIZED)
def test_default_provider_dumps(value: Any, expected: str, local_timezone: str) -> None:
    assert provider().dumps(value) == expected


@pytest.mark.parametrize(("value", "expected"), SERIALIZED)
def test_dumps_matches_flask(value: Any, expected: str) -> None:
    flask = pytest.importorskip("flask")
    assert provider().dumps(value) == flask.Flask(__name__).json.dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(Opaque(), id="object"),
        pytest.param({1, 2}, id="set"),
        pytest.param(b"bytes", id="bytes"),
        pytest.param(Point, id="dataclass-class"),
        pytest.param(timedelta(seconds=1), id="timedelta"),
    ],
)
def test_unknown_objects_are_type_errors(value: Any) -> None:
    with pytest.raises(TypeError, match="is not JSON serializable"):
        provider().dumps(value)


def test_dumps_keyword_arguments_win() -> None:
    p = provider()
    assert p.dumps({"b": 1, "a": "é"}, sort_keys=False, ensure_ascii=False) == '{"b": 1, "a": "é"}'
    assert p.dumps(Opaque(), default=lambda o: "opaque") == '"opaque"'


@pytest.mark.parametrize(
    "source",
    [
        pytest.param('{"a": [1, 2.5, null]}', id="str"),
        pytest.param(b'{"a": [1, 2.5, null]}', id="bytes"),
    ],
)
def test_loads(source: str | bytes) -> None:
    assert provider().loads(source) == {"a": [1, 2.5, None]}


def test_loads_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        provider().loads("{oops")


async def test_response_uses_the_provider_mimetype() -> None:
    app = AsyncFlask(__name__)
    app.json.mimetype = "application/vnd.api+json"  # type: ignore[attr-defined]
    async with app.app_context():
        response = jsonify(data=[1])
    assert response.content_type == "application/vnd.api+json"
    assert response.get_data(as_text=True) == '{"data":[1]}\n'


async def test_jsonify_serializes_extended_types() -> None:
    app = AsyncFlask(__name__)
    async with app.app_context():
        response = jsonify(
            when=datetime(2021, 5, 6, 7, 8, 9), amount=decimal.Decimal("9.99"), point=Point(3, 4)
        )
    assert response.get_data(as_text=True) == (
        '{"amount":"9.99","point":{"x":3,"y":4},"when":"Thu, 06 May 2021 07:08:09 GMT"}\n'
    )


def test_base_provider_methods_are_abstract() -> None:
    base = JSONProvider(AsyncFlask(__name__))
    with pytest.raises(NotImplementedError):
        base.dumps({})
    with pytest.raises(NotImplementedError):
        base.loads("{}")


# --- module functions -----------------------------------------------------------------------


def test_module_functions_outside_an_app() -> None:
    assert af_json.dumps({"d": date(2020, 1, 1)}) == '{"d": "Wed, 01 Jan 2020 00:00:00 GMT"}'
    assert af_json.loads('{"a": 1}') == {"a": 1}


async def test_module_functions_use_the_current_app_provider() -> None:
    app = AsyncFlask(__name__)
    app.json = ShoutingProvider(app)
    async with app.app_context():
        assert af_json.dumps({"a": "b"}) == '{"A": "B"}'
        assert af_json.loads('{"a": 1}') == {"loaded": {"a": 1}}


# --- a replacement provider -----------------------------------------------------------------


class ShoutingProvider(JSONProvider):
    """Uppercases what it writes and wraps what it reads, so its use is visible."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return stdlib_json.dumps(obj, **kwargs).upper()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return {"loaded": stdlib_json.loads(s, **kwargs)}


def shouting_app() -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.json = ShoutingProvider(app)

    @app.get("/jsonify")
    async def jsonify_view() -> Response:
        return jsonify(hello="world")

    @app.get("/dict")
    async def dict_view() -> dict[str, str]:
        return {"key": "value"}

    @app.post("/echo")
    async def echo() -> Any:
        return jsonify(await request.get_json())

    return app


async def test_replaced_provider_is_used_everywhere() -> None:
    async with shouting_app().test_client() as client:
        from_jsonify = await client.get("/jsonify")
        from_dict = await client.get("/dict")
        echoed = await client.post("/echo", json={"a": 1})
    assert from_jsonify.text == '{"HELLO": "WORLD"}\n'
    assert from_jsonify.headers["content-type"] == "application/json"
    assert from_dict.text == '{"KEY": "VALUE"}\n'
    assert echoed.text == '{"LOADED": {"A": 1}}\n'


async def test_provider_class_on_an_app_subclass() -> None:
    class ShoutingApp(AsyncFlask):
        json_provider_class = ShoutingProvider

    app = ShoutingApp(__name__)
    assert isinstance(app.json, ShoutingProvider)

    @app.get("/")
    async def view() -> list[str]:
        return ["quiet"]

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == '["QUIET"]\n'


async def test_provider_errors_in_get_json_are_400() -> None:
    class StrictProvider(DefaultJSONProvider):
        def loads(self, s: str | bytes, **kwargs: Any) -> Any:
            value = super().loads(s, **kwargs)
            if not isinstance(value, dict):
                raise ValueError("expected an object")
            return value

    app = AsyncFlask(__name__)
    app.json = StrictProvider(app)

    @app.post("/")
    async def view() -> Any:
        return {"got": await request.get_json()}

    async with app.test_client() as client:
        good = await client.post("/", json={"a": 1})
        bad = await client.post("/", json=[1])
    assert good.json() == {"got": {"a": 1}}
    assert bad.status_code == 400
    assert "expected an object" in bad.text
