"""Routing cost as the number of rules grows: asyncflask against Starlette and Quart.

For each rule count N (1, 10, 100, 1000 by default) and each rule shape, every framework
gets an app with N parameterised rules, and the request hits the *last* one registered,
the worst case for a router that tries rules in order. Each request is a full ASGI call
made in this process; see ``_harness`` for how rounds are interleaved.

Because per-request costs here range over orders of magnitude (Starlette tries each
route's regex in turn), each batch is sized to take about ``--batch-ms`` milliseconds
rather than a fixed number of requests.

Target: asyncflask with 1000 rules within 1.25x of itself with 1 rule, for every shape
(``--check`` enforces it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import _harness as h

TARGET_GROWTH = 1.25
"""asyncflask's cost with the most rules may be at most this multiple of its cost with one."""

REQUEST_ID = 7


@dataclass(frozen=True)
class Shape:
    """A family of rules: rule ``i`` in Flask syntax, in Starlette syntax, and a URL for it."""

    name: str
    flask: Callable[[int], str]
    starlette: Callable[[int], str]
    url: Callable[[int, int], str]


SHAPES: list[Shape] = [
    # Distinct first segments: a router that indexes by segment finds the rule at once.
    Shape(
        "/r{i}/<int:id>",
        lambda i: f"/r{i}/<int:id>",
        lambda i: f"/r{i}/{{id:int}}",
        lambda i, n: f"/r{i}/{n}",
    ),
    # A long shared prefix: a router must look past "/api/" and most of the segment to choose.
    Shape(
        "/api/items{i}/<int:id>",
        lambda i: f"/api/items{i}/<int:id>",
        lambda i: f"/api/items{i}/{{id:int}}",
        lambda i, n: f"/api/items{i}/{n}",
    ),
]


# --------------------------------------------------------------------------------------
# The applications. Every rule has its own view answering "<rule index> <id>", so the
# validation proves the request reached the last rule and not some other one.
# --------------------------------------------------------------------------------------

Builder = Callable[[Shape, int], h.ASGIApp]


def build_starlette(shape: Shape, count: int) -> h.ASGIApp:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    def endpoint_for(index: int) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return PlainTextResponse(f"{index} {request.path_params['id']}")

        return endpoint

    return Starlette(routes=[Route(shape.starlette(i), endpoint_for(i)) for i in range(count)])


def _flask_style(app: Any, shape: Shape, count: int) -> Any:
    """Register the rules on a Flask-API app (asyncflask or Quart) with ``add_url_rule``."""

    def view_for(index: int) -> Callable[..., Any]:
        async def view(id: int) -> str:
            return f"{index} {id}"

        return view

    for i in range(count):
        app.add_url_rule(shape.flask(i), endpoint=f"r{i}", view_func=view_for(i))
    return app


def build_asyncflask(shape: Shape, count: int) -> h.ASGIApp:
    from asyncflask import AsyncFlask

    return _flask_style(AsyncFlask(__name__), shape, count)


def build_quart(shape: Shape, count: int) -> h.ASGIApp:
    from quart import Quart

    return _flask_style(Quart(__name__), shape, count)


@dataclass(frozen=True)
class Framework:
    name: str
    build: Builder
    reference: bool = False
    """The baseline: if it fails, the harness is wrong, so the run stops."""


FRAMEWORKS: list[Framework] = [
    Framework("starlette", build_starlette, reference=True),
    Framework("asyncflask", build_asyncflask),
    Framework("quart", build_quart),
]
BASELINE = "starlette"
SUBJECT = "asyncflask"


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


class Fatal(Exception):
    """A failure that must stop the run (the baseline or a ``--require``d framework)."""


async def _prepare(
    framework: Framework,
    shape: Shape,
    count: int,
    stack: AsyncExitStack,
    required: bool,
    skipped: dict[str, str],
) -> h.Target | None:
    """Build, start and validate one app; None (with the reason recorded) if it cannot run."""
    case = f"{shape.name} x{count}"
    scope = h.build_scope("GET", shape.url(count - 1, REQUEST_ID))
    try:
        app, state = await h.start_app(lambda: framework.build(shape, count), stack)
        problem = await h.validate(app, scope, b"", state, h.expect_text(f"{count - 1} {REQUEST_ID}"))
        if problem is not None:
            raise h.SetupError(f"{case} failed validation: {problem}")
    except h.SetupError as exc:
        if required:
            raise Fatal(f"{framework.name}: {exc}") from exc
        skipped[framework.name] = str(exc)
        h.note(f"skipping {framework.name}: {exc}")
        return None
    return h.Target(framework.name, case, app, scope, b"", state)


async def _prepare_all(
    framework: Framework, counts: list[int], stack: AsyncExitStack, required: bool, skipped: dict[str, str]
) -> dict[str, dict[int, h.Target]] | None:
    """Every (shape, rule count) case for one framework, or None if any of them fails:
    a framework with a partial set of rows could not be compared fairly."""
    built: dict[str, dict[int, h.Target]] = {}
    for shape in SHAPES:
        for count in counts:
            target = await _prepare(framework, shape, count, stack, required, skipped)
            if target is None:
                return None
            built.setdefault(shape.name, {})[count] = target
    return built


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    h.add_common_arguments(parser, rounds=40, requests=2000, batch_ms=40)
    parser.add_argument(
        "--rules",
        default="1,10,100,1000",
        help="comma-separated rule counts; growth is largest over smallest (default 1,10,100,1000)",
    )
    parser.add_argument(
        "--frameworks",
        default=",".join(f.name for f in FRAMEWORKS),
        help="comma-separated subset to run (starlette is always included: it is the baseline)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 3
        args.requests = min(args.requests, 300)
        if args.batch_ms > 0:
            args.batch_ms = min(args.batch_ms, 10.0)
    args.rule_counts = sorted({int(n) for n in args.rules.split(",") if n.strip()})
    if not args.rule_counts or args.rule_counts[0] < 1:
        parser.error("--rules needs positive counts")
    return args


async def _main(args: argparse.Namespace) -> int:
    wanted = {name.strip() for name in args.frameworks.split(",") if name.strip()} | {BASELINE}
    unknown = wanted - {f.name for f in FRAMEWORKS}
    if unknown:
        h.note(f"unknown framework(s): {', '.join(sorted(unknown))}")
        return 2
    frameworks = [f for f in FRAMEWORKS if f.name in wanted]
    counts: list[int] = args.rule_counts
    required = set(args.require)

    skipped: dict[str, str] = {}
    # targets[framework][shape name][rule count]
    targets: dict[str, dict[str, dict[int, h.Target]]] = {}
    async with AsyncExitStack() as stack:
        try:
            for framework in frameworks:
                required_here = framework.reference or framework.name in required
                built = await _prepare_all(framework, counts, stack, required_here, skipped)
                if built is not None:
                    targets[framework.name] = built
        except Fatal as exc:
            h.note(f"FATAL: {exc}")
            return 2

        measured = [f.name for f in frameworks if f.name in targets]
        groups = [[targets[name][s.name][n] for name in measured] for s in SHAPES for n in counts]
        all_targets = [t for group in groups for t in group]
        for target in all_targets:
            target.requests = args.requests

        h.settle()
        if args.batch_ms > 0:
            h.note(f"sizing batches to about {args.batch_ms:g} ms each")
            await h.calibrate(all_targets, args.batch_ms, args.requests)
        h.note(
            f"measuring {', '.join(measured)} with {', '.join(map(str, counts))} rules, "
            f"{len(SHAPES)} shapes: {args.rounds} rounds (+1 warm-up)"
        )

        def progress(done: int, total: int, seconds: float) -> None:
            label = "warm-up" if done <= 0 else f"round {done}/{total}"
            h.note(f"  {label} ({seconds:.1f}s)")

        await h.run_rounds(groups, args.rounds, progress=progress)

    results = _collect(measured, counts, targets)
    missed = _missed_targets(counts, results)
    if args.json:
        print(
            json.dumps(
                {
                    "benchmark": "routes",
                    "unit": "microseconds per request (median over rounds)",
                    "baseline": BASELINE,
                    "target": {
                        "framework": SUBJECT,
                        "max_growth": TARGET_GROWTH,
                        "growth": f"{counts[-1]} rules / {counts[0]} rule(s)",
                        "missed": missed,
                    },
                    "rounds": args.rounds,
                    "rule_counts": counts,
                    "frameworks": [f.name for f in frameworks],
                    "results": results,
                    "skipped": skipped,
                    "environment": h.environment(),
                },
                indent=2,
            )
        )
    else:
        print("\n\n".join(_table(shape, [f.name for f in frameworks], counts, results) for shape in SHAPES))
        for what, why in skipped.items():
            print(f"skipped {what}: {why}")
        if missed:
            print(f"target missed ({SUBJECT} growth <= {TARGET_GROWTH}x): " + "; ".join(missed))
        else:
            print(
                f"target met: {SUBJECT} with {counts[-1]} rules <= {TARGET_GROWTH}x "
                f"{counts[0]} rule(s), every shape"
            )
    return 1 if args.check and missed else 0


def _collect(
    measured: list[str], counts: list[int], targets: dict[str, dict[str, dict[int, h.Target]]]
) -> dict[str, dict[str, Any]]:
    """``{shape: {framework: {"by_rules": {N: figures}, "growth": ratio}}}``.

    ``growth`` is the paired per-round ratio of the largest rule count to the smallest, for
    the same framework; ``ratio_to_starlette`` compares frameworks at the same rule count.
    """
    results: dict[str, dict[str, Any]] = {}
    for shape in SHAPES:
        row: dict[str, Any] = {}
        for name in measured:
            cases = targets[name][shape.name]
            by_rules = {}
            for count in counts:
                baseline = targets[BASELINE][shape.name][count]
                by_rules[str(count)] = {
                    **cases[count].summary(),
                    "ratio_to_starlette": round(h.paired_ratio(cases[count], baseline), 4),
                }
            growth = h.paired_ratio(cases[counts[-1]], cases[counts[0]])
            row[name] = {"by_rules": by_rules, "growth": round(growth, 4)}
        results[shape.name] = row
    return results


def _missed_targets(counts: list[int], results: dict[str, dict[str, Any]]) -> list[str]:
    """Every way the asyncflask target was not met, including not being measured at all."""
    missed = []
    for shape in SHAPES:
        cell = results[shape.name].get(SUBJECT)
        if cell is None:
            missed.append(f"{shape.name}: not measured")
        elif len(counts) < 2:
            missed.append(f"{shape.name}: growth needs at least two rule counts")
        elif cell["growth"] > TARGET_GROWTH:
            missed.append(f"{shape.name}: {cell['growth']:.2f}x")
    return missed


def _table(shape: Shape, names: list[str], counts: list[int], results: dict[str, dict[str, Any]]) -> str:
    header = [f"{shape.name} (µs/request)"]
    for name in names:
        header.append(name)
        if name != BASELINE:
            header.append("÷st")
    rows = []
    for count in counts:
        row = [f"{count} rule" + ("" if count == 1 else "s")]
        for name in names:
            cell = results[shape.name].get(name)
            figures = cell["by_rules"][str(count)] if cell else None
            row.append(h.fmt_us(figures["median_us"] if figures else None))
            if name != BASELINE:
                row.append(h.fmt_ratio(figures["ratio_to_starlette"] if figures else None))
        rows.append(row)
    growth_row = [f"growth {counts[-1]}÷{counts[0]}"]
    for name in names:
        cell = results[shape.name].get(name)
        growth_row.append(h.fmt_ratio(cell["growth"] if cell else None))
        if name != BASELINE:
            growth_row.append("")
    rows.append(growth_row)
    return h.format_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    return h.run(lambda: _main(args), use_uvloop=args.uvloop)


if __name__ == "__main__":
    sys.exit(main())
