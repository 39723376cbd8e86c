"""Flask 3.1's public names, compared with asyncflask's, one surface at a time."""

from __future__ import annotations

from typing import Any

import flask
import pytest

import asyncflask

# Every deliberate absence, in one place, with its reason.
DELIBERATE: dict[str, dict[str, str]] = {
    "flask": {
        "Flask": "the application class is AsyncFlask",
        "logging": "Flask's submodule, not an API name",
        "sansio": "Flask's internal layering",
        "t": "Flask's typing alias module",
        "typing": "Flask's typing module",
    },
    "Flask": {
        "wsgi_app": "WSGI only; the app is an ASGI callable",
    },
    "Blueprint": {},
    "Config": {},
}

SURFACES: dict[str, tuple[Any, Any]] = {
    "flask": (flask, asyncflask),
    "Flask": (flask.Flask, asyncflask.AsyncFlask),
    "Blueprint": (flask.Blueprint, asyncflask.Blueprint),
    "Config": (flask.Config, asyncflask.Config),
}

# Surfaces not yet at 95%: what is missing is listed in the report of each run.
BELOW = {"flask", "Flask"}


def missing(surface: str) -> tuple[list[str], int]:
    theirs, ours = SURFACES[surface]
    names = {n for n in dir(theirs) if not n.startswith("_")} - set(DELIBERATE[surface])
    return sorted(n for n in names if not hasattr(ours, n)), len(names)


@pytest.mark.parametrize(
    "surface",
    [
        pytest.param(
            s,
            marks=pytest.mark.xfail(
                strict=True, reason="signals, stream_with_context and app methods not built"
            ),
        )
        if s in BELOW
        else s
        for s in SURFACES
    ],
)
def test_surface_coverage_at_least_95_percent(surface: str) -> None:
    absent, total = missing(surface)
    assert 1 - len(absent) / total >= 0.95, f"{surface} lacks {absent}"


def test_deliberate_exceptions_are_really_absent_in_flask_terms() -> None:
    for surface, names in DELIBERATE.items():
        theirs = SURFACES[surface][0]
        for name in names:
            assert hasattr(theirs, name), f"{surface}.{name} is no longer in Flask"
