"""The classic "Hello World!" app, made async.

Run it with either of:

    python examples/hello.py
    asyncflask --app examples/hello run

then open http://127.0.0.1:5000/ in a browser.
"""

from __future__ import annotations

import asyncio

from markupsafe import escape

from asyncflask import AsyncFlask, request, url_for

app = AsyncFlask(__name__)


@app.route("/")
async def hello() -> str:
    # Escaped: the name comes from the URL, and this page is HTML.
    name = escape(request.args.get("name", "World"))
    link = url_for("greet", name="asyncflask")
    return (
        "<!doctype html><title>Hello</title>"
        f"<h1>Hello {name}!</h1>"
        f'<p>Try <a href="{link}">{link}</a> or <a href="/slow">a view that awaits</a>.</p>'
    )


@app.get("/hello/<name>")
async def greet(name: str) -> dict[str, str]:
    return {"greeting": f"Hello {name}!"}


@app.get("/slow")
async def slow() -> str:
    # Waiting here does not block other requests: the event loop serves them meanwhile.
    await asyncio.sleep(0.5)
    return "Done waiting."


if __name__ == "__main__":
    app.run()
