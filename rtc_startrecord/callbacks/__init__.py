"""Recording callbacks (message notifications): verify, parse, build, dedupe, receive (WSGI, ASGI).

RTC POSTs a JSON body to the URL configured in the console (fact sheet §9)::

    {"EventType": "RecordStarted", "EventData": "{\\"AppId\\": ...}", "EventTime": "...Z",
     "EventId": "...", "AppId": "...", "Version": "2020-12-01", "Nonce": "1234",
     "Signature": "<hex>"}

``EventData`` is JSON *text* inside the JSON body. The signature is plain SHA-256 (not HMAC) over
the values of EventType, EventData, EventTime, EventId, AppId, Version, Nonce and the secret key,
sorted as strings ascending and concatenated. Older documents spell the nonce key ``Noce``; both
are accepted (``Nonce`` wins when a body carries both). Only those seven values are signed: any
other key of the body is ignored, and is not to be trusted.

Formats: `parse` and `verify` accept an authentic body only when every envelope field has its
documented format (checked after the signature, so such a refusal of a correctly signed body
points at a forgery or at a format this package does not know):

- EventType: a capital letter, then up to 63 letters and digits (the known ones and future ones);
- EventId and AppId: the ID naming rule, 1 to 128 letters, digits or ``_ @ . -``;
- EventTime: RFC 3339 with ``Z`` or an offset;
- Version: one of ``rtc_startrecord.spec.API_VERSIONS`` or another valid ``YYYY-MM-DD`` date;
- Nonce (or Noce): 1 to 4 ASCII digits (documented as a 4-digit random number; not every sender
  may zero-pad it);
- EventData: JSON text (an object of the documented shape for ``RecordStarted``);
- no signed value may hold a lone surrogate (a ``\\ud800``-``\\udfff`` escape: it has no UTF-8 form,
  so it cannot have been signed).

``app_ids`` (`parse`, `verify`, `make_wsgi_app`, `make_asgi_app`) names the AppIds a receiver
expects; a correctly signed event for another one is refused (`UnexpectedAppId`; HTTP 403).

What the documented scheme cannot prevent. Sorting the values and joining them with no separator
loses the boundaries between values (and which field held which): whoever holds one signed body
can move characters between neighbouring values, or swap values between fields, without changing
the signature. The format checks only narrow this (a shifted EventTime, Version, Nonce or EventType
mostly stops being valid), and ``app_ids`` pins AppId; but characters moved between, say, EventId
and another free-form ID still pass, and such a forgery has a new EventId, so deduplication does
not catch it. A captured body can be replayed verbatim within ``max_age`` (dedupe on EventId stops
the copies reaching your handler only while the id is remembered). Nothing binds the body to the
transport: no header, URL or TLS identity is signed, so use HTTPS and a secret only RTC knows.

Payload shapes: only ``RecordStarted`` is documented (BytePlus 75125). ``RecordStopped`` and the
upload events are UNCONFIRMED (open question 7): their typed payloads are the shapes the simulator
sends. Because a verified event is authentic, an unconfirmed event whose EventData does not fit the
guessed shape is not refused: it comes back as `GenericEventData` (with a warning in the log), and
so does any unknown EventType. Unknown extra keys in EventData are always tolerated.

Freshness: `parse` refuses an event whose EventTime is more than ``max_age`` seconds old (default
600 s) or more than ``max_future`` seconds ahead of the local clock (default 300 s, for clock skew);
either check is off when its limit is None.

Robustness: for any body at all (bytes, str, a mapping, or another object; not UTF-8, not JSON,
nested too deeply, numbers too large, lone surrogates, wrong types), `verify` returns False and
`parse` raises a `CallbackError`; only a bad ``secret``, ``app_ids`` or limit (configuration)
raises TypeError or ValueError. The secret never appears in an error message, ``args``, a repr, a
chained exception (callback errors are never chained) or a log record of this module. Frame
locals of a traceback do hold it, as they hold any argument: do not log tracebacks with locals.

Receivers: `make_wsgi_app` (a WSGI app) and `make_asgi_app` (an ASGI app, for uvicorn, or to
mount in FastAPI / Starlette: ``app.mount("/rtc/callbacks", receiver)``; its handler may be async;
loaded on first use) give the same answers; both drive the sans-I/O core in ``receiver``.

Deduplication: both receivers take any `DedupeStore` (``claim``, ``complete``, ``release``);
`Deduplicator` keeps EventIds in one process, `RedisDeduplicator` (needs the ``redis`` extra;
loaded on first use) shares them, and the in-flight leases, between replicas (docs/fleet.md).

The code lives in the modules of this package along these seams (errors, time, envelope, signature,
payloads, parse, build, dedupe, dedupe_redis, receiver, wsgi, asgi); import everything from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .build import DEFAULT_VERSION, build_callback_body
from .dedupe import Claim, DedupeStore, Deduplicator
from .envelope import NONCE_KEYS, SIGNED_FIELDS, Body
from .errors import (
    CallbackError,
    MalformedCallback,
    SignatureMismatch,
    StaleEvent,
    UnexpectedAppId,
    UnsupportedBody,
)
from .parse import parse, verify
from .payloads import (
    KNOWN_EVENT_TYPES,
    Event,
    EventPayload,
    GenericEventData,
    RecordStarted,
    RecordStopped,
    RecordUpload,
    RecordUploadBackuped,
    RecordUploadDone,
    RecordUploadProcessing,
    RecordUploadStarted,
)
from .signature import compute_signature
from .time import (
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_FUTURE,
    format_event_time,
    parse_event_time,
)
from .wsgi import DEFAULT_MAX_BODY, CallbackApp, make_wsgi_app

if TYPE_CHECKING:
    from .asgi import AsgiCallbackApp, make_asgi_app
    from .dedupe_redis import RedisDeduplicator

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_FUTURE",
    "DEFAULT_VERSION",
    "KNOWN_EVENT_TYPES",
    "NONCE_KEYS",
    "SIGNED_FIELDS",
    "AsgiCallbackApp",
    "Body",
    "CallbackApp",
    "CallbackError",
    "Claim",
    "DedupeStore",
    "Deduplicator",
    "Event",
    "EventPayload",
    "GenericEventData",
    "MalformedCallback",
    "RecordStarted",
    "RecordStopped",
    "RecordUpload",
    "RecordUploadBackuped",
    "RecordUploadDone",
    "RecordUploadProcessing",
    "RecordUploadStarted",
    "RedisDeduplicator",
    "SignatureMismatch",
    "StaleEvent",
    "UnexpectedAppId",
    "UnsupportedBody",
    "build_callback_body",
    "compute_signature",
    "format_event_time",
    "make_asgi_app",
    "make_wsgi_app",
    "parse",
    "parse_event_time",
    "verify",
]


if not TYPE_CHECKING:  # type checkers see the import above; a typo stays an error for them

    def __getattr__(name: str) -> Any:
        if name == "RedisDeduplicator":  # the Redis module loads on first use
            from .dedupe_redis import RedisDeduplicator

            return RedisDeduplicator
        if name in ("AsgiCallbackApp", "make_asgi_app"):  # asyncio loads on first use
            from . import asgi

            return getattr(asgi, name)
        raise AttributeError(f"module 'rtc_startrecord.callbacks' has no attribute {name!r}")
