"""The database: one sqlite3 connection per request, kept in `g` and closed at teardown."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import click

from asyncflask import AsyncFlask, current_app, g


def get_db() -> sqlite3.Connection:
    """This request's connection, opened on first use."""
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"], detect_types=sqlite3.PARSE_DECLTYPES)
        g.db.row_factory = sqlite3.Row
    db: sqlite3.Connection = g.db
    return db


def close_db(e: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_db() -> None:
    """Drop and create the tables."""
    db = get_db()
    with current_app.open_resource("schema.sql") as f:
        db.executescript(f.read().decode("utf8"))


@click.command("init-db")
def init_db_command() -> None:
    """Clear the existing data and create new tables."""
    init_db()
    click.echo("Initialized the database.")


def init_app(app: AsyncFlask) -> None:
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)


sqlite3.register_converter("timestamp", lambda value: datetime.fromisoformat(value.decode()))
