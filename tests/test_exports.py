"""The static exports agree with the lazy ones: what type checkers read (the literal `__all__`
and the imports under TYPE_CHECKING) is what `rtc_startrecord` and each version module give at
run time, and `import rtc_startrecord` still loads nothing but the tables."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import typing
from enum import Enum
from pathlib import Path

import pytest
from rtc_startrecord_models import DEFAULT_VERSION, DICT_NAMES, NAMES, VERSIONS

import rtc_startrecord as rs

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rtc_startrecord"


def literal_all(path: Path) -> list[str]:
    """`__all__` as a type checker reads it: `__all__ = [...]` plus `__all__ += [...]`, literal
    lists of strings only."""
    names: list[str] = []
    for node in ast.parse(path.read_text("utf-8")).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if not (isinstance(target, ast.Name) and target.id == "__all__"):
            continue
        assert isinstance(node, ast.Assign | ast.AugAssign), ast.dump(node)
        assert isinstance(node.value, ast.List), f"{path}: __all__ is not a literal list"
        values = [ast.literal_eval(e) for e in node.value.elts]
        assert all(isinstance(v, str) for v in values)
        names += values
    return names


def type_checking_imports(path: Path) -> dict[str, str]:
    """Name -> module of every `from M import X as X` / `import`-style binding that type checkers
    see under `if TYPE_CHECKING:` (or at module level)."""
    bound: dict[str, str] = {}
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                bound[alias.asname or alias.name] = "." * node.level + (node.module or "")
    return bound


def test_the_literal_all_is_the_lazy_table() -> None:
    names = literal_all(PACKAGE / "__init__.py")
    assert len(names) == len(set(names)), "a name is listed twice"
    assert set(names) == set(rs._HOME) | set(rs._MODULES)
    assert rs.__all__ == names


def test_the_lazy_table_holds_the_default_versions_models_and_dicts() -> None:
    models, dicts = NAMES[DEFAULT_VERSION], DICT_NAMES[DEFAULT_VERSION]
    assert set(models) | set(dicts) <= set(rs.__all__)
    assert all(d.endswith("Dict") for d in dicts)
    assert set(VERSIONS.values()) <= set(rs.__all__)
    assert "StartRecordRequestDict" in dicts and "StartRecordRequest" in models


def test_every_exported_name_is_imported_for_type_checkers_under_its_own_name() -> None:
    """mypy --strict and pyright re-export only `import X as X` or names in `__all__`; each name
    of `__all__` must also be bound by an import type checkers follow (the PEP 562 table is
    invisible to them)."""
    bound = type_checking_imports(PACKAGE / "__init__.py")
    missing = [n for n in rs.__all__ if n not in bound]
    assert missing == []


@pytest.mark.parametrize("name", sorted(rs.__all__))
def test_each_name_resolves(name: str) -> None:
    value = getattr(rs, name)
    assert value is not None
    if name in rs._MODULES:
        assert value is importlib.import_module(f"rtc_startrecord.{name}")
    else:
        home = importlib.import_module(rs._HOME[name], "rtc_startrecord")
        assert value is getattr(home, name)
    assert name in dir(rs)


def test_the_top_level_names_are_the_default_versions() -> None:
    default = importlib.import_module(f"rtc_startrecord.{VERSIONS[DEFAULT_VERSION]}")
    for name in [
        *NAMES[DEFAULT_VERSION],
        *DICT_NAMES[DEFAULT_VERSION],
        "RtcClient",
        "AsyncRtcClient",
    ]:
        assert getattr(rs, name) is getattr(default, name), name


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_each_version_module_exports_its_models_dicts_and_client(version: str) -> None:
    module_name = VERSIONS[version]
    path = PACKAGE / f"{module_name}.py"
    module = importlib.import_module(f"rtc_startrecord.{module_name}")
    names = literal_all(path)
    assert names == module.__all__
    clients = {"RtcClient", "AsyncRtcClient"}
    assert set(names) == {*NAMES[version], *DICT_NAMES[version], "API_VERSION", *clients}
    bound = type_checking_imports(path)
    assert [n for n in names if n not in bound and n not in clients] == []
    dicts = importlib.import_module(f"rtc_startrecord_models.{module_name}.dicts")
    models = importlib.import_module(f"rtc_startrecord_models.{module_name}")
    for name in names:
        value = getattr(module, name)
        if name in DICT_NAMES[version]:
            assert value is getattr(dicts, name)
        elif name in NAMES[version]:
            assert value is getattr(models, name)
        assert name in dir(module)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = module.Nope


def test_every_model_has_its_typeddict_and_enums_take_both_forms() -> None:
    for version, module_name in VERSIONS.items():
        dicts = importlib.import_module(f"rtc_startrecord_models.{module_name}.dicts")
        models = importlib.import_module(f"rtc_startrecord_models.{module_name}")
        plain = {n for n in NAMES[version] if not issubclass(getattr(models, n), Enum)}
        assert {f"{n}Dict" for n in plain} == set(DICT_NAMES[version]), version
        start = dicts.StartRecordRequestDict
        assert {"AppId", "RoomId", "TaskId"} <= start.__required_keys__
        assert "RecordMode" in start.__optional_keys__
        mode = typing.get_type_hints(start)["RecordMode"]
        assert typing.get_args(mode) == (typing.Literal[0, 1], models.RecordMode), version


def test_a_typeddict_body_is_a_plain_dict_the_client_accepts() -> None:
    from rtc_startrecord.v2023_11_01 import RecordMode, StartRecordRequestDict

    body = StartRecordRequestDict(
        AppId="a",
        RoomId="r",
        TaskId="t",
        RecordMode=RecordMode.MIXED,
        StorageConfig={"Type": 0, "TosConfig": {"AccountId": "2000000000", "Bucket": "b"}},
    )
    assert type(body) is dict
    assert rs.validate(body, version="2023-11-01") == []


def test_import_loads_neither_client_nor_models_nor_dicts() -> None:
    probe = (
        "import sys, rtc_startrecord as rs\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('rtc_startrecord'))\n"
        "assert loaded == ['rtc_startrecord', 'rtc_startrecord_models'], loaded\n"
        "rs.StartRecordRequest\n"
        "assert 'rtc_startrecord.client' not in sys.modules\n"
        "assert not [m for m in sys.modules if m.endswith('.dicts')]\n"
        "rs.RtcClient(rs.Credentials('a', 'b'), version='2023-11-01')\n"
        "assert not [m for m in sys.modules if m.endswith('.dicts')], 'a client loads no dicts'\n"
        "rs.StartRecordRequestDict\n"
        "assert [m for m in sys.modules if m.endswith('.dicts')] == [\n"
        "    'rtc_startrecord_models.v2020_12_01.dicts']\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=False, cwd=ROOT)  # fmt: skip
    assert result.stdout.strip() == "ok", result.stderr
