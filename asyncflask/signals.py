"""Signals (blinker) with Flask's names; receivers may be sync or async functions.

Connect with `request_started.connect(receiver, app)`; every receiver gets the app as its
first argument. Sending costs nothing while a signal has no receivers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from blinker import NamedSignal, Namespace

__all__ = [
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_request_exception",
    "message_flashed",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "send",
    "template_rendered",
    "websocket_finished",
    "websocket_started",
]

_signals = Namespace()

template_rendered = _signals.signal("template-rendered")
before_render_template = _signals.signal("before-render-template")
request_started = _signals.signal("request-started")
request_finished = _signals.signal("request-finished")
request_tearing_down = _signals.signal("request-tearing-down")
got_request_exception = _signals.signal("got-request-exception")
appcontext_tearing_down = _signals.signal("appcontext-tearing-down")
appcontext_pushed = _signals.signal("appcontext-pushed")
appcontext_popped = _signals.signal("appcontext-popped")
message_flashed = _signals.signal("message-flashed")
websocket_started = _signals.signal("websocket-started")
websocket_finished = _signals.signal("websocket-finished")


async def send(signal: NamedSignal, sender: Any, **kwargs: Any) -> list[tuple[Callable[..., Any], Any]]:
    """Call every receiver of `signal` for `sender`, awaiting the async ones in turn.

    Args:
        signal: one of the signals above.
        sender: the app, passed to each receiver as its first argument.
        **kwargs: the signal's keyword arguments (e.g. `response=` for `request_finished`).

    Returns:
        `(receiver, return value)` pairs, as blinker's `send` gives them.
    """
    if not signal.receivers:
        return []
    results: list[tuple[Callable[..., Any], Any]] = []
    for receiver in signal.receivers_for(sender):
        result = receiver(sender, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        if not getattr(receiver, "forwards_to_flask", False):  # Flask's signal, sent too
            results.append((receiver, result))
    return results
