"""What the OpenAPI gateway answers before an action runs: its error codes, by name.

One table for the verifier (`signing_verify`, the signature codes) and the simulator (the rest),
so a code's CodeN and HTTP status are written once. Sources: the signing reference's section 6
for the signature codes, the StartRecord fact sheet's gateway table for the others; the HTTP
statuses are the ones the project settled on where the documents give none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["GATEWAY_ERRORS", "SIGNATURE_CODES"]

# Error code -> (CodeN, HTTP status). CodeN 0: the gateway sends none.
GATEWAY_ERRORS: Final[Mapping[str, tuple[int, int]]] = {
    # signature verification
    "MissingAuthenticationToken": (100003, 401),
    "MissingRequestInfo": (100004, 400),
    "MissingSignature": (100005, 401),
    "InvalidTimestamp": (100006, 400),
    "InvalidAccessKey": (100009, 401),
    "SignatureDoesNotMatch": (100010, 401),
    "InvalidAuthorization": (100024, 400),
    "InvalidCredential": (100025, 400),
    "InvalidSecretToken": (100026, 401),
    # routing, throttling and the gateway's own failures
    "MissingParameter": (100002, 400),
    "InvalidActionOrVersion": (100008, 404),
    "FlowLimitExceeded": (100018, 429),
    "MethodNotAllowed": (0, 405),
    "InternalError": (100014, 500),
}

# The codes a signature check can fail with (the rest come from routing and throttling).
SIGNATURE_CODES: Final = frozenset(
    {
        "MissingAuthenticationToken",
        "MissingRequestInfo",
        "MissingSignature",
        "InvalidTimestamp",
        "InvalidAccessKey",
        "SignatureDoesNotMatch",
        "InvalidAuthorization",
        "InvalidCredential",
        "InvalidSecretToken",
    }
)
