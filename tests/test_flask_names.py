"""Flask 3.1's public names, compared with asyncflask's, one surface at a time.

A surface is a Flask module or class and its asyncflask counterpart. Every name of Flask's
that asyncflask deliberately lacks is listed below with its reason; any other missing name
counts against the surface, which must keep at least 95% of Flask's names. A new Flask
release that adds a name shows up here as a lower share, with the name in the report.
"""

from __future__ import annotations

from typing import Any

import flask
import flask.cli
import flask.json
import flask.json.provider
import flask.sessions
import flask.signals
import flask.testing
import flask.views
import pytest
import werkzeug.exceptions
import werkzeug.test

import asyncflask
import asyncflask.cli
import asyncflask.exceptions
import asyncflask.json
import asyncflask.json.provider
import asyncflask.sessions
import asyncflask.signals
import asyncflask.testing
import asyncflask.views
from asyncflask.testing_responses import TestResponse

IMPORTED = "imported by Flask's module from elsewhere, not part of its API"
WSGI = "WSGI only; asyncflask speaks ASGI"
BUILDS = "builds the response a server sends; a test response is what was received, read-only"

# Every deliberate absence, in one place, with its reason.
DELIBERATE: dict[str, dict[str, str]] = {
    "flask": {
        "Flask": "the application class is AsyncFlask",
        "logging": "Flask's submodule, not an API name",
        "sansio": "Flask's internal layering",
        "t": IMPORTED,
        "typing": "Flask's typing module",
    },
    "Flask": {
        "wsgi_app": WSGI,
        "create_url_adapter": "Werkzeug's MapAdapter: asyncflask's Map matches and builds URLs itself",
    },
    "Blueprint": {},
    "Config": {},
    "Request": {
        "application": WSGI,
        "from_values": "builds a WSGI environ; use app.test_request_context(...)",
        "input_stream": "the WSGI input; the body is request.stream / async for chunk in request.body",
        "remote_user": "the WSGI server's REMOTE_USER; ASGI has no such field",
        "form_data_parser_class": "the form is parsed by python-multipart through Starlette",
        "make_form_data_parser": "the form is parsed by python-multipart through Starlette",
    },
    "Response": {
        "from_app": WSGI,
        "get_app_iter": WSGI,
        "get_wsgi_headers": WSGI,
        "get_wsgi_response": WSGI,
    },
    "sessions": {"c": IMPORTED, "t": IMPORTED},
    "SessionInterface": {},
    "views": {"F": IMPORTED, "ft": IMPORTED, "t": IMPORTED, "current_app": IMPORTED},
    "View": {},
    "exceptions": {"Markup": IMPORTED, "datetime": IMPORTED, "escape": IMPORTED, "t": IMPORTED},
    "test client": {
        "run_wsgi_app": WSGI,
        "resolve_redirect": "httpx follows redirects itself (follow_redirects=True)",
    },
    "test response": {
        **{
            name: BUILDS
            for name in (
                "add_etag",
                "autocorrect_location_header",
                "automatically_set_content_length",
                "call_on_close",
                "default_mimetype",
                "default_status",
                "delete_cookie",
                "force_type",
                "freeze",
                "implicit_sequence_conversion",
                "make_conditional",
                "make_sequence",
                "max_cookie_size",
                "set_cookie",
                "set_data",
                "set_etag",
                "stream",
            )
        },
        "from_app": WSGI,
        "get_app_iter": WSGI,
        "get_wsgi_headers": WSGI,
        "get_wsgi_response": WSGI,
    },
    "signals": {},
    "cli": {
        **{name: IMPORTED for name in ("F", "cabc", "current_app", "t", "update_wrapper", "import_string")},
        "run_simple": "Werkzeug's development server; asyncflask runs uvicorn",
        "is_running_from_reloader": "Werkzeug's reloader; uvicorn's reloader restarts the process itself",
        "SeparatedPathType": "for Werkzeug's --extra-files, which uvicorn's reloader lacks",
        "CertParamType": "--cert is checked by a callback: a file, with 'adhoc' refused and explained",
        "show_server_banner": "uvicorn prints its own start-up lines",
    },
    "json": {"current_app": IMPORTED, "t": IMPORTED},
    "json.provider": {"t": IMPORTED, "weakref": IMPORTED},
}

SURFACES: dict[str, tuple[Any, Any]] = {
    "flask": (flask, asyncflask),
    "Flask": (flask.Flask, asyncflask.AsyncFlask),
    "Blueprint": (flask.Blueprint, asyncflask.Blueprint),
    "Config": (flask.Config, asyncflask.Config),
    "Request": (flask.Request, asyncflask.Request),
    "Response": (flask.Response, asyncflask.Response),
    "sessions": (flask.sessions, asyncflask.sessions),
    "SessionInterface": (flask.sessions.SessionInterface, asyncflask.sessions.SessionInterface),
    "views": (flask.views, asyncflask.views),
    "View": (flask.views.View, asyncflask.views.View),
    "exceptions": (werkzeug.exceptions, asyncflask.exceptions),
    "test client": (flask.testing.FlaskClient, asyncflask.testing.TestClient),
    # An instance: httpx sets `status_code` and the like in `__init__`.
    "test response": (werkzeug.test.TestResponse, TestResponse(200)),
    "signals": (flask.signals, asyncflask.signals),
    "cli": (flask.cli, asyncflask.cli),
    "json": (flask.json, asyncflask.json),
    "json.provider": (flask.json.provider, asyncflask.json.provider),
}


def missing(surface: str) -> tuple[list[str], int]:
    theirs, ours = SURFACES[surface]
    names = {n for n in dir(theirs) if not n.startswith("_")} - set(DELIBERATE[surface])
    return sorted(n for n in names if not hasattr(ours, n)), len(names)


@pytest.mark.parametrize("surface", list(SURFACES))
def test_surface_coverage_at_least_95_percent(surface: str) -> None:
    absent, total = missing(surface)
    assert 1 - len(absent) / total >= 0.95, f"{surface} lacks {absent}"


def test_all_surfaces_together_at_least_95_percent() -> None:
    absent = total = 0
    for surface in SURFACES:
        names, count = missing(surface)
        absent += len(names)
        total += count
    assert 1 - absent / total >= 0.95


def test_deliberate_exceptions_are_really_absent_in_flask_terms() -> None:
    for surface, names in DELIBERATE.items():
        theirs = SURFACES[surface][0]
        for name in names:
            assert hasattr(theirs, name), f"{surface}.{name} is no longer in Flask"
