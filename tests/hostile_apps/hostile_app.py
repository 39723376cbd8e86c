"""The app `tests/test_hostile.py` serves for real (`python hostile_app.py`, as `app.run()` does).

Production settings (TESTING and debug off), small limits, and one view per kind of hostile
input. The environment picks the port (`PORT`), the static folder (`HOSTILE_STATIC`, a
temporary directory next to a file that must never be served) and, optionally, the trusted
hosts (`HOSTILE_TRUSTED_HOSTS`, comma-separated) and another `MAX_CONTENT_LENGTH`
(`HOSTILE_MAX_CONTENT_LENGTH`).
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from typing import Any

from asyncflask import AsyncFlask, Response, request, session, url_for, websocket

MAX_CONTENT_LENGTH = 1024
MAX_FORM_MEMORY_SIZE = 256
MAX_FORM_PARTS = 10
WEBSOCKET_MAX_MESSAGE_SIZE = 512

app = AsyncFlask(__name__, static_folder=os.environ.get("HOSTILE_STATIC", "static"))
app.config.update(
    TESTING=False,
    DEBUG=False,
    SECRET_KEY="hostile-test-secret",
    MAX_CONTENT_LENGTH=int(os.environ.get("HOSTILE_MAX_CONTENT_LENGTH", MAX_CONTENT_LENGTH)),
    MAX_FORM_MEMORY_SIZE=MAX_FORM_MEMORY_SIZE,
    MAX_FORM_PARTS=MAX_FORM_PARTS,
    WEBSOCKET_MAX_MESSAGE_SIZE=WEBSOCKET_MAX_MESSAGE_SIZE,
    WEBSOCKET_ALLOWED_ORIGINS=["https://app.example"],
)
if trusted := os.environ.get("HOSTILE_TRUSTED_HOSTS"):
    app.config["TRUSTED_HOSTS"] = trusted.split(",")


@app.get("/")
async def index() -> str:
    return "still serving"


@app.get("/collect")
async def collect() -> dict[str, Any]:
    """Collect garbage now, so an unclosed file shows its ResourceWarning before the log is read."""
    return {"collected": gc.collect()}


@app.post("/json")
async def echo_json() -> dict[str, Any]:
    return {"json": await request.get_json()}


@app.post("/data")
async def data_length() -> dict[str, Any]:
    return {"length": len(await request.get_data())}


@app.post("/body-stream")
async def body_stream_length() -> dict[str, Any]:
    length = 0
    async for chunk in request.body:
        length += len(chunk)
    return {"length": length}


@app.post("/form")
async def form_fields() -> dict[str, Any]:
    form = await request.form
    files = await request.files
    return {"form": form.to_dict(), "files": sorted(files)}


@app.get("/external")
async def external() -> dict[str, Any]:
    return {"url": url_for("index", _external=True), "request_url": request.url}


@app.get("/session")
async def read_session() -> dict[str, Any]:
    return {"session": dict(session)}


@app.get("/login")
async def login() -> dict[str, Any]:
    session["user"] = "alice"
    return {"session": dict(session)}


@app.get("/inject")
async def inject() -> Response:
    response = Response("header set")
    response.headers["X-Echo"] = request.args.get("value", "")
    return response


@app.get("/stream-fails")
async def stream_fails() -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"first chunk;"
        raise RuntimeError("the stream broke after its first chunk")

    return chunks()


@app.websocket("/ws")
async def echo_socket() -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        await websocket.send(message)


if __name__ == "__main__":
    app.run(port=int(os.environ["PORT"]))
