"""The floors the benchmarks compare against: what no client of this API can go below.

- `prepare_floor`: the fastest JSON encoding (orjson, else json) plus the Volcengine V4
  signature (two SHA-256 hashes and the HMAC-SHA256 key chain), validating nothing;
- `RawClient`: end to end, a raw keep-alive socket that sends request bytes built once and reads
  the fixed-size answer with a minimal parse of Content-Length: no HTTP library, no signing, no
  JSON. Against the benchmark server (`ok_server.py`) it measures what that server and the
  loopback can do, so that each client's calls per second read as a fraction of the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]  # optional: the floor falls back to json

ORJSON_VERSION: str = getattr(orjson, "__version__", "absent")


def prepare_floor(
    body: dict[str, Any], *, secret: str, version: str = "2020-12-01"
) -> Callable[[], str]:
    """Serialize and sign `body` as StartRecord of `version`, checking nothing."""
    dumps: Callable[[Any], bytes] = (
        orjson.dumps if orjson is not None else (lambda b: json.dumps(b).encode())
    )
    secret_key = secret.encode()

    def h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    def run() -> str:
        raw = dumps(body)
        x_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        payload = hashlib.sha256(raw).hexdigest()
        canonical = (
            f"POST\n/\nAction=StartRecord&Version={version}\ncontent-type:application/json\n"
            f"host:rtc.volcengineapi.com\nx-content-sha256:{payload}\nx-date:{x_date}\n\n"
            f"content-type;host;x-content-sha256;x-date\n{payload}"
        )
        scope = f"{x_date[:8]}/cn-north-1/rtc/request"
        to_sign = (
            f"HMAC-SHA256\n{x_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        key = h(h(h(h(secret_key, x_date[:8]), "cn-north-1"), "rtc"), "request")
        return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()

    return run


def request_bytes(
    method: str, target: str, host: str, headers: Mapping[str, str], body: bytes
) -> bytes:
    """One HTTP/1.1 request as it goes on the wire (keep-alive is HTTP/1.1's default)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class RawClient:
    """A keep-alive socket client sending the same request bytes on every call.

    It reads the head up to the blank line, finds Content-Length (the benchmark server always
    sends one, and never chunks) and reads exactly that many bytes of body. Like urllib3, it
    sets TCP_NODELAY.
    """

    def __init__(self, port: int, request: bytes, host: str = "127.0.0.1") -> None:
        self._sock = socket.create_connection((host, port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._request = request
        self._buffer = b""

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self) -> bytes:
        """Send the request; return the answer's body."""
        sock = self._sock
        sock.sendall(self._request)
        buf = self._buffer
        while (end := buf.find(b"\r\n\r\n")) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buf += chunk
        start = buf.find(b"\r\ncontent-length:", 0, end)
        if start < 0:
            start = buf.find(b"\r\nContent-Length:", 0, end)
        if start < 0:
            raise ValueError("the answer has no Content-Length")
        value_end = buf.find(b"\r\n", start + 17)
        total = end + 4 + int(buf[start + 17 : value_end if value_end >= 0 else end])
        while len(buf) < total:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buf += chunk
        self._buffer = buf[total:]
        return buf[end + 4 : total]
