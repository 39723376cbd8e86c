"""A websocket chat room: every message reaches everyone in the same room.

Run it with:

    python examples/chat/app.py

then open http://127.0.0.1:5000/ in two browser tabs (add `?room=name` for another room).
Set the PORT environment variable to serve on another port.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from asyncflask import AsyncFlask, websocket

app = AsyncFlask(__name__)
# A chat message is short; anything longer closes the connection with 1009.
app.config["WEBSOCKET_MAX_MESSAGE_SIZE"] = 4096

Message = dict[str, str]

# room name -> the outgoing queue of each member. In memory, so one process serves one set
# of rooms; run a single worker (or use a broker such as Redis to share rooms).
rooms: dict[str, set[asyncio.Queue[Message]]] = {}

# A member whose queue is this full is too slow to keep up: it misses messages instead of
# slowing the room down.
QUEUE_SIZE = 100


def broadcast(room: str, message: Message) -> None:
    """Queue `message` for every member of `room`."""
    for queue in list(rooms.get(room, ())):
        if not queue.full():
            queue.put_nowait(message)


async def forward(queue: asyncio.Queue[Message]) -> None:
    """Send what is queued for this member to its socket."""
    while True:
        await websocket.send_json(await queue.get())


@app.websocket("/ws/<room>")
async def chat(room: str) -> None:
    name = (websocket.args.get("name") or "").strip()[:32] or "anonymous"
    await websocket.accept()
    queue: asyncio.Queue[Message] = asyncio.Queue(QUEUE_SIZE)
    rooms.setdefault(room, set()).add(queue)
    # Receiving and sending run side by side: this task reads, the forwarder writes. A task
    # created here inherits the context, so `websocket` works inside it.
    sender = asyncio.create_task(forward(queue))
    broadcast(room, {"type": "join", "name": name})
    try:
        while True:
            data = await websocket.receive()
            text = (data if isinstance(data, str) else data.decode("utf-8", "replace")).strip()
            if text:
                broadcast(room, {"type": "message", "name": name, "text": text})
    finally:
        # Reached when the client leaves (WebSocketDisconnect) or anything else ends the chat.
        members = rooms.get(room, set())
        members.discard(queue)
        if not members:
            rooms.pop(room, None)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        broadcast(room, {"type": "leave", "name": name})


@app.get("/rooms")
async def list_rooms() -> dict[str, Any]:
    return {"rooms": {room: len(members) for room, members in sorted(rooms.items())}}


PAGE = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>asyncflask chat</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }
  #log { list-style: none; padding: 0; height: 20rem; overflow-y: auto; border: 1px solid #ccc; }
  #log li { padding: .2rem .5rem; }
  #log li.event { color: #777; font-style: italic; }
  form { display: flex; gap: .5rem; margin-top: .5rem; }
  #text { flex: 1; }
</style>
<h1>Room <span id="room"></span></h1>
<p id="status">Connecting…</p>
<ul id="log"></ul>
<form id="form">
  <input id="name" placeholder="Your name" size="10">
  <input id="text" placeholder="Say something" autocomplete="off" disabled>
  <button id="send" disabled>Send</button>
</form>
<script>
  const room = new URLSearchParams(location.search).get("room") || "lobby";
  const name = localStorage.getItem("chat-name") || "guest" + Math.floor(Math.random() * 1000);
  document.getElementById("room").textContent = room;
  document.getElementById("name").value = name;
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const text = document.getElementById("text");
  const button = document.getElementById("send");

  function show(line, kind) {
    const item = document.createElement("li");
    item.textContent = line;  // textContent: messages are never parsed as HTML
    if (kind) item.className = kind;
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  // The socket URL comes from the page's own address: ws:// for http, wss:// for https.
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/ws/${encodeURIComponent(room)}?name=${encodeURIComponent(name)}`;
  const socket = new WebSocket(url);

  socket.addEventListener("open", () => {
    status.textContent = `Connected as ${name}`;
    text.disabled = button.disabled = false;
    text.focus();
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "message") show(`${message.name}: ${message.text}`);
    else show(`${message.name} ${message.type === "join" ? "joined" : "left"}`, "event");
  });
  socket.addEventListener("close", (event) => {
    status.textContent = `Disconnected (${event.code}). Reload to join again.`;
    text.disabled = button.disabled = true;
  });
  document.getElementById("name").addEventListener("change", (event) => {
    localStorage.setItem("chat-name", event.target.value);
  });
  document.getElementById("form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (text.value.trim()) socket.send(text.value);
    text.value = "";
  });
</script>
</html>
"""


@app.get("/")
async def index() -> str:
    return PAGE


if __name__ == "__main__":
    app.run(port=int(os.environ.get("PORT", "5000")))
