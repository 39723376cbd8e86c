"""What `app.run()` hands to uvicorn: Flask's arguments turned into uvicorn's options."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import AsyncFlask

__all__ = ["app_import_string", "run_options"]

_SAME_AS_DEBUGGER = "asyncflask has no interactive debugger; debug mode shows the traceback on the 500 page."

# Werkzeug's `run_simple` options, with what to use under uvicorn instead.
_WERKZEUG_ONLY: dict[str, str] = {
    "threaded": (
        "it does not apply: uvicorn serves requests on one event loop, and sync views already"
        " run in worker threads."
    ),
    "processes": (
        "use `asyncflask run --workers N` (uvicorn's `workers`, which needs the app as an import string)."
    ),
    "use_debugger": _SAME_AS_DEBUGGER,
    "use_evalex": _SAME_AS_DEBUGGER,
    "extra_files": "use uvicorn's `reload_includes` (patterns) or `reload_dirs`.",
    "exclude_patterns": "use uvicorn's `reload_excludes`.",
    "reloader_interval": "use uvicorn's `reload_delay` (seconds).",
    "reloader_type": (
        "it does not apply: uvicorn's reloader uses watchfiles when it is installed, else polling."
    ),
    "passthrough_errors": (
        "it does not apply: uvicorn always catches what a request raises and answers 500."
    ),
    "request_handler": (
        "it does not apply: uvicorn's `http` option picks the HTTP implementation ('h11' or 'httptools')."
    ),
    "static_files": (
        "it does not apply: serve files from the app's or a blueprint's `static_folder`, or"
        " `app.mount()` a `starlette.staticfiles.StaticFiles`."
    ),
}

_ADHOC_HINT = (
    "ssl_context='adhoc' is not supported. Make a certificate and key, for example with"
    " `openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 365"
    " -subj /CN=localhost`, and pass ssl_context=('cert.pem', 'key.pem')."
)


def _ssl_options(ssl_context: Any) -> dict[str, Any]:
    """Uvicorn's certificate options for Werkzeug's `ssl_context`."""
    if ssl_context is None:
        return {}
    if ssl_context == "adhoc":
        raise ValueError(_ADHOC_HINT)
    if isinstance(ssl_context, (tuple, list)) and len(ssl_context) == 2:
        certfile, keyfile = ssl_context
        return {"ssl_certfile": certfile, "ssl_keyfile": keyfile}
    # uvicorn builds its own SSLContext, so an existing one cannot be handed over.
    raise TypeError(
        "ssl_context must be a (certfile, keyfile) pair; uvicorn does not take an SSLContext."
        " Pass the files, or uvicorn's ssl_certfile, ssl_keyfile and ssl_* options."
    )


def app_import_string(app: AsyncFlask) -> str | None:
    """`module:name` under which a fresh process finds `app`, or None if it cannot.

    Uvicorn's reloader starts a new process that imports the app, so the app must be a
    global of an importable module. A script run as `python hello.py` is `__main__` here,
    and imported as `hello` there (its folder is first on `sys.path`).
    """
    module = sys.modules.get(app.import_name)
    if module is None:
        return None
    names = [name for name, value in vars(module).items() if value is app and name.isidentifier()]
    if not names:
        return None
    module_name = app.import_name
    if module_name == "__main__":
        spec = getattr(module, "__spec__", None)
        file = getattr(module, "__file__", None)
        if spec is not None and spec.name not in ("__main__", ""):
            module_name = spec.name  # Run with `python -m package.module`.
        elif file:
            folder, filename = os.path.split(os.path.abspath(file))
            module_name, ext = os.path.splitext(filename)
            on_path = {os.path.abspath(entry or os.curdir) for entry in sys.path}
            if ext != ".py" or not module_name.isidentifier() or folder not in on_path:
                return None
        else:
            return None  # Typed into an interactive interpreter.
    return f"{module_name}:{names[0]}"


def run_options(app: AsyncFlask, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Uvicorn's target and options for `app.run(**options)`, with Werkzeug's names turned
    into uvicorn's and the ones without an equivalent refused.

    Returns:
        The app, or an import string when reloading, and the keyword arguments of
        `uvicorn.run` other than `host` and `port`.

    Raises:
        TypeError: a Werkzeug server option that uvicorn does not have.
        ValueError: `ssl_context="adhoc"`.
        RuntimeError: `use_reloader=True` for an app that cannot be imported again.
    """
    for name in options:
        if name in _WERKZEUG_ONLY:
            raise TypeError(f"app.run() does not take {name!r} under uvicorn: {_WERKZEUG_ONLY[name]}")
    options = dict(options)
    reload_asked = options.pop("use_reloader", None)
    if "reload" in options:  # uvicorn's own name for it.
        reload_asked = options.pop("reload")
    uvicorn_options: dict[str, Any] = {
        "lifespan": "on",
        "log_level": "debug" if app.debug else "info",
        **app.server_options(),
        **_ssl_options(options.pop("ssl_context", None)),
    }
    target: Any = app
    # As in Flask, the reloader is on in debug mode unless it is turned off.
    reload = bool(app.debug) if reload_asked is None else bool(reload_asked)
    if reload:
        import_string = app_import_string(app)
        if import_string is None:
            if reload_asked:
                raise RuntimeError(
                    "use_reloader=True needs an app uvicorn can import again (a global of an"
                    " importable module, e.g. 'hello:app'), and this one cannot be found that"
                    " way. Use `asyncflask --app MODULE run --reload` instead."
                )
            app.logger.info("The reloader is off: the app cannot be imported again by name.")
        else:
            from .cli import _is_within

            target = import_string
            uvicorn_options["reload"] = True
            cwd, root = os.getcwd(), os.path.realpath(app.root_path)
            if not _is_within(root, cwd):
                uvicorn_options["reload_dirs"] = [cwd, root]
            # The reloaded process creates the app again; debug mode reaches it this way.
            os.environ["ASYNCFLASK_DEBUG"] = "1" if app.debug else "0"
    uvicorn_options.update(options)
    return target, uvicorn_options
