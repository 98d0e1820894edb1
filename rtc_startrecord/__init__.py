"""Typed, validated, signed client for Volcengine RTC cloud recording (API version 2020-12-01).

import rtc_startrecord as rs
with rs.RtcClient() as client:
    client.start_record({"AppId": ..., "RoomId": ..., "TaskId": ...})
"""

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
from .models import __all__ as _models_all
from .validation import validate
from .wire import from_wire, to_wire

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ENDPOINT",
    "Credentials",
    "CredentialsNotFound",
    "PreparedRequest",
    "Problem",
    "RequestInvalid",
    "RtcApiError",
    "RtcClient",
    "RtcError",
    "StopMayHaveSucceeded",
    "TaskEndedEarly",
    "TaskMayAlreadyExist",
    "TransportError",
    "UnexpectedResponse",
    "WaitTimeout",
    "WireFormatError",
    "expand_file_name",
    "from_wire",
    "signing",
    "to_wire",
    "v2020_12_01",
    "validate",
    *_models_all,
]
