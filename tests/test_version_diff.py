"""The change report between API versions (`diff_versions`, `rtc-startrecord diff-versions`),
and its cross-check against api-smart-diff 1.0.6 (npm; installed by `.ci/node-setup`)."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from rtc_startrecord_models import VERSIONS as MODULES

from rtc_startrecord import spec
from rtc_startrecord.migration import Change, diff_versions

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "api_smart_diff"
DOCUMENTS = ROOT / "contract_tests" / "documents"
V = spec.API_VERSIONS
PAIRS = [*itertools.pairwise(V), (V[0], V[-1]), (V[-1], V[0])]


def _find(changes: list[Change], path: str, kind: str, action: str = "StartRecord") -> Change:
    found = [c for c in changes if (c.action, c.path, c.kind) == (action, path, kind)]
    assert len(found) == 1, (path, kind, [str(c) for c in changes if c.path == path])
    return found[0]


def test_2020_to_2023_11_lists_vod_removed_and_storage_added_as_breaking() -> None:
    changes = diff_versions("2020-12-01", "2023-11-01")
    assert _find(changes, "$.Vod", "removed").breaking
    assert _find(changes, "$.StorageConfig", "added").breaking
    renamed = _find(changes, "$.Vod", "renamed")
    assert renamed.breaking and renamed.after == "$.StorageConfig.VodConfig"
    optional = _find(changes, "$.Control.MaxSilenceSeconds", "added")
    assert not optional.breaking and "optional" in optional.detail
    assert _find(changes, "$.Layout.CustomLayout.Regions[].LocationX", "type").breaking
    widened = _find(changes, "$.Encode.VideoBitrate", "range")
    assert not widened.breaking and widened.detail.startswith("wider")


def test_the_version_string_is_no_change_and_identity_is_empty() -> None:
    for a in V:
        assert diff_versions(a, a) == []
    # StopRecord's body is the same in every version: the new Version enum does not show.
    assert [c for c in diff_versions(V[0], V[-1], action="StopRecord") if c.side == "request"] == []


def test_directions_mirror() -> None:
    forward = diff_versions(V[1], V[2], action="StartRecord")
    back = diff_versions(V[2], V[1], action="StartRecord")
    assert {c.path for c in forward if c.kind == "added"} == {
        c.path for c in back if c.kind == "removed"
    }


def test_narrowed_request_range_is_breaking_and_breaking_only_filters() -> None:
    changes = diff_versions("2022-06-01", "2023-06-01", action="StartRecord")
    prefix = _find(changes, "$.FileNameConfig.Prefix[]", "range")
    assert prefix.breaking and prefix.detail.startswith("narrower")
    only = diff_versions("2022-06-01", "2023-06-01", breaking_only=True)
    assert only and all(c.breaking for c in only)


def test_unknown_action_or_version_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        diff_versions(V[0], V[1], action="Nope")
    with pytest.raises(ValueError, match="unknown API version"):
        diff_versions("1999-01-01", V[1])


# -- the cross-check against api-smart-diff -----------------------------------------------------


def _node_ready() -> Path:
    node = shutil.which("node")
    module = TOOL / "node_modules" / "api-smart-diff" / "package.json"
    if node is None or not module.is_file():
        pytest.fail(
            "api-smart-diff is not installed: run .ci/node-setup (it installs the pinned "
            f"version into {TOOL.relative_to(ROOT)}/node_modules; needs node and npm)"
        )
    return Path(node)


@cache
def _documents(version: str) -> dict[str, Any]:
    path = DOCUMENTS / f"{MODULES[version]}.json"
    return json.loads(path.read_text(encoding="utf-8"))["documents"]  # type: ignore[no-any-return]


def _one_action(version: str, action: str) -> dict[str, Any]:
    """The action's document without what is not the API's shape: the Version parameter (its
    enum is the version string) and the examples."""
    doc: dict[str, Any] = json.loads(json.dumps(_documents(version)[action]))
    params = doc["components"].get("parameters", {})
    for op in doc["paths"]["/"].values():
        op["parameters"] = [
            p
            for p in op.get("parameters", [])
            if params.get(p.get("$ref", "").rsplit("/", 1)[-1], p).get("name") != "Version"
        ]
        for holder in [op.get("requestBody", {}), *op.get("responses", {}).values()]:
            for content in holder.get("content", {}).values():
                content.pop("examples", None)
    return doc


def _field(tokens: list[Any], diff: dict[str, Any]) -> str:
    path = "$"
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "properties" and i + 1 < len(tokens):
            path += f".{tokens[i + 1]}"
            i += 2
        elif token == "items":
            path += "[]"
            i += 1
        elif token == "allOf":
            i += 2
        elif token == "required":
            name = diff["after"] if diff["action"] == "add" else diff["before"]
            return f"{path}.{name}"
        else:
            break
    return path


def _theirs(a: str, b: str, action: str, node: Path, tmp: Path) -> set[tuple[str, str]]:
    docs = [_one_action(a, action), _one_action(b, action)]
    files = []
    for name, doc in zip(("before", "after"), docs, strict=True):
        files.append(tmp / f"{action}.{name}.json")
        files[-1].write_text(json.dumps(doc), encoding="utf-8")
    run = subprocess.run(
        [str(node), str(TOOL / "compare.mjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found: set[tuple[str, str]] = set()
    for diff in json.loads(run.stdout):
        path = diff["path"]
        if diff["type"] != "breaking" or path[:1] != ["paths"]:
            continue  # components repeat what the paths say, $refs resolved
        rest = path[3:]
        if rest[:4] == ["requestBody", "content", "application/json", "schema"]:
            found.add(("request", _field(rest[4:], diff)))
        elif rest[:1] == ["responses"] and "schema" in rest:
            found.add(("response", _field(rest[rest.index("schema") + 1 :], diff)))
        elif rest[:1] == ["parameters"]:
            found.add(("request", f"$.{rest[1]}"))
    return found


def _reason(kind: str, side: str, theirs_only: bool) -> str | None:
    """Why api-smart-diff and this package rate a change differently (None: unexplained)."""
    if not theirs_only and side == "request" and kind in ("removed", "renamed"):
        return (
            "api-smart-diff rates removing a request field as non-breaking; a caller who "
            "still sends it (every 2020-12-01 caller with a Vod) is refused, because the "
            "schemas allow no unknown members"
        )
    if not theirs_only and side == "response" and kind == "required":
        return (
            "a response field that became optional breaks a caller who reads it "
            "unconditionally; api-smart-diff looks only at what a server may send"
        )
    if theirs_only and kind == "range":
        return (
            "api-smart-diff rates any added `minimum`/`maximum` as narrowing; ours compares "
            "the bounds (CornerRadius: exclusiveMinimum 0 -> minimum 0 is wider; a "
            "response maximum limits only what the server sends)"
        )
    return None


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=lambda v: str(v))
def test_breaking_changes_agree_with_api_smart_diff(a: str, b: str, tmp_path: Path) -> None:
    node = _node_ready()
    unexplained, explained = [], set()
    for action in spec.operations(a):
        ours_changes = diff_versions(a, b, action=action, breaking_only=True)
        ours = {(c.side, c.path) for c in ours_changes}
        theirs = _theirs(a, b, action, node, tmp_path)
        kinds: dict[tuple[str, str], str] = {
            (c.side, c.path): c.kind for c in diff_versions(a, b, action=action)
        }
        for side, path in ours ^ theirs:
            kind = kinds.get((side, path), "?")
            explained.add((action, side, path))
            if _reason(kind, side, theirs_only=(side, path) in theirs) is None:
                unexplained.append(
                    (action, side, path, kind, "theirs" if (side, path) in theirs else "ours")
                )
    assert unexplained == [], "a difference from api-smart-diff without a written reason"
    if (a, b) == (V[0], V[-1]):  # the known one: it calls removing Vod non-breaking
        assert ("StartRecord", "request", "$.Vod") in explained
