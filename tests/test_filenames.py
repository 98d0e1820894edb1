"""RecordFileNamePattern expansion (fact sheet §4.11, rule R22)."""

from __future__ import annotations

import string
from typing import Any

import pytest

from rtc_startrecord.filenames import (
    DEFAULT_MIXED_PATTERN_UNCONFIRMED,
    DEFAULT_SINGLE_STREAM_PATTERN,
    expand_file_name,
)

BASE: dict[str, Any] = {
    "task_id": "task1",
    "room_id": "room1",
    "user_id": "alice",
    "stream_type": 0,
    "start_time_ms": 1700000000123,
    "duration_s": 123,
    "random": "Ab3dEf7H",
}


def expand(pattern: str | None, **overrides: Any) -> str:
    return expand_file_name(pattern, **{**BASE, **overrides})


@pytest.mark.parametrize(
    ("pattern", "overrides", "expected"),
    [
        # every variable, canonical spelling
        ("{TaskId}", {}, "task1"),
        ("{RoomId}", {}, "room1"),
        ("{UserId}", {}, "alice"),
        ("{Type}", {}, "C"),
        ("{Type}", {"stream_type": 1}, "S"),
        ("{StartTime}", {}, "1700000000123"),
        ("{Duration}", {}, "000123"),
        ("{Random}", {}, "Ab3dEf7H"),
        # case-insensitive names
        ("{taskid}", {}, "task1"),
        ("{TASKID}", {}, "task1"),
        ("{TaskID}", {}, "task1"),
        ("{Taskid}", {}, "task1"),
        (
            "{roomID}-{USERID}-{type}-{starttime}-{DURATION}-{rAnDoM}",
            {},
            "room1-alice-C-1700000000123-000123-Ab3dEf7H",
        ),
        # misspelt / malformed variables stay literal
        ("{Task_Id}", {}, "{Task_Id}"),
        ("{TaskId", {}, "{TaskId"),
        ("TaskId}", {}, "TaskId}"),
        ("TaskId", {}, "TaskId"),
        ("{Foo}", {}, "{Foo}"),
        ("{ TaskId }", {}, "{ TaskId }"),
        ("{}", {}, "{}"),
        ("{{TaskId}}", {}, "{task1}"),
        ("{TaskId}{TaskId}", {}, "task1task1"),
        ("rec_{TaskId}_{Task Id}", {}, "rec_task1_{Task Id}"),
        # Duration: whole seconds, zero-padded to 6, never cut
        ("{Duration}", {"duration_s": 0}, "000000"),
        ("{Duration}", {"duration_s": 5}, "000005"),
        ("{Duration}", {"duration_s": 123456}, "123456"),
        ("{Duration}", {"duration_s": 1234567}, "1234567"),
        ("{Duration}", {"duration_s": 5.9}, "000005"),
        # no extension is added
        ("plain", {}, "plain"),
    ],
)
def test_expand(pattern: str, overrides: dict[str, Any], expected: str) -> None:
    assert expand(pattern, **overrides) == expected


def test_same_random_for_every_occurrence() -> None:
    name = expand("{Random}-{random}", random=None)
    first, second = name.split("-")
    assert first == second


@pytest.mark.parametrize("length", [1, 100, 127, 128])
def test_not_truncated_up_to_128(length: int) -> None:
    pattern = "x" * length
    assert expand(pattern) == pattern


@pytest.mark.parametrize("length", [129, 130, 500])
def test_truncated_beyond_128(length: int) -> None:
    name = expand("y" * length)
    assert len(name) == 128
    assert name == "y" * 127 + "~"


def test_truncation_applies_to_expanded_name() -> None:
    # a short pattern whose expansion is long
    name = expand("{UserId}_{TaskId}", user_id="u" * 126)  # 126 + 1 + 5 = 132 chars
    assert len(name) == 128
    assert name.endswith("~")
    assert name[:127] == ("u" * 126 + "_task1")[:127]


def test_exactly_128_after_expansion_not_truncated() -> None:
    name = expand("{UserId}_{TaskId}", user_id="u" * 122)  # 122 + 1 + 5 = 128
    assert len(name) == 128
    assert name.endswith("task1")


def test_default_single_stream() -> None:
    assert DEFAULT_SINGLE_STREAM_PATTERN == (
        "{TaskId}_{RoomId}_{UserId}_{Type}_{StartTime}_{Duration}_{Random}"
    )
    assert expand(None) == "task1_room1_alice_C_1700000000123_000123_Ab3dEf7H"
    assert expand("") == "task1_room1_alice_C_1700000000123_000123_Ab3dEf7H"
    assert expand(None, stream_type=1, mixed=False) == (
        "task1_room1_alice_S_1700000000123_000123_Ab3dEf7H"
    )


def test_default_mixed() -> None:
    assert DEFAULT_MIXED_PATTERN_UNCONFIRMED == "{TaskId}_{RoomId}_{StartTime}_{Duration}_{Random}"
    # mixed inferred from an empty user id
    assert expand(None, user_id="") == "task1_room1_1700000000123_000123_Ab3dEf7H"
    # or asked for explicitly
    assert expand(None, mixed=True) == "task1_room1_1700000000123_000123_Ab3dEf7H"
    # explicit single-stream with no user id keeps the single-stream default
    assert expand(None, user_id="", mixed=False) == ("task1_room1__C_1700000000123_000123_Ab3dEf7H")


def test_mixed_flag_does_not_change_an_explicit_pattern() -> None:
    assert expand("{UserId}", mixed=True) == "alice"


def test_random_generated() -> None:
    alphabet = set(string.ascii_letters + string.digits)
    seen = set()
    for _ in range(50):
        value = expand("{Random}", random=None)
        assert len(value) == 8
        assert set(value) <= alphabet
        seen.add(value)
    assert len(seen) > 1


def test_default_random_has_length_8() -> None:
    name = expand_file_name(
        None, task_id="t", room_id="r", user_id="u", start_time_ms=1, duration_s=2
    )
    prefix, random = name.rsplit("_", 1)
    assert prefix == "t_r_u_C_1_000002"
    assert len(random) == 8
    assert random.isalnum() and random.isascii()


@pytest.mark.parametrize(
    "overrides",
    [{"stream_type": 2}, {"stream_type": -1}, {"start_time_ms": -1}, {"duration_s": -1}],
)
def test_bad_arguments(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        expand("{TaskId}", **overrides)
