# mypy: disable-error-code="untyped-decorator,misc"
"""Flask-WTF, unchanged, on an asyncflask app: CSRF protection, FlaskForm validation, files."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("flask_wtf")

from flask_wtf import CSRFProtect, FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired

from asyncflask import AsyncFlask, render_template_string


class NameForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired()])


class UploadForm(FlaskForm):
    image = FileField("Image", validators=[FileRequired(), FileAllowed(["png"], "PNG only")])


PAGE = '<form method="post">{{ form.csrf_token }}{{ form.name }}</form><p>{{ csrf_token() }}</p>'


def make_app() -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.secret_key = "test secret"
    CSRFProtect(app)

    @app.route("/name", methods=["GET", "POST"])
    async def name() -> str | tuple[str, int]:
        form = NameForm()
        if form.validate_on_submit():
            return f"hello {form.name.data}"
        if form.errors:
            return f"invalid: {sorted(form.errors)}", 422
        return await render_template_string(PAGE, form=form)

    @app.route("/name-sync", methods=["POST"])
    def name_sync() -> str | tuple[str, int]:
        form = NameForm()
        if form.validate_on_submit():
            return f"sync hello {form.name.data}"
        return f"invalid: {sorted(form.errors)}", 422

    @app.post("/upload")
    async def upload() -> str | tuple[str, int]:
        form = UploadForm()
        if form.validate_on_submit():
            return f"got {form.image.data.filename}"
        return f"invalid: {form.errors}", 422

    return app


async def token_from(client: object) -> str:
    page = await client.get("/name")  # type: ignore[attr-defined]
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert found is not None, page.text
    # The template global gives the same token.
    assert f"<p>{found.group(1)}</p>" in page.text
    return found.group(1)


async def test_valid_form_with_the_csrf_token() -> None:
    async with make_app().test_client() as client:
        token = await token_from(client)
        response = await client.post("/name", data={"csrf_token": token, "name": "ann"})
        sync = await client.post("/name-sync", data={"csrf_token": token, "name": "bo"})
    assert (response.status_code, response.text) == (200, "hello ann")
    assert (sync.status_code, sync.text) == (200, "sync hello bo")


async def test_missing_or_wrong_token_is_400() -> None:
    async with make_app().test_client() as client:
        await token_from(client)
        missing = await client.post("/name", data={"name": "ann"})
        wrong = await client.post("/name", data={"csrf_token": "forged", "name": "ann"})
    for response in (missing, wrong):
        assert response.status_code == 400
        assert "<title>400 Bad Request</title>" in response.text
    assert "The CSRF token is missing." in missing.text
    assert "The CSRF token is invalid." in wrong.text


async def test_field_errors() -> None:
    async with make_app().test_client() as client:
        token = await token_from(client)
        response = await client.post("/name", data={"csrf_token": token, "name": ""})
    assert (response.status_code, response.text) == (422, "invalid: ['name']")


async def test_file_field_checks_the_upload() -> None:
    async with make_app().test_client() as client:
        token = await token_from(client)
        png = await client.post(
            "/upload", data={"csrf_token": token}, files={"image": ("a.png", b"\x89PNG...", "image/png")}
        )
        exe = await client.post(
            "/upload",
            data={"csrf_token": token},
            files={"image": ("a.exe", b"MZ", "application/x-msdownload")},
        )
        none = await client.post("/upload", data={"csrf_token": token})
    assert (png.status_code, png.text) == (200, "got a.png")
    assert exe.status_code == 422 and "PNG only" in exe.text
    assert none.status_code == 422 and "image" in none.text
