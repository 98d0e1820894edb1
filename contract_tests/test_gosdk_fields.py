"""The spec against an independent oracle: the field tables of the official Go SDK.

`contract_tests/data/gosdk/<version>.json` lists, per action, every field of the Go SDK's
request and response types (`path`, JSON `type`, `required`, `go_type`), extracted from
`volcengine/volc-sdk-golang` `service/rtc/v<yyyymmdd>/model.go` at the commit it names.
Paths are dotted; `X[]` is the element of the array `X` (for arrays of objects too).

For every version of `spec.API_VERSIONS` and every action, request and response:
- every oracle row is a property path of the spec (`$ref`s resolved in the bundle) with the
  same JSON type and the same required flag;
- every property path of the spec is an oracle row.
The differences we accept are in ALLOWED, one table, each with its reason; a row that no
longer matches a difference is stale and fails too.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest

from rtc_startrecord import spec

from . import support


class Allowed(NamedTuple):
    version: str
    action: str
    kind: str  # "request" or "response"
    path: str
    difference: str  # "required" | "type" | "not in spec" | "not in oracle"
    reason: str


ALLOWED: tuple[Allowed, ...] = (
    Allowed(
        "2020-12-01", "StartRecord", "request", "Vod", "required",
        "decision R28: the 2020-12-01 parameter table and the Go SDK call Vod required, yet both "
        "documented StartRecord bodies leave it out and storage can be set in the console, so "
        "the spec makes it optional and `validate` warns (R28) when it is missing",
    ),
    Allowed(
        "2023-11-01", "StartRecord", "request", "StorageConfig.CustomConfig.SecurityToken",
        "not in oracle",
        "the oracle was extracted at SDK commit 5980918c, before CustomConfig.SecurityToken "
        "was added; the spec follows the SDK at HEAD (STS credentials for S3-compatible "
        "storage; R31 keeps it away from Kodo)",
    ),
)  # fmt: skip

KINDS = ("request", "response")


def _oracle(version: str) -> dict[str, Any] | None:
    path = support.GOSDK / f"{version}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


ORACLES = {v: _oracle(v) for v in spec.API_VERSIONS}
CASES = [(v, a, k) for v in spec.API_VERSIONS for a in sorted(spec.operations(v)) for k in KINDS]
CASE_IDS = [f"{v}/{a}.{k}" for v, a, k in CASES]


def _need_oracle(version: str) -> dict[str, Any]:
    oracle = ORACLES[version]
    if oracle is None:
        pytest.skip(f"no Go SDK oracle for {version}: add contract_tests/data/gosdk/{version}.json")
    return oracle


def _schema_name(version: str, action: str, kind: str) -> str:
    op = spec.operation(action, version)
    return op.request if kind == "request" else op.response


def differences(version: str, action: str, kind: str) -> set[tuple[str, str, str]]:
    """(path, difference, detail) for everything where the spec and the oracle disagree."""
    oracle = ORACLES[version]
    assert oracle is not None
    rows = {row["path"]: row for row in oracle["actions"][action][kind]}
    props = support.property_paths(version, _schema_name(version, action, kind))
    found: set[tuple[str, str, str]] = set()
    for path, row in rows.items():
        node = props.get(path)
        if node is None:
            found.add((path, "not in spec", f"Go {row['go_type']} ({row['type']})"))
            continue
        if node.get("type") != row["type"]:
            found.add(
                (path, "type", f"spec {node.get('type')}, Go {row['type']} ({row['go_type']})")
            )
        if node["_required"] != row["required"]:
            found.add(
                (
                    path,
                    "required",
                    f"spec {node['_required']}, Go {row['required']} ({row['go_type']})",
                )
            )
    for path, node in props.items():
        if path not in rows:
            found.add((path, "not in oracle", f"spec {node.get('type')}"))
    return found


def _allowed(version: str, action: str, kind: str) -> set[tuple[str, str]]:
    return {
        (a.path, a.difference)
        for a in ALLOWED
        if (a.version, a.action, a.kind) == (version, action, kind)
    }


def _report(found: set[tuple[str, str, str]]) -> str:
    return "\n".join(f"  {path}: {what}: {detail}" for path, what, detail in sorted(found))


@pytest.mark.parametrize("version", spec.API_VERSIONS)
def test_the_oracle_is_this_versions_sdk_and_covers_every_action(version: str) -> None:
    oracle = _need_oracle(version)
    assert oracle["source"]["repo"] == "volcengine/volc-sdk-golang"
    assert oracle["source"]["path"] == f"service/rtc/v{version.replace('-', '')}/model.go"
    assert sorted(oracle["actions"]) == sorted(spec.operations(version))
    for action, tables in oracle["actions"].items():
        assert sorted(tables) == sorted(KINDS), action
        for row in tables["request"] + tables["response"]:
            assert set(row) == {"path", "type", "required", "go_type"}, row
            assert row["type"] in {"string", "integer", "number", "boolean", "object", "array"}, row


@pytest.mark.parametrize(("version", "action", "kind"), CASES, ids=CASE_IDS)
def test_every_oracle_row_is_a_spec_property_of_the_same_type_and_required_flag(
    version: str, action: str, kind: str
) -> None:
    _need_oracle(version)
    allowed = _allowed(version, action, kind)
    found = {d for d in differences(version, action, kind)
             if d[1] != "not in oracle" and (d[0], d[1]) not in allowed}  # fmt: skip
    assert not found, (
        f"{version} {action} {kind}: the spec disagrees with the Go SDK; fix the spec, or add "
        f"a row with its reason to ALLOWED:\n{_report(found)}"
    )


@pytest.mark.parametrize(("version", "action", "kind"), CASES, ids=CASE_IDS)
def test_every_spec_property_is_in_the_oracle(version: str, action: str, kind: str) -> None:
    _need_oracle(version)
    allowed = _allowed(version, action, kind)
    found = {d for d in differences(version, action, kind)
             if d[1] == "not in oracle" and (d[0], d[1]) not in allowed}  # fmt: skip
    assert not found, (
        f"{version} {action} {kind}: spec properties the Go SDK does not have; remove them, or "
        f"add a row with its reason (a documented field, say) to ALLOWED:\n{_report(found)}"
    )


def test_every_allowed_difference_is_still_one() -> None:
    """A row of ALLOWED that matches no difference any more (the spec or the oracle was
    fixed) must go, so that the table stays the list of what really differs."""
    stale = []
    for a in ALLOWED:
        if a.version not in spec.API_VERSIONS or ORACLES[a.version] is None:
            stale.append(a)
            continue
        current = {(p, d) for p, d, _ in differences(a.version, a.action, a.kind)}
        if (a.path, a.difference) not in current:
            stale.append(a)
    assert stale == [], f"remove these rows from ALLOWED: {stale}"
    assert len(set(ALLOWED)) == len(ALLOWED) and all(a.reason for a in ALLOWED)
