from __future__ import annotations

import asyncio
import code
import contextvars
import importlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import uvicorn
from click.testing import CliRunner
from uvicorn.importer import import_from_string

import asyncflask.cli as cli_module
from asyncflask import AsyncFlask, current_app, g
from asyncflask.cli import (
    AppGroup,
    AsyncFlaskCliRunner,
    AsyncFlaskGroup,
    NoAppException,
    ScriptInfo,
    find_app_by_string,
    find_best_app,
    load_dotenv,
    locate_app,
    prepare_import,
    with_appcontext,
)
from asyncflask.ctx import has_app_context

CLI_APPS = Path(__file__).parent / "cli_apps"
REPO_ROOT = Path(__file__).parent.parent
NO_APP_MESSAGE = (
    'Could not locate an AsyncFlask application. Use the "--app" option, the "ASYNCFLASK_APP"'
    ' environment variable, or an "app.py", "wsgi.py" or "asgi.py" file in the current directory.'
)
LITERALS_ONLY = (
    " Only strings, numbers, booleans, None, and lists, tuples, dicts or sets of them can be passed."
)


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Start without ASYNCFLASK_* variables; leave no variables, sys.path entries or app modules."""
    environ = dict(os.environ)
    path = list(sys.path)
    modules = set(sys.modules)
    for name in list(os.environ):
        if name.startswith(("ASYNCFLASK_", "_ASYNCFLASK_")) or name == "PYTHONSTARTUP":
            del os.environ[name]
    # A stray .env above the test directories must not leak in; dotenv tests turn this off.
    os.environ["ASYNCFLASK_SKIP_DOTENV"] = "1"
    yield
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
    roots = (str(CLI_APPS), str(tmp_path_factory.getbasetemp()))
    for name in set(sys.modules) - modules:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(roots):
            del sys.modules[name]


@pytest.fixture
def in_apps(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(CLI_APPS)
    return CLI_APPS


@pytest.fixture
def empty_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli() -> AsyncFlaskGroup:
    # A fresh group per test: plugin commands are loaded into the group once.
    return AsyncFlaskGroup(name="asyncflask")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def info_for(app: AsyncFlask) -> ScriptInfo:
    return ScriptInfo(create_app=lambda: app, set_debug_flag=False)


# ---------------------------------------------------------------------------------------------
# Discovery


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        pytest.param("app_attr", "app_attr", id="app-attribute"),
        pytest.param("application_attr", "application_attr", id="application-attribute"),
        pytest.param("single_instance", "single_instance", id="the-only-instance"),
        pytest.param("factory_create", "factory_create", id="create_app"),
        pytest.param("factory_make", "factory_make", id="make_app"),
        pytest.param("app_attr:other", "app_attr_other", id="named-attribute"),
        pytest.param("two_apps:second", "second", id="named-among-two"),
        pytest.param("factory_create:create_app", "factory_create", id="bare-factory-name"),
        pytest.param("factory_create:create_app()", "factory_create", id="factory-call"),
        pytest.param("factory_args:create_app('positional')", "positional", id="factory-positional"),
        pytest.param("factory_args:create_app(name='keyword')", "keyword", id="factory-keyword"),
        pytest.param("app_attr.py", "app_attr", id="file-path"),
        pytest.param("app_attr.py:other", "app_attr_other", id="file-path-and-name"),
        pytest.param("pkg_app.web", "pkg_app.web", id="dotted-module"),
        pytest.param("pkg_app/web.py", "pkg_app.web", id="file-in-package"),
        pytest.param("pkg_app/web", "pkg_app.web", id="file-in-package-without-suffix"),
    ],
)
def test_discovery(in_apps: Path, spec: str, name: str) -> None:
    app = ScriptInfo(spec).load_app()
    assert isinstance(app, AsyncFlask)
    assert app.name == name


def test_factory_with_literal_arguments(in_apps: Path) -> None:
    app = ScriptInfo('factory_args:create_app("x", debug=True, tags=["a", ("b", 1)])').load_app()
    assert app.name == "x"
    assert app.debug is True
    assert app.config["TAGS"] == ["a", ("b", 1)]


@pytest.mark.parametrize(
    ("spec", "module"),
    [
        pytest.param("tests/cli_apps/app_attr.py", "app_attr", id="file"),
        pytest.param("tests/cli_apps/app_attr", "app_attr", id="file-without-suffix"),
        pytest.param("tests/cli_apps/pkg_app/web.py", "pkg_app.web", id="package-module"),
        pytest.param("tests/cli_apps/pkg_app/__init__.py", "pkg_app", id="package-init"),
        pytest.param("tests/cli_apps/pkg_app", "pkg_app", id="package-dir"),
    ],
)
def test_prepare_import_puts_the_directory_on_sys_path(
    monkeypatch: pytest.MonkeyPatch, spec: str, module: str
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    assert prepare_import(spec) == module
    assert sys.path[0] == os.path.realpath(CLI_APPS)


def test_app_from_a_path_in_another_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    assert ScriptInfo("tests/cli_apps/pkg_app/web.py:app").load_app().name == "pkg_app.web"
    assert "pkg_app.web" in sys.modules


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            "two_apps",
            "Detected multiple AsyncFlask applications in module 'two_apps'. Use 'two_apps:name' to"
            " specify the correct one.",
            id="two-apps",
        ),
        pytest.param(
            "factory_args",
            "Detected factory 'create_app' in module 'factory_args', but could not call it without"
            " arguments. Use 'factory_args:create_app(args)' to specify arguments.",
            id="factory-needs-arguments",
        ),
        pytest.param(
            "no_app",
            "Failed to find an AsyncFlask application or factory in module 'no_app'. Use 'no_app:name'"
            " to specify one.",
            id="nothing-in-module",
        ),
        pytest.param(
            "app_attr:missing", "Failed to find attribute 'missing' in 'app_attr'.", id="missing-name"
        ),
        pytest.param(
            "app_attr:not_an_app",
            "A valid AsyncFlask application was not obtained from 'app_attr:not_an_app'.",
            id="not-an-app",
        ),
        pytest.param(
            "app_attr:not_a_factory",
            "A valid AsyncFlask application was not obtained from 'app_attr:not_a_factory'.",
            id="factory-returns-something-else",
        ),
        pytest.param(
            "app_attr:not_an_app()",
            "'not_an_app' in module 'app_attr' is not callable: 'not_an_app()'.",
            id="call-of-non-callable",
        ),
        pytest.param(
            "app_attr:app.name",
            "Failed to parse 'app.name' as an attribute name or function call.",
            id="attribute-path",
        ),
        pytest.param(
            "app_attr:1 +",
            "Failed to parse '1 +' as an attribute name or function call.",
            id="syntax-error",
        ),
        pytest.param(
            "app_attr:app\x00",
            "Failed to parse 'app\\x00' as an attribute name or function call.",
            id="nul-byte",
        ),
        pytest.param(
            "factory_args:factory.create_app()",
            "Function reference must be a simple name: 'factory.create_app()'.",
            id="dotted-call",
        ),
        pytest.param(
            "factory_args:create_app(name)",
            "Failed to parse arguments as literal values: 'create_app(name)'." + LITERALS_ONLY,
            id="name-argument",
        ),
        pytest.param(
            "factory_args:create_app(__import__('os').getcwd())",
            "Failed to parse arguments as literal values: \"create_app(__import__('os').getcwd())\"."
            + LITERALS_ONLY,
            id="code-is-never-run",
        ),
        pytest.param(
            "factory_args:create_app(**{'name': 'x'})",
            "Failed to parse arguments as literal values: \"create_app(**{'name': 'x'})\"." + LITERALS_ONLY,
            id="double-star",
        ),
        pytest.param(
            "factory_args:create_app(*['x'])",
            "Failed to parse arguments as literal values: \"create_app(*['x'])\"." + LITERALS_ONLY,
            id="star",
        ),
        pytest.param(
            "factory_args:create_app(1, 2, 3)",
            "The factory 'create_app(1, 2, 3)' in module 'factory_args' could not be called with the"
            " specified arguments.",
            id="wrong-arguments",
        ),
        pytest.param(
            "factory_args:create_app(nope=1)",
            "The factory 'create_app(nope=1)' in module 'factory_args' could not be called with the"
            " specified arguments.",
            id="unknown-keyword",
        ),
        pytest.param(
            "does_not_exist",
            "Could not import 'does_not_exist'. Check the name, or give the path to the file (for"
            " example --app path/to/does_not_exist.py).",
            id="missing-module",
        ),
        pytest.param(
            "pkg_app.missing",
            "Could not import 'pkg_app.missing'. Check the name, or give the path to the file (for"
            " example --app path/to/missing.py).",
            id="missing-submodule",
        ),
    ],
)
def test_discovery_errors(in_apps: Path, spec: str, message: str) -> None:
    with pytest.raises(NoAppException) as exc_info:
        ScriptInfo(spec).load_app()
    assert exc_info.value.message == message


def test_import_error_inside_the_module_is_shown_with_its_traceback(in_apps: Path) -> None:
    with pytest.raises(NoAppException) as exc_info:
        ScriptInfo("import_error").load_app()
    message = exc_info.value.message
    # The traceback starts in the user's module, not in the import machinery.
    assert message.startswith(
        "While importing 'import_error', an ImportError was raised:\n\nTraceback (most recent call last):\n"
        f'  File "{CLI_APPS / "import_error.py"}", line 3, in <module>\n'
    )
    assert message.endswith("ModuleNotFoundError: No module named 'this_module_does_not_exist_xyz'\n")


def test_type_error_inside_a_factory_is_not_hidden(in_apps: Path) -> None:
    with pytest.raises(TypeError, match="^raised inside the factory$"):
        ScriptInfo("factory_raises").load_app()


def test_other_errors_while_importing_propagate(in_apps: Path) -> None:
    with pytest.raises(RuntimeError, match="^boom at import$"):
        ScriptInfo("runtime_error").load_app()


def test_locate_app_can_tolerate_a_missing_module(in_apps: Path) -> None:
    prepare_import("no_app.py")
    assert locate_app("does_not_exist", None, raise_if_not_found=False) is None
    with pytest.raises(NoAppException):
        locate_app("no_app", None, raise_if_not_found=False)


def test_find_best_app_and_find_app_by_string_take_modules(in_apps: Path) -> None:
    app_attr = importlib.import_module(prepare_import("app_attr.py"))
    factory_args = importlib.import_module(prepare_import("factory_args.py"))

    assert find_best_app(app_attr) is app_attr.app
    assert find_app_by_string(app_attr, "other") is app_attr.other
    assert find_app_by_string(factory_args, "create_app('y')").name == "y"


@pytest.mark.parametrize(
    ("files", "name"),
    [
        pytest.param(["app.py"], "from app.py", id="app.py"),
        pytest.param(["wsgi.py"], "from wsgi.py", id="wsgi.py"),
        pytest.param(["asgi.py"], "from asgi.py", id="asgi.py"),
        pytest.param(["app.py", "wsgi.py", "asgi.py"], "from wsgi.py", id="wsgi.py-first"),
        pytest.param(["app.py", "asgi.py"], "from app.py", id="app.py-before-asgi.py"),
    ],
)
def test_default_files(empty_dir: Path, files: list[str], name: str) -> None:
    for filename in files:
        (empty_dir / filename).write_text(
            f"from asyncflask import AsyncFlask\n\napp = AsyncFlask('from {filename}')\n"
        )
    assert ScriptInfo().load_app().name == name


def test_default_file_without_an_app_is_an_error(empty_dir: Path) -> None:
    (empty_dir / "app.py").write_text("value = 1\n")
    with pytest.raises(
        NoAppException, match="^Failed to find an AsyncFlask application or factory in module 'app'"
    ):
        ScriptInfo().load_app()


def test_no_app_found(empty_dir: Path) -> None:
    with pytest.raises(NoAppException) as exc_info:
        ScriptInfo().load_app()
    assert exc_info.value.message == NO_APP_MESSAGE


def test_load_app_happens_once() -> None:
    calls: list[AsyncFlask] = []

    def create() -> AsyncFlask:
        calls.append(AsyncFlask("once", static_folder=None))
        return calls[-1]

    info = ScriptInfo(create_app=create)
    assert info.load_app() is info.load_app() is calls[0]
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("env", "set_debug_flag", "expected"),
    [
        pytest.param(None, True, True, id="unset-keeps-the-app's-value"),
        pytest.param("0", True, False, id="0"),
        pytest.param("false", True, False, id="false"),
        pytest.param("1", True, True, id="1"),
        pytest.param("0", False, True, id="ignored-when-disabled"),
    ],
)
def test_debug_flag_from_environment(
    in_apps: Path, env: str | None, set_debug_flag: bool, expected: bool
) -> None:
    if env is not None:
        os.environ["ASYNCFLASK_DEBUG"] = env
    app = ScriptInfo("factory_args:create_app('d', debug=True)", set_debug_flag=set_debug_flag).load_app()
    assert app.debug is expected


# ---------------------------------------------------------------------------------------------
# The command line: --app, --debug, help


def test_app_option_and_sync_command(in_apps: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--app", "with_commands", "hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello from with_commands\n"


def test_app_environment_variable_and_async_command(
    in_apps: Path, cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(cli, ["ahello", "world"], env={"ASYNCFLASK_APP": "with_commands"})
    assert result.exit_code == 0, result.output
    assert result.output == "async hello world from with_commands\n"


def test_option_wins_over_environment(in_apps: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["-A", "with_commands.py", "hello"], env={"ASYNCFLASK_APP": "app_attr"})
    assert result.output == "hello from with_commands\n"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        pytest.param([], None, "debug=False\n", id="default"),
        pytest.param(["--debug"], None, "debug=True\n", id="--debug"),
        pytest.param(["--no-debug"], "1", "debug=False\n", id="--no-debug-over-env"),
        pytest.param([], "1", "debug=True\n", id="env"),
    ],
)
def test_debug_option(
    in_apps: Path, cli: AsyncFlaskGroup, runner: CliRunner, args: list[str], env: str | None, expected: str
) -> None:
    result = runner.invoke(
        cli, ["--app", "with_commands", *args, "show-debug"], env={"ASYNCFLASK_DEBUG": env}
    )
    assert result.output == expected


def test_debug_option_is_exported_for_factories(
    in_apps: Path, cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    runner.invoke(cli, ["--app", "with_commands", "--debug", "show-debug"])
    assert os.environ["ASYNCFLASK_DEBUG"] == "1"


APP_COMMANDS_HELP = """\
Commands:
  ahello      Say hello asynchronously.
  hello       Say hello from the app.
  plain       A plain click command.
  routes      Show the routes for the app.
  run         Run a development server.
  shell       Run a shell in the app context.
  show-debug  Print the app's debug flag.
"""
BUILTIN_COMMANDS_HELP = """\
Commands:
  routes  Show the routes for the app.
  run     Run a development server.
  shell   Run a shell in the app context.
"""


@pytest.mark.parametrize(
    ("args", "env", "exit_code"),
    [
        pytest.param(["--app", "with_commands", "--help"], {}, 0, id="option"),
        pytest.param(["--help"], {"ASYNCFLASK_APP": "with_commands"}, 0, id="environment"),
        # click prints help for a bare group, as a usage error.
        pytest.param([], {"ASYNCFLASK_APP": "with_commands"}, 2, id="no-arguments"),
    ],
)
def test_help_lists_app_commands(
    in_apps: Path,
    cli: AsyncFlaskGroup,
    runner: CliRunner,
    args: list[str],
    env: dict[str, str],
    exit_code: int,
) -> None:
    result = runner.invoke(cli, args, env=env)
    assert result.exit_code == exit_code
    assert result.output.startswith("Usage: asyncflask [OPTIONS] COMMAND [ARGS]...\n")
    assert result.output.endswith(APP_COMMANDS_HELP)
    assert "Error" not in result.output


def test_help_without_an_app_still_works(empty_dir: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert result.stdout.endswith(BUILTIN_COMMANDS_HELP)
    assert result.stderr == f"Error: {NO_APP_MESSAGE}\n\n"


def test_help_with_a_broken_app_still_works(in_apps: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--app", "import_error", "--help"])
    assert result.exit_code == 0
    assert result.stdout.endswith(BUILTIN_COMMANDS_HELP)
    assert result.stderr.startswith("Error: While importing 'import_error', an ImportError was raised:")

    result = runner.invoke(cli, ["--app", "runtime_error", "--help"])
    assert result.exit_code == 0
    assert result.stdout.endswith(BUILTIN_COMMANDS_HELP)
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert "RuntimeError: boom at import\n" in result.stderr


def test_unknown_command_without_an_app(empty_dir: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["nope"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {NO_APP_MESSAGE}\n\n"
        "Usage: asyncflask [OPTIONS] COMMAND [ARGS]...\n"
        "Try 'asyncflask --help' for help.\n\n"
        "Error: No such command 'nope'.\n"
    )


def test_builtin_command_without_an_app(empty_dir: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["routes"])
    assert result.exit_code == 2
    assert result.stderr == (
        "Usage: asyncflask routes [OPTIONS]\n"
        "Try 'asyncflask routes --help' for help.\n\n"
        f"Error: {NO_APP_MESSAGE}\n"
    )


def test_broken_app_error_on_the_command_line(in_apps: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--app", "two_apps", "routes"])
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: Detected multiple AsyncFlask applications in module 'two_apps'. Use 'two_apps:name' to"
        " specify the correct one.\n"
    )


def test_version(cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"Python {platform.python_version()}"
    assert lines[1].startswith("AsyncFlask ")
    assert lines[2] == f"Starlette {importlib.metadata.version('starlette')}"
    assert lines[3] == f"Uvicorn {importlib.metadata.version('uvicorn')}"


def test_main_runs_the_command_line(
    empty_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["asyncflask", "--help"])
    with pytest.raises(SystemExit) as exc_info:
        cli_module.main()
    assert exc_info.value.code == 0
    out = capsys.readouterr().out
    # The program name depends on how pytest was started; the rest does not.
    assert out.startswith("Usage: ")
    assert "asyncflask [OPTIONS] COMMAND [ARGS]...\n" in out.splitlines(keepends=True)[0]


def test_python_m_asyncflask(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "asyncflask", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: python -m asyncflask [OPTIONS] COMMAND [ARGS]...\n")
    assert proc.stdout.endswith(BUILTIN_COMMANDS_HELP)
    assert proc.stderr == f"Error: {NO_APP_MESSAGE}\n\n"


# ---------------------------------------------------------------------------------------------
# .env files


@pytest.fixture
def dotenv_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with both dotenv files, entered from a subdirectory."""
    del os.environ["ASYNCFLASK_SKIP_DOTENV"]
    (tmp_path / ".env").write_text("FROM_ENV=env\nSHARED=env\nPRESET=env\n")
    (tmp_path / ".asyncflaskenv").write_text(
        f"FROM_AF=af\nSHARED=af\nASYNCFLASK_APP={CLI_APPS / 'with_commands.py'}\n"
    )
    (tmp_path / "extra.env").write_text("SHARED=extra\nFROM_EXTRA=extra\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    for name in ("FROM_ENV", "FROM_AF", "FROM_EXTRA", "SHARED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PRESET", "kept")
    return tmp_path


def test_load_dotenv(dotenv_dir: Path) -> None:
    assert load_dotenv() is True
    assert os.environ["FROM_ENV"] == "env"
    assert os.environ["FROM_AF"] == "af"
    assert os.environ["SHARED"] == "env"
    assert os.environ["PRESET"] == "kept"


def test_load_dotenv_with_a_file(dotenv_dir: Path) -> None:
    assert load_dotenv(dotenv_dir / "extra.env") is True
    assert os.environ["SHARED"] == "extra"
    assert os.environ["FROM_ENV"] == "env"


def test_load_dotenv_only_a_file(dotenv_dir: Path) -> None:
    assert load_dotenv(dotenv_dir / "extra.env", load_defaults=False) is True
    assert os.environ["SHARED"] == "extra"
    assert "FROM_ENV" not in os.environ


def test_load_dotenv_nothing_to_load(empty_dir: Path) -> None:
    assert load_dotenv() is False


def test_dotenv_names_the_app(dotenv_dir: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["hello"])
    assert result.output == "hello from with_commands\n"
    assert os.environ["FROM_ENV"] == "env"


def test_env_file_option(dotenv_dir: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--env-file", str(dotenv_dir / "extra.env"), "hello"])
    assert result.output == "hello from with_commands\n"
    assert os.environ["SHARED"] == "extra"


def test_env_file_must_exist(empty_dir: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--env-file", "missing.env", "routes"])
    assert result.exit_code == 2
    assert "Error: Invalid value for '-e' / '--env-file': File 'missing.env' does not exist." in result.stderr


def test_skip_dotenv(dotenv_dir: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    os.environ["ASYNCFLASK_SKIP_DOTENV"] = "1"
    result = runner.invoke(cli, ["hello"])
    assert result.exit_code == 2
    assert "FROM_ENV" not in os.environ


def test_without_python_dotenv(
    dotenv_dir: Path, monkeypatch: pytest.MonkeyPatch, cli: AsyncFlaskGroup
) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)
    assert load_dotenv() is False
    assert "FROM_ENV" not in os.environ

    runner = CliRunner()
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert result.stderr == f"Error: {NO_APP_MESSAGE}\n\n"

    result = runner.invoke(cli, ["--env-file", str(dotenv_dir / "extra.env"), "routes"])
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: Invalid value for '-e' / '--env-file': python-dotenv must be installed to load an env"
        " file (pip install python-dotenv).\n"
    )


# ---------------------------------------------------------------------------------------------
# App commands and contexts


def make_command_app(events: list[Any]) -> AsyncFlask:
    app = AsyncFlask("commands", static_folder=None)

    @app.teardown_appcontext
    def teardown(exc: BaseException | None) -> None:
        events.append(("teardown", exc))

    @app.cli.command("sync")
    @click.option("--name", default="world")
    def sync_command(name: str) -> None:
        g.setdefault("name", name)
        events.append(("sync", current_app.name, g.get("name")))
        click.echo(f"sync {name}")

    @app.cli.command("async")
    @click.argument("count", type=int)
    async def async_command(count: int) -> None:
        await asyncio.sleep(0)
        g.setdefault("count", count)
        events.append(("async", current_app.name, g.get("count")))
        click.echo(f"async {count}")

    @app.cli.command("fail")
    async def fail_command() -> None:
        raise ValueError("command failed")

    @app.cli.command("exit")
    def exit_command() -> None:
        click.get_current_context().exit(3)

    return app


def test_sync_command_runs_in_the_app_context() -> None:
    events: list[Any] = []
    app = make_command_app(events)
    result = app.test_cli_runner().invoke(args=["sync", "--name", "you"])
    assert result.exit_code == 0, result.output
    assert result.output == "sync you\n"
    assert events == [("sync", "commands", "you"), ("teardown", None)]
    assert not has_app_context()


def test_async_command_runs_in_the_app_context() -> None:
    events: list[Any] = []
    app = make_command_app(events)
    result = app.test_cli_runner().invoke(args=["async", "3"])
    assert result.exit_code == 0, result.output
    assert result.output == "async 3\n"
    assert events == [("async", "commands", 3), ("teardown", None)]
    assert not has_app_context()


def test_failing_command_passes_its_error_to_teardown() -> None:
    events: list[Any] = []
    result = make_command_app(events).test_cli_runner().invoke(args=["fail"])
    assert isinstance(result.exception, ValueError)
    assert events == [("teardown", result.exception)]
    assert not has_app_context()


def test_exiting_command_is_not_an_error_for_teardown() -> None:
    events: list[Any] = []
    result = make_command_app(events).test_cli_runner().invoke(args=["exit"])
    assert result.exit_code == 3
    assert events == [("teardown", None)]


def test_step_in_context_runs_every_step_in_the_given_context() -> None:
    # The Python 3.10 stand-in for asyncio.Runner(context=...), exercised on every version.
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    context = contextvars.copy_context()

    async def work() -> str:
        token = var.set("inside")
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        await asyncio.get_running_loop().run_in_executor(None, lambda: None)
        failing = asyncio.get_running_loop().create_future()
        failing.get_loop().call_soon(failing.set_exception, KeyError("thrown in"))
        try:
            await failing
        except KeyError:
            pass
        # Resetting a token only works in the Context that created it.
        var.reset(token)
        var.set("kept")
        return "done"

    async def fail() -> None:
        await asyncio.sleep(0)
        raise LookupError("raised out")

    assert asyncio.run(cli_module._step_in_context(work(), context)) == "done"
    assert context[var] == "kept"
    assert var.get(None) is None
    with pytest.raises(LookupError, match="^raised out$"):
        asyncio.run(cli_module._step_in_context(fail(), context))


async def test_commands_work_inside_a_running_event_loop() -> None:
    events: list[Any] = []
    runner = make_command_app(events).test_cli_runner()
    assert runner.invoke(args=["async", "1"]).output == "async 1\n"
    assert runner.invoke(args=["sync"]).output == "sync world\n"
    assert events == [
        ("async", "commands", 1),
        ("teardown", None),
        ("sync", "commands", "world"),
        ("teardown", None),
    ]
    assert not has_app_context()


async def test_an_active_app_context_is_used_as_is() -> None:
    events: list[Any] = []
    app = make_command_app(events)
    runner = app.test_cli_runner()
    async with app.app_context():
        assert runner.invoke(args=["sync"]).output == "sync world\n"
        assert runner.invoke(args=["async", "2"]).output == "async 2\n"
        # The commands wrote to this context's g, and it was not torn down under us.
        assert (g.get("name"), g.get("count")) == ("world", 2)
    assert events == [("sync", "commands", "world"), ("async", "commands", 2), ("teardown", None)]


def test_commands_from_the_app_module(in_apps: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    assert runner.invoke(cli, ["--app", "with_commands", "hello"]).output == "hello from with_commands\n"
    result = runner.invoke(cli, ["--app", "with_commands", "ahello", "x"])
    assert result.output == "async hello x from with_commands\n"
    # A plain click command added to app.cli runs in the app context too.
    assert runner.invoke(cli, ["--app", "with_commands", "plain"]).output == "plain sees with_commands\n"
    result = runner.invoke(cli, ["--app", "with_commands", "ahello", "--help"])
    assert result.output == (
        "Usage: asyncflask ahello [OPTIONS] WHO\n\n  Say hello asynchronously.\n\n"
        "Options:\n  --help  Show this message and exit.\n"
    )
    assert not has_app_context()


@pytest.mark.parametrize(
    ("args", "output", "teardown_error"),
    [
        pytest.param(["plain"], "plain commands\n", None, id="plain-command"),
        pytest.param(["sync"], "sync world\n", None, id="app-group-command"),
        pytest.param(["async", "5"], "async 5\n", None, id="async-command"),
        pytest.param(["plain-fail"], "", LookupError, id="failing-plain-command"),
    ],
)
def test_group_pushes_one_app_context_per_app_command(
    runner: CliRunner, args: list[str], output: str, teardown_error: type[BaseException] | None
) -> None:
    events: list[Any] = []
    app = make_command_app(events)

    @click.command("plain")
    def plain() -> None:
        click.echo(f"plain {current_app.name}")

    @click.command("plain-fail")
    def plain_fail() -> None:
        raise LookupError("plain failure")

    app.cli.add_command(plain)
    app.cli.add_command(plain_fail)
    result = runner.invoke(AsyncFlaskGroup(create_app=lambda: app), args)
    assert result.output == output
    teardowns = [event for event in events if event[0] == "teardown"]
    assert len(teardowns) == 1
    if teardown_error is None:
        assert teardowns[0][1] is None
    else:
        assert isinstance(teardowns[0][1], teardown_error)
        assert result.exception is teardowns[0][1]
    assert not has_app_context()


def test_app_cli_is_an_app_group_and_groups_nest() -> None:
    app = AsyncFlask("groups", static_folder=None)
    assert isinstance(app.cli, AppGroup)

    @app.cli.group()
    def db() -> None:
        """Database commands."""

    assert isinstance(db, AppGroup)

    @db.command
    async def init() -> None:
        click.echo(f"init {current_app.name}")

    @app.cli.group
    def bare() -> None:
        """A group declared without parentheses."""

    assert isinstance(bare, AppGroup)

    @bare.command("no-context", with_appcontext=False)
    def no_context() -> None:
        click.echo(f"context={has_app_context()}")

    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "init"]).output == "init groups\n"
    assert runner.invoke(args=["bare", "no-context"]).output == "context=False\n"


def test_with_appcontext_on_plain_click_commands(runner: CliRunner) -> None:
    app = AsyncFlask("plain", static_folder=None)

    @click.command()
    @with_appcontext
    def sync_plain() -> None:
        click.echo(f"sync {current_app.name}")

    @click.command()
    @with_appcontext
    async def async_plain() -> None:
        click.echo(f"async {current_app.name}")

    assert runner.invoke(sync_plain, obj=info_for(app)).output == "sync plain\n"
    assert runner.invoke(async_plain, obj=info_for(app)).output == "async plain\n"


def test_cli_runner() -> None:
    app = AsyncFlask("runner", static_folder=None)
    runner = app.test_cli_runner()
    assert isinstance(runner, AsyncFlaskCliRunner)
    assert runner.app is app

    @click.command()
    @click.pass_obj
    def show(info: ScriptInfo) -> None:
        click.echo(f"{info.load_app().name} {info.load_app() is app}")

    assert runner.invoke(show).output == "runner True\n"
    assert (
        runner.invoke(show, obj=info_for(AsyncFlask("other", static_folder=None))).output == "other False\n"
    )


# ---------------------------------------------------------------------------------------------
# Plugin commands


class FakeEntryPoint:
    def __init__(self, name: str, value: str, target: click.Command | Exception) -> None:
        self.name = name
        self.value = value
        self.target = target

    def load(self) -> click.Command:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    @click.command()
    def plugin() -> None:
        """A command from a plugin."""
        click.echo("plugin ran")

    lookups: list[dict[str, Any]] = []

    def entry_points(**kwargs: Any) -> list[FakeEntryPoint]:
        lookups.append(kwargs)
        return [
            FakeEntryPoint("from-plugin", "some_pkg.cli:plugin", plugin),
            FakeEntryPoint("broken", "broken_pkg:cmd", ImportError("no broken_pkg")),
        ]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return lookups


def test_plugin_commands_run_without_an_app(
    empty_dir: Path, plugins: list[dict[str, Any]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(cli, ["from-plugin"])
    assert result.exit_code == 0
    assert result.stdout == "plugin ran\n"
    assert result.stderr == "Error: could not load the command 'broken' (broken_pkg:cmd): no broken_pkg\n"
    assert plugins == [{"group": "asyncflask.commands"}]


def test_plugin_and_app_commands_in_help(
    in_apps: Path, plugins: list[dict[str, Any]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(cli, ["--app", "with_commands", "--help"])
    assert result.stdout.endswith(
        "Commands:\n"
        "  ahello       Say hello asynchronously.\n"
        "  from-plugin  A command from a plugin.\n"
        "  hello        Say hello from the app.\n"
        "  plain        A plain click command.\n"
        "  routes       Show the routes for the app.\n"
        "  run          Run a development server.\n"
        "  shell        Run a shell in the app context.\n"
        "  show-debug   Print the app's debug flag.\n"
    )
    assert len(plugins) == 1


# ---------------------------------------------------------------------------------------------
# routes


def make_routes_app() -> AsyncFlask:
    app = AsyncFlask("routes_app", static_folder=None)

    @app.get("/")
    async def index() -> str:
        return "index"

    @app.route("/users/<int:id>", methods=["GET", "POST"])
    async def user(id: int) -> str:
        return "user"

    @app.post("/login")
    async def login() -> str:
        return "login"

    @app.delete("/users/<int:id>")
    async def delete_user(id: int) -> str:
        return "deleted"

    return app


ROUTES_BY_ENDPOINT = """\
Endpoint     Methods    Rule
-----------  ---------  ---------------
delete_user  DELETE     /users/<int:id>
index        GET        /
login        POST       /login
user         GET, POST  /users/<int:id>
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param([], ROUTES_BY_ENDPOINT, id="default"),
        pytest.param(["--sort", "endpoint"], ROUTES_BY_ENDPOINT, id="endpoint"),
        pytest.param(
            ["-s", "methods"],
            """\
Endpoint     Methods    Rule
-----------  ---------  ---------------
delete_user  DELETE     /users/<int:id>
index        GET        /
user         GET, POST  /users/<int:id>
login        POST       /login
""",
            id="methods",
        ),
        pytest.param(
            ["--sort", "rule"],
            """\
Endpoint     Methods    Rule
-----------  ---------  ---------------
index        GET        /
login        POST       /login
user         GET, POST  /users/<int:id>
delete_user  DELETE     /users/<int:id>
""",
            id="rule",
        ),
        pytest.param(
            ["--sort", "match"],
            """\
Endpoint     Methods    Rule
-----------  ---------  ---------------
index        GET        /
user         GET, POST  /users/<int:id>
login        POST       /login
delete_user  DELETE     /users/<int:id>
""",
            id="match",
        ),
        pytest.param(
            ["--all-methods", "--sort", "match"],
            """\
Endpoint     Methods                   Rule
-----------  ------------------------  ---------------
index        GET, HEAD, OPTIONS        /
user         GET, HEAD, OPTIONS, POST  /users/<int:id>
login        OPTIONS, POST             /login
delete_user  DELETE, OPTIONS           /users/<int:id>
""",
            id="all-methods",
        ),
    ],
)
def test_routes(cli: AsyncFlaskGroup, runner: CliRunner, args: list[str], expected: str) -> None:
    result = runner.invoke(cli, ["routes", *args], obj=info_for(make_routes_app()))
    assert result.exit_code == 0, result.output
    assert result.output == expected


def test_routes_rejects_unknown_sort(cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["routes", "--sort", "size"], obj=info_for(make_routes_app()))
    assert result.exit_code == 2
    assert "Invalid value for '--sort' / '-s'" in result.stderr


def test_routes_when_there_are_none(cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["routes"], obj=info_for(AsyncFlask("empty", static_folder=None)))
    assert result.output == "No routes were registered.\n"


def test_routes_subdomain_column(cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    app = AsyncFlask("subdomains", static_folder=None, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.com"

    @app.get("/")
    async def index() -> str:
        return "index"

    @app.get("/", subdomain="api", endpoint="api_index")
    async def api_index() -> str:
        return "api"

    result = runner.invoke(cli, ["routes"], obj=info_for(app))
    assert result.output == (
        "Endpoint   Methods  Subdomain  Rule\n"
        "---------  -------  ---------  ----\n"
        "api_index  GET      api        /\n"
        "index      GET                 /\n"
    )
    result = runner.invoke(cli, ["routes", "--sort", "domain"], obj=info_for(app))
    assert result.output.splitlines()[2:] == [
        "index      GET                 /",
        "api_index  GET      api        /",
    ]


def test_routes_host_column(cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    app = AsyncFlask("hosts", static_folder=None, host_matching=True)

    @app.get("/", host="example.com")
    async def index() -> str:
        return "index"

    @app.get("/v1", host="api.example.com")
    async def api() -> str:
        return "api"

    result = runner.invoke(cli, ["routes"], obj=info_for(app))
    assert result.output == (
        "Endpoint  Methods  Host             Rule\n"
        "--------  -------  ---------------  ----\n"
        "api       GET      api.example.com  /v1\n"
        "index     GET      example.com      /\n"
    )


def test_routes_shows_websockets(cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    app = AsyncFlask("ws", static_folder=None)

    async def feed() -> None:
        pass

    app.add_url_rule("/ws", view_func=feed, websocket=True)

    result = runner.invoke(cli, ["routes"], obj=info_for(app))
    assert result.output == (
        "Endpoint  Methods    Rule\n--------  ---------  ----\nfeed      WEBSOCKET  /ws\n"
    )


def test_routes_from_the_app_option(in_apps: Path, cli: AsyncFlaskGroup, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--app", "app_attr", "routes"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Endpoint  Methods  Rule"


# ---------------------------------------------------------------------------------------------
# shell


def test_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    app = AsyncFlask("shell_app", static_folder=None)

    @app.shell_context_processor
    def extra() -> dict[str, Any]:
        return {"answer": 42}

    startup = tmp_path / "startup.py"
    startup.write_text("from_startup = 'yes'\n")
    monkeypatch.setenv("PYTHONSTARTUP", str(startup))
    # site's hook would set up readline history for the real terminal.
    monkeypatch.delattr(sys, "__interactivehook__", raising=False)
    seen: dict[str, Any] = {}

    def interact(banner: str | None = None, local: dict[str, Any] | None = None, **kwargs: Any) -> None:
        seen.update(banner=banner, local=local, active=has_app_context(), current=current_app.name)

    monkeypatch.setattr(code, "interact", interact)
    result = runner.invoke(cli, ["shell"], obj=info_for(app))
    assert result.exit_code == 0, result.output
    assert seen["banner"] == (
        f"Python {sys.version} on {sys.platform}\nApp: shell_app\nInstance: {app.instance_path}"
    )
    namespace = seen["local"]
    assert namespace["app"] is app
    assert namespace["g"] is g
    assert namespace["answer"] == 42
    assert namespace["from_startup"] == "yes"
    assert seen["active"] is True
    assert seen["current"] == "shell_app"
    assert not has_app_context()


# ---------------------------------------------------------------------------------------------
# run


LIMITS = {
    "http": "h11",
    "h11_max_incomplete_event_size": 65536,
    "ws_max_size": 16777216,
    "ws_max_queue": 32,
    "timeout_graceful_shutdown": 10.0,
}
FACTORY = "asyncflask.cli:_load_app_for_uvicorn"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, dict[str, Any]]]:
    """Record app.run and uvicorn.run calls instead of serving."""
    calls: list[tuple[str, Any, dict[str, Any]]] = []

    def app_run(self: AsyncFlask, **kwargs: Any) -> None:
        calls.append(("app.run", self, kwargs))

    def uvicorn_run(app: Any, **kwargs: Any) -> None:
        calls.append(("uvicorn.run", app, kwargs))

    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a test tried to start a real server")

    monkeypatch.setattr(AsyncFlask, "run", app_run)
    monkeypatch.setattr(uvicorn, "run", uvicorn_run)
    monkeypatch.setattr(uvicorn.Server, "serve", refuse)
    return calls


def test_run_calls_app_run(
    in_apps: Path, served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(cli, ["--app", "app_attr", "run"])
    assert result.exit_code == 0, result.output
    assert result.output == " * Serving AsyncFlask app 'app_attr'\n * Debug mode: off\n"
    [(kind, app, kwargs)] = served
    assert kind == "app.run"
    assert app is sys.modules["app_attr"].app
    assert kwargs == {
        "host": "127.0.0.1",
        "port": 5000,
        "debug": False,
        "load_dotenv": False,
        "use_reloader": False,
        **LIMITS,
    }


def test_run_options(
    in_apps: Path, served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(
        cli,
        [
            "--app",
            "app_attr",
            "run",
            "-h",
            "0.0.0.0",
            "-p",
            "8001",
            "--log-level",
            "warning",
            "--debug",
            "--no-reload",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output == " * Serving AsyncFlask app 'app_attr'\n * Debug mode: on\n"
    [(kind, app, kwargs)] = served
    assert kind == "app.run"
    assert app.debug is True
    assert kwargs == {
        "host": "0.0.0.0",
        "port": 8001,
        "debug": True,
        "load_dotenv": False,
        "use_reloader": False,
        "log_level": "warning",
        **LIMITS,
    }
    assert os.environ["ASYNCFLASK_DEBUG"] == "1"


def test_run_options_from_the_environment(
    in_apps: Path, served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(cli, ["run"], env={"ASYNCFLASK_APP": "app_attr", "ASYNCFLASK_RUN_PORT": "9000"})
    assert result.exit_code == 0, result.output
    assert served[0][2]["port"] == 9000


def test_run_websocket_limit_from_config(
    served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    app = AsyncFlask("limits", static_folder=None)
    app.config["WEBSOCKET_MAX_MESSAGE_SIZE"] = 1024
    result = runner.invoke(cli, ["run"], obj=info_for(app))
    assert result.exit_code == 0, result.output
    assert served[0][2]["ws_max_size"] == 1024


def test_run_reload_gives_uvicorn_an_import_string(
    in_apps: Path, served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(cli, ["--app", "app_attr", "run", "--reload", "--port", "8002"])
    assert result.exit_code == 0, result.output
    [(kind, target, kwargs)] = served
    assert (kind, target) == ("uvicorn.run", FACTORY)
    assert kwargs == {
        "factory": True,
        "host": "127.0.0.1",
        "port": 8002,
        "reload": True,
        "workers": None,
        "lifespan": "on",
        "log_level": "info",
        **LIMITS,
    }
    assert os.environ[cli_module._UVICORN_APP_ENV] == "app_attr"

    # What uvicorn's reloaded process does: import the target afresh and call it.
    first = sys.modules.pop("app_attr").app
    rebuilt = import_from_string(target)()
    assert isinstance(rebuilt, AsyncFlask)
    assert rebuilt is not first
    assert rebuilt.name == "app_attr"


def test_run_reload_rebuilds_a_factory_with_arguments(
    in_apps: Path, served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    spec = "factory_args:create_app('x', debug=True, tags=['t'])"
    result = runner.invoke(cli, ["--app", spec, "run", "--workers", "3"])
    assert result.exit_code == 0, result.output
    # Debug comes from the factory, so reload is on as in debug mode.
    assert result.output == f" * Serving AsyncFlask app '{spec}'\n * Debug mode: on\n"
    [(kind, target, kwargs)] = served
    assert (kind, target) == ("uvicorn.run", FACTORY)
    assert (kwargs["reload"], kwargs["workers"], kwargs["log_level"]) == (True, 3, "debug")
    assert os.environ[cli_module._UVICORN_APP_ENV] == spec

    sys.modules.pop("factory_args")
    rebuilt = import_from_string(target)()
    assert (rebuilt.name, rebuilt.debug, rebuilt.config["TAGS"]) == ("x", True, ["t"])


def test_run_workers_without_reload(
    in_apps: Path, served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(cli, ["--app", "app_attr", "run", "--workers", "4"])
    assert result.exit_code == 0, result.output
    [(kind, target, kwargs)] = served
    assert (kind, target, kwargs["reload"], kwargs["workers"]) == ("uvicorn.run", FACTORY, False, 4)


def test_run_debug_turns_reload_on(
    in_apps: Path, served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(cli, ["--app", "app_attr", "--debug", "run"])
    assert result.exit_code == 0, result.output
    [(kind, target, kwargs)] = served
    assert (kind, target, kwargs["reload"], kwargs["log_level"]) == ("uvicorn.run", FACTORY, True, "debug")
    assert os.environ["ASYNCFLASK_DEBUG"] == "1"
    assert import_from_string(target)().debug is True


def test_run_reload_with_a_default_app_file(
    empty_dir: Path, served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    (empty_dir / "app.py").write_text("from asyncflask import AsyncFlask\n\napp = AsyncFlask('default')\n")
    result = runner.invoke(cli, ["run", "--reload"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(" * Serving AsyncFlask app 'default'\n")
    assert os.environ[cli_module._UVICORN_APP_ENV] == ""
    sys.modules.pop("app")
    assert import_from_string(served[0][1])().name == "default"


def test_run_reload_watches_an_app_outside_the_current_directory(
    empty_dir: Path, served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(cli, ["--app", str(CLI_APPS / "app_attr.py"), "run", "--reload"])
    assert result.exit_code == 0, result.output
    assert served[0][2]["reload_dirs"] == [str(empty_dir), os.path.realpath(CLI_APPS)]


def test_run_reload_needs_an_importable_app(
    served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(cli, ["run", "--reload"], obj=info_for(AsyncFlask("object", static_folder=None)))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.endswith(
        "Error: --reload and --workers need an app that can be imported again; name it with --app or"
        " ASYNCFLASK_APP instead of passing an app object.\n"
    )
    assert served == []


def test_run_without_an_app(
    empty_dir: Path, served: list[tuple[str, Any, dict[str, Any]]], cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    result = runner.invoke(cli, ["run"])
    assert result.exit_code == 2
    assert result.stderr.endswith(f"Error: {NO_APP_MESSAGE}\n")
    assert served == []


def test_run_through_app_run_reaches_uvicorn(
    in_apps: Path, monkeypatch: pytest.MonkeyPatch, cli: AsyncFlaskGroup, runner: CliRunner
) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []

    def uvicorn_run(app: Any, **kwargs: Any) -> None:
        calls.append((app, kwargs))

    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a test tried to start a real server")

    monkeypatch.setattr(uvicorn, "run", uvicorn_run)
    monkeypatch.setattr(uvicorn.Server, "serve", refuse)
    result = runner.invoke(cli, ["--app", "app_attr", "run", "--port", "8003"])
    assert result.exit_code == 0, result.output
    [(app, kwargs)] = calls
    assert app is sys.modules["app_attr"].app
    assert kwargs["host"] == "127.0.0.1"
    assert kwargs["port"] == 8003
    assert {key: kwargs[key] for key in LIMITS} == LIMITS
