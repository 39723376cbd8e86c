from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from asyncflask.datastructures import (
    MAX_ACCEPT_ENTRIES,
    Accept,
    BadRequestKeyError,
    CombinedMultiDict,
    ImmutableMultiDict,
    MIMEAccept,
    MultiDict,
)
from asyncflask.exceptions import BadRequest, HTTPException

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def sample() -> MultiDict[str]:
    return MultiDict([("a", "1"), ("b", "x"), ("a", "2"), ("c", "3.5")])


# --- MultiDict: construction ---------------------------------------------------------------


def test_pairs_keep_order_and_accumulate() -> None:
    d = sample()
    assert list(d) == ["a", "b", "c"]
    assert d.getlist("a") == ["1", "2"]
    assert list(d.items(multi=True)) == [("a", "1"), ("a", "2"), ("b", "x"), ("c", "3.5")]


def test_from_mapping_expands_lists_and_tuples() -> None:
    data: dict[str, str | list[str] | tuple[str, ...]] = {"a": ["1", "2"], "b": ("3",), "c": "4", "e": []}
    d = MultiDict(data)
    assert d.to_dict(flat=False) == {"a": ["1", "2"], "b": ["3"], "c": ["4"]}
    assert "e" not in d


def test_from_mapping_does_not_split_strings() -> None:
    assert MultiDict({"a": "xyz"}).getlist("a") == ["xyz"]


def test_from_multidict_copies_lists() -> None:
    src = sample()
    d = MultiDict(src)
    d.add("a", "3")
    assert src.getlist("a") == ["1", "2"]
    assert d.getlist("a") == ["1", "2", "3"]


def test_empty() -> None:
    d: MultiDict[str] = MultiDict()
    assert len(d) == 0
    assert list(d) == []
    assert d.to_dict() == {}
    assert not d


# --- MultiDict: reading ---------------------------------------------------------------------


def test_getitem_gives_first_value() -> None:
    assert sample()["a"] == "1"


def test_getitem_missing_raises_bad_request_key_error() -> None:
    with pytest.raises(BadRequestKeyError) as info:
        sample()["missing"]
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, BadRequest)
    assert info.value.code == 400
    assert info.value.key == "missing"
    assert info.value.args == ("missing",)


def test_missing_key_caught_as_plain_key_error() -> None:
    with pytest.raises(KeyError):
        sample()["missing"]


@pytest.mark.parametrize(
    ("key", "kwargs", "expected"),
    [
        pytest.param("a", {}, "1", id="first-value"),
        pytest.param("missing", {}, None, id="missing-none"),
        pytest.param("missing", {"default": "d"}, "d", id="missing-default"),
        pytest.param("a", {"type": int}, 1, id="type-int"),
        pytest.param("c", {"type": float}, 3.5, id="type-float"),
        pytest.param("b", {"type": int}, None, id="type-fails-none"),
        pytest.param("b", {"type": int, "default": -1}, -1, id="type-fails-default"),
        pytest.param("missing", {"type": int, "default": 7}, 7, id="type-missing-default"),
        pytest.param("a", {"type": str.upper}, "1", id="type-callable"),
    ],
)
def test_get(key: str, kwargs: dict[str, Any], expected: object) -> None:
    assert sample().get(key, **kwargs) == expected


def test_get_type_error_gives_default() -> None:
    def reject(value: str) -> str:
        raise TypeError(value)

    assert sample().get("a", "fallback", type=reject) == "fallback"


def test_get_other_exceptions_propagate() -> None:
    def explode(value: str) -> str:
        raise RuntimeError(value)

    with pytest.raises(RuntimeError):
        sample().get("a", type=explode)


def test_get_typed_positional() -> None:
    assert sample().get("a", None, int) == 1


@pytest.mark.parametrize(
    ("values", "type_", "expected"),
    [
        pytest.param(["1", "2"], None, ["1", "2"], id="plain"),
        pytest.param(["1", "x", "3"], int, [1, 3], id="int-skips-failures"),
        pytest.param(["x", "y"], int, [], id="int-all-fail"),
        pytest.param(["1.5", "nan?"], float, [1.5], id="float"),
    ],
)
def test_getlist(values: list[str], type_: Callable[[str], Any] | None, expected: list[Any]) -> None:
    d = MultiDict([("k", v) for v in values])
    result = d.getlist("k") if type_ is None else d.getlist("k", type_)
    assert result == expected


def test_getlist_missing_is_empty() -> None:
    assert sample().getlist("missing") == []
    assert sample().getlist("missing", int) == []


def test_getlist_returns_a_copy() -> None:
    d = sample()
    d.getlist("a").append("9")
    assert d.getlist("a") == ["1", "2"]


def test_contains_len_iter_keys() -> None:
    d = sample()
    assert "a" in d
    assert "z" not in d
    not_a_str: object = 1
    assert not_a_str not in d
    assert len(d) == 3
    assert list(d.keys()) == ["a", "b", "c"]
    assert "b" in d.keys()


def test_items_values_lists() -> None:
    d = sample()
    assert list(d.items()) == [("a", "1"), ("b", "x"), ("c", "3.5")]
    assert len(d.items()) == 3
    assert len(d.items(multi=True)) == 4
    assert ("a", "2") in d.items(multi=True)
    assert ("a", "2") not in d.items()
    assert ("a", "1") in d.items()
    assert ("a", "9") not in d.items(multi=True)
    assert list(d.values()) == ["1", "x", "3.5"]
    assert "x" in d.values()
    assert list(d.lists()) == [("a", ["1", "2"]), ("b", ["x"]), ("c", ["3.5"])]
    assert list(d.listvalues()) == [["1", "2"], ["x"], ["3.5"]]
    assert dict(d.items()) == {"a": "1", "b": "x", "c": "3.5"}


def test_lists_are_copies() -> None:
    d = sample()
    for _, values in d.lists():
        values.append("!")
    for values in d.listvalues():
        values.append("!")
    assert d.getlist("a") == ["1", "2"]


@pytest.mark.parametrize(
    ("flat", "expected"),
    [
        pytest.param(True, {"a": "1", "b": "x", "c": "3.5"}, id="flat"),
        pytest.param(False, {"a": ["1", "2"], "b": ["x"], "c": ["3.5"]}, id="lists"),
    ],
)
def test_to_dict(flat: bool, expected: dict[str, Any]) -> None:
    assert sample().to_dict(flat=flat) == expected


def test_to_dict_default_is_flat() -> None:
    assert sample().to_dict() == {"a": "1", "b": "x", "c": "3.5"}


def test_repr() -> None:
    assert repr(MultiDict([("a", "1"), ("a", "2")])) == "MultiDict([('a', '1'), ('a', '2')])"
    assert repr(ImmutableMultiDict([("a", "1")])) == "ImmutableMultiDict([('a', '1')])"


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        pytest.param(MultiDict([("a", "1"), ("b", "x"), ("a", "2"), ("c", "3.5")]), True, id="same"),
        pytest.param(
            MultiDict([("c", "3.5"), ("b", "x"), ("a", "1"), ("a", "2")]), True, id="key-order-ignored"
        ),
        pytest.param(
            MultiDict([("a", "2"), ("a", "1"), ("b", "x"), ("c", "3.5")]), False, id="value-order-matters"
        ),
        pytest.param(MultiDict([("a", "1"), ("b", "x"), ("c", "3.5")]), False, id="fewer-values"),
        pytest.param(
            ImmutableMultiDict([("a", "1"), ("b", "x"), ("a", "2"), ("c", "3.5")]), True, id="immutable"
        ),
        pytest.param({"a": "1", "b": "x", "c": "3.5"}, True, id="dict-first-values"),
        pytest.param({"a": "2", "b": "x", "c": "3.5"}, False, id="dict-other-value"),
        pytest.param([("a", "1")], False, id="list"),
    ],
)
def test_eq(other: object, expected: bool) -> None:
    assert (sample() == other) is expected
    assert (sample() != other) is not expected


def test_multidict_is_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(sample())


# --- MultiDict: writing ---------------------------------------------------------------------


def test_setitem_replaces_all_values() -> None:
    d = sample()
    d["a"] = "new"
    assert d.getlist("a") == ["new"]
    d["z"] = "1"
    assert list(d) == ["a", "b", "c", "z"]


def test_delitem() -> None:
    d = sample()
    del d["a"]
    assert "a" not in d
    with pytest.raises(KeyError):
        del d["a"]


def test_add() -> None:
    d = sample()
    d.add("a", "3")
    d.add("new", "n")
    assert d.getlist("a") == ["1", "2", "3"]
    assert d["new"] == "n"


def test_setlist() -> None:
    d = sample()
    d.setlist("a", iter(["7", "8"]))
    assert d.getlist("a") == ["7", "8"]
    d.setlist("a", [])
    assert "a" not in d


def test_setlistdefault_returns_live_list() -> None:
    d = sample()
    assert d.setlistdefault("a", ["ignored"]) == ["1", "2"]
    created = d.setlistdefault("n", ["x"])
    created.append("y")
    assert d.getlist("n") == ["x", "y"]
    empty = d.setlistdefault("e")
    assert empty == []
    assert d.get("e") is None
    with pytest.raises(BadRequestKeyError):
        d["e"]
    empty.append("v")
    assert d["e"] == "v"


def test_poplist() -> None:
    d = sample()
    assert d.poplist("a") == ["1", "2"]
    assert "a" not in d
    assert d.poplist("a") == []


def test_pop() -> None:
    d = sample()
    assert d.pop("a") == "1"
    assert "a" not in d
    assert d.pop("a", "default") == "default"
    assert d.pop("a", None) is None
    with pytest.raises(BadRequestKeyError) as info:
        d.pop("a")
    assert info.value.key == "a"


def test_popitem_and_popitemlist() -> None:
    d = sample()
    assert d.popitem() == ("c", "3.5")
    assert d.popitemlist() == ("b", ["x"])
    assert d.popitemlist() == ("a", ["1", "2"])
    with pytest.raises(KeyError):
        d.popitem()
    with pytest.raises(KeyError):
        d.popitemlist()


def test_setdefault() -> None:
    d = sample()
    assert d.setdefault("a", "z") == "1"
    assert d.setdefault("n", "z") == "z"
    assert d.getlist("n") == ["z"]


def test_clear() -> None:
    d = sample()
    d.clear()
    assert len(d) == 0


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(MultiDict([("a", "3"), ("n", "4"), ("n", "5")]), id="multidict"),
        pytest.param({"a": "3", "n": ["4", "5"]}, id="dict-with-list"),
        pytest.param([("a", "3"), ("n", "4"), ("n", "5")], id="pairs"),
    ],
)
def test_update_appends(other: Any) -> None:
    d = sample()
    d.update(other)
    assert d.getlist("a") == ["1", "2", "3"]
    assert d.getlist("n") == ["4", "5"]
    assert d["a"] == "1"


def test_update_kwargs() -> None:
    d = sample()
    d.update(a="3", k="v")
    assert d.getlist("a") == ["1", "2", "3"]
    assert d["k"] == "v"
    d.update()
    assert len(d) == 4


# --- MultiDict: copies and pickling -----------------------------------------------------------


def test_copy_is_shallow_and_independent() -> None:
    value = ["mutable"]
    d: MultiDict[list[str]] = MultiDict([("k", value)])
    for clone in (d.copy(), copy.copy(d)):
        assert type(clone) is MultiDict
        assert clone == d
        clone.add("k", ["other"])
        assert d.getlist("k") == [["mutable"]]
        assert clone["k"] is value


def test_deepcopy_copies_values() -> None:
    value = ["mutable"]
    d: MultiDict[list[str]] = MultiDict([("k", value), ("k", ["b"])])
    for clone in (d.deepcopy(), copy.deepcopy(d)):
        assert clone == d
        assert clone["k"] is not value
        assert clone.getlist("k") == [["mutable"], ["b"]]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle(protocol: int) -> None:
    for d in (sample(), ImmutableMultiDict(sample())):
        clone = pickle.loads(pickle.dumps(d, protocol))
        assert type(clone) is type(d)
        assert list(clone.items(multi=True)) == list(d.items(multi=True))


# --- ImmutableMultiDict -------------------------------------------------------------------------


def frozen() -> ImmutableMultiDict[str]:
    return ImmutableMultiDict([("a", "1"), ("a", "2"), ("b", "x")])


MUTATIONS: list[Any] = [
    pytest.param(lambda d: d.__setitem__("a", "v"), id="setitem"),
    pytest.param(lambda d: d.__delitem__("a"), id="delitem"),
    pytest.param(lambda d: d.add("a", "v"), id="add"),
    pytest.param(lambda d: d.setlist("a", ["v"]), id="setlist"),
    pytest.param(lambda d: d.setlistdefault("n"), id="setlistdefault"),
    pytest.param(lambda d: d.poplist("a"), id="poplist"),
    pytest.param(lambda d: d.pop("a"), id="pop"),
    pytest.param(lambda d: d.pop("missing", None), id="pop-default"),
    pytest.param(lambda d: d.popitem(), id="popitem"),
    pytest.param(lambda d: d.popitemlist(), id="popitemlist"),
    pytest.param(lambda d: d.setdefault("n", "v"), id="setdefault"),
    pytest.param(lambda d: d.update({"n": "v"}), id="update"),
    pytest.param(lambda d: d.update(n="v"), id="update-kwargs"),
    pytest.param(lambda d: d.clear(), id="clear"),
]


@pytest.mark.parametrize("mutate", MUTATIONS)
def test_immutable_rejects_mutation(mutate: Callable[[MultiDict[str]], object]) -> None:
    d = frozen()
    with pytest.raises(TypeError, match="^ImmutableMultiDict is immutable$"):
        mutate(d)
    assert list(d.items(multi=True)) == [("a", "1"), ("a", "2"), ("b", "x")]


def test_immutable_reads_like_multidict() -> None:
    d = frozen()
    assert d["a"] == "1"
    assert d.get("a", type=int) == 1
    assert d.getlist("a", int) == [1, 2]
    assert d.to_dict() == {"a": "1", "b": "x"}
    with pytest.raises(BadRequestKeyError):
        d["missing"]


def test_immutable_is_hashable() -> None:
    assert hash(frozen()) == hash(frozen())
    assert {frozen(): 1}[frozen()] == 1


def test_immutable_copy_is_mutable() -> None:
    d = frozen()
    clone = d.copy()
    assert type(clone) is MultiDict
    assert clone == d
    clone.add("a", "3")
    assert d.getlist("a") == ["1", "2"]


def test_immutable_shallow_copy_is_itself() -> None:
    d = frozen()
    assert copy.copy(d) is d


def test_immutable_deepcopy_stays_immutable() -> None:
    clone = copy.deepcopy(frozen())
    assert type(clone) is ImmutableMultiDict
    assert clone == frozen()


def test_immutable_subclass_message_names_class() -> None:
    class Frozen(ImmutableMultiDict[str]):
        pass

    with pytest.raises(TypeError, match="^Frozen is immutable$"):
        Frozen()["a"] = "1"


# --- CombinedMultiDict --------------------------------------------------------------------------


def combined() -> CombinedMultiDict[str]:
    args = ImmutableMultiDict([("a", "q1"), ("n", "x"), ("a", "q2")])
    form = ImmutableMultiDict([("a", "f1"), ("n", "5"), ("f", "only-form")])
    return CombinedMultiDict([args, form])


def test_combined_first_dict_wins() -> None:
    c = combined()
    assert c["a"] == "q1"
    assert c["f"] == "only-form"
    assert c.get("a") == "q1"
    assert c.get("missing") is None
    assert c.get("missing", "d") == "d"


def test_combined_missing_key() -> None:
    with pytest.raises(BadRequestKeyError) as info:
        combined()["missing"]
    assert info.value.key == "missing"
    assert info.value.code == 400


def test_combined_get_type_falls_through_failed_conversions() -> None:
    c = combined()
    assert c.get("n", type=int) == 5
    assert c.get("a", type=int) is None
    assert c.get("a", -1, int) == -1


def test_combined_getlist_concatenates() -> None:
    c = combined()
    assert c.getlist("a") == ["q1", "q2", "f1"]
    assert c.getlist("n", int) == [5]
    assert c.getlist("missing") == []


def test_combined_keys_items_len() -> None:
    c = combined()
    assert list(c) == ["a", "n", "f"]
    assert list(c.keys()) == ["a", "n", "f"]
    assert len(c) == 3
    assert "f" in c
    assert "missing" not in c
    assert list(c.items()) == [("a", "q1"), ("n", "x"), ("f", "only-form")]
    assert list(c.items(multi=True)) == [
        ("a", "q1"),
        ("a", "q2"),
        ("a", "f1"),
        ("n", "x"),
        ("n", "5"),
        ("f", "only-form"),
    ]
    assert list(c.values()) == ["q1", "x", "only-form"]
    assert c.to_dict() == {"a": "q1", "n": "x", "f": "only-form"}
    assert c.to_dict(flat=False) == {"a": ["q1", "q2", "f1"], "n": ["x", "5"], "f": ["only-form"]}


def test_combined_copy_is_mutable_snapshot() -> None:
    c = combined()
    clone = c.copy()
    assert type(clone) is MultiDict
    assert clone.getlist("a") == ["q1", "q2", "f1"]
    clone.add("a", "more")
    assert c.getlist("a") == ["q1", "q2", "f1"]
    deep = c.deepcopy()
    assert type(deep) is MultiDict
    assert deep == c
    assert deep.getlist("a") == ["q1", "q2", "f1"]


def test_combined_follows_underlying_dicts() -> None:
    first: MultiDict[str] = MultiDict()
    second = MultiDict([("k", "2")])
    c = CombinedMultiDict([first, second])
    assert c["k"] == "2"
    first.add("k", "1")
    assert c["k"] == "1"
    assert c.getlist("k") == ["1", "2"]


@pytest.mark.parametrize("mutate", MUTATIONS)
def test_combined_is_immutable(mutate: Callable[[MultiDict[str]], object]) -> None:
    with pytest.raises(TypeError, match="^CombinedMultiDict is immutable$"):
        mutate(combined())


def test_combined_eq_repr_pickle() -> None:
    c = combined()
    assert c == MultiDict([("a", "q1"), ("a", "q2"), ("a", "f1"), ("n", "x"), ("n", "5"), ("f", "only-form")])
    assert (
        repr(CombinedMultiDict([MultiDict([("a", "1")])])) == "CombinedMultiDict([MultiDict([('a', '1')])])"
    )
    clone = pickle.loads(pickle.dumps(c))
    assert type(clone) is CombinedMultiDict
    assert clone.getlist("a") == ["q1", "q2", "f1"]


def test_combined_empty() -> None:
    c: CombinedMultiDict[str] = CombinedMultiDict()
    assert len(c) == 0
    assert c.get("a") is None
    assert c.to_dict() == {}


# --- BadRequestKeyError ---------------------------------------------------------------------------

DEFAULT_TEXT = "400 Bad Request: The browser (or proxy) sent a request that this server could not understand."


def test_bad_request_key_error_hierarchy() -> None:
    assert issubclass(BadRequestKeyError, KeyError)
    assert issubclass(BadRequestKeyError, BadRequest)
    assert issubclass(BadRequestKeyError, HTTPException)
    assert BadRequestKeyError.code == 400


def test_bad_request_key_error_text() -> None:
    error = BadRequestKeyError("name")
    assert str(error) == DEFAULT_TEXT
    assert error.description == BadRequest.description
    assert error.key == "name"


def test_bad_request_key_error_show_exception() -> None:
    error = BadRequestKeyError("name")
    error.show_exception = True
    assert str(error) == DEFAULT_TEXT + "\nKeyError: 'name'"
    assert BadRequestKeyError.show_exception is False
    assert str(BadRequestKeyError("other")) == DEFAULT_TEXT


def test_bad_request_key_error_custom_description() -> None:
    error = BadRequestKeyError("k", "Missing field.")
    assert error.description == "Missing field."
    assert str(error) == "400 Bad Request: Missing field."
    assert error.args == ("k",)


def test_bad_request_key_error_without_key() -> None:
    error = BadRequestKeyError()
    assert error.key is None
    assert error.args == ()
    assert str(error) == DEFAULT_TEXT


# --- MIMEAccept -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(
            BROWSER_ACCEPT,
            [
                ("text/html", 1.0),
                ("application/xhtml+xml", 1.0),
                ("image/avif", 1.0),
                ("application/xml", 0.9),
                ("*/*", 0.8),
            ],
            id="browser",
        ),
        pytest.param("*/*", [("*/*", 1.0)], id="anything"),
        pytest.param(
            "a/b;q=0.5, c/d;q=0.5, e/f", [("e/f", 1.0), ("a/b", 0.5), ("c/d", 0.5)], id="stable-sort"
        ),
        pytest.param("Text/HTML ; Q=0.7", [("text/html", 0.7)], id="case-and-spaces"),
        pytest.param("text/html;level=1;q=0.4", [("text/html;level=1", 0.4)], id="params-kept"),
        pytest.param("text/html;q=0.4;ext=1", [("text/html", 0.4)], id="accept-ext-dropped"),
        pytest.param('text/html;x="a;b"', [], id="quoted-semicolon-malformed"),
        pytest.param('text/html;x="a b"', [('text/html;x="a b"', 1.0)], id="quoted-param"),
        pytest.param("text/html;", [("text/html", 1.0)], id="trailing-semicolon"),
        pytest.param("text/html,,", [("text/html", 1.0)], id="empty-elements"),
        pytest.param("text/html;q=0", [("text/html", 0.0)], id="q-zero-listed"),
        pytest.param("text/html;q=.5", [("text/html", 0.5)], id="q-leading-dot"),
        pytest.param("text/html;q=1.000", [("text/html", 1.0)], id="q-one-decimals"),
    ],
)
def test_accept_parsing(header: str, expected: list[tuple[str, float]]) -> None:
    assert list(MIMEAccept(header)) == expected


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("text/html;q=abc", id="q-abc"),
        pytest.param("text/html;q=", id="q-empty"),
        pytest.param("text/html;q=nan", id="q-nan"),
        pytest.param("text/html;q=inf", id="q-inf"),
        pytest.param("text/html;q=-0.5", id="q-negative"),
        pytest.param("text/html;q=1.5", id="q-over-one"),
        pytest.param("text/html;q=1e-1", id="q-exponent"),
        pytest.param("text/html;q=0_5", id="q-underscore"),
        pytest.param("text/html;q=\u0660.\u0665", id="q-unicode-digits"),
        pytest.param("text/html;q=" + "9" * 10_000, id="q-huge"),
        pytest.param("texthtml", id="no-slash"),
        pytest.param("text/html/x", id="two-slashes"),
        pytest.param("*/html", id="wildcard-type-only"),
        pytest.param("/html", id="empty-type"),
        pytest.param("text/", id="empty-subtype"),
        pytest.param("te xt/html", id="space-in-type"),
        pytest.param("text/htm\u00e9", id="non-ascii"),
        pytest.param("text/html\x00", id="nul"),
        pytest.param("text/html;=x", id="param-no-name"),
        pytest.param("text/html;p", id="param-no-value"),
        pytest.param('text/html;p="unterminated', id="param-bad-quote"),
        pytest.param("text/html;p=a b", id="param-space"),
        pytest.param("text/html" + ";p=v" * 11, id="too-many-params"),
        pytest.param(",,,;;;===///", id="punctuation"),
    ],
)
def test_accept_malformed_entries_ignored(header: str) -> None:
    accept = MIMEAccept(header + ", application/json;q=0.3")
    assert list(accept) == [("application/json", 0.3)]
    assert "text/html" not in accept


@pytest.mark.parametrize(
    ("header", "matches", "default", "expected"),
    [
        pytest.param(BROWSER_ACCEPT, ["application/json", "text/html"], None, "text/html", id="browser-html"),
        pytest.param(BROWSER_ACCEPT, ["application/json"], None, "application/json", id="browser-wildcard"),
        pytest.param(BROWSER_ACCEPT, ["application/xml", "image/avif"], None, "image/avif", id="higher-q"),
        pytest.param("*/*", ["application/json", "text/html"], None, "application/json", id="server-order"),
        pytest.param(
            "text/*, text/html", ["text/plain", "text/html"], None, "text/html", id="specific-beats-wildcard"
        ),
        pytest.param(
            "text/*;q=0.5, */*;q=0.1", ["image/png", "text/csv"], None, "text/csv", id="type-wildcard"
        ),
        pytest.param("text/html;q=0, */*", ["text/html"], "none", "none", id="explicit-zero-excludes"),
        pytest.param(
            "text/html;q=0, */*", ["text/html", "text/plain"], None, "text/plain", id="zero-skipped"
        ),
        pytest.param(
            "text/*;q=0, text/html", ["text/plain", "text/html"], None, "text/html", id="zero-wildcard"
        ),
        pytest.param("application/json", ["text/html"], None, None, id="no-match-none"),
        pytest.param("application/json", ["text/html"], "text/plain", "text/plain", id="no-match-default"),
        pytest.param("", ["text/html"], None, None, id="empty-header"),
        pytest.param("TEXT/HTML", ["text/html"], None, "text/html", id="case-insensitive"),
        pytest.param("text/html", ["Text/Html"], None, "Text/Html", id="returns-server-spelling"),
        pytest.param(
            "text/html", ["text/html; charset=utf-8"], None, "text/html; charset=utf-8", id="server-params"
        ),
        pytest.param(
            "text/html;level=1, text/html;q=0.2",
            ["text/html", "text/html;level=1"],
            None,
            "text/html;level=1",
            id="client-params",
        ),
        pytest.param("text/html;level=1", ["text/html;level=2"], None, None, id="params-differ"),
        pytest.param(
            "application/json",
            ["not a mimetype", "application/json"],
            None,
            "application/json",
            id="bad-server-value-skipped",
        ),
        pytest.param("application/json", [], "d", "d", id="no-matches"),
    ],
)
def test_best_match(header: str, matches: list[str], default: str | None, expected: str | None) -> None:
    assert MIMEAccept(header).best_match(matches, default) == expected


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        pytest.param(BROWSER_ACCEPT, "text/html", 1.0, id="exact"),
        pytest.param(BROWSER_ACCEPT, "application/xml", 0.9, id="exact-lower"),
        pytest.param(BROWSER_ACCEPT, "application/json", 0.8, id="wildcard"),
        pytest.param("text/*;q=0.3, */*;q=0.1", "text/csv", 0.3, id="type-wildcard"),
        pytest.param("text/html;q=0.2, text/*;q=0.9", "text/html", 0.2, id="most-specific-wins"),
        pytest.param("text/html;q=0.2, text/html;q=0.6", "text/html", 0.6, id="duplicate-highest"),
        pytest.param("application/json", "text/html", 0.0, id="unlisted"),
        pytest.param("", "text/html", 0.0, id="empty"),
        pytest.param("*/*", "garbage", 0.0, id="malformed-server-value"),
    ],
)
def test_quality(header: str, value: str, expected: float) -> None:
    accept = MIMEAccept(header)
    assert accept.quality(value) == expected
    assert accept[value] == expected


@pytest.mark.parametrize(
    ("header", "json", "html", "xhtml"),
    [
        pytest.param(BROWSER_ACCEPT, True, True, True, id="browser"),
        pytest.param("application/json", True, False, False, id="json"),
        pytest.param("application/*", True, True, True, id="application-wildcard"),
        pytest.param("application/xhtml+xml", False, True, True, id="xhtml"),
        pytest.param("text/html;q=0, application/json", True, False, False, id="html-refused"),
        pytest.param("", False, False, False, id="empty"),
    ],
)
def test_accept_shortcuts(header: str, json: bool, html: bool, xhtml: bool) -> None:
    accept = MIMEAccept(header)
    assert accept.accept_json is json
    assert accept.accept_html is html
    assert accept.accept_xhtml is xhtml


def test_accept_contains() -> None:
    accept = MIMEAccept("text/*, application/json;q=0")
    assert "text/plain" in accept
    assert "application/json" not in accept
    assert "image/png" not in accept
    assert 42 not in accept


def test_accept_best_values_len_getitem() -> None:
    accept = MIMEAccept("a/b;q=0.5, c/d")
    assert accept.best == "c/d"
    assert list(accept.values()) == ["c/d", "a/b"]
    assert len(accept) == 2
    assert accept[0] == ("c/d", 1.0)
    assert accept[1] == ("a/b", 0.5)
    with pytest.raises(IndexError):
        accept[2]


def test_accept_best_skips_zero() -> None:
    assert MIMEAccept("text/html;q=0").best is None
    assert MIMEAccept("").best is None


@pytest.mark.parametrize(
    ("header", "truthy", "provided"),
    [
        pytest.param(None, False, False, id="absent"),
        pytest.param("", False, True, id="empty"),
        pytest.param("garbage", False, True, id="garbage"),
        pytest.param("*/*", True, True, id="wildcard"),
    ],
)
def test_accept_bool_and_provided(header: str | None, truthy: bool, provided: bool) -> None:
    accept = MIMEAccept(header)
    assert bool(accept) is truthy
    assert accept.provided is provided


def test_accept_repr() -> None:
    assert repr(MIMEAccept("text/html, */*;q=0.5")) == "MIMEAccept([('text/html', 1.0), ('*/*', 0.5)])"
    assert repr(MIMEAccept(None)) == "MIMEAccept([])"


def test_accept_entry_cap() -> None:
    header = ", ".join(f"type/sub{i};q=0.5" for i in range(MAX_ACCEPT_ENTRIES * 50)) + ", text/html"
    accept = MIMEAccept(header)
    assert len(accept) == MAX_ACCEPT_ENTRIES
    assert list(accept.values())[-1] == f"type/sub{MAX_ACCEPT_ENTRIES - 1}"
    assert "text/html" not in accept


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("," * 1_000_000, id="commas"),
        pytest.param("text/html" + ";" * 1_000_000, id="semicolons"),
        pytest.param("text/html;" + "a=b;" * 100_000, id="params"),
        pytest.param('text/html;a="' + '\\"' * 100_000, id="escapes"),
        pytest.param("\x00\xff\u2028" * 100_000, id="binary"),
        pytest.param("a" * 1_000_000 + "/b", id="long-token"),
        pytest.param("*/*;q=0.5," * 100_000, id="many-valid"),
    ],
)
def test_accept_hostile_headers_do_not_raise(header: str) -> None:
    accept = MIMEAccept(header)
    assert len(accept) <= MAX_ACCEPT_ENTRIES
    accept.best_match(["text/html", "application/json"])
    accept.quality("text/html")
    assert isinstance(repr(accept), str)


# --- Accept (plain tokens) ----------------------------------------------------------------------


def test_token_accept() -> None:
    accept = Accept("en-US, en;q=0.9, *;q=0.1, fr;q=x, bad token")
    assert list(accept) == [("en-US", 1.0), ("en", 0.9), ("*", 0.1)]
    assert accept.quality("EN-us") == 1.0
    assert accept.quality("de") == 0.1
    assert accept.best == "en-US"
    assert accept.best_match(["de", "en"]) == "en"
    assert accept.best_match(["de"]) == "de"
    assert "de" in accept


def test_token_accept_params_ignored() -> None:
    accept = Accept("gzip;level=9;q=0.5, identity;q=0")
    assert list(accept) == [("gzip", 0.5), ("identity", 0.0)]
    assert accept.best_match(["identity", "gzip"]) == "gzip"
    assert "identity" not in accept


def test_mime_accept_is_an_accept() -> None:
    assert isinstance(MIMEAccept("*/*"), Accept)
