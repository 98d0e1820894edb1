"""Request parsing: the request line, header fields and body framing.

Pure functions on bytes; no sockets.  Everything malformed, unsupported or too large
raises :class:`HTTPError` with the status and message the server answers.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Final, Protocol

MAX_REQUEST_LINE: Final = 65536  # bytes, without the line ending -> 414
MAX_HEADER_BYTES: Final = 65536  # the header field lines, line endings included -> 431
MAX_HEADERS: Final = 100  # header field lines -> 431
MAX_HEAD: Final = MAX_REQUEST_LINE + 2 + MAX_HEADER_BYTES + 2
MAX_LEADING_EMPTY_LINES: Final = 8  # ignored before a request line; more is a 400
MAX_CHUNK_LINE: Final = 1024
MAX_TRAILER_LINES: Final = 100
MAX_TRAILER_BYTES: Final = 65536

TOKEN_BYTES_RE: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
DIGITS_RE: Final = re.compile(r"[0-9]+")
_CHUNK_SIZE_RE: Final = re.compile(rb"[0-9A-Fa-f]+")
_HEAD_END_RE: Final = re.compile(rb"\n\r?\n")
_VERSION_RE: Final = re.compile(rb"HTTP/([0-9])\.([0-9])")
# What a request line may hold: visible ASCII, SP and HTAB.
_REQUEST_LINE_BAD_RE: Final = re.compile(rb"[^\x21-\x7e \t]")
# Field values: visible ASCII, obs-text, SP and HTAB; no other control character.
FIELD_VALUE_BAD_RE: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class HTTPError(Exception):
    """A request the HTTP layer answers itself (4xx), with ``status`` and ``message``."""

    def __init__(self, status: int, message: str, target: str = "", method: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.target = target
        self.method = method


@dataclass
class Request:
    method: str
    target: str
    version: str  # "HTTP/1.0" or "HTTP/1.1"
    raw_path: str
    query: str
    headers: list[tuple[str, str]]
    keep_alive: bool
    length: int  # the body's Content-Length; -1 when chunked
    framed: bool  # a Content-Length or a Transfer-Encoding was given
    expect_continue: bool
    requestline: str


class HeadBuffer(Protocol):
    """Where request heads are taken from: received bytes and the scanning state."""

    buf: bytearray
    scanned: int  # how much of buf is known to hold no end of head
    empty_lines: int  # empty lines skipped before the current request line


class BodySource(Protocol):
    """Blocking reads of a request body (see the workers' body reader)."""

    def read(self, size: int) -> bytes: ...

    def readline(self, limit: int, where: str) -> bytes | None: ...


def split_target(target: str) -> tuple[str, str] | None:
    """``(raw_path, query)`` of a request target, or ``None`` when it is not one."""
    if target.startswith("/"):
        path, _, query = target.partition("?")
        path = path.partition("#")[0]
        return path, query.partition("#")[0]
    if target == "*":
        return "*", ""
    if "://" in target:
        try:
            parts = urllib.parse.urlsplit(target)
        except ValueError:
            return None
        if parts.scheme.lower() not in ("http", "https"):
            return None
        return parts.path or "/", parts.query
    return None


def target_hint(data: bytes | bytearray) -> str:
    """The request target of a (possibly partial) request head, if it shows one."""
    words = bytes(data[: min(len(data), MAX_REQUEST_LINE)]).split(b"\n", 1)[0].split()
    return words[1].decode("latin-1") if len(words) >= 2 else ""


def shown(value: str) -> str:
    return repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value)} characters)"


def take_head(state: HeadBuffer, max_body: int) -> Request | None:
    """Take the next request head out of ``state.buf``; ``None`` while it is incomplete.

    Skips up to ``MAX_LEADING_EMPTY_LINES`` empty lines (CRLF or LF) before it and
    raises :class:`HTTPError` for a malformed or oversized head.
    """
    buf = state.buf
    skip, size = 0, len(buf)
    while skip < size:
        if buf[skip] == 0x0A:
            skip += 1
        elif buf[skip] == 0x0D and skip + 1 < size and buf[skip + 1] == 0x0A:
            skip += 2
        else:
            break
        state.empty_lines += 1
        if state.empty_lines > MAX_LEADING_EMPTY_LINES:
            message = f"more than {MAX_LEADING_EMPTY_LINES} empty lines before a request line"
            raise HTTPError(400, message)
    if skip:
        del buf[:skip]
        state.scanned = 0
    if not buf or buf == b"\r":
        return None
    end = _HEAD_END_RE.search(buf, max(0, state.scanned - 2))
    if end is None:
        state.scanned = len(buf)
        if len(buf) > MAX_REQUEST_LINE + 2 and buf.find(b"\n", 0, MAX_REQUEST_LINE + 2) < 0:
            message = f"the request line is longer than {MAX_REQUEST_LINE} bytes"
            raise HTTPError(414, message, target_hint(buf))
        if len(buf) > MAX_HEAD:
            message = f"the header fields are larger than {MAX_HEADER_BYTES} bytes"
            raise HTTPError(431, message, target_hint(buf))
        return None
    block = bytes(buf[: end.start()])
    del buf[: end.end()]
    state.scanned = 0
    state.empty_lines = 0
    return parse_head(block, max_body)


def parse_head(block: bytes, max_body: int) -> Request:
    """Parse a request head (its lines, without the empty line that ends it).

    Raises :class:`HTTPError` for anything malformed, unsupported or too large.
    """
    lines = [line[:-1] if line.endswith(b"\r") else line for line in block.split(b"\n")]
    first = lines[0]
    words = first.split()
    target = words[1].decode("latin-1") if len(words) >= 2 else ""
    method = words[0].decode("latin-1") if words else ""
    try:
        if len(first) > MAX_REQUEST_LINE:
            raise HTTPError(414, f"the request line is longer than {MAX_REQUEST_LINE} bytes")
        if _REQUEST_LINE_BAD_RE.search(first):
            raise HTTPError(
                400, "the request line holds bytes other than visible ASCII, SP and HTAB"
            )
        if len(words) == 2:
            raise HTTPError(400, "an HTTP/0.9 request line (no HTTP version) is not supported")
        if len(words) != 3:
            raise HTTPError(
                400,
                f"the request line has {len(words)} parts, not 3 (method, target, HTTP version)",
            )
        if not TOKEN_BYTES_RE.fullmatch(words[0]):
            raise HTTPError(400, f"invalid method {shown(method)}")
        version_text = words[2].decode("ascii")
        match = _VERSION_RE.fullmatch(words[2])
        if match is None:
            raise HTTPError(400, f"invalid HTTP version {shown(version_text)}")
        if match.group(1) != b"1":
            # RFC 9110 would answer 505; a 4xx says "your request", which it is.
            raise HTTPError(400, f"{version_text} is not supported: this server speaks HTTP/1.1")
        # A higher minor version is served as the highest one known (RFC 9110 section 2.5).
        version = "HTTP/1.0" if match.group(2) == b"0" else "HTTP/1.1"
        split = split_target(target)
        if split is None:
            raise HTTPError(400, f"invalid request target {shown(target)}")
        raw_path, query = split
        headers = parse_fields(lines[1:], len(block) - len(first))
        return frame(
            Request(
                method=method,
                target=target,
                version=version,
                raw_path=raw_path,
                query=query,
                headers=headers,
                keep_alive=version == "HTTP/1.1",
                length=0,
                framed=False,
                expect_continue=False,
                requestline=first.decode("ascii"),
            ),
            max_body,
        )
    except HTTPError as err:
        err.target, err.method = target, method
        raise


def parse_fields(lines: list[bytes], size: int) -> list[tuple[str, str]]:
    if len(lines) > MAX_HEADERS:
        raise HTTPError(431, f"more than {MAX_HEADERS} header fields")
    if size > MAX_HEADER_BYTES:
        raise HTTPError(431, f"the header fields are larger than {MAX_HEADER_BYTES} bytes")
    fields: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            raise HTTPError(400, "obsolete line folding (a header line starting with whitespace)")
        name, colon, value = line.partition(b":")
        text = shown(line.decode("latin-1"))
        if not colon:
            raise HTTPError(400, f"a header line without a colon: {text}")
        if not TOKEN_BYTES_RE.fullmatch(name):
            raise HTTPError(400, f"invalid header field name in {text}")
        value = value.strip(b" \t")
        if FIELD_VALUE_BAD_RE.search(value):
            raise HTTPError(400, f"control characters in the value of {name.decode('ascii')}")
        fields.append((name.decode("ascii"), value.decode("latin-1")))
    return fields


def values(req: Request, name: str) -> list[str]:
    return [v for n, v in req.headers if n.lower() == name]


def frame(req: Request, max_body: int) -> Request:
    """Check the fields that decide how the request is read, and record them on ``req``."""
    if len(values(req, "host")) > 1:
        raise HTTPError(400, "more than one Host header")
    connection = {t.strip().lower() for v in values(req, "connection") for t in v.split(",")}
    if "close" in connection:
        req.keep_alive = False
    transfer = values(req, "transfer-encoding")
    lengths = values(req, "content-length")
    if transfer:
        if lengths:
            raise HTTPError(400, "both Content-Length and Transfer-Encoding were given")
        if req.version == "HTTP/1.0":
            raise HTTPError(400, "Transfer-Encoding in an HTTP/1.0 request")
        codings = [c.strip().lower() for v in transfer for c in v.split(",") if c.strip()]
        if codings != ["chunked"]:
            raise HTTPError(
                400,
                f"unsupported Transfer-Encoding {shown(', '.join(codings))}: "
                "only chunked is accepted, or send a Content-Length",
            )
        req.length, req.framed = -1, True
    elif lengths:
        req.length, req.framed = content_length(lengths, max_body), True
    if req.length and req.version == "HTTP/1.1":
        req.expect_continue = any(v.lower() == "100-continue" for v in values(req, "expect"))
    return req


def content_length(items_in: list[str], max_body: int) -> int:
    items = [item.strip(" \t") for value in items_in for item in value.split(",")]
    for item in items:
        if not DIGITS_RE.fullmatch(item):
            raise HTTPError(400, f"invalid Content-Length {shown(item)}: not a decimal number")
    # Identical repeats ("5, 5" or two fields) are one length (RFC 9110 section 8.6).
    distinct = {item.lstrip("0") or "0" for item in items}
    if len(distinct) > 1:
        raise HTTPError(400, "conflicting Content-Length values")
    digits = distinct.pop()
    # Never int() a huge string: CPython refuses more than 4300 digits.
    if len(digits) > len(str(max_body)) or int(digits) > max_body:
        size = digits if len(digits) <= 30 else f"a {len(digits)}-digit number of"
        raise HTTPError(
            413, f"request body too large: {size} bytes exceeds the limit of {max_body} bytes"
        )
    return int(digits)


def read_chunked(reader: BodySource, max_body: int) -> bytes:
    """Decode a chunked body from ``reader``; trailer fields are checked and discarded."""
    chunks: list[bytes] = []
    total = 0
    while True:
        line = reader.readline(MAX_CHUNK_LINE, "in a chunk-size line")
        if line is None:
            raise HTTPError(400, "malformed chunked body: a chunk-size line is too long")
        line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        size_field, _, extension = line.partition(b";")
        size_field = size_field.strip(b" \t")
        if not _CHUNK_SIZE_RE.fullmatch(size_field) or FIELD_VALUE_BAD_RE.search(extension):
            text = shown(line.decode("latin-1"))
            raise HTTPError(400, f"malformed chunked body: bad chunk-size line {text}")
        digits = size_field.lstrip(b"0") or b"0"
        size = int(digits, 16) if len(digits) <= 16 else max_body + 1
        if size == 0:
            break
        total += size
        if total > max_body:
            raise HTTPError(
                413,
                f"request body too large: {total} bytes exceeds the limit of {max_body} bytes",
            )
        chunks.append(reader.read(size))
        ending = reader.read(1)
        if ending == b"\r":
            ending = reader.read(1)
        if ending != b"\n":
            raise HTTPError(400, "malformed chunked body: chunk data not followed by CRLF")
    trailer = 0
    for _ in range(MAX_TRAILER_LINES + 1):
        line = reader.readline(MAX_TRAILER_BYTES, "in the trailer")
        if line is None:
            break
        if line in (b"\r\n", b"\n"):
            return b"".join(chunks)
        trailer += len(line)
        if trailer > MAX_TRAILER_BYTES:
            break
        name, colon, _ = line.partition(b":")
        if not colon or not TOKEN_BYTES_RE.fullmatch(name):
            raise HTTPError(400, "malformed chunked body: bad trailer field")
    raise HTTPError(
        400,
        f"the trailer is larger than {MAX_TRAILER_BYTES} bytes or {MAX_TRAILER_LINES} fields",
    )
