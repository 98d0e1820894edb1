"""The simulator's WSGI application: the service's side of the one flow.

transport (any WSGI server) -> route by Action/Version -> verify the V4 signature (the client's
own signing module) -> per-account QPS limit -> parse -> the shared validator -> state -> the
documented envelope. Every answer is an envelope with a fresh RequestId; no input yields a 500.

Every API version of spec/versions.yaml is served at once, chosen by each request's Version
query parameter, over one task store: a task started in one version can be queried, updated
or stopped in another. What differs between versions is read from the spec and the version
table (schemas, rules, the answer to a duplicate start), never from a branch per version.

The simulator is as strict as the client's validator (decisions.md): where the real service
silently substitutes defaults (odd widths, regions outside the canvas), it refuses, as the
client does; warnings never refuse.
"""

from __future__ import annotations

import http
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .. import rules, signing, spec
from ..gateway import GATEWAY_ERRORS
from ..outcomes import ALREADY_STARTED
from ..ratelimit import RateLimiter
from ..validation import validate_wire
from .state import ActionRefused, State

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger("rtc_startrecord.simulator")

SERVICE = "rtc"
MAX_PROBLEMS_SHOWN = 50  # an InvalidParameter message names at most this many problems


class _Refusal(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        code_n: int | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.status, self.code, self.message, self.code_n = status, code, message, code_n
        self.headers = headers or []
        super().__init__(message)


def _gateway(code: str, message: str, **kw: Any) -> _Refusal:
    code_n, status = GATEWAY_ERRORS[code]
    return _Refusal(status, code, message, code_n or None, **kw)


def request_id() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + uuid.uuid4().hex[:20].upper()


# What the HTTP layer's own answers are called in the envelope (the rest is InvalidRequest).
_HTTP_LAYER_CODES = {
    408: "RequestTimeout",
    413: "InvalidParameter.BodyTooLarge",
    503: "ServiceUnavailable",  # the connection cap: safe to retry, nothing was read
}


class SimulatorApp:
    """A WSGI app answering the spec'd actions of every API version from one `State`."""

    def __init__(
        self,
        state: State,
        *,
        secrets: Mapping[str, str],
        region: str = "cn-north-1",
        qps: float | None = 60.0,
        max_body: int = 1 << 20,
        max_skew: float = 900.0,
    ) -> None:
        self.state = state
        self.secrets = dict(secrets)
        self.region = region
        self.qps = qps
        self.max_body = max_body
        self.max_skew = max_skew
        self._limiters: dict[str, RateLimiter] = {}
        self.handlers: dict[str, Callable[[dict[str, Any], str], Any]] = {
            "StartRecord": self._start,
            "StopRecord": self._stop,
            "UpdateRecord": self._update,
            "GetRecordTask": self._get,
        }

    def _start(self, req: dict[str, Any], version: str) -> str:
        """R8: a running TaskId is refused, or (2023-11-01) answered as already started."""
        already = spec.running_duplicate_start(version) == "already_started"
        created = self.state.start(req, version=version, refuse_running=not already)
        return "ok" if created else ALREADY_STARTED

    def _stop(self, req: dict[str, Any], version: str) -> str:
        self.state.stop(req)
        return "ok"

    def _update(self, req: dict[str, Any], version: str) -> str:
        self.state.update(req, lambda merged: self._judge_update(merged, version))
        return "ok"

    def _get(self, req: dict[str, Any], version: str) -> dict[str, Any]:
        return {"RecordTask": self.state.get(req).record_task()}

    @staticmethod
    def _judge_update(merged: dict[str, Any], version: str) -> list[str]:
        """A task's request after an update must still obey StartRecord's rules (R7, R11...).

        Only the rules judge it: the task may have been started in another version, whose
        other members (Vod or StorageConfig) this version's schema would not know."""
        checks = rules.RULES[spec.rule_set(version)]["StartRecord"]
        return [
            f"{p.path} ({p.rule}) {p.message}"
            for check in checks
            for p in check(merged)
            if p.severity == "error"
        ]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        first = first_values(environ.get("QUERY_STRING", ""))
        action, version = first.get("Action", ""), first.get("Version", "")
        headers: list[tuple[str, str]] = []
        try:
            status, result = 200, self._handle(environ, first)
        except _Refusal as r:
            status, result, headers = r.status, r, r.headers
        except Exception:  # a bug of ours: still an envelope, and the server thread lives on
            log.exception("simulator failed on %s", action)
            failure = _gateway("InternalError", "the simulator failed; see its log")
            status, result = failure.status, failure
        body = self.envelope(action, version, result)
        log.debug("%s %s -> %d", environ.get("REQUEST_METHOD"), action, status)
        start_response(
            f"{status} {_reason(status)}",
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(body))),
                *headers,
            ],
        )
        return [body]

    def envelope(self, action: str, version: str, result: Any) -> bytes:
        """The documented envelope: metadata with a fresh RequestId, then Result or Error."""
        meta: dict[str, Any] = {
            "RequestId": request_id(),
            "Action": action,
            "Version": version,
            "Service": SERVICE,
            "Region": self.region,
        }
        envelope: dict[str, Any] = {"ResponseMetadata": meta}
        if isinstance(result, _Refusal):
            err: dict[str, Any] = {"Code": result.code, "Message": result.message}
            if result.code_n:
                err["CodeN"] = result.code_n
            meta["Error"] = err
        else:
            envelope["Result"] = result
        return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()

    def http_error_body(self, status: int, message: str, target: str) -> bytes:
        """Errors the HTTP layer answers itself (an oversized or malformed request) as envelopes."""
        first = first_values(urlsplit(target).query)
        code = _HTTP_LAYER_CODES.get(status, "InvalidRequest")
        refusal = _Refusal(status, code, message)
        return self.envelope(first.get("Action", ""), first.get("Version", ""), refusal)

    def _handle(self, environ: WSGIEnvironment, query: dict[str, str]) -> Any:
        method = environ.get("REQUEST_METHOD", "")
        version = query.get("Version", "")
        ops = spec.operations(version) if version in spec.API_VERSIONS else {}
        op = ops.get(query.get("Action", ""))
        # Every action lives at `/`: the methods allowed are the named action's, else GET and POST.
        if method not in ("GET", "POST") or (op is not None and method != op.method):
            allow = op.method if op is not None else "GET, POST"
            what = f"{op.action} takes {op.method}" if op is not None else "only GET and POST"
            raise _gateway(
                "MethodNotAllowed",
                f"method {method} is not allowed: {what}",
                headers=[("Allow", allow)],
            )
        for name in ("Action", "Version"):
            if not query.get(name):
                raise _gateway("MissingParameter", f"the query parameter {name} is missing")
        if op is None:
            raise _gateway(
                "InvalidActionOrVersion",
                f"Action {query['Action']!r} with Version {query['Version']!r} does not exist",
            )
        body = self._read_body(environ)
        access_key = self._verify(environ, body)
        self._limit(access_key)
        if op.request_in == "query":
            wire: Any = {name: query[name] for name in op.query if name in query}
        else:
            wire = self._parse_json(body)
        problems = [p for p in validate_wire(wire, op.action, version) if p.severity == "error"]
        if problems:
            shown = problems[:MAX_PROBLEMS_SHOWN]
            detail = "; ".join(f"{p.path}: {p.rule}: {p.message}" for p in shown)
            if len(problems) > len(shown):
                detail += f"; and {len(problems) - len(shown)} more"
            raise _Refusal(
                400, "InvalidParameter", f"{len(problems)} invalid parameter(s): {detail}"
            )
        try:
            return self.handlers[op.action](wire, version)
        except ActionRefused as r:
            raise _Refusal(r.status, r.code, r.message) from None

    def _read_body(self, environ: WSGIEnvironment) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _Refusal(400, "InvalidParameter", "Content-Length is not a number") from None
        if length > self.max_body:
            raise _Refusal(
                413,
                "InvalidParameter.BodyTooLarge",
                f"the body has {length} bytes; at most {self.max_body} are accepted",
            )
        return environ["wsgi.input"].read(length) if length > 0 else b""

    def _verify(self, environ: WSGIEnvironment, body: bytes) -> str:
        headers = {
            k[5:].replace("_", "-").lower(): v
            for k, v in environ.items()
            if k.startswith("HTTP_") and isinstance(v, str)
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = environ["CONTENT_LENGTH"]
        try:
            result = signing.verify(
                environ.get("REQUEST_METHOD", ""),
                environ.get("rtc.raw_path") or environ.get("PATH_INFO") or "/",
                environ.get("QUERY_STRING", ""),
                headers,
                body,
                lookup_secret=self.secrets.get,
                region=self.region,
                service=SERVICE,
                max_skew=self.max_skew,
            )
        except signing.SignatureError as e:
            raise _Refusal(e.http_status, e.code, e.message, e.code_n) from None
        return result.access_key_id

    def _limit(self, access_key: str) -> None:
        if not self.qps:
            return
        limiter = self._limiters.get(access_key)
        if limiter is None:
            limiter = self._limiters.setdefault(access_key, RateLimiter(self.qps))
        if not limiter.try_acquire():
            raise _Refusal(
                429,
                "FlowLimitExceeded.QPSOverLimit",
                f"more than {self.qps:g} requests per second for this account",
            )

    @staticmethod
    def _parse_json(body: bytes) -> Any:
        if not body.strip():
            raise _Refusal(400, "InvalidParameter.BodyIsEmpty", "the request body is empty")
        try:
            return json.loads(body, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # too deep is unreadable
            raise _Refusal(
                400, "InvalidParameter.Unmarshal", f"the body is not JSON: {exc}"
            ) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:  # a status Python does not name
        return "Error"


def first_values(query: str) -> dict[str, str]:
    """Each query key's first value (as the gateway reads a repeated Action or Version)."""
    first: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        first.setdefault(key, value)
    return first
