"""Extensions: the `init_app(app)` pattern and `app.extensions`, proved with a small extension.

`RequestCounter` counts the requests each app serves. It brings its own blueprint (an
app-wide after-request hook, a `/_counter` route, a template filter and a context
processor) and a CLI command, and keeps its per-app state in `app.extensions`, so one
extension object can serve any number of apps made by an application factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
import pytest

from asyncflask import AsyncFlask, Blueprint, Response, current_app, render_template_string, request


@dataclass
class CounterState:
    """What `RequestCounter` keeps per app, in `app.extensions["request_counter"]`."""

    count: int = 0


class RequestCounter:
    """Counts the requests an app serves (its own `/_counter` page excepted).

    Args:
        app: the app to set up now; leave it out and call `init_app` from a factory.
    """

    def __init__(self, app: AsyncFlask | None = None) -> None:
        self.blueprint = self._make_blueprint()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: AsyncFlask) -> None:
        """Set the extension up on `app`: its state, its blueprint and its command."""
        if "request_counter" in app.extensions:
            raise RuntimeError("RequestCounter is already set up on this app; call init_app() once.")
        app.config.setdefault("REQUEST_COUNTER_URL_PREFIX", "/_counter")
        app.extensions["request_counter"] = CounterState()
        app.register_blueprint(self.blueprint, url_prefix=app.config["REQUEST_COUNTER_URL_PREFIX"])

    @staticmethod
    def state(app: AsyncFlask | None = None) -> CounterState:
        """The counter of `app` (the current app by default)."""
        target: Any = app if app is not None else current_app
        state = target.extensions.get("request_counter")
        if not isinstance(state, CounterState):
            raise RuntimeError("RequestCounter is not set up on this app; call init_app(app) first.")
        return state

    def _make_blueprint(self) -> Blueprint:
        bp = Blueprint("request_counter", __name__, cli_group="counter")

        @bp.after_app_request
        async def count_request(response: Response) -> Response:
            if request.blueprint != "request_counter":
                self.state().count += 1
            return response

        @bp.route("")
        async def show() -> dict[str, int]:
            return {"count": self.state().count}

        @bp.app_template_filter("requests")
        def requests_filter(number: int) -> str:
            return f"{number} request" if number == 1 else f"{number} requests"

        @bp.app_context_processor
        def request_count() -> dict[str, int]:
            return {"request_count": self.state().count}

        @bp.cli.command("count")
        @click.option("--reset", is_flag=True, help="Start counting again from zero.")
        def count_command(reset: bool) -> None:
            """Show how many requests the app has served."""
            state = self.state()
            click.echo(f"{state.count} request" if state.count == 1 else f"{state.count} requests")
            if reset:
                state.count = 0

        return bp


#: One extension object for every app, as extensions are used with factories.
counter = RequestCounter()


def create_app(**config: Any) -> AsyncFlask:
    """An application factory: configure, then `init_app` the extensions."""
    app = AsyncFlask(__name__, template_folder=None)
    app.config.update(config)
    counter.init_app(app)

    @app.route("/")
    async def index() -> str:
        return "index"

    @app.route("/report")
    async def report() -> str:
        return await render_template_string("Served {{ request_count|requests }} before this one.")

    return app


async def test_factory_registers_state_and_blueprint() -> None:
    app = create_app()
    assert isinstance(app.extensions["request_counter"], CounterState)
    assert app.blueprints == {"request_counter": counter.blueprint}
    assert "request_counter.show" in app.view_functions
    assert "requests" in app.jinja_env.filters
    async with app.test_client() as client:
        assert (await client.get("/")).text == "index"
        assert (await client.get("/missing")).status_code == 404
        r = await client.get("/_counter")
    assert (r.status_code, r.json()) == (200, {"count": 2})
    assert RequestCounter.state(app).count == 2


async def test_constructor_with_an_app() -> None:
    app = AsyncFlask(__name__, template_folder=None)

    @app.route("/")
    async def index() -> str:
        return "index"

    extension = RequestCounter(app)
    assert extension.blueprint is app.blueprints["request_counter"]
    async with app.test_client() as client:
        await client.get("/")
        r = await client.get("/_counter")
    assert r.json() == {"count": 1}


async def test_two_apps_keep_separate_counts() -> None:
    first = create_app()
    second = create_app()
    async with first.test_client() as one, second.test_client() as two:
        for _ in range(3):
            assert (await one.get("/")).status_code == 200
        assert (await two.get("/")).status_code == 200
        first_count = await one.get("/_counter")
        second_count = await two.get("/_counter")
    assert first_count.json() == {"count": 3}
    assert second_count.json() == {"count": 1}
    assert first.extensions["request_counter"] is not second.extensions["request_counter"]


async def test_filter_and_context_processor_in_a_template() -> None:
    app = create_app()
    async with app.test_client() as client:
        first = await client.get("/report")
        second = await client.get("/report")
        await client.get("/")
        third = await client.get("/report")
    assert (first.status_code, first.text) == (200, "Served 0 requests before this one.")
    assert second.text == "Served 1 request before this one."
    assert third.text == "Served 3 requests before this one."


async def test_cli_command_through_the_test_runner() -> None:
    app = create_app()
    async with app.test_client() as client:
        await client.get("/")
        await client.get("/")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["counter", "count", "--reset"])
    assert (result.exit_code, result.output) == (0, "2 requests\n")
    after_reset = runner.invoke(args=["counter", "count"])
    assert (after_reset.exit_code, after_reset.output) == (0, "0 requests\n")
    other_app = create_app()
    assert other_app.test_cli_runner().invoke(args=["counter", "count"]).output == "0 requests\n"


async def test_config_read_by_init_app() -> None:
    app = create_app(REQUEST_COUNTER_URL_PREFIX="/admin/requests")
    async with app.test_client() as client:
        await client.get("/")
        moved = await client.get("/admin/requests")
        old = await client.get("/_counter")
    assert (moved.status_code, moved.json()) == (200, {"count": 1})
    assert old.status_code == 404


async def test_init_app_twice_is_an_error() -> None:
    app = create_app()
    with pytest.raises(RuntimeError, match="already set up on this app"):
        counter.init_app(app)


async def test_state_without_init_app_is_an_error() -> None:
    app = AsyncFlask(__name__, template_folder=None)
    with pytest.raises(RuntimeError, match=r"not set up on this app; call init_app\(app\) first"):
        RequestCounter.state(app)
