# mypy: disable-error-code="untyped-decorator,misc,no-untyped-call"
"""Flask-Babel, unchanged, on an asyncflask app: the locale from Accept-Language, translated
strings in views and in templates (the sync twin and the async renderer alike)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("flask_babel")

from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask_babel import Babel, format_decimal, get_locale, gettext, lazy_gettext

from asyncflask import AsyncFlask, render_template_string, request

PAGE = (
    "{{ _('Hello') }}|{{ ngettext('%(num)d apple', '%(num)d apples', count) }}"
    "|{{ day|dateformat }}"
)
DAY = date(2026, 12, 3)


def write_catalogs(root: Path) -> Path:
    catalog = Catalog(locale="fr")
    catalog.add("Hello", "Bonjour")
    catalog.add("Goodbye", "Au revoir")
    # CLDR gives French three plural forms (one, many, other).
    plurals = ("%(num)d pomme", "%(num)d pommes", "%(num)d pommes")
    catalog.add(("%(num)d apple", "%(num)d apples"), plurals)
    folder = root / "translations" / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.mo", "wb") as file:
        write_mo(file, catalog)
    return root / "translations"


def make_app(tmp_path: Path, async_global: bool = False) -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(write_catalogs(tmp_path))

    def choose_locale() -> str | None:
        return request.accept_languages.best_match(["en", "fr"])

    Babel(app, locale_selector=choose_locale)
    farewell = lazy_gettext("Goodbye")

    if async_global:
        # Any async callable in the environment sends templates down the async renderer.
        async def shout(text: str) -> str:
            return text.upper()

        app.jinja_env.globals["shout"] = shout

    @app.get("/page")
    async def page() -> str:
        return await render_template_string(PAGE, count=3, day=DAY)

    @app.get("/sync")
    def sync_view() -> str:
        return f"{gettext('Hello')}|{format_decimal(1234.5)}|{get_locale()}"

    @app.get("/async")
    async def async_view() -> str:
        return f"{gettext('Hello')}|{farewell}|{get_locale()}"

    return app


@pytest.mark.parametrize("async_global", [False, True], ids=["sync-render", "async-render"])
async def test_template_is_translated_per_request(tmp_path: Path, async_global: bool) -> None:
    app = make_app(tmp_path, async_global)
    async with app.test_client() as client:
        french = await client.get("/page", headers={"Accept-Language": "fr-CA,fr;q=0.9"})
        assert french.status_code == 200
        assert french.text == f"Bonjour|3 pommes|{format_date(DAY, locale='fr')}"
        english = await client.get("/page", headers={"Accept-Language": "en"})
        assert english.text == f"Hello|3 apples|{format_date(DAY, locale='en')}"
        # No preference that matches: the default locale.
        assert (await client.get("/page", headers={"Accept-Language": "de"})).text.startswith(
            "Hello|"
        )


async def test_sync_and_async_views_see_the_request_locale(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.test_client() as client:
        french = await client.get("/sync", headers={"Accept-Language": "fr"})
        assert french.text == f"Bonjour|{format_decimal_fr()}|fr"
        assert (await client.get("/sync", headers={"Accept-Language": "en"})).text == (
            "Hello|1,234.5|en"
        )
        assert (await client.get("/async", headers={"Accept-Language": "fr"})).text == (
            "Bonjour|Au revoir|fr"
        )
        # The locale is chosen per request, not kept from the previous one.
        assert (await client.get("/async")).text == "Hello|Goodbye|en"


def format_decimal_fr() -> str:
    from babel.numbers import format_decimal as babel_format_decimal

    return babel_format_decimal(1234.5, locale="fr")
