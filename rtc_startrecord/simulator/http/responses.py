"""Rendering responses: the status line, hop-by-hop filtering, framing, error answers."""

from __future__ import annotations

import http
import json
import logging
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Final

from .parsing import DIGITS_RE

logger = logging.getLogger("rtc_startrecord.simulator")

# (HTTP status, message, raw request target) -> the body of an error the HTTP layer answers.
ErrorBody = Callable[[int, str, str], bytes]

SERVER_VERSION: Final = "rtc-startrecord-simulator/1.0"

HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)


def phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def render_response(
    code: int,
    reason: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    method: str,
    close: bool,
    from_app: bool = False,
) -> tuple[bytes, bool, int, int]:
    """``(bytes to send, close after it, status sent, body size)`` of one response."""
    out: list[tuple[str, str]] = []
    app_length: str | None = None
    seen: set[str] = set()
    for name, value in headers:
        lname = name.lower()
        if lname == "connection":
            if "close" in (t.strip().lower() for t in value.split(",")):
                close = True
            continue
        if lname in HOP_BY_HOP:
            continue
        if lname == "content-length":
            app_length = value.strip()
            continue
        seen.add(lname)
        out.append((name, value))
    if "server" not in seen:
        out.insert(0, ("Server", SERVER_VERSION))
    if "date" not in seen:
        out.insert(1, ("Date", formatdate(usegmt=True)))

    is_head = method == "HEAD"
    if code in (204, 304) or 100 <= code < 200:
        body = b""
    elif is_head and app_length is not None and DIGITS_RE.fullmatch(app_length):
        out.append(("Content-Length", app_length))
    else:
        if from_app and app_length is not None and app_length != str(len(body)):
            logger.warning(
                "application sent Content-Length %s for a %d-byte body; corrected",
                app_length,
                len(body),
            )
        out.append(("Content-Length", str(len(body))))
    if close:
        out.append(("Connection", "close"))

    lines = [f"HTTP/1.1 {code} {reason}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in out)
    lines.append("\r\n")
    try:
        head = "".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        logger.error("response headers are not latin-1 encodable: %r", out)
        body = b'{"error": "internal server error"}'
        head = (
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode("ascii")
        return (head if is_head else head + body), True, 500, len(body)
    return (head if is_head else head + body), close, code, len(body)


def error_bytes(
    error_body: ErrorBody | None,
    status: int,
    message: str,
    target: str,
    method: str,
    headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    """The whole answer (closing the connection) to a request the HTTP layer rejects.

    ``error_body`` renders its body; without one, or when it renders nothing, the body is
    ``{"error": message}``.
    """
    body = b""
    if error_body is not None:
        try:
            body = error_body(status, message, target)
        except Exception:  # a broken renderer must not take the connection down
            logger.exception("error_body failed")
    if not body:
        body = json.dumps({"error": message}).encode()
    all_headers = [("Content-Type", "application/json"), *headers]
    data, _, _, _ = render_response(
        status, phrase(status), all_headers, body, method=method, close=True
    )
    return data
