"""The layer rules of docs/architecture.md, checked on the source: which package modules each
module may import (an import anywhere in it counts, lazy ones too); and, run in a fresh
interpreter, that what a sync call needs loads no asyncio."""

from __future__ import annotations

import ast
import subprocess
import sys
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
    "bounded_read": ALL_BUT_ERRORS | {"signing"},  # below the transport and the simulator
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
# (The version modules, v<YYYY_MM_DD>.py and v<YYYY_MM_DD>_async.py, are the client's: _part.)
LAYER_OF = {
    "client_core": "client",
    "client_async": "client",
    "waiting": "client",
    "attempts": "transport",
    "transport_async": "transport",
    "http_fast": "transport",
    "signer": "signing",
    "ratelimit_async": "ratelimit",
    "ratelimit_redis_core": "ratelimit_redis",
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


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, cwd=ROOT)  # fmt: skip


def test_what_a_sync_call_needs_loads_no_asyncio() -> None:
    """benchmarks/imports.py's case: the client, the validator and a default model load neither
    asyncio nor any `*_async` module (the async client, limiters and their Redis twin)."""
    probe = (
        "import sys\n"
        "import rtc_startrecord as rs\n"
        "rs.RtcClient; rs.validate; rs.StartRecordRequest\n"
        "rs.RtcClient(rs.Credentials('a', 'b'), version='2023-11-01')\n"
        "rs.v2023_11_01.StartRecordRequestDict\n"
        "assert 'asyncio' not in sys.modules, 'asyncio is loaded'\n"
        "loaded = sorted(m for m in sys.modules\n"
        "                if m.startswith('rtc_startrecord') and m.endswith('_async'))\n"
        "assert loaded == [], loaded\n"
        "print('ok')\n"
    )
    result = _run(probe)
    assert result.stdout.strip() == "ok", result.stderr


def test_the_async_names_still_resolve_and_build_the_versions_class() -> None:
    probe = (
        "import sys\n"
        "import rtc_startrecord as rs\n"
        "from rtc_startrecord import v2023_11_01, v2023_11_01_async\n"
        "from rtc_startrecord.v2023_11_01 import AsyncRtcClient\n"
        "assert AsyncRtcClient is v2023_11_01_async.AsyncRtcClient\n"
        "assert v2023_11_01.AsyncRtcClient is AsyncRtcClient\n"
        "assert rs.AsyncRtcClient is rs.v2020_12_01.AsyncRtcClient\n"
        "assert rs.AsyncRtcClient.__module__ == 'rtc_startrecord.v2020_12_01_async'\n"
        "client = rs.AsyncRtcClient(rs.Credentials('a', 'b'), version='2023-11-01', qps=None)\n"
        "assert type(client) is AsyncRtcClient, type(client)\n"
        "assert isinstance(client, rs.AsyncRtcClient) and client.API_VERSION == '2023-11-01'\n"
        "assert 'asyncio' in sys.modules\n"
        "from rtc_startrecord import ratelimit_async, ratelimit_redis_async\n"
        "assert rs.AsyncRateLimiter is ratelimit_async.AsyncRateLimiter\n"
        "assert rs.AsyncLimiter is ratelimit_async.AsyncLimiter\n"
        "assert rs.AsyncRedisRateLimiter is ratelimit_redis_async.AsyncRedisRateLimiter\n"
        "print('ok')\n"
    )
    result = _run(probe)
    assert result.stdout.strip() == "ok", result.stderr
