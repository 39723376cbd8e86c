"""asyncflask's containers are Werkzeug's: the names, the missing-key error and Accept matching."""

from __future__ import annotations

import pickle

import pytest
import werkzeug.datastructures as wd
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.http import parse_accept_header

import asyncflask.datastructures as ad
from asyncflask.datastructures import (
    BadRequestKeyError,
    CombinedMultiDict,
    ImmutableMultiDict,
    LanguageAccept,
    MIMEAccept,
    MultiDict,
)

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.mark.parametrize("name", [n for n in ad.__all__ if n != "BadRequestKeyError"])
def test_names_are_werkzeugs_own_classes(name: str) -> None:
    assert getattr(ad, name) is getattr(wd, name)


def test_missing_key_is_a_400_and_a_key_error() -> None:
    data: MultiDict[str, str] = MultiDict([("a", "1"), ("a", "2")])
    with pytest.raises(BadRequestKeyError) as info:
        data["b"]
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, BadRequest)
    assert isinstance(info.value, HTTPException)
    assert info.value.code == 400
    assert data["a"] == "1"
    assert data.getlist("a") == ["1", "2"]
    assert data.get("a", type=int) == 1
    assert data.get("x", 5, type=int) == 5


def test_immutable_and_combined() -> None:
    args = ImmutableMultiDict([("q", "1")])
    form = ImmutableMultiDict([("q", "2"), ("name", "ann")])
    with pytest.raises(TypeError):
        args["q"] = "3"
    both = CombinedMultiDict([args, form])
    assert both["q"] == "1"
    assert both.getlist("q") == ["1", "2"]
    assert both["name"] == "ann"
    assert pickle.loads(pickle.dumps(args)) == args


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        (["application/json", "text/html"], "text/html"),
        (["application/xml", "application/json"], "application/xml"),
        (["application/json"], "application/json"),
    ],
)
def test_mime_accept_best_match(offered: list[str], expected: str) -> None:
    accept = parse_accept_header(BROWSER_ACCEPT, MIMEAccept)
    assert accept.best_match(offered) == expected
    assert accept.accept_html is True
    assert accept.quality("application/xml") == 0.9


def test_language_accept_exact_then_primary_tag() -> None:
    accept = parse_accept_header("de-AT, en;q=0.5", LanguageAccept)
    assert accept.best == "de-AT"
    # An exact tag wins over the fallback; the fallback applies only when nothing matches.
    assert accept.best_match(["de", "en"]) == "en"
    assert accept.best_match(["de", "fr"]) == "de"
    assert accept.best_match(["fr", "en-US"]) == "en-US"
    assert accept.best_match(["fr"]) is None
