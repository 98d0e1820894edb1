"""What the sync and the async client share: everything but the socket and the sleeps.

`ClientCore` holds the settings, picks the version's class, validates, serializes and signs a
request, turns the final answer into the response model or a typed error, and plans the polls
of `wait_for_task` (`_wait_steps`, a generator both shells drive). `client.BaseRtcClient` (on
`transport.Transport`, urllib3) and `client_async.BaseAsyncRtcClient` (on
`transport_async.AsyncTransport`, httpx) add only the I/O. What differs per action and version
is data read from the spec plus one table of retry-safety conversions; there is no branch per
action.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any, Self, TypedDict

import attrs
import urllib3

from . import signing, spec
from .attempts import DEFAULT_MAX_RESPONSE_BYTES, Exchange, RetryPolicy, encode_query
from .credentials import Credentials, resolve_region
from .errors import (
    Problem,
    RequestInvalid,
    RtcApiError,
    RtcError,
    StopMayHaveSucceeded,
    TaskMayAlreadyExist,
)
from .outcomes import is_already_started
from .signer import RequestSigner
from .transport import attempt_timeout
from .validation import (
    checked_wire,
    encoding_problems,
    has_errors,
    passing_bodies_are_null_free,
    rule_problems,
    validate_wire,
)
from .wire import dumps, from_wire, to_wire

log = logging.getLogger("rtc_startrecord")

DEFAULT_ENDPOINT = "https://rtc.volcengineapi.com"
# Read when no endpoint is passed, so one setting points every client and the CLI at `serve`.
ENDPOINT_ENV = "RTC_ENDPOINT"
DEFAULT_TIMEOUT = urllib3.Timeout(connect=5.0, read=30.0)
SERVICE = "rtc"
USER_AGENT = "rtc-startrecord/0.1"

# After an ambiguous failure (the request may have run), a retry that meets this code means the
# first attempt most likely succeeded: say so with a distinct error instead of a plain failure.
AMBIGUOUS_OUTCOMES: dict[tuple[str, str], type[RtcApiError]] = {
    ("StartRecord", "InvalidParameter.TaskAlreadyExists"): TaskMayAlreadyExist,
    ("StopRecord", "InvalidParameter.ErrorActiveTaskNotFound"): StopMayHaveSucceeded,
}


@attrs.frozen(kw_only=True)
class PreparedRequest:
    """A validated, serialized and signed request, ready to send (or to show with --dry-run)."""

    method: str
    url: str
    headers: dict[str, str] = attrs.field(repr=lambda h: repr(_redact_token(h)))
    body: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")

    def redacted_headers(self) -> dict[str, str]:
        """The headers with the session token hidden (the Authorization holds no secret)."""
        return _redact_token(self.headers)


def _redact_token(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: ("<redacted>" if k.lower() == "x-security-token" else v) for k, v in headers.items()}


@attrs.frozen(kw_only=True)
class RawResponse:
    """`call_raw`'s answer: the typed response and what came on the wire with it (the envelope
    as received, keys the models do not know included)."""

    parsed: Any
    envelope: dict[str, Any]
    status: int
    headers: Mapping[str, str]
    attempts: int

    @property
    def request_id(self) -> str | None:
        rid = self.envelope.get("ResponseMetadata", {}).get("RequestId")
        return rid if isinstance(rid, str) else None


class ClientOptions(TypedDict, total=False):
    """The keyword options of the client's constructor besides `version` (for typed overloads;
    the async client's `limiter` is an `AsyncLimiter`)."""

    endpoint: str | None
    region: str | None
    timeout: float | urllib3.Timeout
    max_attempts: int
    total_timeout: float
    qps: float | None
    proxy: str | None
    pool_maxsize: int
    backoff_base: float
    backoff_cap: float
    max_response_bytes: int
    limiter: Any


class EchoesHidden:
    """`with EchoesHidden(body, version):` around sending a body and reading its answer: an
    RtcError raised inside has the body's bucket credentials hidden wherever its text repeats
    them (a service message quoting the request, a proxy page echoing it). Free unless raised."""

    __slots__ = ("body", "version")

    def __init__(self, body: bytes, version: str) -> None:
        self.body = body
        self.version = version

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, RtcError) and self.body:
            from .redaction import hide_echoes  # the error path only

            hide_echoes(exc, self.body, self.version)


class ClientCore:
    """The shared part of a client of the RTC recording API, for one API version.

    `credentials` default to `Credentials.from_env()`; `region` to VOLC_REGION or cn-north-1.
    `timeout` is seconds (or a urllib3.Timeout) per attempt; `max_attempts` and `total_timeout`
    bound the retries, and `total_timeout` is the one deadline of a call (connect, send, every
    read, backoff sleeps and the limiter wait); `qps` limits this client's calls per second (None
    turns it off); `max_response_bytes` caps an answer (after decoding); `version` picks the API
    version (`rs.API_VERSIONS`), by default the class's own.
    """

    API_VERSION: str = spec.DEFAULT_VERSION
    # The name of the generated per-version class this family builds (`RtcClient(version=V)`).
    _GENERATED_NAME = "RtcClient"

    def __new__(cls, *args: Any, version: str | None = None, **kwargs: Any) -> Any:
        """`RtcClient(version=V)` builds the client class generated for V when that class is a
        subclass of the one called (so `rs.RtcClient(version=...)` picks any version)."""
        if version is None or version == cls.API_VERSION:
            return object.__new__(cls)
        target = spec.client_class(version, cls._GENERATED_NAME)
        if not issubclass(target, cls):
            raise ValueError(
                f"{cls.__module__}.{cls.__name__} speaks API version {cls.API_VERSION}, not "
                f"{version}; use rtc_startrecord.{cls._GENERATED_NAME}(version={version!r})"
            )
        return object.__new__(target)

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        timeout: float | urllib3.Timeout = DEFAULT_TIMEOUT,
        max_attempts: int = 3,
        total_timeout: float = 60.0,
        qps: float | None = 60.0,
        version: str | None = None,
        proxy: str | None = None,
        pool_maxsize: int = 10,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        limiter: Any = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._credentials = credentials if credentials is not None else Credentials.from_env()
        self.region = resolve_region(region)
        c = self._credentials
        self._signer = RequestSigner(
            access_key_id=c.access_key_id,
            secret_access_key=c.secret_access_key,
            region=self.region,
            service=SERVICE,
            session_token=c.session_token,
        )
        self.version = version or type(self).API_VERSION
        spec.operations(self.version)  # an unknown version fails here, naming the known ones
        self._transport = self._make_transport(
            endpoint or os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT,
            timeout=timeout,
            qps=qps,
            proxy=proxy,
            pool_maxsize=pool_maxsize,
            max_response_bytes=max_response_bytes,
            limiter=limiter,
        )
        self._timeout: urllib3.Timeout | None = None
        self._warned: set[tuple[str, str, str]] = set()
        self._policy = RetryPolicy(
            max_attempts=max_attempts,
            total_timeout=total_timeout,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
        )

    def _make_transport(self, endpoint: str, **options: Any) -> Any:
        """The shell's transport (urllib3's or httpx's pool)."""
        raise NotImplementedError

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return str(self._transport.endpoint)

    @property
    def credentials_source(self) -> str:
        return self._credentials.source

    def __repr__(self) -> str:
        return (
            f"{self._GENERATED_NAME}(version={self.version!r}, endpoint={self.endpoint!r}, "
            f"region={self.region!r}, "
            f"access_key_id={self._credentials.access_key_id!r}, "
            f"max_attempts={self._policy.max_attempts})"
        )

    def __reduce__(self) -> Any:
        raise TypeError(
            f"{self._GENERATED_NAME} holds credentials and is not picklable; build one per process"
        )

    def with_options(
        self,
        *,
        timeout: float | urllib3.Timeout | None = None,
        max_attempts: int | None = None,
        total_timeout: float | None = None,
    ) -> Self:
        """A client sharing this one's pool, limiter and credentials, with per-call overrides."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        if timeout is not None:
            new._timeout = attempt_timeout(timeout)
        changes: dict[str, Any] = {}
        if max_attempts is not None:
            if max_attempts < 1:
                raise ValueError("max_attempts must be at least 1")
            changes["max_attempts"] = max_attempts
        if total_timeout is not None:
            changes["total_timeout"] = total_timeout
        new._policy = attrs.evolve(self._policy, **changes)
        return new

    def _sign(
        self,
        method: str,
        host: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> dict[str, str]:
        # The client's signer keeps what repeats between calls; signing.sign is its reference.
        return self._signer.sign(
            method, host, path, query, headers, body, x_date=signing.x_date_now()
        )

    def _wire(self, action: str, request: object) -> tuple[spec.Operation, dict[str, Any]]:
        op = spec.operation(action, self.version)
        if type(request) is dict:  # the common case first: a wire dict goes straight on
            wire: dict[str, Any] = request
        elif attrs.has(type(request)):
            if not isinstance(request, op.request_model):
                raise TypeError(
                    f"{action} takes a {op.request} or a wire dict, not a {type(request).__name__}"
                )
            checked = checked_wire(request)
            if checked is not None:  # written and proved schema-valid in one pass: rules remain
                self._judge(action, rule_problems(checked, action, self.version))
                return op, checked
            try:
                wire = to_wire(request)
            except Exception as exc:  # attrs does not type-check: a model can hold anything
                raise RequestInvalid(
                    [
                        Problem(
                            path="$",
                            rule="schema.type",
                            message=f"cannot be written as JSON: {exc}",
                        )
                    ]
                ) from None
        elif isinstance(request, Mapping):
            wire = dict(request)
        else:
            raise TypeError(
                f"{action} takes a {op.request} or a wire dict, not {type(request).__name__}"
            )
        problems = validate_wire(wire, action, self.version, check_encoding=False)
        if problems and has_errors(problems):
            # Refused anyway: say what JSON cannot carry too, since jsonschema-rs shows NaN and
            # the infinities as null ("null is not of type number").
            problems += encoding_problems(wire)
        self._judge(action, problems)
        return op, wire

    def _judge(self, action: str, problems: list[Problem]) -> None:
        """Log each warning once per client; raise RequestInvalid with every error."""
        if problems:
            for p in problems:
                if p.severity == "warning" and (action, p.rule, p.path) not in self._warned:
                    self._warned.add((action, p.rule, p.path))  # once per client, not per call
                    log.warning("%s: %s", action, p)
            if has_errors(problems):
                raise RequestInvalid([p for p in problems if p.severity == "error"])

    def _encode(
        self, op: spec.Operation, wire: dict[str, Any]
    ) -> tuple[list[tuple[str, str]], dict[str, str], bytes]:
        """The query, headers and body of a wire dict that has passed the schema (`_wire`)."""
        query = [("Action", op.action), ("Version", op.version)]
        if op.request_in == "query":
            query += [(name, str(wire[name])) for name in op.query if name in wire]
            return query, {"User-Agent": USER_AGENT}, b""
        try:
            body = dumps(wire)
        except ValueError as exc:  # not JSON data (a lone surrogate, a non-string key, ...)
            problems = encoding_problems(wire) or [
                Problem(path="$", rule="schema.type", message=str(exc))
            ]
            raise RequestInvalid(problems) from None
        # `wire` passed the schema here, which for every shipped action rules out a None, NaN
        # or an infinity (orjson writes all three as null): scanning 8 KB for `null` costs 5 µs.
        if (
            not passing_bodies_are_null_free(op.action, op.version)
            and b"null" in body
            and (problems := encoding_problems(wire, body))
        ):
            raise RequestInvalid(problems)
        return query, {"Content-Type": "application/json", "User-Agent": USER_AGENT}, body

    def _request(
        self, action: str, request: object
    ) -> tuple[spec.Operation, list[tuple[str, str]], dict[str, str], bytes]:
        """Validate and serialize: what either shell hands its transport."""
        op, wire = self._wire(action, request)
        query, headers, body = self._encode(op, wire)
        return op, query, headers, body

    def prepare(self, action: str, request: object) -> PreparedRequest:
        """Validate, serialize and sign without sending (what --dry-run shows)."""
        op, query, headers, body = self._request(action, request)
        headers.pop("User-Agent")  # not signed, and not part of what --dry-run shows
        sent = self._sign(op.method, self._transport.host, op.path, query, headers, body)
        return PreparedRequest(
            method=op.method,
            url=f"{self.endpoint}{op.path}?{encode_query(tuple(query))}",
            headers=sent,
            body=body,
        )

    # -- the answer ------------------------------------------------------------------------

    def _result(self, op: spec.Operation, ex: Exchange) -> Any:
        """The response model of the final answer, or its typed error."""
        err = ex.error
        if err is not None:
            code = str(err.get("Code", ""))
            cls = AMBIGUOUS_OUTCOMES.get((op.action, code)) if ex.ambiguous_before else None
            code_n = err.get("CodeN")
            raise (cls or RtcApiError)(
                code,
                str(err.get("Message", "")),
                code_n=code_n if isinstance(code_n, int) else None,
                request_id=ex.request_id,
                http_status=ex.status,
                action=op.action,
                ambiguous=ex.ambiguous_before,
            )
        response = from_wire(op.response_model, ex.envelope)
        if (
            op.action == "StartRecord"
            and is_already_started(getattr(response, "result", None))
            and spec.running_duplicate_start(op.version) == "already_started"
        ):
            if ex.ambiguous_before:  # the earlier attempt most likely started it: say so
                raise TaskMayAlreadyExist(
                    "AlreadyStarted",
                    str(response.result),
                    request_id=ex.request_id,
                    http_status=ex.status,
                    action=op.action,
                    ambiguous=True,
                )
            log.warning("StartRecord: task already running (RequestId %s)", ex.request_id)
        return response

    def _raw(self, op: spec.Operation, ex: Exchange) -> RawResponse:
        return RawResponse(
            parsed=self._result(op, ex),
            envelope=ex.envelope,
            status=ex.status,
            headers=ex.headers,
            attempts=ex.attempts,
        )
