"""Where an app's package lives, and its instance folder: Flask's rules, so files are found.

The instance folder holds what is not code and not in version control: local configuration,
a SQLite database, uploads. For an app in a module or package that is not installed, it is
`instance/` in the folder that holds that module or package (the project folder); for an
installed package, `<prefix>/var/<app name>-instance`, never inside site-packages.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import PurePath
from typing import IO, Any

__all__ = ["InstanceMixin", "find_package"]


def _is_within(path: str | PurePath, folder: str) -> bool:
    try:
        PurePath(path).relative_to(folder)
    except ValueError:
        return False
    return True


def _package_folder(import_name: str) -> str:
    """The folder that holds the top-level module or package of `import_name`."""
    top_level = import_name.partition(".")[0]
    try:
        spec = importlib.util.find_spec(top_level)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return os.getcwd()  # `__main__` run from an interactive shell, or not importable
    locations = spec.submodule_search_locations
    if not locations:
        # A single module: the folder it is in.
        return os.path.dirname(str(spec.origin))
    if spec.origin not in (None, "namespace"):
        # A regular package: the folder above its `__init__.py`'s folder.
        return os.path.dirname(os.path.dirname(spec.origin))
    # A namespace package may span folders: take the one that holds `import_name` itself.
    try:
        full_spec = importlib.util.find_spec(import_name)
    except (ImportError, ValueError):
        full_spec = None
    if full_spec is not None and full_spec.submodule_search_locations:
        package_path = os.path.commonpath(list(full_spec.submodule_search_locations))
        for location in locations:
            if _is_within(package_path, location):
                return os.path.dirname(location)
    return os.path.dirname(next(iter(locations)))


def find_package(import_name: str) -> tuple[str | None, str]:
    """`(prefix, folder)`: the install prefix (None when not installed) and the package's folder."""
    folder = _package_folder(import_name)
    prefix = os.path.abspath(sys.prefix)
    if _is_within(folder, prefix):
        return prefix, folder
    parent, name = os.path.split(folder)
    if name.lower() == "site-packages":
        # Installed under another prefix: <prefix>/lib/site-packages or <prefix>/lib/pythonX.Y/site-packages.
        grandparent, parent_name = os.path.split(parent)
        if parent_name.lower() == "lib":
            return grandparent, folder
        if os.path.basename(grandparent).lower() == "lib":
            return os.path.dirname(grandparent), folder
        return parent, folder
    return None, folder


class InstanceMixin:
    """The app's instance folder: finding it and opening files in it."""

    import_name: str
    instance_path: str
    name: str

    def auto_find_instance_path(self) -> str:
        """The instance folder when none is given: `instance/` beside the project, or under the
        install prefix (`<prefix>/var/<name>-instance`) for an installed package."""
        prefix, folder = find_package(self.import_name)
        if prefix is None:
            return os.path.join(folder, "instance")
        return os.path.join(prefix, "var", f"{self.name}-instance")

    def open_instance_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> IO[Any]:
        """Open a file in the instance folder, for reading or writing.

        Args:
            resource: the path, relative to `instance_path`.
            mode: the file mode, as for `open`.
            encoding: the text encoding, used when `mode` is a text mode.
        """
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)
        return open(path, mode, encoding=encoding)
