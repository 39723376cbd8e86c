"""Register, log in, log out; `g.user` and the `login_required` pattern."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from asyncflask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from .db import User, get_session
from .forms import LoginForm, RegisterForm

bp = Blueprint("auth", __name__, url_prefix="/auth")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@bp.before_app_request
async def load_user() -> None:
    """Put the logged-in user (or None) on `g.user` for every request."""
    user_id = session.get("user_id")
    g.user = await get_session().get(User, user_id) if user_id is not None else None


def login_required(view: F) -> F:
    """Send anonymous visitors to the login page, then back where they were going."""

    @wraps(view)
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.path))
        return await view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@bp.route("/register", methods=["GET", "POST"])
async def register() -> Any:
    form = await RegisterForm.from_request()
    if form.validate_or_400():
        db = get_session()
        taken = await db.scalar(select(User.id).where(User.username == form.username.data))
        if taken is not None:
            form.username.errors.append("That username is taken.")
        else:
            db.add(
                User(username=form.username.data, password_hash=generate_password_hash(form.password.data))
            )
            await flash("Registered. Log in now.", "success")
            return redirect(url_for("auth.login"))
    status = 400 if form.errors else 200
    return await render_template("register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
async def login() -> Any:
    form = await LoginForm.from_request()
    if form.validate_or_400():
        user = await get_session().scalar(select(User).where(User.username == form.username.data))
        if user is not None and check_password_hash(user.password_hash, form.password.data):
            session.clear()
            session["user_id"] = user.id
            await flash(f"Welcome, {user.username}.", "success")
            target = request.args.get("next", "")
            # Only local paths: never an open redirect to another site.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("posts.index")
            return redirect(target)
        form.password.errors.append("Wrong username or password.")
    status = 400 if form.errors else 200
    return await render_template("login.html", form=form), status


@bp.post("/logout")
async def logout() -> Any:
    session.clear()
    await flash("Logged out.")
    return redirect(url_for("posts.index"))
