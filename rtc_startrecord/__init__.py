"""Typed, validated, signed client for Volcengine RTC cloud recording, every API version.

    import rtc_startrecord as rs
    with rs.RtcClient(version="2023-11-01") as client:
        client.start_record({"AppId": ..., "RoomId": ..., "TaskId": ..., "StorageConfig": ...})

`rs.API_VERSIONS` lists the versions; each has a module (`rtc_startrecord.v2023_11_01`) with its
models and a client typed for it. The top-level models are the default version's (2020-12-01).

Names load on first use (PEP 562), so `import rtc_startrecord` and the pytest plugin stay cheap
for code that needs only part of the package; type checkers see ordinary imports.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from rtc_startrecord_models import DEFAULT_VERSION, NAMES, VERSIONS

if TYPE_CHECKING:
    from . import signing as signing
    from ._versions import *  # noqa: F403  (the version modules, generated)
    from .client import DEFAULT_ENDPOINT as DEFAULT_ENDPOINT
    from .client import BaseRtcClient as BaseRtcClient
    from .client import PreparedRequest as PreparedRequest
    from .credentials import Credentials as Credentials
    from .credentials import CredentialsNotFound as CredentialsNotFound
    from .errors import ClientClosed as ClientClosed
    from .errors import DeadlineExceeded as DeadlineExceeded
    from .errors import Problem as Problem
    from .errors import RequestInvalid as RequestInvalid
    from .errors import ResponseTooLarge as ResponseTooLarge
    from .errors import RtcApiError as RtcApiError
    from .errors import RtcError as RtcError
    from .errors import StopMayHaveSucceeded as StopMayHaveSucceeded
    from .errors import TaskEndedEarly as TaskEndedEarly
    from .errors import TaskMayAlreadyExist as TaskMayAlreadyExist
    from .errors import TransportError as TransportError
    from .errors import UnexpectedResponse as UnexpectedResponse
    from .errors import WaitTimeout as WaitTimeout
    from .errors import WireFormatError as WireFormatError
    from .filenames import expand_file_name as expand_file_name
    from .models import *  # noqa: F403
    from .outcomes import StartOutcome as StartOutcome
    from .outcomes import start_outcome as start_outcome
    from .spec import API_VERSIONS as API_VERSIONS
    from .v2020_12_01 import RtcClient as RtcClient
    from .validation import validate as validate
    from .wire import from_wire as from_wire
    from .wire import to_wire as to_wire

__version__ = "0.1.0"

# A library logs; the application decides where it goes (nothing is printed unless it does).
logging.getLogger(__name__).addHandler(logging.NullHandler())

_HOME = {
    "API_VERSIONS": ".spec",
    "BaseRtcClient": ".client",
    "DEFAULT_ENDPOINT": ".client",
    "PreparedRequest": ".client",
    "RtcClient": "." + VERSIONS[DEFAULT_VERSION],
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
    "ClientClosed": ".errors",
    "DeadlineExceeded": ".errors",
    "ResponseTooLarge": ".errors",
    "UnexpectedResponse": ".errors",
    "WaitTimeout": ".errors",
    "WireFormatError": ".errors",
    "expand_file_name": ".filenames",
    "StartOutcome": ".outcomes",
    "start_outcome": ".outcomes",
    "validate": ".validation",
    "from_wire": ".wire",
    "to_wire": ".wire",
} | dict.fromkeys(NAMES[DEFAULT_VERSION], ".models")
# The version modules (rtc_startrecord/<module>.py, generated from spec/versions.yaml).
_MODULES = {"signing": ".signing"} | {module: "." + module for module in VERSIONS.values()}

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
