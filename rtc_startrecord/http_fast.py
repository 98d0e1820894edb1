"""A cheaper fixed cost per call on urllib3: response headers parsed without the `email` parser,
and a small request's header block and body sent in one ``sendall``.

`http.client.HTTPResponse.begin()` parses the response headers with `http.client.parse_headers`,
which hands them to the stdlib `email` feed parser: tens of µs per call for two headers, the
largest fixed cost left on the client's side of a keep-alive call. `FastHTTPResponse` replaces
only that part, and only for itself (`http.client` is never patched):

- the header lines are still read by the stdlib's own ``http.client._read_headers``, so the
  65536-byte line limit (`http.client.LineTooLong`) and the 100-header limit
  (``HTTPException("got more than 100 headers")``) are the stdlib's, values included;
- a block where every line is a plain ``Name: value`` (a name of the characters the `email`
  parser accepts, no CR or LF inside a line, CRLF or bare LF endings, ended by an empty line)
  and whose Content-Type is neither ``multipart/*`` nor ``message/*`` is turned into the same
  `http.client.HTTPMessage` (the same ``_headers`` list of ``(name, value)`` pairs, payload
  ``''``, no defects) without the `email` parser; decoding is Latin-1 as the stdlib's;
- every other block (obs-fold continuation lines, a line without a colon, an empty name, a bare
  CR, a block cut by EOF, a multipart Content-Type, ...) goes to the stdlib's own parser,
  unchanged: its result, defects and unparsed rest are exactly the stdlib's.

`begin()` itself is not copied: `FastHTTPResponse.begin` is the running CPython's own
``HTTPResponse.begin`` code object, bound to a copy of the `http.client` namespace in which the
one name ``parse_headers`` is ours. The status line, the 100-continue loop, the framing
(chunked, Content-Length, will_close) are the stdlib's for whichever Python runs (3.11-3.13 have
the same ``begin``). Where that code does not look ``parse_headers`` up (a future CPython), the
class falls back to the stock ``begin`` (``FAST_HEADERS`` is then False): slower, never wrong.

`FastHTTPConnection` / `FastHTTPSConnection` are urllib3's connection classes with that
response class; `use_fast_headers(pool)` makes a urllib3 connection pool create them.
"""

from __future__ import annotations

import http.client
import re
import types
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .bounded_read import DeadlineHTTPResponse

__all__ = [
    "FAST_HEADERS",
    "FastHTTPConnection",
    "FastHTTPResponse",
    "FastHTTPSConnection",
    "parse_headers",
    "use_fast_headers",
]


class _Readline(Protocol):
    def readline(self, limit: int = ..., /) -> bytes: ...


# The stdlib's reader of header lines (limits included); it reads `_MAXLINE` and `_MAXHEADERS`
# from `http.client` at each call, so a program that changes them changes ours too.
_read_headers: Callable[[_Readline], list[bytes]] | None = getattr(
    http.client, "_read_headers", None
)

# A whole block the fast path may take: lines `name:value` (a name of the characters that the
# email parser's `headerRE` accepts, at least one; no CR or LF inside), CRLF or LF endings, then
# the empty line. `_LINE` then yields the (name, value) pairs exactly as compat32's
# `header_source_parse` builds them: the value with leading spaces/tabs stripped.
_BLOCK = re.compile(r"(?:[!-9;-~]+:[^\r\n]*\r?\n)*\r?\n").fullmatch
_LINE = re.compile(r"([!-9;-~]+):[ \t]*([^\r\n]*)\r?\n").findall


def _stdlib_parse(lines: list[bytes], _class: Callable[[], Any]) -> Any:
    """What `http.client.parse_headers` does with the lines once read (3.11-3.13)."""
    import email.parser

    text = b"".join(lines).decode("iso-8859-1")
    return email.parser.Parser(_class=_class).parsestr(text)


def parse_headers(
    fp: _Readline, _class: Callable[[], http.client.HTTPMessage] = http.client.HTTPMessage
) -> http.client.HTTPMessage:
    """`http.client.parse_headers`, the same result, without the email parser when it can."""
    assert _read_headers is not None
    lines = _read_headers(fp)
    text = b"".join(lines).decode("iso-8859-1")
    if _BLOCK(text) is not None:
        pairs: list[tuple[str, str]] = _LINE(text)
        # After a multipart or message/* Content-Type the email parser reads a body (and notes
        # defects about it): leave those to it. (Any such word anywhere is checked closer.)
        low = text.lower()
        if ("multipart" not in low and "message" not in low) or not any(
            name.lower() == "content-type"
            and ("multipart" in value.lower() or "message" in value.lower())
            for name, value in pairs
        ):
            msg = _class()
            for name, value in pairs:
                msg.set_raw(name, value)
            msg.set_payload("")
            return msg
    return cast(http.client.HTTPMessage, _stdlib_parse(lines, _class))


def _fast_begin() -> Callable[[http.client.HTTPResponse], None] | None:
    """CPython's own `HTTPResponse.begin`, its `parse_headers` being ours; None if it cannot be."""
    stock = http.client.HTTPResponse.begin
    code = getattr(stock, "__code__", None)
    if (
        _read_headers is None
        or not isinstance(code, types.CodeType)
        or "parse_headers" not in code.co_names
        or code.co_freevars
    ):
        return None
    namespace = dict(vars(http.client))
    namespace["parse_headers"] = parse_headers
    begin = types.FunctionType(code, namespace, stock.__name__, stock.__defaults__, None)
    begin.__kwdefaults__ = stock.__kwdefaults__
    begin.__qualname__ = "FastHTTPResponse.begin"
    begin.__doc__ = stock.__doc__
    return begin


_BEGIN = _fast_begin()
#: True when `FastHTTPResponse` parses headers without the email parser (CPython 3.11-3.13).
FAST_HEADERS = _BEGIN is not None


class FastHTTPResponse(DeadlineHTTPResponse):
    """`http.client.HTTPResponse` whose `begin()` parses headers with `parse_headers` above
    (and which reads the socket within `bounded_read.set_read_deadline`'s deadline)."""

    if _BEGIN is not None:
        begin = _BEGIN


# The largest body sent in the same `sendall` as the header block (a copy of both is made).
JOIN_MAX = 64 << 10


class FastHTTPConnection(HTTPConnection):
    """urllib3's `HTTPConnection` with `FastHTTPResponse`, sending a request's header block and
    its first body chunk (up to `JOIN_MAX` bytes) in one ``sendall``.

    The bytes on the wire are the same; only the split into ``send`` calls differs, and every
    send still happens inside `request()` (so urllib3 sees the same errors at the same place).
    """

    response_class = FastHTTPResponse
    # Set by `endheaders` inside `request`: the next `send` is the header block, kept back.
    _fast_hold = False
    _fast_held: bytes | None = None
    _fast_joining = False

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: Any = None,
        **kwargs: Any,
    ) -> None:
        if body is None:  # nothing to join the header block with
            super().request(method, url, body, headers, **kwargs)
            return
        self._fast_joining = True
        self._fast_held = None
        try:
            super().request(method, url, body, headers, **kwargs)
            held = self._fast_held
            if held is not None:  # no body chunk came after the header block (an empty body)
                self._fast_held = None
                super().send(held)
        finally:
            self._fast_joining = False
            self._fast_hold = False
            self._fast_held = None

    def endheaders(self, message_body: Any = None, *, encode_chunked: bool = False) -> None:
        self._fast_hold = self._fast_joining and message_body is None
        try:
            super().endheaders(message_body, encode_chunked=encode_chunked)
        finally:
            self._fast_hold = False

    def send(self, data: Any) -> None:
        if self._fast_hold:
            self._fast_hold = False
            if type(data) is bytes:
                self._fast_held = data
                return
        held = self._fast_held
        if held is not None:
            self._fast_held = None
            if type(data) is bytes and len(data) <= JOIN_MAX:
                super().send(held + data)
                return
            super().send(held)
        super().send(data)


class FastHTTPSConnection(FastHTTPConnection, HTTPSConnection):
    """urllib3's `HTTPSConnection` with the same response class and request sending."""


_T = TypeVar("_T", bound=HTTPConnectionPool)


def use_fast_headers(pool: _T) -> _T:
    """Make ``pool`` create `FastHTTPConnection` (or `FastHTTPSConnection`) from now on.

    Only a pool that uses urllib3's stock connection class is changed (another class is the
    caller's choice, kept); connections already in the pool stay as they are. Returns ``pool``.
    """
    if isinstance(pool, HTTPSConnectionPool):
        if pool.ConnectionCls is HTTPSConnection:
            pool.ConnectionCls = FastHTTPSConnection
    elif pool.ConnectionCls is HTTPConnection:
        pool.ConnectionCls = FastHTTPConnection
    return pool
