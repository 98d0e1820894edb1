"""Fuzz the simulator's request path: raw requests into `SimulatorApp`, in-process (WSGI).

Input: a JSON envelope ``{"method", "action", "version", "path", "query": [[k, v], ...],
"headers": {...}, "body": <JSON> | null, "raw": <str> | null, "sign": bool, "skew": s}``
seeded from every golden request. With ``sign`` (most seeds) the harness signs the exact bytes
with `rtc_startrecord.signing.sign` and the test credentials, so inputs reach parsing,
validation and the task store; otherwise the headers go as they are. An input that is not such
an envelope is cut into method, query, headers and body with atheris' FuzzedDataProvider.

Asserts: the app never raises, never answers 5xx, logs no error, and always answers with a
Content-Length that matches and a JSON envelope carrying ``ResponseMetadata.RequestId``.

A small share of inputs (about 1 in 150, chosen by a hash of the input, so a reproducer replays
the same way) also goes as raw bytes over loopback to a real `Simulator` (its own HTTP/1.1
server): it must not answer 5xx, must log no unexpected error, and must still answer a plain
request afterwards. ``--no-server`` turns that off.

Run: ``python fuzz/fuzz_simulator.py --seconds 30`` (``--help`` for more).
"""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
import time
import zlib
from typing import Any
from urllib.parse import urlencode

import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]

with atheris.instrument_imports(include=["rtc_startrecord"]):
    from rtc_startrecord import signing, spec
    from rtc_startrecord.simulator import (
        TEST_ACCESS_KEY_ID,
        TEST_SECRET_ACCESS_KEY,
        Simulator,
        SimulatorApp,
    )
    from rtc_startrecord.simulator.state import State

import _common

HOST = "127.0.0.1:8080"
REGION = "cn-north-1"
METHODS = ["POST", "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "post", ""]
ACTIONS = sorted({a for v in spec.API_VERSIONS for a in spec.operations(v)})
USE_SERVER = "--no-server" not in sys.argv
if not USE_SERVER:
    sys.argv.remove("--no-server")
SERVER_SHARE = 150


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


CAPTURE = _Capture()
_app_state: dict[str, Any] = {"app": None, "uses": 0, "sim": None}


def app() -> SimulatorApp:
    """One app, with a fresh State now and then (the task store only grows)."""
    _app_state["uses"] += 1
    if _app_state["app"] is None or _app_state["uses"] % 2000 == 0:
        _app_state["app"] = SimulatorApp(
            State(), secrets={TEST_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY}, region=REGION, qps=None
        )
    a: SimulatorApp = _app_state["app"]
    return a


def _s(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _wsgi_str(text: str) -> str:
    """What a WSGI server puts in the environ: the bytes as latin-1."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


class Request:
    def __init__(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> None:
        self.method, self.path, self.query, self.headers, self.body = (
            method,
            path,
            query,
            headers,
            body,
        )

    def environ(self) -> dict[str, Any]:
        env: dict[str, Any] = {
            "REQUEST_METHOD": _wsgi_str(self.method),
            "PATH_INFO": _wsgi_str(self.path),
            "QUERY_STRING": _wsgi_str(self.query),
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8080",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(self.body),
            "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
                env[key] = _wsgi_str(value)
            else:
                env["HTTP_" + key] = _wsgi_str(value)
        return env

    def raw(self) -> bytes:
        target = self.path + ("?" + self.query if self.query else "")
        head = f"{self.method} {target} HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        return head.encode("utf-8", "surrogatepass") + b"\r\n" + self.body


def _sign(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
    skew: float,
) -> dict[str, str]:
    try:
        return signing.sign(
            method,
            HOST,
            path,
            query,
            headers,
            body,
            access_key_id=TEST_ACCESS_KEY_ID,
            secret_access_key=TEST_SECRET_ACCESS_KEY,
            region=REGION,
            service="rtc",
            x_date=signing.x_date_now(time.time() + skew),
        )
    except UnicodeEncodeError:  # a lone surrogate in what the client was asked to sign
        return dict(headers)


def from_envelope(env: dict[str, Any]) -> Request:
    method = _s(env.get("method", "POST"))
    action, version = _s(env.get("action", "")), _s(env.get("version", ""))
    path = _s(env.get("path", "/"))
    query = [("Action", action), ("Version", version)]
    extra = env.get("query")
    if isinstance(extra, list):
        for pair in extra:
            if isinstance(pair, list) and len(pair) == 2:
                query.append((_s(pair[0]), _s(pair[1])))
    raw, body_doc = env.get("raw"), env.get("body")
    ops = spec.operations(version) if version in spec.API_VERSIONS else {}
    op = ops.get(action)
    body = b""
    if isinstance(raw, str):
        body = raw.encode("utf-8", "surrogatepass")
    elif op is not None and op.request_in == "query" and isinstance(body_doc, dict):
        query += [(_s(k), _s(v)) for k, v in body_doc.items()]
    elif body_doc is not None:
        body = json.dumps(body_doc, ensure_ascii=env.get("ascii") is not False).encode(
            "utf-8", "surrogatepass"
        )
    headers: dict[str, str] = {}
    hdrs = env.get("headers")
    if isinstance(hdrs, dict):
        headers = {_s(k): _s(v) for k, v in hdrs.items()}
    if body and "Content-Type" not in headers and env.get("sign") is not False:
        headers["Content-Type"] = "application/json"
    if env.get("sign") is True:
        skew = env.get("skew", 0)
        skew = float(skew) if isinstance(skew, int | float) and abs(skew) < 1e7 else 0.0
        headers = _sign(method, path, query, headers, body, skew)
    if body and "Content-Length" not in headers:
        headers["Content-Length"] = str(len(body))
    qs = (
        urlencode(query, errors="surrogatepass")
        if env.get("raw_query") is None
        else _s(env.get("raw_query"))
    )
    return Request(method, path, qs, headers, body)


def from_bytes(data: bytes) -> Request:
    fdp = atheris.FuzzedDataProvider(data)
    method = METHODS[fdp.ConsumeIntInRange(0, len(METHODS) - 1)]
    sign = fdp.ConsumeBool()
    path = "/" if fdp.ConsumeBool() else fdp.ConsumeBytes(8).decode("latin-1")
    query = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 80)).decode("latin-1")
    headers = {}
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        name = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 20)).decode("latin-1")
        headers[name] = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 60)).decode("latin-1")
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    if sign:
        from urllib.parse import parse_qsl

        pairs = parse_qsl(query, keep_blank_values=True)
        headers = _sign(method, path, pairs, headers, body, 0.0)
        query = urlencode(pairs)
    if body:
        headers.setdefault("Content-Length", str(len(body)))
    return Request(method, path, query, headers, body)


def check_answer(status: str, headers: list[tuple[str, str]], body: bytes, where: str) -> None:
    code = int(status.split(" ", 1)[0])
    if code >= 500:
        raise AssertionError(f"{where} answered {status}: {body[:500]!r}")
    lengths = [v for k, v in headers if k.lower() == "content-length"]
    if lengths and int(lengths[0]) != len(body):
        raise AssertionError(f"{where}: Content-Length {lengths[0]} for {len(body)} bytes")
    env = json.loads(body)
    if not isinstance(env, dict) or not env.get("ResponseMetadata", {}).get("RequestId"):
        raise AssertionError(f"{where}: not an envelope: {body[:300]!r}")


def _errors(where: str) -> None:
    records, CAPTURE.records = CAPTURE.records, []
    for r in records:
        text = r.getMessage()
        if r.exc_info and r.exc_info[1] is not None:
            raise AssertionError(f"{where} logged {text!r}") from r.exc_info[1]
        raise AssertionError(f"{where} logged {text!r}")


# -- the real server over loopback -----------------------------------------------------------


def _server() -> Simulator:
    sim = _app_state["sim"]
    if sim is None:
        sim = _app_state["sim"] = Simulator(qps=None).start()
    assert isinstance(sim, Simulator)
    return sim


def _exchange(port: int, raw: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
        except OSError:  # the server may close early on a bad head: fine
            pass
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def over_loopback(raw: bytes) -> None:
    sim = _server()
    answer = _exchange(sim.server.port, raw)
    for line in answer.split(b"\r\n"):
        if line.startswith(b"HTTP/") and len(line) >= 12 and line[9:10] == b"5":
            raise AssertionError(f"the server answered {line!r} to {raw[:300]!r}")
    probe = _exchange(sim.server.port, b"GET /?Action=GetRecordTask HTTP/1.1\r\nHost: x\r\n\r\n")
    if not probe.startswith(b"HTTP/1.1 4"):
        raise AssertionError(f"the server no longer answers a plain request: {probe[:200]!r}")
    time.sleep(0.01)  # let its connection threads log
    _errors("the simulator server")


def test_one_input(data: bytes) -> None:
    env = _common.loads(data)
    req = from_envelope(env) if isinstance(env, dict) and "method" in env else from_bytes(data)
    a = app()
    if isinstance(env, dict) and isinstance(env.get("advance"), int | float):
        advance = float(env["advance"])
        if 0 <= advance < 1e9:
            a.state.advance(advance)
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["status"], answer["headers"] = status, headers
        return lambda _chunk: None

    CAPTURE.records = []
    body = b"".join(a(req.environ(), start_response))
    _errors("the app")
    check_answer(answer["status"], answer["headers"], body, "the app")
    if USE_SERVER and zlib.crc32(data) % SERVER_SHARE == 0:
        over_loopback(req.raw() if isinstance(env, dict) and "method" in env else data)


def seeds() -> tuple[_common.Dictionary, list[dict[str, Any]]]:
    dictionary = _common.Dictionary()
    out: list[dict[str, Any]] = []
    for version, action, kind, body in _common.golden_files():
        if kind != "request":
            continue
        dictionary.harvest_document(body)
        op = spec.operation(action, version)
        base = {"method": op.method, "action": action, "version": version, "path": op.path}
        out.append(base | {"body": body, "sign": True})
        out.append(base | {"body": body, "sign": False, "headers": {"Authorization": "Bearer x"}})
    first = out[0]
    out.append(first | {"skew": 3600})
    out.append(first | {"raw": '{"AppId": "a", "AppId": "b"}'})
    out.append(first | {"advance": 100000, "query": [["Action", "StopRecord"]]})
    for version in spec.API_VERSIONS:
        dictionary.harvest_schema(spec.bundle(version)["components"])
    for h in (
        "Content-Type",
        "Content-Length",
        "X-Date",
        "Authorization",
        "Host",
        "X-Content-Sha256",
        "X-Security-Token",
        "Transfer-Encoding",
        "Expect",
    ):
        dictionary.add_key(h)
    return dictionary, out


def main() -> None:
    for name in ("rtc_startrecord.simulator",):
        logger = logging.getLogger(name)
        logger.addHandler(CAPTURE)
        logger.propagate = False
    dictionary, docs = seeds()
    mutator = _common.StructuralMutator(
        dictionary,
        docs,
        frozen={
            "method": METHODS,
            "action": ACTIONS,
            "version": list(spec.API_VERSIONS),
            "sign": [True, True, True, False],
        },
    )
    raw = [b"POST /?Action=StartRecord&Version=2020-12-01 HTTP/1.1\r\n\r\n{}"]
    _common.run("simulator", test_one_input, [*(_common.dumps(d) for d in docs), *raw], mutator)


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
