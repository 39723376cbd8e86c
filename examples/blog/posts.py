"""Posts: list, read, write, edit, delete, images, live comments, and a slow outside call."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from asyncflask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    send_from_directory,
    url_for,
)
from asyncflask.sse import EventStream, ServerSentEvent

from .auth import login_required
from .db import Comment, Post, get_session
from .forms import CommentForm, PostForm

bp = Blueprint("posts", __name__)

# The first bytes of each accepted image type: the browser's Content-Type is not trusted.
IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": ".png",
    b"\xff\xd8\xff": ".jpg",
    b"GIF87a": ".gif",
    b"GIF89a": ".gif",
}


def image_suffix(head: bytes) -> str | None:
    """The file suffix for an accepted image, from its first bytes; None for anything else."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    for magic, suffix in IMAGE_SIGNATURES.items():
        if head.startswith(magic):
            return suffix
    return None


def upload_folder() -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_image(form: PostForm) -> str | None | bool:
    """Store an uploaded image under a random name; False (with a form error) if refused."""
    file = form.image.data
    if not isinstance(file, FileStorage) or not file.filename:
        return None
    head = file.stream.read(16)
    suffix = image_suffix(head)
    if suffix is None:
        form.image.errors = ["Only PNG, JPEG, GIF or WebP images can be uploaded."]
        return False
    file.stream.seek(0)
    name = secrets.token_hex(12) + suffix
    file.save(upload_folder() / name)
    return name


async def get_post(post_id: int, check_author: bool = True) -> Post:
    post = await get_session().get(Post, post_id)
    if post is None:
        abort(404, f"Post {post_id} does not exist.")
    if check_author and post.author_id != g.user.id:
        abort(403, "Only the author can change this post.")
    return post


@bp.get("/")
async def index() -> str:
    posts = await get_session().scalars(select(Post).order_by(Post.created.desc(), Post.id.desc()))
    return await render_template("index.html", posts=posts.unique().all())


@bp.route("/create", methods=["GET", "POST"])
@login_required
async def create() -> Any:
    form = await PostForm.from_request()
    if form.validate_or_400():
        image = save_image(form)
        if image is not False:
            post = Post(author_id=g.user.id, title=form.title.data, body=form.body.data, image=image)
            db = get_session()
            db.add(post)
            await db.flush()
            await flash("Post published.", "success")
            return redirect(url_for("posts.detail", post_id=post.id))
    return await render_template("edit.html", form=form, post=None), 400 if form.errors else 200


@bp.route("/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
async def edit(post_id: int) -> Any:
    post = await get_post(post_id)
    form = await PostForm.from_request(obj=post)
    if form.validate_or_400():
        image = save_image(form)
        if image is not False:
            post.title, post.body = form.title.data, form.body.data
            if image:
                post.image = image
            await flash("Post updated.", "success")
            return redirect(url_for("posts.detail", post_id=post.id))
    return await render_template("edit.html", form=form, post=post), 400 if form.errors else 200


@bp.post("/<int:post_id>/delete")
@login_required
async def delete(post_id: int) -> Any:
    post = await get_post(post_id)
    form = await CommentForm.from_request()
    form.validate_or_400()  # only the CSRF token matters here
    await get_session().delete(post)
    await flash("Post deleted.")
    return redirect(url_for("posts.index"))


@bp.get("/<int:post_id>")
async def detail(post_id: int) -> str:
    post = await get_post(post_id, check_author=False)
    return await render_template("detail.html", post=post, form=await CommentForm.from_request())


@bp.post("/<int:post_id>/comments")
@login_required
async def comment(post_id: int) -> Any:
    post = await get_post(post_id, check_author=False)
    form = await CommentForm.from_request()
    if not form.validate_or_400():
        return await render_template("detail.html", post=post, form=form), 400
    db = get_session()
    new = Comment(post_id=post.id, author_id=g.user.id, body=form.body.data)
    db.add(new)
    await db.commit()  # committed before it is announced, so a reload shows it too
    publish(post.id, {"id": new.id, "author": g.user.username, "body": new.body})
    return redirect(url_for("posts.detail", post_id=post.id) + f"#comment-{new.id}")


def listeners(post_id: int) -> set[asyncio.Queue[dict[str, Any]]]:
    rooms: dict[int, set[asyncio.Queue[dict[str, Any]]]] = current_app.extensions.setdefault("blog.rooms", {})
    return rooms.setdefault(post_id, set())


def publish(post_id: int, comment: dict[str, Any]) -> None:
    """Hand a new comment to every open page of the post (one process; Redis for several)."""
    for queue in listeners(post_id):
        queue.put_nowait(comment)


@bp.get("/<int:post_id>/comments/live")
async def live_comments(post_id: int) -> EventStream:
    await get_post(post_id, check_author=False)
    room = listeners(post_id)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)

    async def events() -> AsyncIterator[ServerSentEvent]:
        room.add(queue)
        try:
            yield ServerSentEvent("ready", event="ready")
            while True:
                yield ServerSentEvent(await queue.get(), event="comment")
        finally:
            room.discard(queue)

    return EventStream(events(), keepalive=15)


@bp.get("/uploads/<path:name>")
async def upload(name: str) -> Any:
    return await send_from_directory(upload_folder(), name, max_age=3600)


async def outside_call(name: str) -> str:
    """Stands in for a slow HTTP API (weather, payments, ...): awaiting it frees the worker."""
    await asyncio.sleep(float(current_app.config["SLOW_CALL_SECONDS"]))
    return f"{name}: ok"


@bp.get("/slow")
async def slow() -> str:
    started = time.perf_counter()
    results = await asyncio.gather(outside_call("weather"), outside_call("quotes"), outside_call("rates"))
    elapsed = time.perf_counter() - started
    return await render_template("slow.html", results=results, elapsed=elapsed)
