"""The layer rules of docs/architecture.md, checked on the source: which package modules each
module may import (an import anywhere in it counts, lazy ones too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rtc_startrecord"

# Top-level part of the package (first component below rtc_startrecord) -> parts it must not use.
UPPER = {"client", "simulator", "cli", "pytest_plugin", "preview", "__main__"}
EVERYTHING = {"*"}
ALL_BUT_ERRORS = {"spec", "wire", "validation", "rules", "redaction", "filenames", "outcomes",
                  "ratelimit", "credentials", "transport", "callbacks", *UPPER}  # fmt: skip
FORBIDDEN: dict[str, set[str]] = {
    "errors": EVERYTHING,
    "signing": ALL_BUT_ERRORS,
    "spec": UPPER | {"transport", "wire", "validation", "rules", "redaction"},
    "wire": UPPER | {"transport", "validation", "rules"},
    "validation": UPPER | {"transport"},
    "rules": UPPER | {"transport", "validation", "wire", "redaction"},
    "redaction": UPPER | {"transport", "validation", "wire", "rules"},
    "filenames": UPPER | {"transport", "validation", "wire", "rules"},
    "outcomes": UPPER | {"transport", "validation", "wire", "rules", "spec"},
    "ratelimit": UPPER | {"transport", "validation", "wire", "rules", "spec"},
    "credentials": UPPER | {"transport", "validation", "wire", "rules", "spec"},
    "transport": UPPER | {"validation", "wire", "rules", "spec", "redaction"},
    "client": {"simulator", "cli", "pytest_plugin", "preview", "__main__"},
    "callbacks": UPPER,
    "simulator": {"client", "cli", "pytest_plugin", "preview", "__main__", "transport"},
    "preview": {"simulator", "cli", "pytest_plugin", "client", "transport"},
    "migration": UPPER | {"transport"},
    "ratelimit_redis": UPPER | {"transport", "validation", "wire", "rules", "spec", "callbacks"},
    # the dashboard draws layouts with preview, which the rest of the simulator never needs
    "simulator.dashboard": {"client", "cli", "pytest_plugin", "__main__", "transport"},
}


# Modules that belong to another part's layer: the sync/async twins and their shared core.
LAYER_OF = {
    "client_core": "client",
    "client_async": "client",
    "attempts": "transport",
    "transport_async": "transport",
    "http_fast": "transport",
    "ratelimit_redis_async": "ratelimit_redis",
}


def _part(module: str) -> str:
    """`rtc_startrecord.rules.layout` -> `rules`; a version module -> `client` (its layer)."""
    name = module.split(".")[1] if "." in module else ""
    if name.startswith("callbacks"):
        return "callbacks"
    if module.startswith("rtc_startrecord.simulator.dashboard"):
        return "simulator.dashboard"
    if (name.startswith("v") and name[1:5].isdigit()) or name == "_versions":
        return "client"
    return LAYER_OF.get(name, name)


def _imports(path: Path) -> set[str]:
    """Every rtc_startrecord module the file imports, absolute names."""
    rel = path.relative_to(ROOT).with_suffix("")
    here = list(rel.parts[:-1])  # the package the file's relative imports start from
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("rtc_startrecord")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
                found |= set(names)
            elif node.module and node.module.startswith("rtc_startrecord"):
                found.add(node.module)
    return {m for m in found if m.startswith("rtc_startrecord.") or m == "rtc_startrecord"}


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_module_imports_only_lower_layers(path: Path) -> None:
    rel = path.relative_to(ROOT).with_suffix("")
    module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
    part = _part(module)
    forbidden = FORBIDDEN.get(part, set())
    used = {_part(m) for m in _imports(path)} - {part, ""}
    bad = used if "*" in forbidden else used & forbidden
    assert not bad, f"{module} ({part}) imports {sorted(bad)}, which its layer must not use"


def test_generated_models_import_nothing_of_the_package() -> None:
    for path in (ROOT / "generated").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            assert not [n for n in names if n.split(".")[0] == "rtc_startrecord"], path
