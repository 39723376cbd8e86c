from __future__ import annotations

import asyncio

import click

from asyncflask import AsyncFlask, current_app

app = AsyncFlask("with_commands")


@app.cli.command()
def hello() -> None:
    """Say hello from the app."""
    click.echo(f"hello from {current_app.name}")


@app.cli.command("ahello")
@click.argument("who")
async def async_hello(who: str) -> None:
    """Say hello asynchronously."""
    await asyncio.sleep(0)
    click.echo(f"async hello {who} from {current_app.name}")


@app.cli.command("show-debug")
def show_debug() -> None:
    """Print the app's debug flag."""
    click.echo(f"debug={current_app.debug}")


@click.command("plain")
def plain() -> None:
    """A plain click command."""
    click.echo(f"plain sees {current_app.name}")


app.cli.add_command(plain)
