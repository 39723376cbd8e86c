"""Tests for asyncflask.config: the Config dict, its loaders, ConfigAttribute and defaults."""

from __future__ import annotations

import errno
import json
import os
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from asyncflask.config import DEFAULT_CONFIG, Config, ConfigAttribute

if sys.version_info >= (3, 11):
    import tomllib

needs_tomllib = pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib needs Python 3.11")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Remove any ASYNCFLASK_* variables the outer environment may carry."""
    for key in list(os.environ):
        if key.startswith("ASYNCFLASK_") or key.startswith("MYAPP_"):
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.fixture
def importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Give a sys.path folder for throwaway modules, and forget them afterwards."""
    folder = tmp_path / "importable"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        if name.startswith("af_"):
            del sys.modules[name]


def write(path: Path, text: str) -> Path:
    """Write dedented text to path and return it."""
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- construction and repr -------------------------------------------------------------


def test_is_a_dict_with_root_path(tmp_path: Path) -> None:
    cfg = Config(tmp_path)
    assert isinstance(cfg, dict)
    assert cfg == {}
    assert cfg.root_path == tmp_path


def test_defaults_are_copied(tmp_path: Path) -> None:
    defaults = {"A": 1, "B": [1]}
    cfg = Config(str(tmp_path), defaults)
    assert cfg == {"A": 1, "B": [1]}
    cfg["A"] = 2
    cfg["C"] = 3
    assert defaults == {"A": 1, "B": [1]}


def test_defaults_none_gives_empty(tmp_path: Path) -> None:
    assert Config(tmp_path, None) == {}


def test_repr(tmp_path: Path) -> None:
    cfg = Config(tmp_path, {"A": 1})
    assert repr(cfg) == "<Config {'A': 1}>"


def test_repr_uses_subclass_name(tmp_path: Path) -> None:
    class MyConfig(Config):
        pass

    assert repr(MyConfig(tmp_path, {"X": "y"})) == "<MyConfig {'X': 'y'}>"


# --- from_object ----------------------------------------------------------------------


def test_from_object_class_uppercase_only(tmp_path: Path) -> None:
    class Settings:
        DEBUG = True
        SECRET_KEY = "dev"
        _PRIVATE_UPPER = 1
        lowercase = "ignored"
        MixedCase = "ignored"

        def helper(self) -> int:
            return 1

    cfg = Config(tmp_path)
    cfg.from_object(Settings)
    assert cfg == {"DEBUG": True, "SECRET_KEY": "dev", "_PRIVATE_UPPER": 1}


def test_from_object_inherited_attributes(tmp_path: Path) -> None:
    class Base:
        DEBUG = False
        DATABASE = "sqlite://"

    class Dev(Base):
        DEBUG = True

    cfg = Config(tmp_path)
    cfg.from_object(Dev)
    assert cfg == {"DEBUG": True, "DATABASE": "sqlite://"}


def test_from_object_instance_and_property(tmp_path: Path) -> None:
    class Settings:
        def __init__(self) -> None:
            self.HOST = "example.com"

        @property
        def URL(self) -> str:
            return f"https://{self.HOST}/"

    cfg = Config(tmp_path)
    cfg.from_object(Settings())
    assert cfg == {"HOST": "example.com", "URL": "https://example.com/"}


def test_from_object_overrides_existing(tmp_path: Path) -> None:
    class Settings:
        A = "new"

    cfg = Config(tmp_path, {"A": "old", "B": "kept"})
    cfg.from_object(Settings)
    assert cfg == {"A": "new", "B": "kept"}


def test_from_object_module_string(importable: Path, tmp_path: Path) -> None:
    write(
        importable / "af_settings_mod.py",
        """
        DEBUG = True
        PORT = 8000
        name = "ignored"
        """,
    )
    cfg = Config(tmp_path)
    cfg.from_object("af_settings_mod")
    assert cfg == {"DEBUG": True, "PORT": 8000}


@pytest.mark.parametrize("spec", ["af_settings_cls:Prod", "af_settings_cls.Prod"])
def test_from_object_class_string(importable: Path, tmp_path: Path, spec: str) -> None:
    write(
        importable / "af_settings_cls.py",
        """
        TOP_LEVEL = "not loaded"

        class Prod:
            DEBUG = False
            SECRET_KEY = "prod-key"
        """,
    )
    cfg = Config(tmp_path)
    cfg.from_object(spec)
    assert cfg == {"DEBUG": False, "SECRET_KEY": "prod-key"}


def test_from_object_nested_attribute_after_colon(importable: Path, tmp_path: Path) -> None:
    write(
        importable / "af_settings_nested.py",
        """
        class Outer:
            class Inner:
                VALUE = 42
        """,
    )
    cfg = Config(tmp_path)
    cfg.from_object("af_settings_nested:Outer.Inner")
    assert cfg == {"VALUE": 42}


@pytest.mark.parametrize("spec", ["af_pkg.sub", "af_pkg.sub:Cfg", "af_pkg.sub.Cfg"])
def test_from_object_submodule_not_imported_by_package(importable: Path, tmp_path: Path, spec: str) -> None:
    pkg = importable / "af_pkg"
    pkg.mkdir()
    write(pkg / "__init__.py", "")
    write(
        pkg / "sub.py",
        """
        SUB_VALUE = "module"

        class Cfg:
            CLS_VALUE = "class"
        """,
    )
    cfg = Config(tmp_path)
    cfg.from_object(spec)
    if spec == "af_pkg.sub":
        assert cfg == {"SUB_VALUE": "module"}
    else:
        assert cfg == {"CLS_VALUE": "class"}


def test_from_object_stdlib_module(tmp_path: Path) -> None:
    cfg = Config(tmp_path)
    cfg.from_object("logging")
    assert cfg["DEBUG"] == 10
    assert cfg["CRITICAL"] == 50
    assert all(key.isupper() for key in cfg)


def test_from_object_missing_module(tmp_path: Path) -> None:
    cfg = Config(tmp_path)
    with pytest.raises(ImportError) as info:
        cfg.from_object("af_no_such_module_xyz:Settings")
    message = str(info.value)
    assert "'af_no_such_module_xyz:Settings'" in message
    assert "package.module:Object" in message
    assert cfg == {}


def test_from_object_missing_attribute(importable: Path, tmp_path: Path) -> None:
    write(importable / "af_settings_attr.py", "A = 1\n")
    cfg = Config(tmp_path)
    with pytest.raises(ImportError) as info:
        cfg.from_object("af_settings_attr:Missing")
    message = str(info.value)
    assert "'af_settings_attr:Missing'" in message
    assert "has no attribute 'Missing'" in message
    assert "package.module.Object" in message


def test_from_object_missing_attribute_dotted(importable: Path, tmp_path: Path) -> None:
    write(importable / "af_settings_attr2.py", "A = 1\n")
    with pytest.raises(ImportError, match="has no attribute 'Missing'"):
        Config(tmp_path).from_object("af_settings_attr2.Missing")


def test_from_object_missing_nested_attribute(importable: Path, tmp_path: Path) -> None:
    write(importable / "af_settings_attr3.py", "class Outer:\n    X = 1\n")
    with pytest.raises(ImportError, match="has no attribute 'Outer.Inner'"):
        Config(tmp_path).from_object("af_settings_attr3:Outer.Inner")


def test_from_object_empty_string(tmp_path: Path) -> None:
    with pytest.raises(ImportError, match="empty string"):
        Config(tmp_path).from_object("   ")


def test_from_object_error_inside_imported_module_propagates(importable: Path, tmp_path: Path) -> None:
    write(importable / "af_settings_broken.py", "raise ValueError('boom in settings')\n")
    with pytest.raises(ValueError, match="boom in settings"):
        Config(tmp_path).from_object("af_settings_broken")


def test_from_object_failing_import_inside_module_is_explained(importable: Path, tmp_path: Path) -> None:
    write(importable / "af_settings_badimport.py", "import af_dependency_that_is_missing\n")
    with pytest.raises(ImportError) as info:
        Config(tmp_path).from_object("af_settings_badimport")
    assert "af_dependency_that_is_missing" in str(info.value)
    assert "'af_settings_badimport'" in str(info.value)


# --- from_pyfile ----------------------------------------------------------------------


def test_from_pyfile_relative_to_root_path(tmp_path: Path) -> None:
    write(
        tmp_path / "settings.cfg",
        """
        import os
        DEBUG = True
        SECRET_KEY = "s3cret"
        ITEMS = [i * 2 for i in range(3)]
        lowercase = "ignored"
        THIS_FILE = __file__
        """,
    )
    cfg = Config(tmp_path)
    assert cfg.from_pyfile("settings.cfg") is True
    assert cfg == {
        "DEBUG": True,
        "SECRET_KEY": "s3cret",
        "ITEMS": [0, 2, 4],
        "THIS_FILE": os.path.join(tmp_path, "settings.cfg"),
    }


def test_from_pyfile_absolute_path(tmp_path: Path) -> None:
    path = write(tmp_path / "abs.py", "VALUE = 'abs'\n")
    cfg = Config("/nonexistent-root")
    assert cfg.from_pyfile(str(path)) is True
    assert cfg == {"VALUE": "abs"}


def test_from_pyfile_accepts_pathlike(tmp_path: Path) -> None:
    write(tmp_path / "p.py", "VALUE = 1\n")
    cfg = Config(tmp_path)
    assert cfg.from_pyfile(Path("p.py")) is True
    assert cfg == {"VALUE": 1}


def test_from_pyfile_missing_raises_naming_file(tmp_path: Path) -> None:
    cfg = Config(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        cfg.from_pyfile("missing.cfg")
    err = info.value
    assert err.errno == errno.ENOENT
    assert err.filename == os.path.join(tmp_path, "missing.cfg")
    message = str(err)
    assert "Unable to load configuration file" in message
    assert "missing.cfg" in message
    assert "silent=True" in message


def test_from_pyfile_missing_silent(tmp_path: Path) -> None:
    cfg = Config(tmp_path, {"A": 1})
    assert cfg.from_pyfile("missing.cfg", silent=True) is False
    assert cfg == {"A": 1}


def test_from_pyfile_directory_silent_and_loud(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    cfg = Config(tmp_path)
    assert cfg.from_pyfile("adir", silent=True) is False
    with pytest.raises(IsADirectoryError, match="Unable to load configuration file"):
        cfg.from_pyfile("adir")


def test_from_pyfile_not_a_directory_silent(tmp_path: Path) -> None:
    write(tmp_path / "file.txt", "x")
    assert Config(tmp_path).from_pyfile("file.txt/settings.cfg", silent=True) is False


def test_from_pyfile_error_in_file_propagates_even_when_silent(tmp_path: Path) -> None:
    write(tmp_path / "bad.cfg", "VALUE = 1 / 0\n")
    with pytest.raises(ZeroDivisionError):
        Config(tmp_path).from_pyfile("bad.cfg", silent=True)


def test_from_pyfile_oserror_inside_file_is_not_silenced(tmp_path: Path) -> None:
    write(tmp_path / "opens.cfg", "open('definitely-missing-data-file')\n")
    with pytest.raises(FileNotFoundError) as info:
        Config(tmp_path).from_pyfile("opens.cfg", silent=True)
    assert "Unable to load configuration file" not in str(info.value)


def test_from_pyfile_syntax_error_names_file(tmp_path: Path) -> None:
    write(tmp_path / "syntax.cfg", "VALUE = (\n")
    with pytest.raises(SyntaxError) as info:
        Config(tmp_path).from_pyfile("syntax.cfg")
    assert info.value.filename == os.path.join(tmp_path, "syntax.cfg")


# --- from_envvar ----------------------------------------------------------------------


def test_from_envvar_loads_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "env.cfg", "FROM_ENV = 'yes'\n")
    monkeypatch.setenv("AF_TEST_SETTINGS", str(path))
    cfg = Config(tmp_path)
    assert cfg.from_envvar("AF_TEST_SETTINGS") is True
    assert cfg == {"FROM_ENV": "yes"}


def test_from_envvar_relative_path_uses_root_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "rel.cfg", "REL = 1\n")
    monkeypatch.setenv("AF_TEST_SETTINGS", "rel.cfg")
    cfg = Config(tmp_path)
    assert cfg.from_envvar("AF_TEST_SETTINGS") is True
    assert cfg == {"REL": 1}


def test_from_envvar_unset_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AF_TEST_SETTINGS", raising=False)
    with pytest.raises(RuntimeError) as info:
        Config(tmp_path).from_envvar("AF_TEST_SETTINGS")
    message = str(info.value)
    assert "'AF_TEST_SETTINGS' is not set" in message
    assert "export AF_TEST_SETTINGS=" in message
    assert "silent=True" in message


def test_from_envvar_empty_counts_as_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AF_TEST_SETTINGS", "")
    with pytest.raises(RuntimeError, match="AF_TEST_SETTINGS"):
        Config(tmp_path).from_envvar("AF_TEST_SETTINGS")
    assert Config(tmp_path).from_envvar("AF_TEST_SETTINGS", silent=True) is False


def test_from_envvar_unset_silent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AF_TEST_SETTINGS", raising=False)
    cfg = Config(tmp_path)
    assert cfg.from_envvar("AF_TEST_SETTINGS", silent=True) is False
    assert cfg == {}


def test_from_envvar_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AF_TEST_SETTINGS", "nope.cfg")
    cfg = Config(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope.cfg"):
        cfg.from_envvar("AF_TEST_SETTINGS")
    assert cfg.from_envvar("AF_TEST_SETTINGS", silent=True) is False


# --- from_mapping ---------------------------------------------------------------------


def test_from_mapping_uppercase_only(tmp_path: Path) -> None:
    cfg = Config(tmp_path)
    assert cfg.from_mapping({"SECRET_KEY": "k", "lower": 1, "Mixed": 2, "TEST_KEY": "t"}) is True
    assert cfg == {"SECRET_KEY": "k", "TEST_KEY": "t"}


def test_from_mapping_kwargs(tmp_path: Path) -> None:
    cfg = Config(tmp_path)
    assert cfg.from_mapping(SECRET_KEY="k", lower="x") is True
    assert cfg == {"SECRET_KEY": "k"}


def test_from_mapping_kwargs_override_mapping(tmp_path: Path) -> None:
    cfg = Config(tmp_path)
    cfg.from_mapping({"A": 1, "B": 2}, B=3, C=4)
    assert cfg == {"A": 1, "B": 3, "C": 4}


def test_from_mapping_nothing(tmp_path: Path) -> None:
    cfg = Config(tmp_path, {"A": 1})
    assert cfg.from_mapping() is True
    assert cfg == {"A": 1}


def test_from_mapping_iterable_of_pairs_is_not_needed_but_mapping_types_work(tmp_path: Path) -> None:
    from types import MappingProxyType

    cfg = Config(tmp_path)
    cfg.from_mapping(MappingProxyType({"X": 1}))
    assert cfg == {"X": 1}


# --- from_file ------------------------------------------------------------------------


def test_from_file_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"SECRET_KEY": "j", "DEBUG": True, "nested": {"A": 1}, "LIST": [1, "é"]}),
        encoding="utf-8",
    )
    cfg = Config(tmp_path)
    assert cfg.from_file("config.json", load=json.load) is True
    assert cfg == {"SECRET_KEY": "j", "DEBUG": True, "LIST": [1, "é"]}


def test_from_file_text_mode_passes_str_stream(tmp_path: Path) -> None:
    write(tmp_path / "c.txt", "KEY=value\n")
    seen: list[Any] = []

    def load(stream: Any) -> dict[str, Any]:
        data = stream.read()
        seen.append(data)
        key, _, value = data.strip().partition("=")
        return {key: value}

    cfg = Config(tmp_path)
    assert cfg.from_file("c.txt", load=load) is True
    assert seen == ["KEY=value\n"]
    assert cfg == {"KEY": "value"}


def test_from_file_binary_mode_passes_bytes_stream(tmp_path: Path) -> None:
    (tmp_path / "c.bin").write_bytes(b"\x00raw")
    seen: list[Any] = []

    def load(stream: Any) -> dict[str, Any]:
        seen.append(stream.read())
        return {"RAW": True}

    cfg = Config(tmp_path)
    assert cfg.from_file("c.bin", load=load, text=False) is True
    assert seen == [b"\x00raw"]
    assert cfg == {"RAW": True}


@needs_tomllib
def test_from_file_toml(tmp_path: Path) -> None:
    write(
        tmp_path / "config.toml",
        """
        SECRET_KEY = "t"
        MAX_FORM_PARTS = 10
        lowercase = 1

        [DATABASE]
        HOST = "db"
        """,
    )
    cfg = Config(tmp_path)
    assert cfg.from_file("config.toml", load=tomllib.load, text=False) is True
    assert cfg == {"SECRET_KEY": "t", "MAX_FORM_PARTS": 10, "DATABASE": {"HOST": "db"}}


@needs_tomllib
def test_from_file_toml_in_text_mode_fails_loudly(tmp_path: Path) -> None:
    write(tmp_path / "config.toml", 'A = "b"\n')
    with pytest.raises(TypeError):
        Config(tmp_path).from_file("config.toml", load=tomllib.load)


def test_from_file_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "abs.json"
    path.write_text('{"ABS": 1}', encoding="utf-8")
    cfg = Config("/nonexistent-root")
    assert cfg.from_file(str(path), load=json.load) is True
    assert cfg == {"ABS": 1}


def test_from_file_missing_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        Config(tmp_path).from_file("missing.json", load=json.load)
    assert info.value.filename == os.path.join(tmp_path, "missing.json")
    assert "Unable to load configuration file" in str(info.value)
    assert "missing.json" in str(info.value)


def test_from_file_missing_silent(tmp_path: Path) -> None:
    cfg = Config(tmp_path)
    assert cfg.from_file("missing.json", load=json.load, silent=True) is False
    assert cfg.from_file("missing.toml", load=json.load, silent=True, text=False) is False
    assert cfg == {}


def test_from_file_invalid_content_propagates_even_when_silent(tmp_path: Path) -> None:
    write(tmp_path / "bad.json", "{not json")
    with pytest.raises(json.JSONDecodeError):
        Config(tmp_path).from_file("bad.json", load=json.load, silent=True)


def test_from_file_non_mapping_result(tmp_path: Path) -> None:
    write(tmp_path / "list.json", "[1, 2]")
    with pytest.raises(TypeError) as info:
        Config(tmp_path).from_file("list.json", load=json.load)
    message = str(info.value)
    assert "gave a list, not a mapping" in message
    assert "list.json" in message


def test_from_file_closes_file(tmp_path: Path) -> None:
    write(tmp_path / "c.json", '{"A": 1}')
    streams: list[Any] = []

    def load(stream: Any) -> dict[str, Any]:
        streams.append(stream)
        result: dict[str, Any] = json.load(stream)
        return result

    Config(tmp_path).from_file("c.json", load=load)
    assert streams[0].closed


# --- from_prefixed_env ----------------------------------------------------------------


def test_prefixed_env_parses_json_values(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASK_STRING", "value")
    clean_env.setenv("ASYNCFLASK_BOOL", "true")
    clean_env.setenv("ASYNCFLASK_FALSE", "false")
    clean_env.setenv("ASYNCFLASK_INT", "1")
    clean_env.setenv("ASYNCFLASK_FLOAT", "1.5")
    clean_env.setenv("ASYNCFLASK_NULL", "null")
    clean_env.setenv("ASYNCFLASK_LIST", "[1, 2]")
    clean_env.setenv("ASYNCFLASK_DICT", '{"k": "v"}')
    clean_env.setenv("ASYNCFLASK_QUOTED", '"42"')
    clean_env.setenv("OTHER_KEY", "ignored")
    cfg = Config(tmp_path)
    assert cfg.from_prefixed_env() is True
    assert cfg == {
        "STRING": "value",
        "BOOL": True,
        "FALSE": False,
        "INT": 1,
        "FLOAT": 1.5,
        "NULL": None,
        "LIST": [1, 2],
        "DICT": {"k": "v"},
        "QUOTED": "42",
    }


def test_prefixed_env_invalid_json_kept_as_string(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASK_URL", "postgres://user@host/db")
    clean_env.setenv("ASYNCFLASK_BROKEN", "{not json")
    clean_env.setenv("ASYNCFLASK_EMPTY", "")
    clean_env.setenv("ASYNCFLASK_TRUE_CAPS", "True")
    cfg = Config(tmp_path)
    cfg.from_prefixed_env()
    assert cfg == {
        "URL": "postgres://user@host/db",
        "BROKEN": "{not json",
        "EMPTY": "",
        "TRUE_CAPS": "True",
    }


def test_prefixed_env_overrides_existing(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASK_SECRET_KEY", "from-env")
    cfg = Config(tmp_path, {"SECRET_KEY": "default", "OTHER": 1})
    cfg.from_prefixed_env()
    assert cfg == {"SECRET_KEY": "from-env", "OTHER": 1}


def test_prefixed_env_custom_prefix(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("MYAPP_A", "1")
    clean_env.setenv("ASYNCFLASK_B", "2")
    clean_env.setenv("MYAPPX_C", "3")
    cfg = Config(tmp_path)
    cfg.from_prefixed_env("MYAPP")
    assert cfg == {"A": 1}


def test_prefixed_env_requires_underscore_after_prefix(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASKX", "1")
    cfg = Config(tmp_path)
    cfg.from_prefixed_env()
    assert cfg == {}


def test_prefixed_env_custom_loads(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASK_A", "space")
    clean_env.setenv("ASYNCFLASK_B", "2")
    cfg = Config(tmp_path)
    cfg.from_prefixed_env(loads=str.upper)
    assert cfg == {"A": "SPACE", "B": "2"}


def test_prefixed_env_loads_failure_falls_back(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASK_NUM", "12")
    clean_env.setenv("ASYNCFLASK_TEXT", "abc")
    cfg = Config(tmp_path)
    cfg.from_prefixed_env(loads=int)
    assert cfg == {"NUM": 12, "TEXT": "abc"}


def test_prefixed_env_nested_creates_dicts(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASK_DB__HOST", "localhost")
    clean_env.setenv("ASYNCFLASK_DB__PORT", "5432")
    clean_env.setenv("ASYNCFLASK_A__B__C", "true")
    cfg = Config(tmp_path)
    cfg.from_prefixed_env()
    assert cfg == {
        "DB": {"HOST": "localhost", "PORT": 5432},
        "A": {"B": {"C": True}},
    }


def test_prefixed_env_nested_updates_existing_dict(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASK_DB__HOST", "db.internal")
    existing = {"HOST": "localhost", "PORT": 5432}
    cfg = Config(tmp_path, {"DB": existing})
    cfg.from_prefixed_env()
    assert cfg == {"DB": {"HOST": "db.internal", "PORT": 5432}}
    assert cfg["DB"] is existing


def test_prefixed_env_parent_set_before_nested(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASK_DB__HOST", "override")
    clean_env.setenv("ASYNCFLASK_DB", '{"HOST": "json", "USER": "admin"}')
    cfg = Config(tmp_path)
    cfg.from_prefixed_env()
    assert cfg == {"DB": {"HOST": "override", "USER": "admin"}}


def test_prefixed_env_nested_under_non_dict_explains(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASK_DB__HOST", "x")
    cfg = Config(tmp_path, {"DB": "sqlite://"})
    with pytest.raises(TypeError) as info:
        cfg.from_prefixed_env()
    message = str(info.value)
    assert "'ASYNCFLASK_DB__HOST'" in message
    assert "config['DB'] is a str, not a dict" in message
    assert "ASYNCFLASK_DB" in message


def test_prefixed_env_deep_non_dict_path_in_message(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASK_A__B__C", "1")
    cfg = Config(tmp_path, {"A": {"B": 5}})
    with pytest.raises(TypeError, match=r"config\['A'\]\['B'\] is a int"):
        cfg.from_prefixed_env()


def test_prefixed_env_keys_are_case_sensitive(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ASYNCFLASK_lower", "1")
    cfg = Config(tmp_path)
    cfg.from_prefixed_env()
    if sys.platform == "win32":  # Windows upper-cases environment names.
        assert cfg == {"LOWER": 1}
    else:
        assert cfg == {"lower": 1}


def test_prefixed_env_nothing_matching(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = Config(tmp_path, {"A": 1})
    assert cfg.from_prefixed_env() is True
    assert cfg == {"A": 1}


# --- get_namespace --------------------------------------------------------------------


@pytest.fixture
def ns_config(tmp_path: Path) -> Config:
    return Config(
        tmp_path,
        {
            "IMAGE_STORE_TYPE": "fs",
            "IMAGE_STORE_PATH": "/var/app/images",
            "IMAGE_STORE_BASE_URL": "http://img.website.com",
            "IMAGE_STORE": "whole",
            "OTHER": 1,
        },
    )


def test_get_namespace_default(ns_config: Config) -> None:
    assert ns_config.get_namespace("IMAGE_STORE_") == {
        "type": "fs",
        "path": "/var/app/images",
        "base_url": "http://img.website.com",
    }


def test_get_namespace_keep_case(ns_config: Config) -> None:
    assert ns_config.get_namespace("IMAGE_STORE_", lowercase=False) == {
        "TYPE": "fs",
        "PATH": "/var/app/images",
        "BASE_URL": "http://img.website.com",
    }


def test_get_namespace_no_trim(ns_config: Config) -> None:
    assert ns_config.get_namespace("IMAGE_STORE_", trim_namespace=False) == {
        "image_store_type": "fs",
        "image_store_path": "/var/app/images",
        "image_store_base_url": "http://img.website.com",
    }


def test_get_namespace_no_trim_no_lowercase(ns_config: Config) -> None:
    assert ns_config.get_namespace("IMAGE_STORE_", lowercase=False, trim_namespace=False) == {
        "IMAGE_STORE_TYPE": "fs",
        "IMAGE_STORE_PATH": "/var/app/images",
        "IMAGE_STORE_BASE_URL": "http://img.website.com",
    }


def test_get_namespace_without_trailing_underscore(ns_config: Config) -> None:
    assert ns_config.get_namespace("IMAGE_STORE") == {
        "_type": "fs",
        "_path": "/var/app/images",
        "_base_url": "http://img.website.com",
        "": "whole",
    }


def test_get_namespace_is_case_sensitive_and_may_be_empty(ns_config: Config) -> None:
    assert ns_config.get_namespace("image_store_") == {}
    assert ns_config.get_namespace("NOPE_") == {}


def test_get_namespace_returns_new_dict(ns_config: Config) -> None:
    found = ns_config.get_namespace("IMAGE_STORE_")
    found["type"] = "changed"
    assert ns_config["IMAGE_STORE_TYPE"] == "fs"
    assert type(found) is dict


# --- ConfigAttribute ------------------------------------------------------------------


class Holder:
    """A minimal owner of ConfigAttributes, standing in for the application."""

    debug = ConfigAttribute[bool]("DEBUG")
    testing = ConfigAttribute[bool]("TESTING")
    secret_key = ConfigAttribute["str | bytes | None"]("SECRET_KEY")
    lifetime = ConfigAttribute[timedelta](
        "PERMANENT_SESSION_LIFETIME",
        get_converter=lambda v: v if isinstance(v, timedelta) else timedelta(seconds=v),
    )

    def __init__(self, **config: Any) -> None:
        self.config: dict[str, Any] = dict(config)


def test_config_attribute_reads_config() -> None:
    holder = Holder(DEBUG=True, TESTING=False, SECRET_KEY="k")
    assert holder.debug is True
    assert holder.testing is False
    assert holder.secret_key == "k"


def test_config_attribute_follows_config_changes() -> None:
    holder = Holder(DEBUG=False)
    holder.config["DEBUG"] = True
    assert holder.debug is True


def test_config_attribute_writes_config() -> None:
    holder = Holder(DEBUG=False)
    holder.debug = True
    holder.secret_key = b"bytes-key"
    assert holder.config == {"DEBUG": True, "SECRET_KEY": b"bytes-key"}
    assert "debug" not in vars(holder)


def test_config_attribute_missing_key_is_keyerror() -> None:
    with pytest.raises(KeyError, match="TESTING"):
        _ = Holder().testing


def test_config_attribute_get_converter() -> None:
    holder = Holder(PERMANENT_SESSION_LIFETIME=60)
    assert holder.lifetime == timedelta(seconds=60)
    holder.lifetime = timedelta(hours=1)
    assert holder.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=1)
    assert holder.lifetime == timedelta(hours=1)


def test_config_attribute_converter_does_not_change_stored_value() -> None:
    holder = Holder(PERMANENT_SESSION_LIFETIME=5)
    assert holder.lifetime == timedelta(seconds=5)
    assert holder.config["PERMANENT_SESSION_LIFETIME"] == 5


def test_config_attribute_on_class_returns_descriptor() -> None:
    descriptor = Holder.debug
    assert isinstance(descriptor, ConfigAttribute)
    assert descriptor.__name__ == "DEBUG"
    assert descriptor.get_converter is None
    assert Holder.lifetime.get_converter is not None
    assert repr(descriptor) == "<ConfigAttribute 'DEBUG'>"


def test_config_attribute_works_with_config_instance(tmp_path: Path) -> None:
    class App:
        debug = ConfigAttribute[bool]("DEBUG")

        def __init__(self) -> None:
            self.config = Config(tmp_path, DEFAULT_CONFIG)

    app = App()
    assert app.debug is None
    app.debug = True
    assert app.config["DEBUG"] is True
    assert DEFAULT_CONFIG["DEBUG"] is None


# --- DEFAULT_CONFIG -------------------------------------------------------------------


def test_default_config_exact() -> None:
    assert DEFAULT_CONFIG == {
        "DEBUG": None,
        "TESTING": False,
        "PROPAGATE_EXCEPTIONS": None,
        "SECRET_KEY": None,
        "SECRET_KEY_FALLBACKS": None,
        "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
        "USE_X_SENDFILE": False,
        "TRUSTED_HOSTS": None,
        "SERVER_NAME": None,
        "APPLICATION_ROOT": "/",
        "SESSION_COOKIE_NAME": "session",
        "SESSION_COOKIE_DOMAIN": None,
        "SESSION_COOKIE_PATH": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_PARTITIONED": False,
        "SESSION_COOKIE_SAMESITE": None,
        "SESSION_REFRESH_EACH_REQUEST": True,
        "MAX_CONTENT_LENGTH": None,
        "MAX_FORM_MEMORY_SIZE": 500_000,
        "MAX_FORM_PARTS": 1_000,
        "PRELOAD_BODY": None,
        "SEND_FILE_MAX_AGE_DEFAULT": None,
        "TRAP_BAD_REQUEST_ERRORS": None,
        "TRAP_HTTP_EXCEPTIONS": False,
        "EXPLAIN_TEMPLATE_LOADING": False,
        "PREFERRED_URL_SCHEME": "http",
        "TEMPLATES_AUTO_RELOAD": None,
        "MAX_COOKIE_SIZE": 4093,
        "PROVIDE_AUTOMATIC_OPTIONS": True,
        "WEBSOCKET_MAX_MESSAGE_SIZE": 16_777_216,
        "WEBSOCKET_ALLOWED_ORIGINS": (),
        "BACKGROUND_TASK_SHUTDOWN_TIMEOUT": 5.0,
        "GRACEFUL_SHUTDOWN_TIMEOUT": 10.0,
    }


def test_default_config_types() -> None:
    assert type(DEFAULT_CONFIG["PERMANENT_SESSION_LIFETIME"]) is timedelta
    assert DEFAULT_CONFIG["PERMANENT_SESSION_LIFETIME"].total_seconds() == 31 * 86400
    assert type(DEFAULT_CONFIG["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"]) is float
    for key in ("TESTING", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SECURE", "PROVIDE_AUTOMATIC_OPTIONS"):
        assert type(DEFAULT_CONFIG[key]) is bool
    assert all(key.isupper() for key in DEFAULT_CONFIG)


def test_default_config_matches_flask() -> None:
    flask = pytest.importorskip("flask")
    flask_defaults: dict[str, Any] = dict(flask.Flask.default_config)
    # DEBUG is resolved by each app, so the stored default is not comparable.
    flask_defaults.pop("DEBUG", None)
    missing = sorted(set(flask_defaults) - set(DEFAULT_CONFIG))
    assert missing == []
    differing = {k: (DEFAULT_CONFIG[k], v) for k, v in flask_defaults.items() if DEFAULT_CONFIG[k] != v}
    assert differing == {}


def test_config_with_defaults_is_independent(tmp_path: Path) -> None:
    cfg = Config(tmp_path, DEFAULT_CONFIG)
    cfg["TESTING"] = True
    cfg.from_mapping(SECRET_KEY="x")
    assert DEFAULT_CONFIG["TESTING"] is False
    assert DEFAULT_CONFIG["SECRET_KEY"] is None


# --- parity with Flask's Config -------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {"A": "1", "B": "text", "C": '{"x": [1, 2]}'},
        {"DB__HOST": "h", "DB__PORT": "1", "DB": '{"USER": "u"}'},
        {"X__Y__Z": "null", "X__W": "false"},
    ],
)
def test_prefixed_env_matches_flask(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]
) -> None:
    flask = pytest.importorskip("flask")
    for key in list(os.environ):
        if key.startswith("FLASK_"):
            clean_env.delenv(key)
    for key, value in env.items():
        clean_env.setenv(f"ASYNCFLASK_{key}", value)
        clean_env.setenv(f"FLASK_{key}", value)
    ours = Config(tmp_path)
    ours.from_prefixed_env()
    theirs = flask.Config(str(tmp_path))
    theirs.from_prefixed_env()
    assert dict(ours) == dict(theirs)


def test_get_namespace_matches_flask(ns_config: Config, tmp_path: Path) -> None:
    flask = pytest.importorskip("flask")
    theirs = flask.Config(str(tmp_path), dict(ns_config))
    for lowercase in (True, False):
        for trim in (True, False):
            assert ns_config.get_namespace("IMAGE_STORE_", lowercase, trim) == theirs.get_namespace(
                "IMAGE_STORE_", lowercase, trim
            )
