"""Per-request overhead: asyncflask against Starlette, Quart, FastAPI and a bare ASGI app.

Every framework serves the same endpoints; each request is a full ASGI call made in this
process (no server, no network). See ``_harness`` for how rounds are interleaved and what
the figures mean. Run ``python benchmarks/bench_requests.py --help`` for the options.

Target: asyncflask within 1.3x of Starlette on every endpoint (``--check`` enforces it).

Adding an endpoint: append an ``Endpoint`` to ``ENDPOINTS`` (or gate it behind a flag as
``TEMPLATE_ENDPOINT`` is) and add its handler to each ``build_*`` function below. A
framework that lacks a feature an *optional* endpoint needs records why in ``skips`` and
is left out of that row only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _harness as h

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"

TARGET_RATIO = 1.3
"""asyncflask's cost per request may be at most this multiple of Starlette's."""

ECHO_PAYLOAD: dict[str, Any] = {"a": 1, "b": [1, 2, 3], "c": "text"}
USER_ID = 42

# Ten items whose text needs escaping, so the template endpoint measures autoescaping too.
TEMPLATE_TITLE = "Items & <things>"
TEMPLATE_ITEMS: list[dict[str, Any]] = [
    {"id": i, "name": f"item {i}", "note": f'<b>bold</b> & "quoted" #{i}'} for i in range(10)
]


@dataclass(frozen=True)
class Endpoint:
    """One row of the table: a request every framework must answer identically."""

    name: str
    method: str
    path: str
    expect: h.Expectation
    body: bytes = b""
    content_type: str | None = None
    optional: bool = False
    """A framework that cannot serve an optional endpoint is skipped for that row only."""

    def scope(self) -> dict[str, Any]:
        return h.build_scope(self.method, self.path, body=self.body, content_type=self.content_type)


def _expected_template_html() -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template("items.html").render(title=TEMPLATE_TITLE, items=TEMPLATE_ITEMS)


ENDPOINTS: list[Endpoint] = [
    Endpoint("GET /", "GET", "/", h.expect_text("Hello, World!")),
    Endpoint("GET /json", "GET", "/json", h.expect_json({"hello": "world"})),
    Endpoint("GET /user/<id>", "GET", f"/user/{USER_ID}", h.expect_text(f"user {USER_ID}")),
    Endpoint(
        "POST /echo",
        "POST",
        "/echo",
        h.expect_json(ECHO_PAYLOAD),
        body=json.dumps(ECHO_PAYLOAD).encode(),
        content_type="application/json",
    ),
]

TEMPLATE_ENDPOINT = Endpoint(
    "GET /tmpl", "GET", "/tmpl", h.expect_html(_expected_template_html()), optional=True
)
"""Enabled by ``--templates``: a Jinja2 page looping over ten escaped items."""


# --------------------------------------------------------------------------------------
# The applications. Each builder imports its framework itself, so a framework that is
# missing or broken only costs its own column.
# --------------------------------------------------------------------------------------

Builder = Callable[[set[str], dict[str, str]], h.ASGIApp]
"""``build(endpoint_paths, skips) -> app``; records unsupported optional endpoints in skips."""


def build_bare(paths: set[str], skips: dict[str, str]) -> h.ASGIApp:
    """A hand-written ASGI app: the floor, i.e. what the harness itself costs plus the
    unavoidable work (JSON, template rendering). No framework can be cheaper than this."""
    import jinja2

    template: jinja2.Template | None = None
    if "/tmpl" in paths:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape()
        )
        template = env.get_template("items.html")

    text_type = b"text/plain; charset=utf-8"
    json_type = b"application/json"
    html_type = b"text/html; charset=utf-8"
    dumps = json.dumps
    loads = json.loads

    async def app(scope: h.Scope, receive: h.Receive, send: h.Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path: str = scope["path"]
        method: str = scope["method"]
        status = 200
        if path == "/" and method == "GET":
            content_type, payload = text_type, b"Hello, World!"
        elif path == "/json" and method == "GET":
            content_type, payload = json_type, dumps({"hello": "world"}).encode()
        elif path.startswith("/user/") and path[6:].isdigit() and method == "GET":
            content_type, payload = text_type, f"user {int(path[6:])}".encode()
        elif path == "/echo" and method == "POST":
            chunks: list[bytes] = []
            more = True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            content_type, payload = json_type, dumps(loads(b"".join(chunks))).encode()
        elif path == "/tmpl" and template is not None and method == "GET":
            html = template.render(title=TEMPLATE_TITLE, items=TEMPLATE_ITEMS)
            content_type, payload = html_type, html.encode()
        else:
            status, content_type, payload = 404, text_type, b"Not Found"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app


def build_starlette(paths: set[str], skips: dict[str, str]) -> h.ASGIApp:
    """Plain Starlette: the reference every ratio is taken against."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def index(request: Request) -> Response:
        return PlainTextResponse("Hello, World!")

    async def json_(request: Request) -> Response:
        return JSONResponse({"hello": "world"})

    async def user(request: Request) -> Response:
        return PlainTextResponse(f"user {request.path_params['id']}")

    async def echo(request: Request) -> Response:
        return JSONResponse(await request.json())

    routes = [
        Route("/", index),
        Route("/json", json_),
        Route("/user/{id:int}", user),
        Route("/echo", echo, methods=["POST"]),
    ]
    if "/tmpl" in paths:
        from starlette.templating import Jinja2Templates

        templates = Jinja2Templates(directory=TEMPLATES)

        async def tmpl(request: Request) -> Response:
            return templates.TemplateResponse(
                request, "items.html", {"title": TEMPLATE_TITLE, "items": TEMPLATE_ITEMS}
            )

        routes.append(Route("/tmpl", tmpl))
    return Starlette(routes=routes)


def build_asyncflask(paths: set[str], skips: dict[str, str]) -> h.ASGIApp:
    """The app as its users will write it (see the module docstring of the package)."""
    from asyncflask import AsyncFlask, jsonify, request

    app = AsyncFlask(__name__, template_folder=str(TEMPLATES))

    @app.get("/")
    async def index() -> str:
        return "Hello, World!"

    @app.get("/json")
    async def json_() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/user/<int:id>")
    async def user(id: int) -> str:
        return f"user {id}"

    @app.post("/echo")
    async def echo() -> Any:
        return jsonify(await request.get_json())

    if "/tmpl" in paths:
        try:
            from asyncflask import render_template
        except ImportError as exc:
            skips["/tmpl"] = f"no render_template ({exc})"
        else:

            @app.get("/tmpl")
            async def tmpl() -> str:
                return await render_template("items.html", title=TEMPLATE_TITLE, items=TEMPLATE_ITEMS)

    return app


def build_quart(paths: set[str], skips: dict[str, str]) -> h.ASGIApp:
    """Quart: the existing Flask-API-on-asyncio framework."""
    from quart import Quart, jsonify, render_template, request

    app = Quart(__name__, template_folder=str(TEMPLATES))

    @app.get("/")
    async def index() -> str:
        return "Hello, World!"

    @app.get("/json")
    async def json_() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/user/<int:id>")
    async def user(id: int) -> str:
        return f"user {id}"

    @app.post("/echo")
    async def echo() -> Any:
        return jsonify(await request.get_json())

    if "/tmpl" in paths:

        @app.get("/tmpl")
        async def tmpl() -> str:
            return await render_template("items.html", title=TEMPLATE_TITLE, items=TEMPLATE_ITEMS)

    return app


def build_fastapi(paths: set[str], skips: dict[str, str]) -> h.ASGIApp:
    """FastAPI, written as its tutorial does (typed parameters, a ``Body`` for the payload,
    no return annotations, so no response-model validation is added)."""
    from fastapi import Body, FastAPI, Request
    from fastapi.responses import HTMLResponse, PlainTextResponse, Response

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/", response_class=PlainTextResponse)
    async def index():
        return "Hello, World!"

    @app.get("/json")
    async def json_():
        return {"hello": "world"}

    @app.get("/user/{id}", response_class=PlainTextResponse)
    async def user(id: int):
        return f"user {id}"

    @app.post("/echo")
    async def echo(payload: dict[str, Any] = Body()):  # noqa: B008
        return payload

    if "/tmpl" in paths:
        from fastapi.templating import Jinja2Templates

        templates = Jinja2Templates(directory=TEMPLATES)

        async def tmpl(request: Request) -> Response:
            return templates.TemplateResponse(
                request, "items.html", {"title": TEMPLATE_TITLE, "items": TEMPLATE_ITEMS}
            )

        # Postponed annotations are strings that FastAPI resolves in this module's globals,
        # where the locally imported Request is not; hand it the classes themselves, or it
        # would take ``request`` for a query parameter.
        tmpl.__annotations__ = {"request": Request, "return": Response}
        app.add_api_route("/tmpl", tmpl, response_class=HTMLResponse)

    return app


@dataclass(frozen=True)
class Framework:
    name: str
    build: Builder
    reference: bool = False
    """The harness's own reference points: if one of these fails, the harness is wrong."""


FRAMEWORKS: list[Framework] = [
    Framework("bare", build_bare, reference=True),
    Framework("starlette", build_starlette, reference=True),
    Framework("asyncflask", build_asyncflask),
    Framework("quart", build_quart),
    Framework("fastapi", build_fastapi),
]
BASELINE = "starlette"
SUBJECT = "asyncflask"


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


class Fatal(Exception):
    """A failure that must stop the run (a reference app or a ``--require``d framework)."""


async def _prepare(
    framework: Framework,
    endpoints: list[Endpoint],
    stack: AsyncExitStack,
    required: bool,
    skipped: dict[str, str],
) -> dict[str, h.Target]:
    """Build, start and validate one framework's app; return a target per endpoint it serves.

    Returns an empty dict (after recording why in ``skipped``) when the framework cannot be
    measured, unless it is required, in which case this raises ``Fatal``.
    """

    def give_up(reason: str) -> dict[str, h.Target]:
        if required:
            raise Fatal(f"{framework.name}: {reason}")
        skipped[framework.name] = reason
        h.note(f"skipping {framework.name}: {reason}")
        return {}

    skips: dict[str, str] = {}
    paths = {e.path for e in endpoints}
    try:
        app, state = await h.start_app(lambda: framework.build(paths, skips), stack)
    except h.SetupError as exc:
        return give_up(str(exc))

    targets: dict[str, h.Target] = {}
    for endpoint in endpoints:
        scope = endpoint.scope()
        problem = skips.get(endpoint.path)
        if problem is None:
            problem = await h.validate(app, scope, endpoint.body, state, endpoint.expect)
        if problem is not None:
            if not endpoint.optional:
                return give_up(f"{endpoint.name} failed validation: {problem}")
            skipped[f"{framework.name} {endpoint.name}"] = problem
            h.note(f"skipping {framework.name} for {endpoint.name}: {problem}")
            continue
        targets[endpoint.name] = h.Target(framework.name, endpoint.name, app, scope, endpoint.body, state)
    return targets


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    h.add_common_arguments(parser, rounds=25, requests=2000, batch_ms=0)
    parser.add_argument("--templates", action="store_true", help="also benchmark GET /tmpl (Jinja2)")
    parser.add_argument(
        "--frameworks",
        default=",".join(f.name for f in FRAMEWORKS),
        help="comma-separated subset to run (starlette is always included: it is the baseline)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.requests = 3, 200
    return args


async def _main(args: argparse.Namespace) -> int:
    wanted = {name.strip() for name in args.frameworks.split(",") if name.strip()} | {BASELINE}
    unknown = wanted - {f.name for f in FRAMEWORKS}
    if unknown:
        h.note(f"unknown framework(s): {', '.join(sorted(unknown))}")
        return 2
    frameworks = [f for f in FRAMEWORKS if f.name in wanted]
    endpoints = [*ENDPOINTS, *([TEMPLATE_ENDPOINT] if args.templates else [])]
    required = set(args.require)

    skipped: dict[str, str] = {}
    async with AsyncExitStack() as stack:
        per_framework: dict[str, dict[str, h.Target]] = {}
        try:
            for framework in frameworks:
                per_framework[framework.name] = await _prepare(
                    framework, endpoints, stack, framework.reference or framework.name in required, skipped
                )
        except Fatal as exc:
            h.note(f"FATAL: {exc}")
            return 2
        measured = [f.name for f in frameworks if per_framework[f.name]]
        groups = [
            [per_framework[name][e.name] for name in measured if e.name in per_framework[name]]
            for e in endpoints
        ]
        all_targets = [t for group in groups for t in group]
        for target in all_targets:
            target.requests = args.requests

        h.settle()
        if args.batch_ms > 0:
            await h.calibrate(all_targets, args.batch_ms, args.requests)
        h.note(
            f"measuring {', '.join(measured)} on {len(endpoints)} endpoints: "
            f"{args.rounds} rounds (+1 warm-up)"
            + ("" if args.batch_ms > 0 else f", {args.requests} requests per batch")
        )

        def progress(done: int, total: int, seconds: float) -> None:
            label = "warm-up" if done <= 0 else f"round {done}/{total}"
            h.note(f"  {label} ({seconds:.1f}s)")

        await h.run_rounds(groups, args.rounds, progress=progress)

    results = _collect(endpoints, measured, per_framework)
    missed = _missed_targets(endpoints, results)
    if args.json:
        print(
            json.dumps(
                {
                    "benchmark": "requests",
                    "unit": "microseconds per request (median over rounds)",
                    "baseline": BASELINE,
                    "target": {"framework": SUBJECT, "max_ratio": TARGET_RATIO, "missed": missed},
                    "rounds": args.rounds,
                    "frameworks": [f.name for f in frameworks],
                    "results": results,
                    "skipped": skipped,
                    "environment": h.environment(),
                },
                indent=2,
            )
        )
    else:
        print(_table(endpoints, [f.name for f in frameworks], results))
        for what, why in skipped.items():
            print(f"skipped {what}: {why}")
        if missed:
            print(f"target missed ({SUBJECT} <= {TARGET_RATIO}x {BASELINE}): " + "; ".join(missed))
        else:
            print(f"target met: {SUBJECT} <= {TARGET_RATIO}x {BASELINE} on every endpoint")
    return 1 if args.check and missed else 0


def _collect(
    endpoints: list[Endpoint], measured: list[str], per_framework: dict[str, dict[str, h.Target]]
) -> dict[str, dict[str, Any]]:
    """``{endpoint: {framework: {median_us, ratio_to_starlette, ...}}}``."""
    results: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        baseline = per_framework[BASELINE][endpoint.name]
        row: dict[str, Any] = {}
        for name in measured:
            target = per_framework[name].get(endpoint.name)
            if target is None:
                continue
            row[name] = {**target.summary(), "ratio_to_starlette": round(h.paired_ratio(target, baseline), 4)}
        results[endpoint.name] = row
    return results


def _missed_targets(endpoints: list[Endpoint], results: dict[str, dict[str, Any]]) -> list[str]:
    """Every way the asyncflask target was not met, including not being measured at all."""
    missed = []
    for endpoint in endpoints:
        cell = results[endpoint.name].get(SUBJECT)
        if cell is None:
            missed.append(f"{endpoint.name}: not measured")
        elif cell["ratio_to_starlette"] > TARGET_RATIO:
            missed.append(f"{endpoint.name}: {cell['ratio_to_starlette']:.2f}x")
    return missed


def _table(endpoints: list[Endpoint], names: list[str], results: dict[str, dict[str, Any]]) -> str:
    header = ["endpoint (µs/request)"]
    for name in names:
        header.append(name)
        if name != BASELINE:
            header.append("÷st")
    rows = []
    for endpoint in endpoints:
        row = [endpoint.name]
        for name in names:
            cell = results[endpoint.name].get(name)
            row.append(h.fmt_us(cell["median_us"] if cell else None))
            if name != BASELINE:
                row.append(h.fmt_ratio(cell["ratio_to_starlette"] if cell else None))
        rows.append(row)
    return h.format_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    return h.run(lambda: _main(args), use_uvloop=args.uvloop)


if __name__ == "__main__":
    sys.exit(main())
