"""A live clock over server-sent events.

Run it with:

    python examples/sse/app.py

then open http://127.0.0.1:5000/. The page listens with `EventSource`; stop the server and
start it again, and the browser reconnects by itself and carries on counting from the last
tick it saw (it sends that tick's id as `Last-Event-ID`). Set the PORT environment variable
to serve on another port.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import datetime, timezone

from asyncflask import AsyncFlask, current_app, url_for
from asyncflask.sse import EventStream, ServerSentEvent, last_event_id

app = AsyncFlask(__name__)
app.config["CLOCK_INTERVAL"] = 1.0  # seconds between ticks

# How long a browser waits before reconnecting after the stream breaks, in milliseconds.
RECONNECT_MS = 2000


def first_tick() -> int:
    """Where a stream starts: after the tick a reconnecting browser saw last."""
    seen = last_event_id()
    return int(seen) + 1 if seen is not None and seen.isdigit() and len(seen) < 10 else 1


@app.get("/clock")
async def clock() -> EventStream:
    interval = float(current_app.config["CLOCK_INTERVAL"])
    start = first_tick()

    async def ticks() -> AsyncIterator[ServerSentEvent]:
        n = start
        while True:
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            yield ServerSentEvent(
                {"n": n, "time": now},
                event="tick",
                id=n,
                retry=RECONNECT_MS if n == start else None,
            )
            n += 1
            await asyncio.sleep(interval)

    # Endless: it stops when the browser goes away (the generator is cancelled then).
    return EventStream(ticks(), keepalive=15)


@app.get("/")
async def index() -> str:
    return PAGE.replace("{clock_url}", url_for("clock"))


PAGE = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>asyncflask clock</title>
<style>
  body { font-family: system-ui, sans-serif; text-align: center; margin-top: 4rem; }
  #time { font-size: 3rem; font-variant-numeric: tabular-nums; }
  #status { color: #777; }
</style>
<h1>Server time</h1>
<p id="time">--:--:--</p>
<p>Tick <span id="n">0</span> · <span id="status">connecting…</span></p>
<script>
  const source = new EventSource("{clock_url}");
  const status = document.getElementById("status");
  source.addEventListener("open", () => { status.textContent = "live"; });
  source.addEventListener("error", () => { status.textContent = "reconnecting…"; });
  source.addEventListener("tick", (event) => {
    const tick = JSON.parse(event.data);
    document.getElementById("time").textContent = new Date(tick.time).toLocaleTimeString();
    document.getElementById("n").textContent = tick.n;
  });
</script>
</html>
"""


if __name__ == "__main__":
    app.run(port=int(os.environ.get("PORT", "5000")))
