"""The instance folder where Flask puts it, and `open_resource` / `open_instance_resource`."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import flask
import pytest

from asyncflask import AsyncFlask, Blueprint


@pytest.fixture
def importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A fresh folder on `sys.path`, and a unique module name to put in it."""
    name = f"instance_app_{uuid.uuid4().hex[:8]}"
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path, name
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def both(import_name: str) -> tuple[str, str]:
    return AsyncFlask(import_name).instance_path, flask.Flask(import_name).instance_path


def test_module_app_has_instance_beside_the_module(importable: tuple[Path, str]) -> None:
    folder, name = importable
    (folder / f"{name}.py").write_text("")
    ours, flasks = both(name)
    assert ours == str(folder / "instance") == flasks


def test_package_app_has_instance_in_the_project_not_the_package(importable: tuple[Path, str]) -> None:
    folder, name = importable
    project = folder
    (project / name).mkdir()
    (project / name / "__init__.py").write_text("")
    (project / name / "views.py").write_text("")
    ours, flasks = both(name)
    assert ours == str(project / "instance") == flasks
    # A submodule of the package (create_app in flaskr/__init__.py passes __name__) too.
    assert AsyncFlask(f"{name}.views").instance_path == str(project / "instance")


def test_installed_package_uses_prefix_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"installed_app_{uuid.uuid4().hex[:8]}"
    site = tmp_path / "env" / "lib" / "python3.11" / "site-packages"
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(site))
    try:
        ours, flasks = both(name)
        assert ours == str(tmp_path / "env" / "var" / f"{name}-instance") == flasks
        # Under this interpreter's own prefix it is that prefix's var/ folder.
        monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))
        ours, flasks = both(name)
        assert ours == str(tmp_path / "env" / "var" / f"{name}-instance") == flasks
    finally:
        sys.modules.pop(name, None)


def test_explicit_instance_path_wins_and_must_be_absolute(tmp_path: Path) -> None:
    assert AsyncFlask(__name__, instance_path=str(tmp_path)).instance_path == str(tmp_path)
    with pytest.raises(ValueError, match="absolute"):
        AsyncFlask(__name__, instance_path="relative/instance")


def test_instance_relative_config_reads_instance_config(importable: tuple[Path, str]) -> None:
    folder, name = importable
    (folder / name).mkdir()
    (folder / name / "__init__.py").write_text("")
    (folder / "instance").mkdir()
    (folder / "instance" / "config.py").write_text("SECRET_KEY = 'from-instance'\n")
    app = AsyncFlask(name, instance_relative_config=True)
    app.config.from_pyfile("config.py", silent=False)
    assert app.config["SECRET_KEY"] == "from-instance"


# -- open_resource ---------------------------------------------------------------------------------


def test_open_resource_reads_relative_to_root_path(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_bytes("CREATE TABLE café (id);\n".encode())
    app = AsyncFlask(__name__, root_path=str(tmp_path))
    with app.open_resource("schema.sql") as binary:
        assert binary.read() == "CREATE TABLE café (id);\n".encode()
    with app.open_resource("schema.sql", "r") as text:
        assert text.read() == "CREATE TABLE café (id);\n"
    with app.open_resource("schema.sql", "rt", encoding="latin-1") as latin:
        assert latin.read() == "CREATE TABLE cafÃ© (id);\n"


@pytest.mark.parametrize("mode", ["w", "wb", "a", "r+"])
def test_open_resource_refuses_writing(tmp_path: Path, mode: str) -> None:
    app = AsyncFlask(__name__, root_path=str(tmp_path))
    with pytest.raises(ValueError, match="only be opened for reading"):
        app.open_resource("schema.sql", mode)


def test_blueprint_open_resource_uses_its_own_root(tmp_path: Path) -> None:
    (tmp_path / "bp").mkdir()
    (tmp_path / "bp" / "data.txt").write_text("blueprint data")
    bp = Blueprint("bp", __name__, root_path=str(tmp_path / "bp"))
    with bp.open_resource("data.txt", "r") as f:
        assert f.read() == "blueprint data"


def test_open_instance_resource_reads_and_writes(tmp_path: Path) -> None:
    app = AsyncFlask(__name__, instance_path=str(tmp_path))
    with app.open_instance_resource("notes.txt", "w") as f:
        f.write("é written")
    with app.open_instance_resource("notes.txt") as binary:
        assert binary.read() == "é written".encode()
    with app.open_instance_resource("notes.txt", "r") as text:
        assert text.read() == "é written"
