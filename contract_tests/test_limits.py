"""The validator against an independent oracle: the documented limits of every request field.

`contract_tests/data/limits/<version>.json` was written from the fact sheets
(`startrecord-api.md`, `later-versions.md`) and the Go SDK's comments, never from `spec/`, so
a wrong or loosened bound in the spec (or in a rule) makes a test here fail, where the rest of
the suite, whose oracle is the spec itself, would not notice (tools/mutate_spec.py shows it).

For every row (`range`, `length`, `items`, `enum`, `pattern`, `even`) a valid body of that
version and action is built from its golden file (the path made to exist with the smallest
valid parents: `support.fill`, then `support.repair` for the cross-field rules, and the value
put back where a repair moved it), and both sides of every boundary are tried with
`rs.validate`:
- the boundary value (or each allowed value) is accepted: no error at that path or below it;
- the value just past it (max+1 for integers, the next float for numbers, one character or
  one item too many, a value outside the enum, an odd number) is an error at that path.
The table's `rules` do the same for the cross-field rules of section 6 that the validator
implements (R16 regions inside the canvas, R18, R32-R37), on whole bodies:
an accepted case has no error at all, a refused one an error where the rule reports it.

One test per row (or rule), every check of it inside, so the suite stays quick. A check the
sheets leave unconfirmed (`"confirmed": false`, `unconfirmed_values`) that does not hold makes
the test xfail, never fail. A row marked `"disagrees_with_spec"` is a finding (documentation
and spec differ): xfail(strict=True) naming why; it fails once the spec agrees, and any other
check of the row that breaks still fails it (`"disagreeing_checks": [labels]` narrows the
finding to some of the row's checks, by the labels this module gives them).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator
from functools import cache
from typing import Any, NamedTuple, cast

import orjson
import pytest

import rtc_startrecord as rs
from rtc_startrecord import spec
from rtc_startrecord.errors import Problem

from . import support

LIMITS = support.HERE / "data" / "limits"
KINDS = frozenset({"range", "length", "items", "enum", "pattern", "even"})
ACTIONS = ("StartRecord", "UpdateRecord", "StopRecord", "GetRecordTask")
# The golden request each action's bodies start from (the first one found otherwise).
GOLDEN_BODY = {
    "StartRecord": "custom_layout",
    "UpdateRecord": "swap_regions",
    "StopRecord": "stop",
    "GetRecordTask": "query_1",
}
# The whole list a test puts in place when a path runs through an array the body lacks.
SEEDS: dict[str, list[Any]] = {
    "TargetStreams.StreamList": [{"UserId": "limit_user", "Index": 0}],
    "ExcludeStreams.StreamList": [{"UserId": "excluded_user"}],
    "Layout.CustomLayout.Regions[].SpatialPosition": [0, 0, 0],
    "Control.SpatialConfig.AudienceSpatialPosition": [0, 0, 0],
    "FileFormatConfig.FileFormat": ["MP4"],
    "FileNameConfig.Prefix": ["recordings"],
}
URL_HEAD, URL_TAIL = "https://example.com/", ".png"
_MISSING = object()


class SpecDisagrees(AssertionError):
    """A check the table marks `disagrees_with_spec` failed, as that finding says it does."""


# -- the tables -----------------------------------------------------------------------------


@cache
def table(version: str) -> dict[str, Any] | None:
    path = LIMITS / f"{version}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def tabled_versions() -> list[str]:
    return [v for v in spec.API_VERSIONS if table(v) is not None]


def concrete(path: str) -> str:
    """`A.B[].C` as the validator names it: `$.A.B[0].C` (element 0 of every array)."""
    return "$." + path.replace("[]", "[0]")


def row_id(row: dict[str, Any]) -> str:
    return f"{row['action']}-{row['path']}-{row['kind']}"


# -- bodies -----------------------------------------------------------------------------------


@cache
def _golden(version: str, action: str) -> bytes:
    files = support.golden_files(version)
    name = f"{action}.request.{GOLDEN_BODY[action]}"
    if name not in files:
        name = sorted(k for k in files if k.startswith(f"{action}.request."))[0]
    return orjson.dumps(support.repair(action, files[name], version))


def golden(version: str, action: str) -> dict[str, Any]:
    """A fresh copy of the (repaired) golden request of `action`."""
    return orjson.loads(_golden(version, action))  # type: ignore[no-any-return]


def put(body: dict[str, Any], path: str, value: Any) -> bool:
    """Set `path` (dotted, `X[]` = element 0 of X) to `value`, making missing parents; True
    when a parent had to be made."""
    node: Any = body
    made = False
    prefix = ""
    parts = path.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        each = part.endswith("[]")
        key = part[:-2] if each else part
        prefix = f"{prefix}.{key}" if prefix else key
        if not each:
            if last:
                node[key] = copy.deepcopy(value)
                return made
            if not isinstance(node.get(key), dict):
                node[key], made = {}, True
            node = node[key]
            continue
        items = node.get(key)
        if not isinstance(items, list):
            items = node[key] = []
        if not items:
            items.extend(copy.deepcopy(SEEDS.get(prefix, [{}])))
            made = True
        if last:
            items[0] = copy.deepcopy(value)
            return made
        if not isinstance(items[0], dict):
            items[0], made = {}, True
        node = items[0]
        prefix += "[]"
    return made


def get(body: Any, path: str) -> Any:
    node = body
    for part in path.split("."):
        each = part.endswith("[]")
        key = part[:-2] if each else part
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
        if each:
            if not isinstance(node, list) or not node:
                return _MISSING
            node = node[0]
    return node


def body_with(version: str, action: str, path: str, value: Any) -> dict[str, Any]:
    """A valid body of `action` with `value` at `path`: parents made, required members filled,
    cross-field rules repaired, and `value` put back where a repair changed it."""
    node = support.request_node(action, version)
    body = golden(version, action)
    if put(body, path, value):
        body = support.fill(version, body, node, every=False)
    body = support.repair(action, body, version)
    if get(body, path) != value and put(body, path, value):
        body = support.fill(version, body, node, every=False)
    return cast("dict[str, Any]", body)


def errors(body: Any, action: str, version: str) -> list[Problem]:
    return [p for p in rs.validate(body, action=action, version=version) if p.severity == "error"]


def at_or_below(problems: list[Problem], where: str) -> list[Problem]:
    return [
        p
        for p in problems
        if p.path == where or p.path.startswith(f"{where}.") or p.path.startswith(f"{where}[")
    ]


def unknown_above(problems: list[Problem], where: str) -> list[Problem]:
    """Unknown-key errors on the way to `where`: a member the spec lacks hides what is inside it
    from the schema, so nothing at `where` itself would be reported."""
    return [
        p
        for p in problems
        if p.rule == "schema.additionalProperties"
        and where.startswith(p.path)
        and where[len(p.path) : len(p.path) + 1] in (".", "[")
    ]


# -- the values a row's checks try --------------------------------------------------------------


class Value(NamedTuple):
    label: str
    value: Any
    accept: bool


def _url(length: int) -> str:
    return URL_HEAD + "a" * (length - len(URL_HEAD) - len(URL_TAIL)) + URL_TAIL


def _text(row: dict[str, Any], length: int) -> str:
    return _url(length) if row.get("filler") == "url" else "x" * length


def _items(row: dict[str, Any], count: int) -> list[Any]:
    path = row["path"]
    if path == "TargetStreams.StreamList":
        return [{"UserId": f"limit_user_{i:02d}", "Index": i} for i in range(count)]
    if path == "ExcludeStreams.StreamList":
        return [{"UserId": f"excluded_{i:02d}"} for i in range(count)]
    example = row["item_example"]
    return [copy.deepcopy(example[i % len(example)]) for i in range(count)]


def _enum_rejects(row: dict[str, Any]) -> list[Any]:
    if "reject" in row:
        return list(row["reject"])
    values = row["values"]
    near = {v + d for v in values for d in (-1, 1)}
    return sorted(near - set(values))


def _range_values(row: dict[str, Any]) -> Iterator[Value]:
    integer = row["type"] == "integer"
    step = row.get("step", 1)
    lo, hi = row.get("min"), row.get("max")

    def below(x: Any) -> Any:
        return x - step if integer else math.nextafter(x, -math.inf)

    def above(x: Any) -> Any:
        return x + step if integer else math.nextafter(x, math.inf)

    if lo is not None:
        if row.get("min_exclusive"):
            yield Value(f"min {lo} (exclusive) refused", lo, False)
            yield Value(f"{above(lo)!r} above min accepted", above(lo), True)
        else:
            yield Value(f"min {lo} accepted", lo, True)
            yield Value(f"{below(lo)!r} below min refused", below(lo), False)
    if hi is not None:
        if row.get("max_exclusive"):
            yield Value(f"max {hi} (exclusive) refused", hi, False)
            yield Value(f"{below(hi)!r} below max accepted", below(hi), True)
        else:
            yield Value(f"max {hi} accepted", hi, True)
            yield Value(f"{above(hi)!r} above max refused", above(hi), False)


def row_values(row: dict[str, Any]) -> Iterator[Value]:
    """Both sides of each boundary the row states."""
    kind = row["kind"]
    if kind == "range":
        yield from _range_values(row)
    elif kind in ("length", "items"):
        make = _text if kind == "length" else _items
        unit = "characters" if kind == "length" else "items"
        lo, hi = row.get("min"), row.get("max")
        if lo is not None:
            yield Value(f"{lo} {unit} accepted", make(row, lo), True)
            if lo > 0:
                yield Value(f"{lo - 1} {unit} refused", make(row, lo - 1), False)
        if hi is not None:
            yield Value(f"{hi} {unit} accepted", make(row, hi), True)
            yield Value(f"{hi + 1} {unit} refused", make(row, hi + 1), False)
    elif kind == "enum":
        for v in row["values"]:
            yield Value(f"{v!r} accepted", v, True)
        for v in _enum_rejects(row):
            yield Value(f"{v!r} refused", v, False)
    elif kind in ("pattern", "even"):
        for v in row["accept"]:
            yield Value(f"{_short(v)} accepted", v, True)
        for v in row["reject"]:
            yield Value(f"{_short(v)} refused", v, False)
    else:
        raise AssertionError(f"unknown kind {kind!r} in {row}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else f"{text[:12]}... ({len(str(value))} characters)"


# -- the table itself -----------------------------------------------------------------------


@pytest.mark.parametrize("version", spec.API_VERSIONS)
def test_version_has_a_limits_table(version: str) -> None:
    doc = table(version)
    if doc is None:
        pytest.skip(
            f"no limits table for {version}: write contract_tests/data/limits/{version}.json "
            "from the documentation to check this version's bounds"
        )
    assert doc["version"] == version
    assert doc["limits"], "an empty table checks nothing"
    seen: set[str] = set()
    for row in doc["limits"]:
        assert row["action"] in ACTIONS, row
        assert row["kind"] in KINDS, row
        assert row.get("source"), f"{row_id(row)}: a row names its source"
        assert row_id(row) not in seen, f"{row_id(row)} appears twice"
        seen.add(row_id(row))
        if row["kind"] == "pattern":
            regex = re.compile(row["pattern"])
            for v in row["accept"]:
                assert regex.search(v), f"{row_id(row)}: the table's own {v!r} breaks its regex"
            for v in row["reject"]:
                assert not regex.search(v), f"{row_id(row)}: the table's {v!r} fits its regex"
        if row["kind"] == "even":
            assert all(v % 2 == 0 for v in row["accept"]), row
            assert all(v % 2 == 1 for v in row["reject"]), row


@pytest.mark.parametrize("version", tabled_versions())
@pytest.mark.parametrize("action", ACTIONS)
def test_base_bodies_are_valid(version: str, action: str) -> None:
    """The bodies every check starts from have no error (else nothing here would mean much)."""
    assert errors(golden(version, action), action, version) == []


# -- both sides of every documented boundary ------------------------------------------------


class Outcome:
    """What the checks of one test found, sorted by what each failure means."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.failed: list[str] = []  # confirmed checks that do not hold: a real failure
        self.disagreeing: list[str] = []  # the failures a disagrees_with_spec mark announces
        self.unconfirmed: list[str] = []  # the documentation is not sure: xfail

    def add(self, ok: bool, message: str, *, confirmed: bool, disagrees: bool) -> None:
        if ok:
            return
        if disagrees:
            self.disagreeing.append(message)
        elif confirmed:
            self.failed.append(message)
        else:
            self.unconfirmed.append(message)

    def conclude(self, disagrees_with_spec: str | None) -> None:
        source = f"\n  documented: {self.source}"
        if self.failed:
            pytest.fail("\n".join(self.failed) + source, pytrace=False)
        if self.disagreeing:
            raise SpecDisagrees(f"{disagrees_with_spec}: " + "; ".join(self.disagreeing))
        if self.unconfirmed:
            pytest.xfail("unconfirmed in the documentation: " + "; ".join(self.unconfirmed))


def _finding(why: str | None) -> list[Any]:
    """The mark of a documented disagreement with the spec: strict, and only for that."""
    if not why:
        return []
    return [pytest.mark.xfail(strict=True, raises=SpecDisagrees, reason=f"finding: {why}")]


def _limit_params() -> list[Any]:
    out = []
    for version in tabled_versions():
        doc = table(version)
        assert doc is not None
        for row in doc["limits"]:
            marks = _finding(row.get("disagrees_with_spec"))
            out.append(pytest.param(version, row, id=f"{version}-{row_id(row)}", marks=marks))
    return out


@pytest.mark.parametrize(("version", "row"), _limit_params())
def test_limit(version: str, row: dict[str, Any]) -> None:
    action, path = row["action"], row["path"]
    where = concrete(path)
    unsure = row.get("unconfirmed_values", [])
    disagreeing = row.get("disagreeing_checks")
    outcome = Outcome(row["source"])
    for label, value, accept in row_values(row):
        problems = errors(body_with(version, action, path, value), action, version)
        if accept:
            wrong = at_or_below(problems, where) + unknown_above(problems, where)
            ok, message = not wrong, f"{label}: got {[str(p) for p in wrong]}"
        else:
            ok = any(p.path == where for p in problems)
            message = f"{label}: no error at {where}; errors: {[str(p) for p in problems]}"
        outcome.add(
            ok,
            message,
            confirmed=row.get("confirmed", True) and value not in unsure,
            disagrees="disagrees_with_spec" in row
            and (disagreeing is None or label in disagreeing),
        )
    outcome.conclude(row.get("disagrees_with_spec"))


# -- rule boundaries (section 6) ------------------------------------------------------------

REGION_KEYS = ("LocationX", "LocationY", "WidthProportion", "HeightProportion", "Width", "Height")
# Where a refusal of each rule kind may be reported (a path, or anything below it).
RULE_PATHS = {
    "region_inside_canvas": ("$.Layout.CustomLayout.Regions[0]",),
    "he_aac_v2_stereo": ("$.Encode.AudioProfile", "$.Encode.AudioChannels"),
    "audio_only_formats": ("$.FileFormatConfig", "$.Control.MediaType"),
    "prefix_joined_length": ("$.FileNameConfig.Prefix",),
    "sei_uuid_for_type_5": ("$.Control.SEIConfig.SEIPayloadUUID",),
    "sync_upload_needs_hls": ("$.Control.EnableSyncUpload", "$.FileFormatConfig"),
    "max_silence_below_idle": ("$.Control.MaxSilenceSeconds",),
    "corner_radius_drawable": ("$.Layout.CustomLayout.Regions[0].CornerRadius",),
}
EXPECTED = {"accept": "accepted", "refuse": "refused", "warn": "warned about"}
# The actions a rule kind's cases run for (the region rules hold for updates too).
RULE_ACTIONS = {"region_inside_canvas": ("StartRecord", "UpdateRecord")}


def _region_body(version: str, action: str, rule: dict[str, Any], case: dict[str, Any]) -> Any:
    body = golden(version, action)
    body["TargetStreams"] = {"StreamList": [{"UserId": "region_user", "Index": 0}]}
    custom: dict[str, Any] = {}
    if rule["geometry"] == "ratio":
        width, height = rule["canvas"]
        custom["Canvas"] = {"Width": width, "Height": height}
        region: dict[str, Any] = {
            "LocationX": 0, "LocationY": 0, "WidthProportion": 1, "HeightProportion": 1,
        }  # fmt: skip
    else:
        canvas = case.get("canvas")
        width, height = canvas or rule["default_canvas"]
        if canvas:
            custom["Canvas"] = {"Width": width, "Height": height}
        region = {"LocationX": 0, "LocationY": 0, "Width": width, "Height": height}
    region.update({k: case[k] for k in REGION_KEYS if k in case})
    for key in case.get("omit", ()):
        region.pop(key)  # the documented default applies
    custom["Regions"] = [{"StreamIndex": 0, **region}]
    body["Layout"] = {"LayoutMode": 2, "CustomLayout": custom}
    return body


def rule_body(version: str, action: str, rule: dict[str, Any], case: dict[str, Any]) -> Any:
    kind = rule["kind"]
    if kind == "region_inside_canvas":
        return _region_body(version, action, rule, case)
    body = golden(version, action)
    if kind == "he_aac_v2_stereo":
        body["Encode"] = {"AudioProfile": case["AudioProfile"],
                          "AudioChannels": case["AudioChannels"]}  # fmt: skip
    elif kind == "audio_only_formats":
        body.pop("Layout", None)
        body["FileFormatConfig"] = {"FileFormat": case["FileFormat"]}
        body["Control"] = {} if case["MediaType"] is None else {"MediaType": case["MediaType"]}
    elif kind == "prefix_joined_length":
        items = [chr(ord("a") + i) * n for i, n in enumerate(case["item_lengths"])]
        assert sum(len(p) + 1 for p in items) == case["joined"], case
        body["FileNameConfig"] = {"Prefix": items}
    elif kind == "sei_uuid_for_type_5":
        body["Control"] = {"SEIConfig": {k: v for k, v in case.items() if k != "expect"}}
    elif kind == "sync_upload_needs_hls":
        body["Control"] = {"EnableSyncUpload": case["EnableSyncUpload"]}
        body["FileFormatConfig"] = {"FileFormat": case["FileFormat"]}
    elif kind == "corner_radius_drawable":
        width, height = rule["canvas"]
        body["TargetStreams"] = {"StreamList": [{"UserId": "corner_user", "Index": 0}]}
        region = {k: case[k] for k in ("Width", "Height", "CornerRadius")}
        body["Layout"] = {"LayoutMode": 2, "CustomLayout": {
            "Canvas": {"Width": width, "Height": height},
            "Regions": [{"StreamIndex": 0, "LocationX": 0, "LocationY": 0, **region}]}}  # fmt: skip
    elif kind == "max_silence_below_idle":
        body["RecordMode"] = case["RecordMode"]
        if case["RecordMode"] == 1:
            body.pop("Layout", None)
        body["Control"] = {"MaxSilenceSeconds": case["MaxSilenceSeconds"],
                           "MaxIdleTime": case["MaxIdleTime"]}  # fmt: skip
    else:
        raise AssertionError(f"unknown rule kind {kind!r}")
    return body


def _rule_params() -> list[Any]:
    out = []
    for version in tabled_versions():
        doc = table(version)
        assert doc is not None
        for rule in doc.get("rules", []):
            found = [c["disagrees_with_spec"] for c in rule["cases"] if "disagrees_with_spec" in c]
            marks = _finding(rule.get("disagrees_with_spec") or "; ".join(found))
            for action in RULE_ACTIONS.get(rule["kind"], ("StartRecord",)):
                ident = f"{version}-{action}-{rule['rule']}-{rule['kind']}"
                out.append(pytest.param(version, action, rule, id=ident, marks=marks))
    return out


@pytest.mark.parametrize(("version", "action", "rule"), _rule_params())
def test_rule_boundary(version: str, action: str, rule: dict[str, Any]) -> None:
    paths = RULE_PATHS[rule["kind"]]
    warning_rule = rule.get("severity") == "warning"
    outcome = Outcome(rule["source"])
    for case in rule["cases"]:
        expect = case["expect"]
        problems = rs.validate(rule_body(version, action, rule, case), action=action,
                               version=version)  # fmt: skip
        errs = [p for p in problems if p.severity == "error"]
        near = [p for where in paths for p in at_or_below(problems, where)]
        if expect == "accept":
            ok = not errs and not (warning_rule and near)
        elif expect == "warn":
            ok = not errs and any(p.severity == "warning" for p in near)
        else:
            ok = any(p.severity == "error" for p in near)
        shown = {k: v for k, v in case.items() if k not in ("expect", "confirmed", "why")}
        outcome.add(
            ok,
            f"{shown} should be {EXPECTED[expect]} at {paths}; got {[str(p) for p in problems]}",
            confirmed=case.get("confirmed", rule.get("confirmed", True)),
            disagrees="disagrees_with_spec" in case,
        )
    outcome.conclude(rule.get("disagrees_with_spec"))
