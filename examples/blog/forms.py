"""WTForms forms, fed from `await request.form` / `await request.files`, with session CSRF."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import CombinedMultiDict
from wtforms import FileField, Form, PasswordField, StringField, TextAreaField
from wtforms.csrf.session import SessionCSRF
from wtforms.validators import DataRequired, EqualTo, Length

from asyncflask import abort, current_app, request, session


class BaseForm(Form):
    """A form whose CSRF token is kept in the session and keyed on the app's secret."""

    class Meta:
        csrf = True
        csrf_class = SessionCSRF

        @property
        def csrf_secret(self) -> bytes:
            return str(current_app.config["SECRET_KEY"]).encode()

        @property
        def csrf_context(self) -> Any:
            return session

    @classmethod
    async def from_request(cls, **kwargs: Any) -> Any:
        """Build the form from this request's body (none for a GET)."""
        if request.method in ("POST", "PUT"):
            form = await request.form
            files = await request.files
            return cls(CombinedMultiDict([form, files]), **kwargs)
        return cls(None, **kwargs)

    def validate_or_400(self) -> bool:
        """Validate a submitted form; a missing or wrong CSRF token is the client's fault (400)."""
        if request.method not in ("POST", "PUT"):
            return False
        ok = self.validate()
        if self.csrf_token.errors:
            abort(400, "The form's CSRF token is missing or wrong; reload the page and retry.")
        return ok


class RegisterForm(BaseForm):
    username = StringField("Username", [DataRequired(), Length(3, 40)])
    password = PasswordField("Password", [DataRequired(), Length(8, 200)])
    confirm = PasswordField("Repeat password", [EqualTo("password", "Passwords differ.")])


class LoginForm(BaseForm):
    username = StringField("Username", [DataRequired()])
    password = PasswordField("Password", [DataRequired()])


class PostForm(BaseForm):
    title = StringField("Title", [DataRequired(), Length(max=120)])
    body = TextAreaField("Body", [DataRequired()])
    image = FileField("Image (PNG, JPEG, GIF or WebP)")


class CommentForm(BaseForm):
    body = TextAreaField("Comment", [DataRequired(), Length(max=2000)])
