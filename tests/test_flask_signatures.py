"""Flask's signatures: Blueprint's positional order, url_for's `_external` rule, `app.run()`'s
arguments and `asyncflask run --cert/--key`, each checked against what Flask 3.1 does."""

from __future__ import annotations

import inspect
import os
import shutil
import ssl
import subprocess
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flask
import httpx
import pytest
import uvicorn
from click.testing import CliRunner

import asyncflask
from asyncflask import AsyncFlask, Blueprint, url_for
from asyncflask.cli import AsyncFlaskGroup, ScriptInfo

if TYPE_CHECKING:  # the root conftest.py, shared through its `live_server` fixture
    from conftest import LiveServers

LIMITS = {
    "http": "h11",
    "h11_max_incomplete_event_size": 65536,
    "ws_max_size": 16777216,
    "ws_max_queue": 32,
    "timeout_graceful_shutdown": 10.0,
}


def parameters(func: Any) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of each parameter, `self` left out."""
    return [
        (p.name, p.kind, p.default) for p in inspect.signature(func).parameters.values() if p.name != "self"
    ]


# -- Blueprint ------------------------------------------------------------------------------


def test_blueprint_signature_is_flasks() -> None:
    ours, theirs = parameters(Blueprint), parameters(flask.Blueprint)
    assert [(name, kind) for name, kind, _ in ours] == [(name, kind) for name, kind, _ in theirs]
    # Every default but cli_group's is None; cli_group's is a private "not given" marker.
    assert [default for _, _, default in ours[2:-1]] == [None] * 7
    assert ours[-1][0] == "cli_group" and ours[-1][2] is not None


def test_third_positional_is_static_folder(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "a.txt").write_text("A")
    bp = Blueprint("x", __name__, "static", root_path=str(tmp_path))
    flask_bp = flask.Blueprint("x", __name__, "static", root_path=str(tmp_path))
    assert bp.url_prefix is None and flask_bp.url_prefix is None
    assert bp.static_folder == flask_bp.static_folder == str(tmp_path / "static")
    assert bp.static_url_path == flask_bp.static_url_path == "/static"


async def test_positional_static_folder_is_served(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.txt").write_text("A")
    app = AsyncFlask(__name__, static_folder=None)
    app.register_blueprint(
        Blueprint("x", __name__, "files", "/x-static", None, "/x", root_path=str(tmp_path))
    )
    client = app.test_client()
    response = await client.get("/x/x-static/a.txt")
    assert (response.status_code, response.text) == (200, "A")
    assert (await client.get("/x-static/a.txt")).status_code == 404
    async with app.test_request_context("/"):
        assert url_for("x.static", filename="a.txt") == "/x/x-static/a.txt"


async def test_blueprint_keyword_callers_still_work() -> None:
    app = AsyncFlask(__name__, static_folder=None)
    bp = Blueprint("api", __name__, url_prefix="/api", subdomain=None, url_defaults={"v": 1})

    @bp.get("/items")
    async def items(v: int) -> str:
        return f"v{v}"

    app.register_blueprint(bp)
    response = await app.test_client().get("/api/items")
    assert (response.status_code, response.text) == (200, "v1")


def test_blueprint_cli_group_default_and_none() -> None:
    app = AsyncFlask(__name__, static_folder=None)
    named, top = Blueprint("named", __name__), Blueprint("top", __name__, cli_group=None)

    @named.cli.command("hi")
    def hi() -> None:
        print("named hi")

    @top.cli.command("hey")
    def hey() -> None:
        print("top hey")

    app.register_blueprint(named)
    app.register_blueprint(top)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["named", "hi"]).output == "named hi\n"
    assert runner.invoke(args=["hey"]).output == "top hey\n"


# -- url_for's _external rule ---------------------------------------------------------------


def test_url_for_signatures_are_flasks() -> None:
    assert parameters(asyncflask.url_for) == parameters(flask.url_for)
    ours = [p for p in parameters(AsyncFlask.url_for) if p[0] != "endpoint"]
    theirs = [p for p in parameters(flask.Flask.url_for) if p[0] != "endpoint"]
    assert ours == theirs


def build_apps() -> tuple[AsyncFlask, flask.Flask]:
    """The same rule on an asyncflask and a Flask app, both with a SERVER_NAME."""
    ours = AsyncFlask(__name__, static_folder=None)
    theirs = flask.Flask(__name__, static_folder=None)
    for app in (ours, theirs):
        app.config.update(SERVER_NAME="example.com", PREFERRED_URL_SCHEME="https")
        app.add_url_rule("/user/<name>", "user", lambda name: name)
    return ours, theirs


CASES: list[dict[str, Any]] = [
    {},
    {"_external": True},
    {"_external": False},
    {"_scheme": "http"},
    {"_scheme": "http", "_external": True},
    {"_anchor": "top"},
]


@pytest.mark.parametrize("options", CASES, ids=repr)
async def test_url_for_in_a_request_matches_flask(options: dict[str, Any]) -> None:
    ours, theirs = build_apps()
    with theirs.test_request_context("/", base_url="http://example.com"):
        expected = flask.url_for("user", name="a", **options)
    async with ours.test_request_context("/", base_url="http://example.com"):
        assert url_for("user", name="a", **options) == expected
        assert ours.url_for("user", name="a", **options) == expected


@pytest.mark.parametrize("options", CASES, ids=repr)
async def test_url_for_in_an_app_context_matches_flask(options: dict[str, Any]) -> None:
    ours, theirs = build_apps()
    with theirs.app_context():
        expected = flask.url_for("user", name="a", **options)
    assert expected.startswith("/") == (options.get("_external") is False)
    async with ours.app_context():
        assert url_for("user", name="a", **options) == expected
    # With no context at all, app.url_for follows the app context's rule.
    assert ours.url_for("user", name="a", **options) == theirs.url_for("user", name="a", **options)


async def test_url_for_defaults_written_out() -> None:
    ours, _ = build_apps()
    async with ours.test_request_context("/", base_url="http://example.com"):
        assert url_for("user", name="a") == "/user/a"
        assert url_for("user", name="a", _scheme="https") == "https://example.com/user/a"
    async with ours.app_context():
        assert url_for("user", name="a") == "https://example.com/user/a"
        assert url_for("user", name="a", _external=False) == "/user/a"


async def test_url_for_scheme_with_external_false_is_a_value_error() -> None:
    ours, theirs = build_apps()
    with theirs.app_context(), pytest.raises(ValueError, match="'_external' must be True"):
        flask.url_for("user", name="a", _scheme="https", _external=False)
    async with ours.test_request_context("/"):
        with pytest.raises(ValueError, match="When specifying '_scheme', '_external' must be True."):
            url_for("user", name="a", _scheme="https", _external=False)
    with pytest.raises(ValueError, match="'_external' must be True"):
        ours.url_for("user", name="a", _scheme="https", _external=False)


async def test_url_for_default_outside_a_request_needs_server_name() -> None:
    app = AsyncFlask(__name__, static_folder=None)
    app.add_url_rule("/", "index", lambda: "")
    with pytest.raises(RuntimeError, match="SERVER_NAME"):
        app.url_for("index")
    async with app.app_context():
        with pytest.raises(RuntimeError, match="SERVER_NAME"):
            url_for("index")
        assert url_for("index", _external=False) == "/"


async def test_url_for_in_a_websocket_is_relative_by_default() -> None:
    app = AsyncFlask(__name__, static_folder=None)

    @app.websocket("/ws")
    async def ws() -> None:
        await asyncflask.websocket.send(url_for("ws") + " " + url_for("ws", _scheme="https"))

    async with app.test_client() as client, client.websocket("/ws") as connection:
        assert await connection.receive_text() == "/ws wss://localhost/ws"


# -- app.run --------------------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[Any, dict[str, Any]]]:
    """uvicorn.run's calls, recorded instead of serving; in an empty folder, debug unset."""
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kwargs: calls.append((target, kwargs)))
    monkeypatch.chdir(tmp_path)
    for name in ("ASYNCFLASK_DEBUG", "ASYNCFLASK_SKIP_DOTENV", "SIGNATURES_FROM_DOTENV"):
        # setenv first, so the variable is removed again after the test even if run() sets it.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return calls


def make_app(**config: Any) -> AsyncFlask:
    app = AsyncFlask(__name__, static_folder=None)
    app.config.update(config)
    return app


def test_run_signature_is_flasks_with_the_contracts_defaults() -> None:
    # Flask's names and order; host and port default to what Flask falls back to.
    ours, theirs = parameters(AsyncFlask.run), parameters(flask.Flask.run)
    assert [(name, kind) for name, kind, _ in ours] == [(name, kind) for name, kind, _ in theirs]
    defaults = {name: default for name, _, default in ours}
    assert defaults == {
        **{name: default for name, _, default in theirs},
        "host": "127.0.0.1",
        "port": 5000,
    }


def test_run_defaults(served: list[tuple[Any, dict[str, Any]]]) -> None:
    app = make_app()
    app.run()
    [(target, kwargs)] = served
    assert target is app
    assert kwargs == {"host": "127.0.0.1", "port": 5000, "lifespan": "on", "log_level": "info", **LIMITS}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, ("127.0.0.1", 5000)),
        ({"host": "0.0.0.0", "port": 9000}, ("0.0.0.0", 9000)),
        ({"port": 0}, ("127.0.0.1", 0)),
    ],
)
def test_run_host_and_port(
    served: list[tuple[Any, dict[str, Any]]], arguments: dict[str, Any], expected: tuple[str, int]
) -> None:
    make_app().run(**arguments)
    assert (served[0][1]["host"], served[0][1]["port"]) == expected


def test_run_passes_other_keywords_to_uvicorn(served: list[tuple[Any, dict[str, Any]]]) -> None:
    make_app().run(log_level="warning", proxy_headers=False, ws_max_size=10)
    kwargs = served[0][1]
    assert (kwargs["log_level"], kwargs["proxy_headers"], kwargs["ws_max_size"]) == ("warning", False, 10)


def test_run_debug_without_an_importable_app_does_not_reload(
    served: list[tuple[Any, dict[str, Any]]],
) -> None:
    app = make_app()
    app.run(debug=True)
    [(target, kwargs)] = served
    assert target is app and app.debug is True
    assert kwargs["log_level"] == "debug"
    assert "reload" not in kwargs


def test_run_use_reloader_needs_an_import_string(served: list[tuple[Any, dict[str, Any]]]) -> None:
    with pytest.raises(RuntimeError, match=r"asyncflask --app MODULE run --reload"):
        make_app().run(use_reloader=True)
    assert served == []


def write_module(folder: Path, name: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text("from asyncflask import AsyncFlask\n\napplication = AsyncFlask(__name__)\n")
    return path


def test_run_use_reloader_gives_uvicorn_an_import_string(
    served: list[tuple[Any, dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_module(tmp_path, "sig_reload_app")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import sig_reload_app  # type: ignore[import-not-found]

        sig_reload_app.application.run(debug=True)
    finally:
        sys.modules.pop("sig_reload_app", None)
    [(target, kwargs)] = served
    assert target == "sig_reload_app:application"
    assert (kwargs["reload"], kwargs["log_level"]) == (True, "debug")
    assert "reload_dirs" not in kwargs  # The app's folder is the current one, watched anyway.
    # The reloaded process builds the app again, in debug mode too.
    assert os.environ["ASYNCFLASK_DEBUG"] == "1"


@pytest.mark.parametrize(
    ("spec_name", "expected"), [(None, "hello:application"), ("pkg.hello", "pkg.hello:application")]
)
def test_run_use_reloader_for_a_script(
    served: list[tuple[Any, dict[str, Any]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    spec_name: str | None,
    expected: str,
) -> None:
    # What `python hello.py` (or `python -m pkg.hello`) makes: the module is `__main__`.
    script = tmp_path / "scripts" / "hello.py"
    script.parent.mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    main.__spec__ = types.SimpleNamespace(name=spec_name) if spec_name else None  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.syspath_prepend(str(script.parent))
    app = AsyncFlask(
        "__main__", root_path=str(script.parent), instance_path=str(tmp_path / "i"), static_folder=None
    )
    main.application = app  # type: ignore[attr-defined]
    app.run(use_reloader=True)
    [(target, kwargs)] = served
    assert (target, kwargs["reload"]) == (expected, True)
    # The script's folder is outside the current one, so it is watched as well.
    assert kwargs["reload_dirs"] == [os.getcwd(), os.path.realpath(script.parent)]


def test_run_use_reloader_false_in_debug(served: list[tuple[Any, dict[str, Any]]]) -> None:
    app = make_app()
    app.run(debug=True, use_reloader=False)
    assert served[0][0] is app and "reload" not in served[0][1]


def test_run_ssl_context_pair(served: list[tuple[Any, dict[str, Any]]]) -> None:
    make_app().run(ssl_context=("cert.pem", "key.pem"))
    kwargs = served[0][1]
    assert (kwargs["ssl_certfile"], kwargs["ssl_keyfile"]) == ("cert.pem", "key.pem")


def test_run_ssl_context_adhoc_is_refused(served: list[tuple[Any, dict[str, Any]]]) -> None:
    with pytest.raises(ValueError, match=r"'adhoc' is not supported\. Make a certificate .*openssl req"):
        make_app().run(ssl_context="adhoc")
    with pytest.raises(TypeError, match="uvicorn does not take an SSLContext"):
        make_app().run(ssl_context=ssl.create_default_context())
    assert served == []


@pytest.mark.parametrize(
    ("option", "hint"),
    [
        ("threaded", "does not apply: uvicorn serves requests on one event loop"),
        ("processes", "asyncflask run --workers N"),
        ("use_debugger", "no interactive debugger"),
        ("use_evalex", "no interactive debugger"),
        ("extra_files", "reload_includes"),
        ("exclude_patterns", "reload_excludes"),
        ("reloader_interval", "reload_delay"),
        ("reloader_type", "does not apply: uvicorn's reloader uses watchfiles"),
        ("passthrough_errors", "does not apply"),
        ("request_handler", "uvicorn's `http` option"),
        ("static_files", "static_folder"),
    ],
)
def test_run_werkzeug_options_are_refused(
    served: list[tuple[Any, dict[str, Any]]], option: str, hint: str
) -> None:
    with pytest.raises(TypeError, match=rf"app\.run\(\) does not take '{option}' under uvicorn: .*{hint}"):
        options: dict[str, Any] = {option: True}
        make_app().run(**options)
    assert served == []


def test_run_loads_dotenv_files(served: list[tuple[Any, dict[str, Any]]], tmp_path: Path) -> None:
    (tmp_path / ".asyncflaskenv").write_text("SIGNATURES_FROM_DOTENV=committed\nASYNCFLASK_DEBUG=1\n")
    (tmp_path / ".env").write_text("SIGNATURES_FROM_DOTENV=private\n")
    app = make_app()
    app.run()
    assert os.environ["SIGNATURES_FROM_DOTENV"] == "private"
    # As in Flask, ASYNCFLASK_DEBUG read from the files sets debug mode; `debug=` wins over it.
    assert app.debug is True
    assert served[0][1]["log_level"] == "debug"
    app.run(debug=False)
    assert app.debug is False


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_run_without_dotenv(
    served: list[tuple[Any, dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    (tmp_path / ".env").write_text("SIGNATURES_FROM_DOTENV=private\n")
    if how == "environment":
        monkeypatch.setenv("ASYNCFLASK_SKIP_DOTENV", "1")
    options: dict[str, Any] = {"load_dotenv": False} if how == "argument" else {}
    make_app().run(**options)
    assert "SIGNATURES_FROM_DOTENV" not in os.environ
    assert len(served) == 1


# -- asyncflask run --cert/--key ------------------------------------------------------------


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and its key (skips if openssl is missing)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-days", "1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """Stand-ins for a certificate and key (the command only checks that they exist)."""
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("cert")
    key.write_text("key")
    return cert, key


def invoke(app: AsyncFlask, *args: str) -> Any:
    info = ScriptInfo(create_app=lambda: app, set_debug_flag=False)
    return CliRunner().invoke(AsyncFlaskGroup(load_dotenv=False), ["run", *args], obj=info)


def test_cli_cert_and_key_reach_uvicorn(
    served: list[tuple[Any, dict[str, Any]]], files: tuple[Path, Path]
) -> None:
    cert, key = files
    app = make_app()
    result = invoke(app, "--cert", cert.name, "--key", key.name, "--port", "8443")
    assert result.exit_code == 0, result.output
    [(target, kwargs)] = served
    assert target is app
    # Resolved, as Flask does, so a later change of folder does not lose them.
    assert kwargs == {
        "host": "127.0.0.1",
        "port": 8443,
        "lifespan": "on",
        "log_level": "info",
        "ssl_certfile": str(cert),
        "ssl_keyfile": str(key),
        **LIMITS,
    }


def test_cli_cert_with_reload_reaches_uvicorn(
    served: list[tuple[Any, dict[str, Any]]], files: tuple[Path, Path], tmp_path: Path
) -> None:
    write_module(tmp_path, "sig_cli_app")
    cert, key = files
    try:
        result = CliRunner().invoke(
            AsyncFlaskGroup(load_dotenv=False),
            ["--app", "sig_cli_app", "run", "--reload", "--cert", str(cert), "--key", str(key)],
        )
    finally:
        sys.modules.pop("sig_cli_app", None)
        if str(tmp_path) in sys.path:  # prepare_import put the app's folder first.
            sys.path.remove(str(tmp_path))
    assert result.exit_code == 0, result.output
    [(target, kwargs)] = served
    assert (target, kwargs["reload"]) == ("asyncflask.cli:_load_app_for_uvicorn", True)
    assert (kwargs["ssl_certfile"], kwargs["ssl_keyfile"]) == (str(cert), str(key))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--key", "k.pem"], "Invalid value for '--key': \"--cert\" must also be specified."),
        (["--cert", "c.pem"], "Invalid value for '--key': Required when using \"--cert\"."),
        (["--cert", "adhoc"], "'adhoc' certificates are not supported. Make a certificate and key"),
        (["--cert", "missing.pem", "--key", "k.pem"], "File 'missing.pem' does not exist."),
        (["--cert", "c.pem", "--key", "missing.pem"], "File 'missing.pem' does not exist."),
    ],
)
def test_cli_cert_and_key_errors(
    served: list[tuple[Any, dict[str, Any]]], files: tuple[Path, Path], args: list[str], message: str
) -> None:
    result = invoke(make_app(), *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split()), result.output
    assert served == []


def test_cli_serves_https_for_real(live_server: LiveServers, tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    app_file = tmp_path / "tls_app.py"
    app_file.write_text(
        "from asyncflask import AsyncFlask, request\n\n"
        "app = AsyncFlask(__name__)\n\n\n"
        "@app.get('/')\n"
        "async def index():\n"
        "    return f'secure={request.is_secure} scheme={request.scheme}'\n"
    )
    argv = [sys.executable, "-m", "asyncflask", "--app", str(app_file), "run",
            "--port", "{port}", "--cert", str(cert), "--key", str(key)]  # fmt: skip
    server = live_server(argv, env={"ASYNCFLASK_SKIP_DOTENV": "1"}, capture_output=True, timeout=20)
    response = httpx.get(f"https://127.0.0.1:{server.port}/", verify=False, timeout=5)
    assert (response.status_code, response.text) == (200, "secure=True scheme=https")
    with pytest.raises(httpx.RemoteProtocolError):
        # Plain HTTP to the TLS port is not answered as HTTP.
        httpx.get(f"http://127.0.0.1:{server.port}/", timeout=5)
    assert server.stop() is not None
