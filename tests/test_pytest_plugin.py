"""The pytest plugin (`pytest11` entry point): `client` and `runner` for a project's `app` fixture.

Each test writes a small project and runs pytest on it in a subprocess, so the plugin is
loaded exactly as in a user's project: through the installed entry point.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TIMEOUT = 120.0

SYNC_APP_FIXTURE = """
@pytest.fixture
def app(request):
    app = make_app()
    yield app
    record(request, app)
"""

ASYNC_APP_FIXTURE = """
@pytest_asyncio.fixture
async def app(request):
    app = make_app()
    yield app
    record(request, app)
"""

CONFTEST = """
import pytest
import pytest_asyncio

from asyncflask import AsyncFlask


def make_app():
    app = AsyncFlask("inner_app")
    app.config["TESTING"] = True
    app.extensions["events"] = []

    @app.before_serving
    async def start():
        app.extensions["events"].append("startup")
        app.config["STARTED"] = True

    @app.after_serving
    async def stop():
        app.extensions["events"].append("shutdown")

    @app.get("/")
    async def index():
        return "started" if app.config.get("STARTED") else "not started"

    @app.cli.command("hello")
    def hello():
        print("hello from the cli")

    return app


def record(request, app):
    # Runs after `client` is closed: the whole lifespan is visible here.
    with open("events.log", "a") as log:
        log.write(f"{request.node.name}: {' '.join(app.extensions['events'])}\\n")

"""

TESTS = """
import pytest

from asyncflask import has_app_context


{mark}async def test_client_runs_the_lifespan(client):
    response = await client.get("/")
    assert (response.status_code, response.text) == (200, "started")


def test_runner_runs_commands(runner):
    result = runner.invoke(args=["hello"])
    assert (result.exit_code, result.output) == (0, "hello from the cli\\n")


{mark}async def test_client_and_runner_share_the_app(client, runner, app):
    assert client.app is app and runner.app is app
    response = await client.get("/")
    assert response.text == "started"
    assert runner.invoke(args=["hello"]).output == "hello from the cli\\n"


def test_no_context_is_left_behind():
    assert not has_app_context()
"""

EXPECTED_EVENTS = [
    "test_client_runs_the_lifespan: startup shutdown",
    "test_runner_runs_commands: ",
    "test_client_and_runner_share_the_app: startup shutdown",
]


def run(pytester: pytest.Pytester, mode: str, *args: str) -> pytest.RunResult:
    """Run pytest on the project in a subprocess, warnings as errors, in the given asyncio mode."""
    return pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-W",
        "error",
        "-o",
        f"asyncio_mode={mode}",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        *args,
        timeout=TIMEOUT,
    )


@pytest.mark.parametrize(
    ("mode", "app_fixture"),
    [
        pytest.param("strict", SYNC_APP_FIXTURE, id="strict-sync-app"),
        pytest.param("strict", ASYNC_APP_FIXTURE, id="strict-async-app"),
        pytest.param("auto", SYNC_APP_FIXTURE, id="auto-sync-app"),
        pytest.param("auto", ASYNC_APP_FIXTURE, id="auto-async-app"),
    ],
)
def test_client_and_runner_fixtures(pytester: pytest.Pytester, mode: str, app_fixture: str) -> None:
    pytester.makeconftest(CONFTEST + textwrap.dedent(app_fixture))
    # Strict mode needs the asyncio mark on async tests; auto mode runs them without it.
    mark = "@pytest.mark.asyncio\n" if mode == "strict" else ""
    pytester.makepyfile(test_project=TESTS.format(mark=mark))

    result = run(pytester, mode)

    result.assert_outcomes(passed=4)
    assert (pytester.path / "events.log").read_text().splitlines() == EXPECTED_EVENTS


def test_the_plugin_is_loaded_from_the_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_nothing="""
        def test_nothing():
            pass
        """
    )
    result = run(pytester, "strict", "--trace-config")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*PLUGIN registered: <module 'asyncflask.pytest_plugin'*"])

    fixtures = run(pytester, "strict", "--fixtures")
    fixtures.stdout.fnmatch_lines(
        [
            "*client*",
            "*The app's test client with the lifespan running*",
            "*runner*",
            "*A click runner for the app's commands*",
        ]
    )


@pytest.mark.parametrize("mode", [pytest.param("strict", id="strict"), pytest.param("auto", id="auto")])
def test_projects_without_an_app_are_unaffected(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def client():
            # A project's own fixture of the same name, with no `app` anywhere.
            return "the project's own client"
        """
    )
    mark = "@pytest.mark.asyncio\n" if mode == "strict" else ""
    pytester.makepyfile(
        test_other=f"""
        import asyncio

        import pytest


        def test_plugin_loaded_without_autouse_fixtures(request):
            with open("fixturenames.txt", "w") as out:
                out.write(" ".join(sorted(request.fixturenames)))


        def test_own_client_fixture_wins(client):
            assert client == "the project's own client"


        {mark.strip()}
        async def test_async_code_still_works():
            await asyncio.sleep(0)
        """
    )
    without_plugin = run(pytester, mode, "-p", "no:asyncflask")
    without_plugin.assert_outcomes(passed=3)
    names_without_plugin = (pytester.path / "fixturenames.txt").read_text()

    result = run(pytester, mode, "--trace-config")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*PLUGIN registered: <module 'asyncflask.pytest_plugin'*"])
    # The plugin is active, yet the test sees the very same fixtures (nothing autouse).
    assert (pytester.path / "fixturenames.txt").read_text() == names_without_plugin
    assert "client" not in names_without_plugin.split()


@pytest.mark.parametrize(
    ("mode", "fixture", "uses"),
    [
        pytest.param("strict", "client", "@pytest.mark.asyncio\nasync def", id="strict-client"),
        pytest.param("auto", "client", "async def", id="auto-client"),
        pytest.param("strict", "runner", "def", id="strict-runner"),
        pytest.param("auto", "runner", "def", id="auto-runner"),
    ],
)
def test_missing_app_fixture_is_a_usage_error(
    pytester: pytest.Pytester, mode: str, fixture: str, uses: str
) -> None:
    pytester.makepyfile(
        test_missing="import pytest\n\n\n" + f"{uses} test_needs_app({fixture}):\n    pass\n",
    )
    result = run(pytester, mode)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"E   pytest.UsageError: The '{fixture}' fixture of asyncflask needs an 'app' fixture that"
            " returns your AsyncFlask application. Define one in conftest.py, e.g.",
        ]
    )
    result.stdout.no_fnmatch_line("*fixture 'app' not found*")


def test_app_fixture_of_the_wrong_type_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_wrong="""
        import pytest

        @pytest.fixture
        def app():
            return object()

        def test_runner(runner):
            pass
        """
    )
    result = run(pytester, "auto")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*UsageError: The 'app' fixture must return an AsyncFlask application*"])


def test_module_scoped_app_gets_a_fresh_lifespan_per_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_scoped="""
        import pytest

        from asyncflask import AsyncFlask

        EVENTS = []


        @pytest.fixture(scope="module")
        def app():
            app = AsyncFlask("scoped")

            @app.while_serving
            async def lifespan():
                EVENTS.append("up")
                yield
                EVENTS.append("down")

            @app.get("/")
            async def index():
                return str(len(EVENTS))

            return app


        async def test_first(client):
            assert (await client.get("/")).text == "1"


        async def test_second(client):
            assert EVENTS[:2] == ["up", "down"]
            assert (await client.get("/")).text == "3"
        """
    )
    result = run(pytester, "auto")
    result.assert_outcomes(passed=2)


def test_the_configuration_in_the_docs_runs_with_warnings_as_errors(pytester: pytest.Pytester) -> None:
    """docs/testing.md's pyproject.toml, verbatim, with an app, a fixture and an async test."""
    docs = (Path(__file__).parent.parent / "docs" / "testing.md").read_text()
    config = docs.split('```toml title="pyproject.toml"\n', 1)[1].split("```", 1)[0]
    assert 'filterwarnings = ["error"]' in config
    pytester.makefile(".toml", pyproject=config)
    pytester.makepyfile(
        test_docs_config="""
        import pytest
        from asyncflask import AsyncFlask, g

        @pytest.fixture
        def app():
            app = AsyncFlask("configured")
            app.config["TESTING"] = True

            @app.get("/")
            async def index():
                g.seen = True
                return "configured"

            return app

        @pytest.fixture
        async def greeting(client):
            return (await client.get("/")).text

        async def test_it_runs(greeting):
            assert greeting == "configured"
        """
    )
    # No -o overrides: only the documented configuration applies.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=TIMEOUT)
    result.assert_outcomes(passed=1)
