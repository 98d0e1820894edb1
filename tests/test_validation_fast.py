"""The fast path of `validate_wire` and the stand-alone rules agree, on any body.

`validate_wire` runs an action's rules on one shared `rules.Ctx` per call (what several rules
read is looked up once); `rules.RULES` holds each rule as a stand-alone `Check` with a context of
its own. Both must report the same problems, in the same order, for valid and broken bodies: the
generated ones of the spec (schemathesis, positive and negative) and rule-shaped ones full of
wrong types, duplicates and out-of-range values.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from rtc_startrecord import rules, spec, validation
from rtc_startrecord.errors import Problem

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # contract_tests holds the spec's body strategies
    sys.path.insert(0, str(ROOT))

from contract_tests import support  # noqa: E402
from contract_tests.test_properties import bodies, injectors  # noqa: E402

SETTINGS = settings(
    max_examples=40, derandomize=True, deadline=None, database=None,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip
ACTIONS = ["StartRecord", "UpdateRecord"]


def one_by_one(body: Any, action: str, version: str) -> list[Problem]:
    """The slow path: the schema pass, then every `Check` of the action on its own."""
    problems = validation.schema_problems(body, action, version)
    if isinstance(body, dict):
        for check in rules.RULES[spec.rule_set(version)].get(action, ()):
            problems.extend(check(body))
    return problems


def agree(body: Any, action: str, version: str) -> None:
    before = copy.deepcopy(body)
    fast = validation.validate_wire(body, action, version, check_encoding=False)
    assert fast == one_by_one(body, action, version)
    assert body == before or body != body  # the rules never change the body (NaN != NaN)


# Rule-shaped bodies: the members the rules read, holding anything.
_number = st.one_of(
    st.integers(-3, 5),
    st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 100, 640, 700, 1e9]),
    st.floats(),
    st.booleans(),
)
_scalar = st.one_of(_number, st.none(), st.sampled_from(["", "u1", "HLS", "MP3", "x" * 70]))
_any = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "Index"]), inner)
    ),
    max_leaves=4,
)


def _obj(members: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    shaped = st.fixed_dictionaries({}, optional=members)
    return st.one_of(shaped, shaped, shaped, _any)  # mostly objects of the right shape


def _maybe(values: list[Any]) -> st.SearchStrategy[Any]:
    known = st.sampled_from(values)
    return st.one_of(known, known, _any)


_stream = _obj(
    {
        "UserId": _maybe(["u1", "u2", "u3"]),
        "StreamType": _maybe([0, 1, 1.0]),
        "Index": _maybe([0, 1, 2, 2.0]),
    }
)
_streams = _obj({"StreamList": st.one_of(st.lists(_stream, max_size=4), _any)})
_region = _obj(
    {
        key: _maybe([0, 1, 2, 0.0, 0.5, 0.7, 1.0, 300, 640, 700])
        for key in (
            "StreamIndex",
            "LocationX",
            "LocationY",
            "WidthProportion",
            "HeightProportion",
            "Width",
            "Height",
            "CornerRadius",
        )
    }
)
_layout = _obj(
    {
        "LayoutMode": _maybe([0, 1, 2, 2.0]),
        "CustomLayout": _obj(
            {
                "Canvas": _obj({"Width": _maybe([0, 640, 100]), "Height": _maybe([480, 100])}),
                "Regions": st.one_of(st.lists(_region, max_size=4), _any),
            }
        ),
        "MainVideoStream": _any,
        "MainVideoStreamIndex": _maybe([0, 1, 5]),
    }
)
_vector = _maybe([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0], [1, 1, 0], [1.0, 0, 0]])
_control = _obj(
    {
        "FrameInterpolationMode": _any,
        "PushStreamMode": _any,
        "TalkVolume": _any,
        "SEIConfig": _obj({"SEIPayLoadType": _maybe([5, 1]), "SEIPayloadUUID": _any}),
        "SpatialConfig": _obj(
            {
                "AudienceSpatialOrientation": _obj(
                    {"Forward": _vector, "Right": _vector, "Up": _vector}
                )
            }
        ),
        "EnableSyncUpload": _any,
        "MaxSilenceSeconds": _maybe([10, 300]),
        "MaxIdleTime": _maybe([10, 300]),
        "MediaType": _maybe([0, 1]),
    }
)
SHAPED = st.fixed_dictionaries(
    {},
    optional={
        "RecordMode": _maybe([0, 1]),
        "TargetStreams": _streams,
        "ExcludeStreams": _streams,
        "Layout": _layout,
        "Encode": _obj(
            {
                k: _maybe([2, 1, 640])
                for k in (
                    "VideoWidth",
                    "VideoHeight",
                    "VideoFps",
                    "AudioProfile",
                    "AudioChannels",
                    "Other",
                )
            }
        ),
        "Control": _control,
        "Vod": _any,
        "StorageConfig": _obj(
            {
                "Type": _maybe([0, 1, 2, 3, 4]),
                "TosConfig": _any,
                "VodConfig": _any,
                "CustomConfig": _obj({"SecurityToken": _any, "Vendor": _maybe([4, 1])}),
            }
        ),
        "FileFormatConfig": _obj({"FileFormat": st.lists(_maybe(["HLS", "MP4", "MP3"]))}),
        "FileNameConfig": _obj({"Prefix": st.lists(_maybe(["a" * 60, "rec"]), max_size=4)}),
    },
)


@pytest.mark.parametrize("version", spec.API_VERSIONS)
def test_shaped_bodies(version: str) -> None:
    @SETTINGS
    @given(SHAPED, st.sampled_from(ACTIONS))
    def check(body: dict[str, Any], action: str) -> None:
        agree(body, action, version)

    check()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("version", spec.API_VERSIONS)
def test_generated_bodies(version: str, mode: GenerationMode) -> None:
    @SETTINGS
    @given(bodies("StartRecord", mode, version))
    def check(body: Any) -> None:
        agree(body, "StartRecord", version)
        if mode is GenerationMode.POSITIVE:
            fixed = support.repair("StartRecord", body, version)
            agree(fixed, "StartRecord", version)
            for inject in injectors(version):  # each documented rule broken once
                broken, _, _ = inject(copy.deepcopy(fixed), version)
                agree(broken, "StartRecord", version)

    check()


@pytest.mark.parametrize("version", spec.API_VERSIONS)
def test_the_maximal_body(version: str) -> None:
    agree(support.maximal_start_body(version), "StartRecord", version)
