"""Flask's own context, bound to asyncflask's, so Flask extensions see the app they run in.

Extensions import `flask.request`, `flask.g`, `flask.session` and `flask.current_app`:
Werkzeug proxies over two context variables of Flask's (`flask.globals._cv_app`, whose value
has `app` and `g`, and `_cv_request`, whose value has `request` and `session`). While an
asyncflask context is current, those variables hold the asyncflask context itself, which
has all four names, so `flask.request` *is* asyncflask's request and `flask.current_app` the
`AsyncFlask` app. Nothing of Flask's is patched, and Flask is never imported here: the
binding happens only once something else (an extension) has imported `flask.globals`.
"""

from __future__ import annotations

import sys
from contextvars import Token
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ctx import AppContext

# (Flask's globals module, token for `_cv_app`, token for `_cv_request` or None)
FlaskBinding = tuple[Any, Token[Any], Token[Any] | None]


def bind(ctx: AppContext) -> FlaskBinding | None:
    """Make `ctx` Flask's current app (and request) context too, if Flask is in use."""
    flask_globals = sys.modules.get("flask.globals")
    if flask_globals is None:
        return None
    app_token = flask_globals._cv_app.set(ctx)
    # Only a request is a request context for Flask: `has_request_context()` stays False
    # in an app context and in a websocket.
    request_token = flask_globals._cv_request.set(ctx) if ctx.request is not None else None
    return flask_globals, app_token, request_token


def unbind(binding: FlaskBinding) -> None:
    """Undo `bind` (in the context that made it)."""
    flask_globals, app_token, request_token = binding
    if request_token is not None:
        flask_globals._cv_request.reset(request_token)
    flask_globals._cv_app.reset(app_token)


_forwarders: dict[str, Any] = {}


def forward_flask_signals() -> None:
    """Send Flask's signal of the same name whenever asyncflask sends one of its own.

    Set up as the app starts serving, for the Flask signals that have receivers then
    (extensions connect theirs in `init_app`); forwarding to a signal whose receivers have
    all gone stops at the next start. A signal nobody listens to costs nothing per request.
    """
    flask_signals = sys.modules.get("flask.signals")
    if flask_signals is None:
        return
    from . import signals

    for name in signals.__all__:
        theirs = getattr(flask_signals, name, None)
        ours = getattr(signals, name)
        wanted = theirs is not None and bool(getattr(theirs, "receivers", None))
        if wanted and name not in _forwarders:

            def forward(sender: Any, _theirs: Any = theirs, **kwargs: Any) -> None:
                _theirs.send(sender, **kwargs)

            forward.forwards_to_flask = True  # type: ignore[attr-defined]
            ours.connect(forward, weak=False)
            _forwarders[name] = forward
        elif not wanted and name in _forwarders:
            ours.disconnect(_forwarders.pop(name))
