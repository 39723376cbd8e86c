"""Flask's app methods that extensions and subclasses call or override."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .exceptions import Aborter

if TYPE_CHECKING:
    from .wrappers import Response


class AppMethods:
    """Flask's public app methods, mixed into `AsyncFlask`."""

    aborter_class: type[Aborter] = Aborter

    def make_aborter(self) -> Aborter:
        """The `Aborter` that `abort()` uses inside this app: `aborter_class()` by default."""
        return self.aborter_class()

    def redirect(self, location: str, code: int = 302) -> Response:
        """A redirect response; `asyncflask.redirect` calls this on the current app."""
        from .helpers import build_redirect

        return build_redirect(location, code, self.response_class)  # type: ignore[attr-defined]
