"""Tests for asyncflask.tag: the tagged JSON format of session cookies, checked against Flask's."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from flask.json.tag import TaggedJSONSerializer as FlaskTaggedJSONSerializer
from markupsafe import Markup

from asyncflask import AsyncFlask
from asyncflask.json.tag import JSONTag, TaggedJSONSerializer

UTC = timezone.utc
ID = UUID("12345678-1234-5678-1234-567812345678")
WHEN = datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC)

ROUND_TRIPS = [
    pytest.param("text ✓", id="str"),
    pytest.param(42, id="int"),
    pytest.param(1.5, id="float"),
    pytest.param(None, id="none"),
    pytest.param(True, id="bool"),
    pytest.param((1, "two", None), id="tuple"),
    pytest.param((), id="empty-tuple"),
    pytest.param(((1, 2), [3, (4,)]), id="nested-tuple"),
    pytest.param(b"\x00\xffbytes", id="bytes"),
    pytest.param(b"", id="empty-bytes"),
    pytest.param(Markup("<b>safe</b>"), id="markup"),
    pytest.param(ID, id="uuid"),
    pytest.param(WHEN, id="datetime"),
    pytest.param([1, "a", None, [2, b"x"]], id="list"),
    pytest.param({"a": 1, "b": {"c": (1, 2)}}, id="dict"),
    pytest.param({}, id="empty-dict"),
    pytest.param({" t": "not a tuple"}, id="tag-like-key"),
    pytest.param({" di": {" t": [1]}}, id="dict-tag-like-key"),
    pytest.param({" t__": 1}, id="suffixed-key"),
    pytest.param({" t": 1, " b": 2}, id="two-tag-like-keys"),
    pytest.param({" nope": 1}, id="unknown-tag-like-key"),
    pytest.param({"x": [{" m": "<i>"}, (ID, WHEN)]}, id="deeply-nested"),
]


@pytest.mark.parametrize("value", ROUND_TRIPS)
def test_round_trip_keeps_value_and_type(value: Any) -> None:
    serializer = TaggedJSONSerializer()
    loaded = serializer.loads(serializer.dumps(value))
    assert loaded == value
    assert type(loaded) is type(value)


@pytest.mark.parametrize("value", ROUND_TRIPS)
def test_same_text_as_flask(value: Any) -> None:
    ours = TaggedJSONSerializer()
    flask = FlaskTaggedJSONSerializer()
    text = ours.dumps(value)
    assert text == flask.dumps(value)
    assert flask.loads(text) == value
    assert ours.loads(flask.dumps(value)) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param((1, 2), '{" t":[1,2]}', id="tuple"),
        pytest.param(b"hi", '{" b":"aGk="}', id="bytes"),
        pytest.param(Markup("<p>"), '{" m":"<p>"}', id="markup"),
        pytest.param(ID, '{" u":"12345678123456781234567812345678"}', id="uuid"),
        pytest.param(WHEN, '{" d":"Thu, 29 Feb 2024 23:59:58 GMT"}', id="datetime"),
        pytest.param({" t": 1}, '{" di":{" t__":1}}', id="tag-like-key"),
        pytest.param({"k": [(1,)]}, '{"k":[{" t":[1]}]}', id="nested"),
    ],
)
def test_wire_format(value: Any, text: str) -> None:
    assert TaggedJSONSerializer().dumps(value) == text


def test_markup_like_objects_load_as_markup() -> None:
    class Html:
        def __html__(self) -> str:
            return "<em>hi</em>"

    serializer = TaggedJSONSerializer()
    loaded = serializer.loads(serializer.dumps(Html()))
    assert loaded == Markup("<em>hi</em>")
    assert isinstance(loaded, Markup)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            datetime(2024, 1, 2, 3, 4, 5), datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), id="naive-is-utc"
        ),
        pytest.param(
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC),
            id="offset-converted",
        ),
        pytest.param(WHEN.replace(microsecond=999_999), WHEN, id="second-precision"),
    ],
)
def test_datetimes_come_back_in_utc(value: datetime, expected: datetime) -> None:
    serializer = TaggedJSONSerializer()
    loaded = serializer.loads(serializer.dumps(value))
    assert loaded == expected
    assert loaded.tzinfo is not None
    assert loaded.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"a": 1, "b": 2}, id="several-keys"),
        pytest.param({" unknown": 1}, id="unknown-tag"),
        pytest.param({}, id="empty"),
    ],
)
def test_untag_leaves_other_objects_alone(data: dict[str, Any]) -> None:
    assert TaggedJSONSerializer().untag(dict(data)) == data


def test_loads_accepts_bytes() -> None:
    assert TaggedJSONSerializer().loads(b'{" t":[1]}') == (1,)


class TagDecimal(JSONTag):
    __slots__ = ()
    key = " dec"

    def check(self, value: Any) -> bool:
        return isinstance(value, Decimal)

    def to_json(self, value: Any) -> Any:
        return str(value)

    def to_python(self, value: Any) -> Any:
        return Decimal(value)


def test_register_custom_tag() -> None:
    serializer = TaggedJSONSerializer()
    serializer.register(TagDecimal)
    text = serializer.dumps({"price": Decimal("9.99")})
    assert text == '{"price":{" dec":"9.99"}}'
    assert serializer.loads(text) == {"price": Decimal("9.99")}
    assert isinstance(serializer.loads(text)["price"], Decimal)
    # A one-key dict whose key is the new tag is escaped like the built-in ones.
    assert serializer.loads(serializer.dumps({" dec": "x"})) == {" dec": "x"}


def test_registering_a_taken_key_needs_force() -> None:
    class OtherTuple(JSONTag):
        __slots__ = ()
        key = " t"

        def check(self, value: Any) -> bool:
            return isinstance(value, tuple)

        def to_json(self, value: Any) -> Any:
            return "|".join(map(str, value))

        def to_python(self, value: Any) -> Any:
            return tuple(value.split("|"))

    serializer = TaggedJSONSerializer()
    with pytest.raises(KeyError, match="force=True"):
        serializer.register(OtherTuple)
    serializer.register(OtherTuple, force=True, index=0)
    assert serializer.dumps(("a", "b")) == '{" t":"a|b"}'
    assert serializer.loads('{" t":"a|b"}') == ("a", "b")


def test_index_puts_a_tag_before_the_generic_ones() -> None:
    class TagOrderedDict(JSONTag):
        __slots__ = ()
        key = " od"

        def check(self, value: Any) -> bool:
            return isinstance(value, OrderedDict)

        def to_json(self, value: Any) -> Any:
            return [[key, self.serializer.tag(item)] for key, item in value.items()]

        def to_python(self, value: Any) -> Any:
            return OrderedDict(value)

    value = OrderedDict([("b", 1), ("a", (2,))])
    last = TaggedJSONSerializer()
    last.register(TagOrderedDict)
    # Appended, it never runs: the dict walker claims the OrderedDict first.
    assert type(last.loads(last.dumps(value))) is dict

    first = TaggedJSONSerializer()
    first.register(TagOrderedDict, index=0)
    assert first.dumps(value) == '{" od":[["b",1],["a",{" t":[2]}]]}'
    loaded = first.loads(first.dumps(value))
    assert loaded == value
    assert type(loaded) is OrderedDict


async def test_inside_an_app_the_app_json_provider_writes() -> None:
    app = AsyncFlask(__name__)
    serializer = TaggedJSONSerializer()
    assert serializer.dumps({"b": 1, "a": 2}) == '{"b":1,"a":2}'
    async with app.app_context():
        # Flask's provider sorts keys; so does asyncflask's, so both write the same cookie.
        assert serializer.dumps({"b": 1, "a": 2}) == '{"a":2,"b":1}'


def test_values_plain_json_cannot_hold_go_through_the_provider_default() -> None:
    # As in Flask: an untagged type that the JSON provider knows becomes its JSON form.
    assert TaggedJSONSerializer().dumps({"n": Decimal("1.5")}) == '{"n":"1.5"}'
    with pytest.raises(TypeError, match="not JSON serializable"):
        TaggedJSONSerializer().dumps({"s": {1, 2}})
