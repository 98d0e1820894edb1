"""`DashboardMiddleware`: the dashboard page and its JSON twins, in front of the simulator.

    GET /_simulator/                 the page (``?part=live``: only its changing part)
    GET /_simulator/api/requests     the last N API requests (`RequestRecorder`)
    GET /_simulator/api/deliveries   callback deliveries: attempts, per event count and outcome
    GET /_simulator/api/rooms        the rooms' published streams, the running tasks of each
    GET /_simulator/api/clock        the simulated clock

Every other ``/_simulator...`` path passes to the wrapped app unrecorded (the admin API answers
there); every other request passes through the `RequestRecorder` to the wrapped app.

Where it sits: outside the router that sends ``/_simulator/...`` to the admin API and API
requests through the fault injector and the QPS limit, so what it answers never consumes a
fault, never counts against the limit and never appears in the request log.

Who may see it: like the admin API, only a loopback peer naming a loopback ``Host`` (no
DNS-rebound name), with no foreign ``Origin`` and (for the JSON) no cross-site fetch. The page
embeds the admin token for its controls; it is sent with ``Cache-Control: no-store``, never
framed (``frame-ancestors 'none'``) and without CORS headers, so no other origin can read it.
Nothing it answers is ever a 500: a failure is a 503 (JSON or a small HTML page).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from html import escape
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlsplit

from .page import DEFAULT_POLL_MS, render_live, render_page
from .recorder import DEFAULT_LIMIT, RequestRecorder
from .views import SimulatorLike, clock_view, deliveries_view, requests_view, rooms_view

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["DASHBOARD_PATH", "JSON_VIEWS", "DashboardMiddleware"]

log = logging.getLogger("rtc_startrecord.simulator")

PREFIX: Final = "/_simulator"
DASHBOARD_PATH: Final = "/_simulator/"
JSON_VIEWS: Final = ("requests", "deliveries", "rooms", "clock")
_API: Final = "/_simulator/api/"

_REASONS: Final = {
    200: "OK",
    308: "Permanent Redirect",
    403: "Forbidden",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


def _loopback(host: str) -> bool:
    host = host.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def _host_name(authority: str) -> str | None:
    try:
        parts = urlsplit("//" + authority)
        _ = parts.port  # a malformed port raises
    except ValueError:
        return None
    return parts.hostname


def _guard(environ: WSGIEnvironment, *, page: bool) -> None:
    """Loopback peer, loopback Host, no foreign Origin, no cross-site read."""
    if not _loopback(str(environ.get("REMOTE_ADDR") or "")):
        raise _Refused(403, "Forbidden", "the dashboard answers loopback peers only")
    host = str(environ.get("HTTP_HOST") or "")
    name = _host_name(host) if host else None
    if name is None or not _loopback(name):
        raise _Refused(
            403,
            "Forbidden",
            "the dashboard answers only requests naming a loopback host "
            "(open http://127.0.0.1:<port>/_simulator/)",
        )
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and origin != f"http://{host}":
        raise _Refused(403, "Forbidden", "the dashboard refuses cross-origin requests")
    site = str(environ.get("HTTP_SEC_FETCH_SITE") or "none").lower()
    mode = str(environ.get("HTTP_SEC_FETCH_MODE") or "").lower()
    navigation = page and mode == "navigate"  # following a link: the other site reads nothing
    if site not in ("none", "same-origin") and not navigation:
        raise _Refused(403, "Forbidden", "the dashboard refuses cross-site requests")


class DashboardMiddleware:
    """The dashboard in front of `app` (the simulator's router), reading `simulator`.

    `token` is the admin API's per-run token the page's controls send (default: the
    simulator's ``admin_token``; None, or a simulator without one, turns the controls off).
    `history` is how many API requests are kept; `poll_ms` how often the page refreshes."""

    def __init__(
        self,
        app: WSGIApplication,
        simulator: SimulatorLike,
        *,
        token: str | None = None,
        history: int = DEFAULT_LIMIT,
        poll_ms: int = DEFAULT_POLL_MS,
    ) -> None:
        self.app = app
        self.simulator = simulator
        self._token = token if token is not None else getattr(simulator, "admin_token", None)
        self.poll_ms = poll_ms
        self.recorder = RequestRecorder(app, limit=history, sim_clock=simulator.state.now_ms)
        self._json: dict[str, Callable[[dict[str, str]], Any]] = {
            "requests": self._requests,
            "deliveries": lambda q: deliveries_view(self.simulator),
            "rooms": lambda q: rooms_view(self.simulator),
            "clock": lambda q: clock_view(self.simulator),
        }

    def __repr__(self) -> str:
        return f"DashboardMiddleware(history={self.recorder.limit}, token=<redacted>)"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "")
        if path == DASHBOARD_PATH:
            return self._answer(environ, start_response, page=True, view="")
        if path.startswith(_API) and path[len(_API) :].rstrip("/") in self._json:
            return self._answer(environ, start_response, page=False, view=path[len(_API) :])
        if path == PREFIX and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return _send(
                environ, start_response, 308, "text/plain; charset=utf-8", b"see /_simulator/\n",
                [("Location", DASHBOARD_PATH)],
            )  # fmt: skip
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return self.app(environ, start_response)  # the admin API: not an API request
        return self.recorder(environ, start_response)

    # -- answers ----------------------------------------------------------------------------

    def _answer(
        self, environ: WSGIEnvironment, start_response: StartResponse, *, page: bool, view: str
    ) -> Iterable[bytes]:
        query = dict(parse_qsl(str(environ.get("QUERY_STRING") or "")))
        extra: list[tuple[str, str]] = []
        try:
            method = str(environ.get("REQUEST_METHOD") or "")
            if method not in ("GET", "HEAD"):
                extra.append(("Allow", "GET, HEAD"))
                raise _Refused(405, "MethodNotAllowed", f"the dashboard takes GET, not {method}")
            _guard(environ, page=page)
            if page:
                nonce = secrets.token_urlsafe(16)
                if query.get("part") == "live":
                    html = render_live(self.simulator, self.recorder)
                else:
                    html = render_page(
                        self.simulator,
                        self.recorder,
                        token=self._token,
                        nonce=nonce,
                        poll_ms=self.poll_ms,
                    )
                extra.append(("Content-Security-Policy", _csp(nonce)))
                body = html.encode("utf-8")
                return _send(environ, start_response, 200, "text/html; charset=utf-8", body, extra)
            data = self._json[view.rstrip("/")](query)
            body = json.dumps(data, ensure_ascii=False).encode("utf-8")
            return _send(environ, start_response, 200, "application/json; charset=utf-8", body)
        except _Refused as r:
            status, code, message = r.status, r.code, r.message
        except Exception:  # a bug of ours: still an answer, never a 500
            log.exception("the simulator's dashboard failed")
            status, code = 503, "DashboardUnavailable"
            message = "the dashboard failed to render; see the simulator's log"
        if page:
            body = (
                f"<!doctype html><title>{status} {code}</title><h1>{status} {code}</h1>"
                f"<p>{escape(message, quote=True)}</p>"
            ).encode()
            extra.append(("Content-Security-Policy", "default-src 'none'"))
            return _send(environ, start_response, status, "text/html; charset=utf-8", body, extra)
        body = json.dumps({"Error": {"Code": code, "Message": message}}).encode()
        return _send(
            environ, start_response, status, "application/json; charset=utf-8", body, extra
        )

    def _requests(self, query: dict[str, str]) -> Any:
        limit: int | None = None
        raw = query.get("limit")
        if raw is not None and raw.isdigit():
            limit = int(raw)
        return requests_view(self.recorder, limit)


def _csp(nonce: str) -> str:
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    )


def _send(
    environ: WSGIEnvironment,
    start_response: StartResponse,
    status: int,
    content_type: str,
    body: bytes,
    extra: list[tuple[str, str]] | None = None,
) -> Iterable[bytes]:
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            *(extra or []),
        ],
    )
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]
