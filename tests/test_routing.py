"""Tests for asyncflask.routing: rule syntax, converters, HTTP semantics, the index, url_for.

Most tests go through a real app and its test client; the Map/Rule unit tests at the end
cover what is clearer without one (the Starlette route protocol, building, errors).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse
from starlette.routing import Match, NoMatchFound, Route, Router
from werkzeug.routing import Map as WerkzeugMap
from werkzeug.routing import Rule as WerkzeugRule

import asyncflask
from asyncflask import AsyncFlask, g, request, url_for
from asyncflask.exceptions import MethodNotAllowed, NotFound
from asyncflask.routing import (
    AnyConverter,
    BaseConverter,
    BuildError,
    Map,
    RequestRedirect,
    Rule,
    ValidationError,
)
from asyncflask.testing import ASGIStreamTransport


def make_app(**kwargs: Any) -> AsyncFlask:
    """A fresh app without the static route, so each map holds only the test's rules."""
    kwargs.setdefault("static_folder", None)
    return AsyncFlask(__name__, **kwargs)


async def fetch(app: AsyncFlask, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with app.test_client() as client:
        return await client.request(method, path, **kwargs)


def typed(values: Mapping[str, Any]) -> dict[str, tuple[type, Any]]:
    """Values with their types, so 1 == 1.0 == True cannot make a wrong type pass."""
    return {key: (type(value), value) for key, value in values.items()}


# ---------------------------------------------------------------------------------------------
# Rule syntax and converters

SOME_UUID = uuid.UUID("3f2c6a0e-8d1b-4c55-9a4e-0123456789ab")

CONVERTER_CASES = [
    pytest.param("/<name>", "/abc", {"name": "abc"}, id="default-string"),
    pytest.param("/<name>", "/a%20b%C3%BC", {"name": "a bü"}, id="default-percent-decoded"),
    pytest.param("/<name>", "/a/b", None, id="default-no-slash"),
    pytest.param("/<string:name>", "/x", {"name": "x"}, id="string-explicit"),
    pytest.param("/<string(length=2):code>", "/de", {"code": "de"}, id="string-length-ok"),
    pytest.param("/<string(length=2):code>", "/d", None, id="string-length-short"),
    pytest.param("/<string(length=2):code>", "/deu", None, id="string-length-long"),
    pytest.param("/<string(minlength=1, maxlength=8):s>", "/abcdefgh", {"s": "abcdefgh"}, id="string-max-ok"),
    pytest.param("/<string(minlength=1, maxlength=8):s>", "/abcdefghi", None, id="string-max-over"),
    pytest.param("/<string(minlength=3):s>", "/ab", None, id="string-min-under"),
    pytest.param("/<int:id>", "/42", {"id": 42}, id="int"),
    pytest.param("/<int:id>", "/0", {"id": 0}, id="int-zero"),
    pytest.param("/<int:id>", "/-1", None, id="int-unsigned-rejects-minus"),
    pytest.param("/<int:id>", "/4.2", None, id="int-rejects-float"),
    pytest.param("/<int:id>", "/abc", None, id="int-rejects-text"),
    pytest.param("/<int:id>", "/42%0A", None, id="int-rejects-trailing-newline"),
    pytest.param("/<int(signed=True):n>", "/-5", {"n": -5}, id="int-signed-negative"),
    pytest.param("/<int(signed=True):n>", "/5", {"n": 5}, id="int-signed-positive"),
    pytest.param("/<int(min=1, max=10):n>", "/0", None, id="int-below-min"),
    pytest.param("/<int(min=1, max=10):n>", "/1", {"n": 1}, id="int-min"),
    pytest.param("/<int(min=1, max=10):n>", "/10", {"n": 10}, id="int-max"),
    pytest.param("/<int(min=1, max=10):n>", "/11", None, id="int-above-max"),
    pytest.param("/<int(signed=True, min=-3):n>", "/-4", None, id="int-signed-below-min"),
    pytest.param("/<int(fixed_digits=4):year>", "/0042", {"year": 42}, id="int-fixed-digits"),
    pytest.param("/<int(fixed_digits=4):year>", "/42", None, id="int-fixed-digits-short"),
    pytest.param("/<int(fixed_digits=4):year>", "/00042", None, id="int-fixed-digits-long"),
    pytest.param("/<float:x>", "/1.5", {"x": 1.5}, id="float"),
    pytest.param("/<float:x>", "/1", None, id="float-needs-point"),
    pytest.param("/<float:x>", "/-1.5", None, id="float-unsigned-rejects-minus"),
    pytest.param("/<float(signed=True):x>", "/-1.5", {"x": -1.5}, id="float-signed"),
    pytest.param("/<float(max=2.0):x>", "/2.5", None, id="float-above-max"),
    pytest.param("/<path:p>", "/a/b/c.txt", {"p": "a/b/c.txt"}, id="path-slashes"),
    pytest.param("/files/<path:p>/edit", "/files/a/b/edit", {"p": "a/b"}, id="path-in-the-middle"),
    pytest.param("/files/<path:p>", "/files/", None, id="path-not-empty"),
    pytest.param("/<uuid:u>", f"/{SOME_UUID}", {"u": SOME_UUID}, id="uuid"),
    pytest.param("/<uuid:u>", f"/{str(SOME_UUID).upper()}", {"u": SOME_UUID}, id="uuid-uppercase"),
    pytest.param("/<uuid:u>", "/3f2c6a0e8d1b4c559a4e0123456789ab", None, id="uuid-needs-hyphens"),
    pytest.param("/<uuid:u>", "/not-a-uuid", None, id="uuid-rejects-text"),
    pytest.param("/<any(about, help):page>", "/help", {"page": "help"}, id="any-member"),
    pytest.param("/<any(about, help):page>", "/faq", None, id="any-non-member"),
    pytest.param("/<any(about, help):page>", "/aboutx", None, id="any-whole-word"),
    pytest.param('/<any("a b", c):page>', "/a%20b", {"page": "a b"}, id="any-quoted-choice"),
    pytest.param("/<any(1, 2):n>", "/2", {"n": "2"}, id="any-numbers-are-text"),
    pytest.param("/v<int:major>.<int:minor>", "/v1.12", {"major": 1, "minor": 12}, id="two-in-a-segment"),
]


@pytest.mark.parametrize(("rule", "path", "expected"), CONVERTER_CASES)
async def test_converters_through_the_app(rule: str, path: str, expected: dict[str, Any] | None) -> None:
    app = make_app()
    seen: list[dict[str, Any]] = []

    async def view(**kwargs: Any) -> str:
        seen.append(kwargs)
        return "matched"

    app.add_url_rule(rule, "view", view)
    response = await fetch(app, "GET", path)
    if expected is None:
        assert response.status_code == 404
        assert seen == []
    else:
        assert response.status_code == 200
        assert response.text == "matched"
        assert [typed(values) for values in seen] == [typed(expected)]


BUILD_CASES = [
    pytest.param("/<name>", {"name": "a b?ü"}, "/a%20b%3F%C3%BC", id="string-quoted"),
    pytest.param("/<name>", {"name": "50%"}, "/50%25", id="string-percent"),
    pytest.param("/<int:id>", {"id": 7}, "/7", id="int"),
    pytest.param("/<int:id>", {"id": "7"}, "/7", id="int-from-text"),
    pytest.param("/<int(fixed_digits=4):y>", {"y": 42}, "/0042", id="int-fixed-digits"),
    pytest.param("/<int(signed=True):n>", {"n": -3}, "/-3", id="int-signed"),
    pytest.param("/<float:x>", {"x": 2}, "/2.0", id="float"),
    pytest.param("/<path:p>", {"p": "a/b c"}, "/a/b%20c", id="path-keeps-slashes"),
    pytest.param("/<uuid:u>", {"u": SOME_UUID}, f"/{SOME_UUID}", id="uuid"),
    pytest.param("/<any(about, help):page>", {"page": "about"}, "/about", id="any"),
    pytest.param("/a b/<x>", {"x": "y"}, "/a%20b/y", id="static-text-quoted"),
    pytest.param("/café/<x>", {"x": "ü"}, "/caf%C3%A9/%C3%BC", id="static-non-ascii"),
]


@pytest.mark.parametrize(("rule", "values", "expected"), BUILD_CASES)
async def test_url_for_uses_each_converter(rule: str, values: dict[str, Any], expected: str) -> None:
    app = make_app()

    async def view(**kwargs: Any) -> str:
        return "ok"

    app.add_url_rule(rule, "view", view)
    assert app.url_for("view", _external=False, **values) == expected
    # What is built is matched again, to the same values.
    response = await fetch(app, "GET", expected)
    assert response.status_code == 200


def test_string_converter_builds_slashes_unquoted_like_werkzeug() -> None:
    app = make_app()
    app.add_url_rule("/user/<name>", "user", lambda name: name)
    assert app.url_for("user", name="a/b", _external=False) == "/user/a/b"


async def test_any_converter_refuses_to_build_a_non_member() -> None:
    app = make_app()

    @app.route("/<any(about, help):page>")
    async def page(page: str) -> str:
        return page

    with pytest.raises(ValueError, match="'faq' is not one of 'about', 'help'"):
        app.url_for("page", page="faq", _external=False)


async def test_converted_values_arrive_as_keyword_arguments() -> None:
    app = make_app()

    @app.route("/shop/<any(books, music):kind>/<int:item>/<float:price>/<path:rest>")
    async def item(*, kind: str, item: int, price: float, rest: str) -> dict[str, Any]:
        return {"kind": kind, "item": item, "price": price, "rest": rest, "types": [type(item).__name__]}

    response = await fetch(app, "GET", "/shop/music/12/9.5/a/b")
    assert response.status_code == 200
    assert response.json() == {"kind": "music", "item": 12, "price": 9.5, "rest": "a/b", "types": ["int"]}


async def test_view_args_and_url_rule_on_the_request() -> None:
    app = make_app()

    @app.route("/user/<int:id>")
    async def user(id: int) -> dict[str, Any]:
        assert request.url_rule is not None
        return {"view_args": request.view_args, "rule": request.url_rule.rule, "endpoint": request.endpoint}

    response = await fetch(app, "GET", "/user/3")
    assert response.json() == {"view_args": {"id": 3}, "rule": "/user/<int:id>", "endpoint": "user"}


class ListConverter(BaseConverter):
    """Flask's documentation example: comma-separated values."""

    regex = r"[^/]+(?:,[^/]+)*"

    def to_python(self, value: str) -> list[str]:
        return value.split(",")

    def to_url(self, value: Any) -> str:
        return ",".join(super(ListConverter, self).to_url(item) for item in value)


class EvenConverter(BaseConverter):
    regex = r"\d+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number % 2:
            raise ValidationError()
        return number


class RangeConverter(BaseConverter):
    """A converter with arguments, like the built-in ones."""

    regex = r"\d+"

    def __init__(self, map: Map, low: int = 0, high: int = 10) -> None:
        super().__init__(map)
        self.low = low
        self.high = high

    def to_python(self, value: str) -> int:
        number = int(value)
        if not self.low <= number <= self.high:
            raise ValidationError()
        return number


async def test_custom_converter() -> None:
    app = make_app()
    app.url_map.converters["list"] = ListConverter

    @app.route("/tags/<list:tags>")
    async def tags(tags: list[str]) -> dict[str, Any]:
        return {"tags": tags, "url": url_for("tags", tags=[*tags, "new one"])}

    response = await fetch(app, "GET", "/tags/a,b,c")
    assert response.status_code == 200
    assert response.json() == {"tags": ["a", "b", "c"], "url": "/tags/a,b,c,new%20one"}


async def test_custom_converter_does_not_leak_to_another_app() -> None:
    first = make_app()
    first.url_map.converters["list"] = ListConverter
    first.add_url_rule("/tags/<list:tags>", "tags", lambda tags: "ok")
    second = make_app()
    assert "list" not in second.url_map.converters
    with pytest.raises(LookupError, match="converter 'list'"):
        second.add_url_rule("/tags/<list:tags>", "tags", lambda tags: "ok")


async def test_custom_converter_validation_error_is_404() -> None:
    app = make_app()
    app.url_map.converters["even"] = EvenConverter

    @app.route("/even/<even:n>")
    async def even(n: int) -> str:
        return f"{n} is even"

    async with app.test_client() as client:
        ok = await client.get("/even/4")
        odd = await client.get("/even/3")
    assert (ok.status_code, ok.text) == (200, "4 is even")
    assert odd.status_code == 404


async def test_validation_error_falls_through_to_the_next_rule() -> None:
    app = make_app()
    app.url_map.converters["even"] = EvenConverter

    @app.route("/n/<even:n>")
    async def even(n: int) -> str:
        return "even"

    @app.route("/n/<name>")
    async def other(name: str) -> str:
        return f"other {name}"

    async with app.test_client() as client:
        assert (await client.get("/n/2")).text == "even"
        assert (await client.get("/n/3")).text == "other 3"


async def test_custom_converter_with_arguments() -> None:
    app = make_app()
    app.url_map.converters["range"] = RangeConverter

    @app.route("/r/<range(low=5, high=7):n>")
    async def ranged(n: int) -> str:
        return repr(n)

    async with app.test_client() as client:
        assert [(await client.get(f"/r/{n}")).status_code for n in (4, 5, 7, 8)] == [404, 200, 200, 404]


async def test_unknown_converter_is_a_clear_lookup_error() -> None:
    app = make_app()
    with pytest.raises(LookupError) as info:
        app.add_url_rule("/x/<nope:value>", "x", lambda value: "x")
    message = str(info.value)
    assert "'nope'" in message
    assert "app.url_map.converters['nope'] = YourConverter" in message
    assert len(app.url_map) == 0


async def test_failed_registration_leaves_no_view_behind() -> None:
    app = make_app()

    async def broken(value: str) -> str:
        return "broken"

    async def fixed(value: str) -> str:
        return f"fixed {value}"

    with pytest.raises(LookupError):
        app.add_url_rule("/x/<nope:value>", "x", broken)
    assert "x" not in app.view_functions
    app.add_url_rule("/x/<value>", "x", fixed)
    assert (await fetch(app, "GET", "/x/1")).text == "fixed 1"


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        pytest.param("no-slash", "must start with a slash", id="no-leading-slash"),
        pytest.param("/a/<b", "malformed", id="unclosed-variable"),
        pytest.param("/a/<int:b>/<c:d", "malformed", id="unclosed-second-variable"),
        pytest.param("/<a>/<int:a>", "variable name 'a' twice", id="duplicate-variable"),
        pytest.param("/<any():k>", "at least one choice", id="any-without-choices"),
    ],
)
def test_invalid_rules_fail_at_registration(rule: str, error: str) -> None:
    app = make_app()
    with pytest.raises(ValueError, match=error):
        app.add_url_rule(rule, "view", lambda **kwargs: "x")


def test_unknown_converter_argument_is_a_type_error() -> None:
    app = make_app()
    with pytest.raises(TypeError):
        app.add_url_rule("/<int(nope=1):n>", "view", lambda n: "x")


# ---------------------------------------------------------------------------------------------
# HTTP semantics


async def test_head_answers_for_get_rules_without_a_body() -> None:
    app = make_app()

    @app.route("/")
    async def index() -> tuple[str, dict[str, str]]:
        return "Hello World!", {"X-Custom": "yes"}

    async with app.test_client() as client:
        get = await client.get("/")
        head = await client.head("/")
    assert get.status_code == head.status_code == 200
    assert get.content == b"Hello World!"
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == "12"
    assert head.headers["content-type"] == get.headers["content-type"] == "text/html; charset=utf-8"
    assert head.headers["x-custom"] == "yes"


async def test_options_lists_the_methods_of_every_rule_for_the_path() -> None:
    app = make_app()

    @app.get("/thing")
    async def read() -> str:
        return "read"

    @app.route("/thing", methods=["POST", "PUT"])
    async def write() -> str:
        return "write"

    @app.delete("/other")
    async def other() -> str:
        return "other"

    async with app.test_client() as client:
        response = await client.options("/thing")
        other_response = await client.options("/other")
    assert response.status_code == 200
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST, PUT"
    assert response.content == b""
    assert other_response.headers["allow"] == "DELETE, OPTIONS"


async def test_wrong_method_is_405_with_allow() -> None:
    app = make_app()

    @app.route("/form", methods=["GET", "POST"])
    async def form() -> str:
        return "form"

    async with app.test_client() as client:
        response = await client.delete("/form")
        missing = await client.delete("/nowhere")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert "Method Not Allowed" in response.text
    assert missing.status_code == 404
    assert "allow" not in missing.headers


async def test_unknown_path_is_404() -> None:
    app = make_app()

    @app.route("/")
    async def index() -> str:
        return "index"

    response = await fetch(app, "GET", "/missing")
    assert response.status_code == 404
    assert "Not Found" in response.text


async def test_405_handler_sees_the_routing_error() -> None:
    app = make_app()

    @app.get("/only-get")
    async def only_get() -> str:
        return "x"

    @app.errorhandler(405)
    async def not_allowed(error: MethodNotAllowed) -> tuple[str, int]:
        return f"nope: {', '.join(error.valid_methods or ())}", 405

    response = await fetch(app, "POST", "/only-get")
    assert (response.status_code, response.text) == (405, "nope: GET, HEAD, OPTIONS")


async def test_missing_trailing_slash_redirects_with_the_query_string() -> None:
    app = make_app()

    @app.route("/projects/")
    async def projects() -> str:
        return "projects"

    @app.route("/user/<name>/")
    async def user(name: str) -> str:
        return name

    async with app.test_client() as client:
        response = await client.get("/projects?a=1&b=x+y&a=2")
        post = await client.post("/projects")
        variable = await client.get("/user/bob")
        followed = await client.get("/projects", follow_redirects=True)
        slashed = await client.get("/projects/")
    assert response.status_code == 308
    assert response.headers["location"] == "http://localhost/projects/?a=1&b=x+y&a=2"
    # As in Flask, only a method the slash rule serves is redirected; a POST finds nothing.
    assert post.status_code == 404
    assert (variable.status_code, variable.headers["location"]) == (308, "http://localhost/user/bob/")
    assert (followed.status_code, followed.text) == (200, "projects")
    assert (slashed.status_code, slashed.text) == (200, "projects")


async def test_slash_redirect_quotes_the_location() -> None:
    app = make_app()

    @app.route("/ü/")
    async def umlaut() -> str:
        return "ü"

    @app.route("/a b/")
    async def space() -> str:
        return "space"

    async with app.test_client() as client:
        umlaut_response = await client.get("/%C3%BC")
        space_response = await client.get("/a%20b")
    assert (umlaut_response.status_code, umlaut_response.headers["location"]) == (
        308,
        "http://localhost/%C3%BC/",
    )
    assert (space_response.status_code, space_response.headers["location"]) == (
        308,
        "http://localhost/a%20b/",
    )


async def test_extra_trailing_slash_is_404() -> None:
    app = make_app()

    @app.route("/about")
    async def about() -> str:
        return "about"

    @app.route("/user/<int:id>")
    async def user(id: int) -> str:
        return "user"

    async with app.test_client() as client:
        assert (await client.get("/about/")).status_code == 404
        assert (await client.get("/user/1/")).status_code == 404


@pytest.mark.parametrize(
    ("rule", "paths"),
    [
        pytest.param("/dir/", ["/dir", "/dir/"], id="rule-with-slash"),
        pytest.param("/file", ["/file", "/file/"], id="rule-without-slash"),
        pytest.param("/a/b/", ["/a/b", "/a/b/"], id="nested-rule-with-slash"),
        pytest.param("/u/<int:id>/", ["/u/1", "/u/1/"], id="variable-with-slash"),
        pytest.param("/u/<int:id>", ["/u/1", "/u/1/"], id="variable-without-slash"),
    ],
)
async def test_strict_slashes_false_serves_both_forms(rule: str, paths: list[str]) -> None:
    app = make_app()
    app.add_url_rule(rule, "view", lambda **kwargs: "served", strict_slashes=False)
    # A sibling rule puts more nodes in the index, around the rule under test.
    app.add_url_rule("/a/<x>", "sibling", lambda x: "sibling")
    async with app.test_client() as client:
        for path in paths:
            response = await client.get(path)
            assert (path, response.status_code, response.text) == (path, 200, "served")


async def test_map_wide_strict_slashes() -> None:
    app = make_app()
    app.url_map.strict_slashes = False

    @app.route("/docs/")
    async def docs() -> str:
        return "docs"

    async with app.test_client() as client:
        assert (await client.get("/docs")).status_code == 200
        assert (await client.get("/docs/")).status_code == 200


async def test_redirect_to_string_with_variables() -> None:
    app = make_app()

    @app.route("/old/<int:id>/<name>", redirect_to="/new/<int:id>/<name>")
    async def old(id: int, name: str) -> str:
        raise AssertionError("a redirecting rule never calls its view")

    app.add_url_rule("/away", "away", redirect_to="https://example.com/elsewhere")

    async with app.test_client() as client:
        response = await client.get("/old/7/a%20b")
        away = await client.get("/away")
    assert response.status_code == 308
    assert response.headers["location"] == "http://localhost/new/7/a%20b"
    assert (away.status_code, away.headers["location"]) == (308, "https://example.com/elsewhere")


async def test_redirect_to_target_with_its_own_query_and_fragment() -> None:
    app = make_app()
    app.add_url_rule("/old", "old", redirect_to="/new?x=1")
    app.add_url_rule("/frag", "frag", redirect_to="/new#top")
    async with app.test_client() as client:
        query = await client.get("/old?q=2")
        fragment = await client.get("/frag?q=2")
    assert query.headers["location"] == "http://localhost/new?x=1&q=2"
    assert fragment.headers["location"] == "http://localhost/new?q=2#top"


async def test_redirect_to_callable() -> None:
    app = make_app()

    def werkzeug_style(adapter: Any, id: int) -> str:
        # Werkzeug calls redirect_to(adapter, **values); asyncflask passes its Map.
        assert isinstance(adapter, Map)
        return f"/new/{id * 2}"

    app.add_url_rule("/w/<int:id>", "w", redirect_to=werkzeug_style)
    app.add_url_rule("/k/<int:id>", "k", redirect_to=lambda id: f"/kw/{id + 1}")

    async with app.test_client() as client:
        werkzeug = await client.get("/w/21")
        keywords = await client.get("/k/1")
    assert (werkzeug.status_code, werkzeug.headers["location"]) == (308, "http://localhost/new/42")
    assert (keywords.status_code, keywords.headers["location"]) == (308, "http://localhost/kw/2")


async def test_defaults_two_rules_one_view() -> None:
    app = make_app()

    @app.route("/page/", defaults={"page": 1})
    @app.route("/page/<int:page>")
    async def show(page: int) -> str:
        return f"page {page!r}"

    async with app.test_client() as client:
        first = await client.get("/page/")
        third = await client.get("/page/3")
        canonical = await client.get("/page/1?sort=new")
        assert (first.status_code, first.text) == (200, "page 1")
        assert (third.status_code, third.text) == (200, "page 3")
        # As in Werkzeug (redirect_defaults): the page the defaults describe has one URL.
        assert canonical.status_code == 308
        assert canonical.headers["location"] == "http://localhost/page/?sort=new"
    assert app.url_for("show", _external=False) == "/page/"
    assert app.url_for("show", page=1, _external=False) == "/page/"
    assert app.url_for("show", page=2, _external=False) == "/page/2"


async def test_defaults_are_passed_to_the_view() -> None:
    app = make_app()

    @app.route("/feed", defaults={"format": "rss", "limit": 10})
    async def feed(format: str, limit: int) -> str:
        return f"{format} {limit!r}"

    response = await fetch(app, "GET", "/feed")
    assert response.text == "rss 10"
    assert app.url_for("feed", _external=False) == "/feed"


@pytest.mark.parametrize(
    "methods",
    [
        pytest.param(["GET", "POST"], id="list"),
        pytest.param(("get", "post"), id="lowercase-tuple"),
        pytest.param({"POST", "GET"}, id="set"),
    ],
)
async def test_methods_given_as_a_collection(methods: Any) -> None:
    app = make_app()
    app.add_url_rule("/m", "m", lambda: request.method, methods=methods)
    async with app.test_client() as client:
        assert (await client.get("/m")).text == "GET"
        assert (await client.post("/m")).text == "POST"
        put = await client.put("/m")
    assert put.status_code == 405
    assert put.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    (rule,) = app.url_map.iter_rules("m")
    assert rule.methods == {"GET", "HEAD", "OPTIONS", "POST"}


def test_methods_as_a_single_string_is_a_type_error() -> None:
    app = make_app()
    with pytest.raises(TypeError, match="methods=\\['GET'\\]"):
        app.add_url_rule("/m", "m", lambda: "m", methods="GET")


async def test_method_shortcuts() -> None:
    app = make_app()

    @app.get("/item")
    async def get_item() -> str:
        return "get"

    @app.post("/item")
    async def post_item() -> str:
        return "post"

    @app.put("/item")
    async def put_item() -> str:
        return "put"

    @app.patch("/item")
    async def patch_item() -> str:
        return "patch"

    @app.delete("/item")
    async def delete_item() -> str:
        return "delete"

    async with app.test_client() as client:
        bodies = [
            (await client.request(method, "/item")).text
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        ]
        options = await client.options("/item")
    assert bodies == ["get", "post", "put", "patch", "delete"]
    assert options.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    assert {rule.endpoint: rule.methods for rule in app.url_map} == {
        "get_item": {"GET", "HEAD", "OPTIONS"},
        "post_item": {"POST", "OPTIONS"},
        "put_item": {"PUT", "OPTIONS"},
        "patch_item": {"PATCH", "OPTIONS"},
        "delete_item": {"DELETE", "OPTIONS"},
    }


def test_method_shortcut_refuses_methods() -> None:
    app = make_app()
    with pytest.raises(TypeError, match="Use the 'route' decorator"):
        app.post("/x", methods=["GET"])


async def test_view_attributes_for_methods_and_options() -> None:
    """Flask reads `methods`, `required_methods` and `provide_automatic_options` off the view."""
    app = make_app()

    async def view() -> str:
        return request.method

    view.methods = ["POST"]  # type: ignore[attr-defined]
    view.required_methods = ["PUT"]  # type: ignore[attr-defined]
    view.provide_automatic_options = False  # type: ignore[attr-defined]
    app.add_url_rule("/v", "v", view)
    async with app.test_client() as client:
        assert (await client.post("/v")).text == "POST"
        assert (await client.put("/v")).text == "PUT"
        options = await client.options("/v")
    assert options.status_code == 405
    assert options.headers["allow"] == "POST, PUT"


async def test_provide_automatic_options_config() -> None:
    app = make_app()
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False

    @app.route("/")
    async def index() -> str:
        return "index"

    response = await fetch(app, "OPTIONS", "/")
    assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD")


async def test_custom_endpoint_name() -> None:
    app = make_app()

    @app.route("/x", endpoint="custom")
    async def view() -> str:
        return url_for("custom")

    assert "view" not in app.view_functions
    assert (await fetch(app, "GET", "/x")).text == "/x"


async def test_provide_automatic_options_false() -> None:
    app = make_app()

    @app.route("/plain", provide_automatic_options=False)
    async def plain() -> str:
        return "plain"

    @app.route("/custom", methods=["GET", "OPTIONS"])
    async def custom() -> tuple[str, dict[str, str]]:
        return f"custom {request.method}", {"Allow": "GET"}

    async with app.test_client() as client:
        plain_options = await client.options("/plain")
        custom_options = await client.options("/custom")
    assert plain_options.status_code == 405
    assert plain_options.headers["allow"] == "GET, HEAD"
    assert (custom_options.status_code, custom_options.text) == (200, "custom OPTIONS")
    assert custom_options.headers["allow"] == "GET"
    (rule,) = app.url_map.iter_rules("plain")
    assert rule.methods == {"GET", "HEAD"}


# ---------------------------------------------------------------------------------------------
# Precedence and the index


async def test_static_beats_variable_whatever_the_order() -> None:
    app = make_app()

    @app.route("/user/<name>")
    async def user(name: str) -> str:
        return f"user {name}"

    @app.route("/user/me")
    async def me() -> str:
        return "me"

    async with app.test_client() as client:
        assert (await client.get("/user/me")).text == "me"
        assert (await client.get("/user/you")).text == "user you"


async def test_static_rule_with_other_method_falls_back_to_variable_rule() -> None:
    app = make_app()

    @app.post("/user/me")
    async def update_me() -> str:
        return "updated"

    @app.get("/user/<name>")
    async def user(name: str) -> str:
        return f"user {name}"

    async with app.test_client() as client:
        assert (await client.get("/user/me")).text == "user me"
        assert (await client.post("/user/me")).text == "updated"


async def test_int_beats_string_and_path_comes_last() -> None:
    app = make_app()

    @app.route("/p/<path:rest>")
    async def by_path(rest: str) -> str:
        return f"path {rest}"

    @app.route("/p/<name>")
    async def by_name(name: str) -> str:
        return f"name {name}"

    @app.route("/p/<int:id>")
    async def by_id(id: int) -> str:
        return f"id {id}"

    @app.route("/p/<name>/edit")
    async def edit(name: str) -> str:
        return f"edit {name}"

    async with app.test_client() as client:
        assert (await client.get("/p/5")).text == "id 5"
        assert (await client.get("/p/five")).text == "name five"
        assert (await client.get("/p/a/b")).text == "path a/b"
        assert (await client.get("/p/a/edit")).text == "edit a"
        assert (await client.get("/p/a/b/edit")).text == "path a/b/edit"


async def test_catch_all_path_rule_keeps_specific_rules() -> None:
    app = make_app()

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    async def catch_all(path: str) -> str:
        return f"catch-all {path!r}"

    @app.route("/api/status")
    async def status() -> str:
        return "status"

    async with app.test_client() as client:
        assert (await client.get("/")).text == "catch-all ''"
        assert (await client.get("/a/b/c")).text == "catch-all 'a/b/c'"
        assert (await client.get("/api/status")).text == "status"
        assert (await client.get("/api/other")).text == "catch-all 'api/other'"


async def test_many_rules_resolve_to_the_right_endpoint() -> None:
    app = make_app()

    async def view(id: int) -> str:
        return f"{request.endpoint} {id}"

    for i in range(1000):
        app.add_url_rule(f"/r{i}/<int:id>", f"r{i}", view)
        app.add_url_rule(f"/api/items{i}/<int:id>", f"items{i}", view)
    app.add_url_rule("/api/<name>/<int:id>", "generic", lambda name, id: f"generic {name} {id}")
    assert len(app.url_map) == 2001

    async with app.test_client() as client:
        for i in (0, 1, 10, 99, 500, 998, 999):
            assert (await client.get(f"/r{i}/{i + 7}")).text == f"r{i} {i + 7}"
            assert (await client.get(f"/api/items{i}/{i}")).text == f"items{i} {i}"
            assert app.url_for(f"items{i}", id=3, _external=False) == f"/api/items{i}/3"
        assert (await client.get("/api/items1000/5")).text == "generic items1000 5"
        assert (await client.get("/r1000/5")).status_code == 404
        assert (await client.get("/r5/x")).status_code == 404
        assert (await client.post("/r5/1")).status_code == 405


# Paths checked against Werkzeug's own router, for the rules below: asyncflask must pick the
# same rule, with the same values, or give the same error.
DIFFERENTIAL_RULES: list[tuple[str, str, dict[str, Any]]] = [
    ("/", "index", {}),
    ("/about", "about", {}),
    ("/docs/", "docs", {}),
    ("/user/me", "me", {}),
    ("/user/<name>", "user", {}),
    ("/user/<int:id>", "user_id", {}),
    ("/user/<name>/posts/", "posts", {}),
    ("/user/<name>/posts/<int(min=1):n>", "post", {}),
    ("/files/<path:p>", "files", {}),
    ("/files/<path:p>/raw", "raw", {}),
    ("/v<int:major>.<int:minor>/status", "version", {}),
    ("/<any(de, fr):lang>/about", "lang_about", {}),
    ("/<lang>/<page>", "lang_page", {}),
    ("/loose/", "loose", {"strict_slashes": False}),
    ("/x/<float:f>", "float", {}),
]

DIFFERENTIAL_PATHS = [
    "/",
    "/about",
    "/about/",
    "/docs",
    "/docs/",
    "/user/me",
    "/user/bob",
    "/user/42",
    "/user/bob/posts",
    "/user/bob/posts/",
    "/user/bob/posts/3",
    "/user/bob/posts/0",
    "/files/a",
    "/files/a/b/c",
    "/files/a/raw",
    "/files/a/b/raw",
    "/v1.2/status",
    "/de/about",
    "/es/about",
    "/es/contact",
    "/loose",
    "/loose/",
    "/x/1.5",
    "/x/1",
    "/nothing/here/at/all",
]


@pytest.mark.parametrize("path", [pytest.param(path, id=path) for path in DIFFERENTIAL_PATHS])
def test_matching_agrees_with_werkzeug(path: str) -> None:
    ours = Map(
        [Rule(rule, endpoint, methods=["GET"], **options) for rule, endpoint, options in DIFFERENTIAL_RULES]
    )
    theirs = WerkzeugMap(
        [
            WerkzeugRule(rule, endpoint=endpoint, methods=["GET"], **options)
            for rule, endpoint, options in DIFFERENTIAL_RULES
        ]
    ).bind("localhost")

    def werkzeug_outcome() -> tuple[str, Any]:
        from werkzeug.exceptions import NotFound as WerkzeugNotFound
        from werkzeug.routing import RequestRedirect as WerkzeugRedirect

        try:
            endpoint, values = theirs.match(path, "GET")
        except WerkzeugRedirect as redirect:
            return "redirect", redirect.new_url.removeprefix("http://localhost")
        except WerkzeugNotFound:
            return "404", None
        return str(endpoint), typed(values)

    def our_outcome() -> tuple[str, Any]:
        try:
            rule, values = ours.match(path, "GET")
        except RequestRedirect as redirect:
            return "redirect", redirect.new_url
        except NotFound:
            return "404", None
        return rule.endpoint, typed(values)

    assert our_outcome() == werkzeug_outcome()


# ---------------------------------------------------------------------------------------------
# url_for


def build_app() -> AsyncFlask:
    app = make_app()

    @app.route("/")
    async def index() -> str:
        return "index"

    @app.route("/user/<name>")
    async def user(name: str) -> str:
        return name

    @app.route("/post/<int:id>", methods=["GET", "POST"])
    async def post(id: int) -> str:
        return str(id)

    return app


async def test_url_for_values_query_string_and_anchor() -> None:
    app = build_app()
    async with app.test_request_context("/"):
        assert url_for("index") == "/"
        assert url_for("user", name="a b") == "/user/a%20b"
        assert url_for("user", name="x", page=2, tag=["a", "b"]) == "/user/x?page=2&tag=a&tag=b"
        assert url_for("user", name="x", next="/a b/c?d") == "/user/x?next=/a+b/c?d"
        assert url_for("user", name="x", skip=None) == "/user/x"
        assert url_for("index", _anchor="top") == "/#top"
        assert url_for("index", _anchor="a b#c") == "/#a%20b#c"
        assert url_for("post", id=3, q="1", _anchor="x") == "/post/3?q=1#x"


async def test_url_for_method() -> None:
    app = make_app()

    async def thing() -> str:
        return "thing"

    app.add_url_rule("/thing", "thing", thing, methods=["GET"])
    app.add_url_rule("/thing/create", "thing", thing, methods=["POST"])
    async with app.test_request_context("/"):
        assert url_for("thing") == "/thing"
        assert url_for("thing", _method="GET") == "/thing"
        assert url_for("thing", _method="POST") == "/thing/create"
        with pytest.raises(BuildError, match="does not serve the method 'DELETE'"):
            url_for("thing", _method="DELETE")


async def test_url_for_external_uses_the_request_host() -> None:
    app = build_app()

    @app.route("/links")
    async def links() -> dict[str, str]:
        return {
            "relative": url_for("user", name="a"),
            "external": url_for("user", name="a", _external=True),
            "https": url_for("user", name="a", _scheme="https", _external=True),
        }

    response = await fetch(app, "GET", "/links", headers={"Host": "example.org:8080"})
    assert response.json() == {
        "relative": "/user/a",
        "external": "http://example.org:8080/user/a",
        "https": "https://example.org:8080/user/a",
    }


async def test_url_for_scheme_without_external_is_a_value_error() -> None:
    app = build_app()
    async with app.test_request_context("/"):
        with pytest.raises(ValueError, match="'_external' must be True"):
            url_for("index", _scheme="https", _external=False)


async def test_app_url_for_outside_a_request() -> None:
    app = build_app()
    app.config.update(SERVER_NAME="example.com", PREFERRED_URL_SCHEME="https", APPLICATION_ROOT="/root")
    assert app.url_for("user", name="a", _external=True) == "https://example.com/root/user/a"
    assert app.url_for("user", name="a", _scheme="http", _external=True) == "http://example.com/root/user/a"
    # Outside a request the default is absolute, as in Flask; `_scheme` alone implies it.
    assert app.url_for("user", name="a") == "https://example.com/root/user/a"
    assert app.url_for("user", name="a", _scheme="http") == "http://example.com/root/user/a"
    assert app.url_for("user", name="a", _external=False) == "/root/user/a"


async def test_app_url_for_without_server_name_is_a_runtime_error() -> None:
    app = build_app()
    with pytest.raises(RuntimeError, match="SERVER_NAME"):
        app.url_for("index", _external=True)
    # The default is absolute here, so it needs the server name too.
    with pytest.raises(RuntimeError, match="SERVER_NAME"):
        app.url_for("index")
    # An explicitly relative URL needs no server name.
    assert app.url_for("index", _external=False) == "/"


async def test_url_for_in_an_app_context() -> None:
    app = build_app()
    app.config["SERVER_NAME"] = "localhost:5000"
    async with app.app_context():
        assert asyncflask.url_for("user", name="a", _external=True) == "http://localhost:5000/user/a"
        assert asyncflask.url_for("user", name="a") == "http://localhost:5000/user/a"
        assert asyncflask.url_for("user", name="a", _external=False) == "/user/a"
    with pytest.raises(RuntimeError, match="outside of application context"):
        url_for("index")


async def test_url_for_static() -> None:
    app = AsyncFlask(__name__)
    async with app.test_request_context("/"):
        assert url_for("static", filename="css/app.css") == "/static/css/app.css"


async def test_build_errors() -> None:
    app = build_app()
    async with app.test_request_context("/"):
        with pytest.raises(BuildError, match="Did you mean 'user' instead?") as unknown:
            url_for("usr", name="a")
        assert unknown.value.endpoint == "usr"
        with pytest.raises(BuildError, match=r"Did you forget to specify values \['name'\]") as missing:
            url_for("user", page=2)
        assert missing.value.values == {"page": 2}
        with pytest.raises(BuildError, match="No rule has this endpoint"):
            url_for("zzzzzz")
    assert issubclass(BuildError, LookupError)


async def test_url_defaults_and_url_value_preprocessor() -> None:
    """Flask's documented example: a language code in every URL, handled once."""
    app = make_app()

    @app.url_defaults
    def add_language_code(endpoint: str, values: dict[str, Any]) -> None:
        if "lang_code" in values or not g.get("lang_code"):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang_code"):
            values["lang_code"] = g.lang_code

    @app.url_value_preprocessor
    def pull_lang_code(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.lang_code = values.pop("lang_code", None) if values else None

    @app.route("/<lang_code>/")
    async def index() -> str:
        return url_for("about")

    @app.route("/<lang_code>/about")
    async def about() -> str:
        return f"about in {g.lang_code}, plain: {url_for('plain')}, other: {url_for('about', lang_code='it')}"

    @app.route("/plain")
    async def plain() -> str:
        return "plain"

    async with app.test_client() as client:
        index_response = await client.get("/de/")
        about_response = await client.get("/fr/about")
    assert index_response.text == "/de/about"
    assert about_response.text == "about in fr, plain: /plain, other: /it/about"


async def test_url_build_error_handlers() -> None:
    app = build_app()
    calls: list[tuple[str, dict[str, Any]]] = []

    def declines(error: BuildError, endpoint: str, values: dict[str, Any]) -> str | None:
        calls.append((endpoint, dict(values)))
        return None

    def external_site(error: BuildError, endpoint: str, values: dict[str, Any]) -> str | None:
        return f"https://docs.example.com/{endpoint}" if endpoint.startswith("docs_") else None

    app.url_build_error_handlers.extend([declines, external_site])
    async with app.test_request_context("/"):
        assert url_for("docs_install", _anchor="x") == "https://docs.example.com/docs_install"
        with pytest.raises(BuildError, match="'unknown'"):
            url_for("unknown")
    assert calls[0] == (
        "docs_install",
        {"_anchor": "x", "_method": None, "_scheme": None, "_external": False},
    )


async def test_url_build_error_handler_can_reraise() -> None:
    app = build_app()

    def reraise(error: BuildError, endpoint: str, values: dict[str, Any]) -> str:
        raise error

    app.url_build_error_handlers.append(reraise)
    async with app.test_request_context("/"):
        with pytest.raises(BuildError, match="'nothing'"):
            url_for("nothing")


async def test_script_root_prefixes_built_urls() -> None:
    app = build_app()

    @app.route("/dir/")
    async def directory() -> dict[str, str]:
        return {
            "relative": url_for("user", name="a"),
            "external": url_for("user", name="a", _external=True),
            "script_root": request.script_root,
            "path": request.path,
        }

    transport = ASGIStreamTransport(app, root_path="/prefix")
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        response = await client.get("/dir/")
        redirect = await client.get("/dir", params={"q": "1"})
        user = await client.get("/user/bob")
    assert response.json() == {
        "relative": "/prefix/user/a",
        "external": "http://localhost/prefix/user/a",
        "script_root": "/prefix",
        "path": "/dir/",
    }
    assert (redirect.status_code, redirect.headers["location"]) == (308, "http://localhost/prefix/dir/?q=1")
    assert (user.status_code, user.text) == (200, "bob")


# ---------------------------------------------------------------------------------------------
# Hosts and subdomains


def host_app() -> AsyncFlask:
    app = make_app(host_matching=True)

    @app.route("/", host="example.com")
    async def main() -> str:
        return "main"

    @app.route("/", host="<sub>.example.com")
    async def sub(sub: str) -> str:
        return f"sub {sub}"

    @app.route("/admin", host="localhost:5000")
    async def admin() -> str:
        return "admin"

    @app.route("/anywhere")
    async def anywhere() -> str:
        return f"anywhere on {request.host}"

    return app


@pytest.mark.parametrize(
    ("host", "path", "status", "body"),
    [
        pytest.param("example.com", "/", 200, "main", id="exact-host"),
        pytest.param("EXAMPLE.com", "/", 200, "main", id="host-case-insensitive"),
        pytest.param("example.com:8080", "/", 200, "main", id="port-ignored-when-rule-has-none"),
        pytest.param("api.example.com", "/", 200, "sub api", id="host-variable"),
        pytest.param("a.b.example.com", "/", 200, "sub a.b", id="host-variable-dots-like-werkzeug"),
        pytest.param("other.org", "/", 404, None, id="other-host"),
        pytest.param("localhost:5000", "/admin", 200, "admin", id="rule-with-port"),
        pytest.param("localhost:6000", "/admin", 404, None, id="rule-with-other-port"),
        pytest.param("other.org", "/anywhere", 200, "anywhere on other.org", id="rule-without-host"),
    ],
)
async def test_host_matching(host: str, path: str, status: int, body: str | None) -> None:
    response = await fetch(host_app(), "GET", path, headers={"Host": host})
    assert response.status_code == status
    if body is not None:
        assert response.text == body


async def test_host_matching_builds_urls_on_other_hosts() -> None:
    app = host_app()
    async with app.test_request_context("/", headers={"Host": "example.com"}):
        assert url_for("sub", sub="api") == "http://api.example.com/"
        assert url_for("sub", sub="api", _scheme="https", _external=True) == "https://api.example.com/"
        assert url_for("admin") == "http://localhost:5000/admin"
        assert url_for("anywhere") == "/anywhere"


async def test_host_matching_url_on_the_current_host_is_relative() -> None:
    app = host_app()
    async with app.test_request_context("/", headers={"Host": "example.com"}):
        assert url_for("main") == "/"


async def test_subdomain_url_on_the_current_host_is_relative() -> None:
    app = subdomain_app()

    @app.route("/here")
    async def here() -> str:
        return url_for("index")

    async with app.test_client(base_url="http://example.com") as client:
        assert (await client.get("/here")).text == "/"


def subdomain_app(server_name_first: bool = True) -> AsyncFlask:
    app = make_app(subdomain_matching=True)
    if server_name_first:
        app.config["SERVER_NAME"] = "example.com"

    @app.route("/")
    async def index() -> str:
        return "index"

    @app.route("/", subdomain="<user>")
    async def user_home(user: str) -> str:
        return f"home of {user}"

    @app.route("/status", subdomain="api")
    async def api_status() -> str:
        return "api ok"

    if not server_name_first:
        app.config["SERVER_NAME"] = "example.com"
    return app


@pytest.mark.parametrize(
    "server_name_first", [pytest.param(True, id="set-first"), pytest.param(False, id="set-later")]
)
@pytest.mark.parametrize(
    ("host", "path", "status", "body"),
    [
        pytest.param("example.com", "/", 200, "index", id="server-name"),
        pytest.param("alice.example.com", "/", 200, "home of alice", id="subdomain-variable"),
        pytest.param("api.example.com", "/status", 200, "api ok", id="static-subdomain"),
        pytest.param("www.example.com", "/status", 404, None, id="wrong-subdomain"),
        pytest.param("example.com", "/status", 404, None, id="no-subdomain"),
        pytest.param("other.org", "/", 404, None, id="other-host"),
    ],
)
async def test_subdomains(
    server_name_first: bool, host: str, path: str, status: int, body: str | None
) -> None:
    app = subdomain_app(server_name_first)
    async with app.test_client(base_url=f"http://{host}") as client:
        response = await client.get(path)
    assert response.status_code == status
    if body is not None:
        assert response.text == body


@pytest.mark.parametrize(
    ("host", "status", "body"),
    [
        pytest.param("mitsuhiko.localhost.localdomain:3000", 200, "index for mitsuhiko", id="same-port"),
        pytest.param("mitsuhiko.localhost.localdomain:4000", 404, None, id="other-port"),
    ],
)
async def test_subdomain_matching_with_ports(host: str, status: int, body: str | None) -> None:
    """Flask's test: a SERVER_NAME with a port is matched with that port."""
    app = make_app(subdomain_matching=True)
    app.config["SERVER_NAME"] = "localhost.localdomain:3000"

    @app.route("/", subdomain="<user>")
    async def index(user: str) -> str:
        return f"index for {user}"

    async with app.test_client(base_url=f"http://{host}") as client:
        response = await client.get("/")
    assert response.status_code == status
    if body is not None:
        assert response.text == body
    assert app.url_for("index", user="x") == "http://x.localhost.localdomain:3000/"


@pytest.mark.parametrize("matching", [pytest.param(False, id="off"), pytest.param(True, id="on")])
@pytest.mark.parametrize("base_url", ["http://127.0.0.1:3000", "http://www.localhost.localdomain:3000"])
async def test_server_name_restricts_hosts_only_with_subdomain_matching(
    matching: bool, base_url: str
) -> None:
    """Flask 3.1: without subdomain_matching, SERVER_NAME does not restrict the Host."""
    app = make_app(subdomain_matching=matching)
    app.config["SERVER_NAME"] = "localhost.localdomain:3000"

    @app.route("/")
    async def index() -> tuple[str, int]:
        return "", 204

    async with app.test_client(base_url=base_url) as client:
        response = await client.get("/")
    assert response.status_code == (404 if matching else 204)


async def test_subdomain_url_building() -> None:
    app = subdomain_app()
    assert app.url_for("user_home", user="bob") == "http://bob.example.com/"
    assert app.url_for("api_status") == "http://api.example.com/status"
    assert app.url_for("index") == "http://example.com/"


# ---------------------------------------------------------------------------------------------
# Mounting other ASGI apps


async def test_mount_a_starlette_app() -> None:
    async def home(request: StarletteRequest) -> PlainTextResponse:
        return PlainTextResponse(f"sub home root_path={request.scope['root_path']} path={request.url.path}")

    async def item(request: StarletteRequest) -> PlainTextResponse:
        return PlainTextResponse(f"sub item {request.path_params['id']!r}")

    sub = Starlette(routes=[Route("/", home), Route("/items/{id:int}", item)])
    app = make_app()
    app.mount("/sub", sub)

    @app.route("/sub/owned")
    async def owned() -> str:
        return "asyncflask owns this"

    @app.route("/")
    async def index() -> str:
        return "index"

    async with app.test_client() as client:
        home_response = await client.get("/sub/")
        item_response = await client.get("/sub/items/3")
        sub_missing = await client.get("/sub/nope")
        owned_response = await client.get("/sub/owned")
        app_missing = await client.get("/nope")
        index_response = await client.get("/")
    assert (home_response.status_code, home_response.text) == (200, "sub home root_path=/sub path=/sub/")
    assert (item_response.status_code, item_response.text) == (200, "sub item 3")
    # The mounted app answers its own 404s (Starlette's plain text), not asyncflask.
    assert (sub_missing.status_code, sub_missing.text) == (404, "Not Found")
    assert sub_missing.headers["content-type"] == "text/plain; charset=utf-8"
    assert (owned_response.status_code, owned_response.text) == (200, "asyncflask owns this")
    assert app_missing.status_code == 404
    assert "<title>404 Not Found</title>" in app_missing.text
    assert index_response.text == "index"


async def test_mount_under_a_root_path() -> None:
    async def home(request: StarletteRequest) -> PlainTextResponse:
        return PlainTextResponse(f"root_path={request.scope['root_path']} url={request.url}")

    app = make_app()
    app.mount("/sub", Starlette(routes=[Route("/", home)]))
    transport = ASGIStreamTransport(app, root_path="/prefix")
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        response = await client.get("/sub/")
    assert (response.status_code, response.text) == (
        200,
        "root_path=/prefix/sub url=http://localhost/prefix/sub/",
    )


# ---------------------------------------------------------------------------------------------
# The Starlette route protocol


def http_scope(
    path: str, method: str = "GET", host: str = "localhost", root_path: str = ""
) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": root_path + path,
        "root_path": root_path,
        "headers": [(b"host", host.encode())],
        "query_string": b"",
    }


def test_rule_matches_full_partial_none() -> None:
    app = build_app()
    (rule,) = app.url_map.iter_rules("post")
    assert rule.matches(http_scope("/post/5")) == (Match.FULL, {"endpoint": "post", "path_params": {"id": 5}})
    assert rule.matches(http_scope("/post/5", "POST"))[0] is Match.FULL
    assert rule.matches(http_scope("/post/5", "DELETE")) == (
        Match.PARTIAL,
        {"endpoint": "post", "path_params": {"id": 5}},
    )
    assert rule.matches(http_scope("/post/x")) == (Match.NONE, {})
    assert rule.matches(http_scope("/post/5", root_path="/app"))[0] is Match.FULL
    # A server that leaves the root path out of "path" (ASGI before Starlette 0.33's reading).
    assert rule.matches({**http_scope("/post/5"), "root_path": "/app"})[0] is Match.FULL
    assert rule.matches({**http_scope("/post/5"), "type": "websocket"}) == (Match.NONE, {})


def test_rule_url_path_for() -> None:
    app = build_app()
    (rule,) = app.url_map.iter_rules("post")
    path = rule.url_path_for("post", id=5)
    assert path == "/post/5"
    assert path.protocol == "http"
    assert path.make_absolute_url("http://example.com/") == "http://example.com/post/5"
    with pytest.raises(NoMatchFound):
        rule.url_path_for("other", id=5)
    with pytest.raises(NoMatchFound):
        rule.url_path_for("post")
    with pytest.raises(NoMatchFound):
        rule.url_path_for("post", id=5, extra=1)
    assert (rule.name, rule.path) == ("post", "/post/<int:id>")


async def test_rule_inside_a_plain_starlette_router() -> None:
    app = build_app()
    (post_rule,) = app.url_map.iter_rules("post")
    (user_rule,) = app.url_map.iter_rules("user")

    async def plain(request: StarletteRequest) -> PlainTextResponse:
        return PlainTextResponse("plain starlette")

    router = Router(routes=[post_rule, user_rule, Route("/plain", plain)])
    assert router.url_path_for("user", name="ann") == "/user/ann"
    async with httpx.AsyncClient(
        transport=ASGIStreamTransport(router), base_url="http://localhost"
    ) as client:
        post = await client.post("/post/9")
        user = await client.get("/user/ann")
        head = await client.head("/user/ann")
        plain_response = await client.get("/plain")
        wrong_method = await client.delete("/post/9")
        missing = await client.get("/missing")
    assert (post.status_code, post.text) == (200, "9")
    assert (user.status_code, user.text, user.headers["content-type"]) == (
        200,
        "ann",
        "text/html; charset=utf-8",
    )
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "3")
    assert (plain_response.status_code, plain_response.text) == (200, "plain starlette")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert missing.status_code == 404


async def test_rule_not_attached_to_an_app_cannot_handle() -> None:
    rule = Rule("/x", "x", methods=["GET"])
    Map([rule])

    async def receive() -> dict[str, Any]:
        raise AssertionError("not reached")

    async def send(message: Any) -> None:
        raise AssertionError("not reached")

    with pytest.raises(RuntimeError, match="not attached to an application"):
        await rule.handle(http_scope("/x"), receive, send)


# ---------------------------------------------------------------------------------------------
# Registration


def test_endpoint_conflict_raises() -> None:
    app = make_app()

    async def first() -> str:
        return "1"

    async def second() -> str:
        return "2"

    app.add_url_rule("/a", "same", first)
    app.add_url_rule("/b", "same", first)  # the same view twice is fine
    with pytest.raises(AssertionError, match="overwriting an existing endpoint function: same"):
        app.add_url_rule("/c", "same", second)


def test_dots_in_endpoint_names_raise() -> None:
    app = make_app()
    with pytest.raises(ValueError, match="may not contain a dot"):
        app.add_url_rule("/a", "a.b", lambda: "x")
    with pytest.raises(ValueError, match="may not contain a dot"):
        app.route("/b", endpoint="x.y")(lambda: "x")


async def test_endpoint_decorator_attaches_a_view_later() -> None:
    app = make_app()
    app.add_url_rule("/later/<int:n>", "later")

    @app.endpoint("later")
    async def later(n: int) -> str:
        return f"later {n}"

    assert (await fetch(app, "GET", "/later/2")).text == "later 2"


def test_iter_rules_and_iteration() -> None:
    app = build_app()
    rules = list(app.url_map.iter_rules())
    assert rules == list(app.url_map)
    assert [(rule.rule, rule.endpoint) for rule in rules] == [
        ("/", "index"),
        ("/user/<name>", "user"),
        ("/post/<int:id>", "post"),
    ]
    by_endpoint = {rule.endpoint: rule for rule in rules}
    assert by_endpoint["index"].methods == {"GET", "HEAD", "OPTIONS"}
    assert by_endpoint["post"].methods == {"GET", "HEAD", "OPTIONS", "POST"}
    assert by_endpoint["index"].arguments == set()
    assert by_endpoint["user"].arguments == {"name"}
    assert [rule.rule for rule in app.url_map.iter_rules("post")] == ["/post/<int:id>"]
    assert list(app.url_map.iter_rules("nope")) == []
    assert str(by_endpoint["post"]) == "/post/<int:id>"
    assert repr(by_endpoint["index"]) == "<Rule '/' (GET, HEAD, OPTIONS) -> index>"


async def test_registering_after_the_first_request_raises() -> None:
    app = build_app()
    assert (await fetch(app, "GET", "/")).status_code == 200
    with pytest.raises(RuntimeError, match="already handled its first request") as info:
        app.add_url_rule("/late", "late", lambda: "late")
    assert "'add_url_rule'" in str(info.value)
    with pytest.raises(RuntimeError, match="already handled its first request"):
        app.route("/late")(lambda: "late")
    assert [rule.rule for rule in app.url_map].count("/late") == 0


# ---------------------------------------------------------------------------------------------
# Map and Rule on their own


def small_map() -> Map:
    return Map(
        [
            Rule("/", "index", methods=["GET"]),
            Rule("/post/<int:id>", "post", methods=["GET", "POST"]),
            Rule("/dir/", "dir", methods=["GET"]),
            Rule("/old", "old", methods=["GET"], redirect_to="/new"),
        ]
    )


def test_map_match() -> None:
    url_map = small_map()
    rule, values = url_map.match("/post/3", "POST")
    assert (rule.endpoint, typed(values)) == ("post", typed({"id": 3}))
    with pytest.raises(MethodNotAllowed) as not_allowed:
        url_map.match("/post/3", "DELETE")
    assert not_allowed.value.valid_methods == ["GET", "HEAD", "POST"]
    with pytest.raises(NotFound):
        url_map.match("/post/x", "GET")
    with pytest.raises(RequestRedirect) as slash:
        url_map.match("/dir", "GET")
    assert (slash.value.code, slash.value.new_url) == (308, "/dir/")
    with pytest.raises(RequestRedirect) as moved:
        url_map.match("/old", "GET")
    assert moved.value.new_url == "/new"


def test_map_allowed_methods() -> None:
    url_map = small_map()
    assert url_map.allowed_methods("/post/1") == ["GET", "HEAD", "POST"]
    assert url_map.allowed_methods("/nothing") == []


def test_map_build() -> None:
    url_map = small_map()
    rule, host, path = url_map.build("post", {"id": 3, "q": "a b", "none": None})
    assert (rule.endpoint, host, path) == ("post", None, "/post/3?q=a+b")
    assert url_map.build("post", {"id": 3, "q": "x"}, append_unknown=False)[2] == "/post/3"
    with pytest.raises(BuildError, match=r"Did you forget to specify values \['id'\]"):
        url_map.build("post", {})
    with pytest.raises(BuildError, match="does not serve the method 'PUT'"):
        url_map.build("post", {"id": 1}, method="PUT")


def test_map_is_endpoint_expecting() -> None:
    url_map = Map([Rule("/<lang>/post/<int:id>", "post"), Rule("/about", "about")])
    assert url_map.is_endpoint_expecting("post", "lang")
    assert url_map.is_endpoint_expecting("post", "lang", "id")
    assert not url_map.is_endpoint_expecting("post", "page")
    assert not url_map.is_endpoint_expecting("about", "lang")
    assert not url_map.is_endpoint_expecting("unknown", "lang")


def test_rule_methods_get_head() -> None:
    assert Rule("/", "a", methods=["get"]).methods == {"GET", "HEAD"}
    assert Rule("/", "a", methods=["POST"]).methods == {"POST"}
    assert Rule("/", "a", methods=["POST"], provide_automatic_options=True).methods == {"POST", "OPTIONS"}
    assert Rule("/", "a").methods is None


def test_rule_without_methods_allows_any_method() -> None:
    url_map = Map([Rule("/any", "any")])
    for method in ("GET", "POST", "PROPFIND"):
        assert url_map.match("/any", method)[0].endpoint == "any"


def test_map_constructor_converters() -> None:
    url_map = Map([Rule("/l/<list:items>", "l")], converters={"list": ListConverter})
    assert url_map.match("/l/a,b", "GET")[1] == {"items": ["a", "b"]}
    assert url_map.build("l", {"items": ["x", "y z"]})[2] == "/l/x,y%20z"


def test_any_converter_direct() -> None:
    converter = AnyConverter(Map(), "a", "b")
    assert converter.to_url("a") == "a"
    with pytest.raises(ValueError, match="'c' is not one of 'a', 'b'"):
        converter.to_url("c")


def test_rule_regex_is_anchored_at_the_very_end() -> None:
    url_map = Map([Rule("/user/<int:id>", "user"), Rule("/a/<name>/b", "ab")])
    with pytest.raises(NotFound):
        url_map.match("/user/1\n", "GET")
    with pytest.raises(NotFound):
        url_map.match("/a/x/b\n", "GET")
