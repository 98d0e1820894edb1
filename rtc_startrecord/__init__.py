"""Typed, validated, signed client for Volcengine RTC cloud recording (API version 2020-12-01).

    import rtc_startrecord as rs
    with rs.RtcClient() as client:
        client.start_record({"AppId": ..., "RoomId": ..., "TaskId": ...})

Names load on first use (PEP 562), so `import rtc_startrecord` and the pytest plugin stay cheap
for code that needs only part of the package; type checkers see ordinary imports.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from rtc_startrecord_models import DEFAULT_VERSION, NAMES

if TYPE_CHECKING:
    from rtc_startrecord_models import v2020_12_01

    from . import signing
    from .client import DEFAULT_ENDPOINT, PreparedRequest, RtcClient
    from .credentials import Credentials, CredentialsNotFound
    from .errors import (
        Problem,
        RequestInvalid,
        RtcApiError,
        RtcError,
        StopMayHaveSucceeded,
        TaskEndedEarly,
        TaskMayAlreadyExist,
        TransportError,
        UnexpectedResponse,
        WaitTimeout,
        WireFormatError,
    )
    from .filenames import expand_file_name
    from .models import *  # noqa: F403
    from .validation import validate
    from .wire import from_wire, to_wire

__version__ = "0.1.0"

# A library logs; the application decides where it goes (nothing is printed unless it does).
logging.getLogger(__name__).addHandler(logging.NullHandler())

_HOME = {
    "DEFAULT_ENDPOINT": ".client",
    "PreparedRequest": ".client",
    "RtcClient": ".client",
    "Credentials": ".credentials",
    "CredentialsNotFound": ".credentials",
    "Problem": ".errors",
    "RequestInvalid": ".errors",
    "RtcApiError": ".errors",
    "RtcError": ".errors",
    "StopMayHaveSucceeded": ".errors",
    "TaskEndedEarly": ".errors",
    "TaskMayAlreadyExist": ".errors",
    "TransportError": ".errors",
    "UnexpectedResponse": ".errors",
    "WaitTimeout": ".errors",
    "WireFormatError": ".errors",
    "expand_file_name": ".filenames",
    "validate": ".validation",
    "from_wire": ".wire",
    "to_wire": ".wire",
} | dict.fromkeys(NAMES[DEFAULT_VERSION], ".models")
_MODULES = {"signing": ".signing", "v2020_12_01": "rtc_startrecord_models.v2020_12_01"}

__all__ = sorted([*_HOME, *_MODULES])


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value: Any = importlib.import_module(_MODULES[name], __name__)
    elif name in _HOME:
        value = getattr(importlib.import_module(_HOME[name], __name__), name)
    else:
        raise AttributeError(f"module 'rtc_startrecord' has no attribute {name!r}")
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
