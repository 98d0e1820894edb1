"""The ASGI callback receiver (`callbacks.make_asgi_app`) behind a real uvicorn on loopback.

Every receiver case of tests/test_callbacks.py (`RECEIVER_CASES`, which the WSGI app passes
in-process) runs here over HTTP; then what is ASGI's own: sync handlers in worker threads, async
ones on the loop, chunked bodies, disconnects, lifespan and other scopes; and a fleet of an ASGI
and a WSGI replica sharing one real redis-server (`RedisDeduplicator`).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx
import pytest
import uvicorn
from redis_server import RedisServer
from test_callbacks import (
    RECEIVER_CASES,
    SECRET,
    STARTED_DATA,
    Answer,
    Receiving,
    fresh_body,
    receiver_logs,
)

from rtc_startrecord import callbacks as cb
from rtc_startrecord.simulator.server import WSGIServer

Message = MutableMapping[str, Any]


class Uvicorn:
    """uvicorn serving ``app`` in a thread, on a loopback socket bound before it starts."""

    def __init__(self, app: Any, *, lifespan: Literal["on", "off"] = "on") -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan=lifespan, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Uvicorn:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn did not start"
            assert time.monotonic() < deadline, "uvicorn did not start in time"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
        assert not self.thread.is_alive()


def request(
    port: int,
    path: str,
    body: bytes = b"",
    *,
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    chunks: list[bytes] | None = None,
    half_close: bool = False,
) -> Answer | None:
    """One request on a new connection, framed exactly as asked (``headers`` as given, no
    Content-Length added; ``chunks``: a chunked body); None when the server closed it unanswered."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    data = body
    if chunks is not None:
        data = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode("utf-8") + b"\r\n" + data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        resp = http.client.HTTPResponse(sock, method=method)
        try:
            resp.begin()
            out = resp.read()
        except (http.client.RemoteDisconnected, ConnectionError):
            return None
        status = f"{resp.status} {resp.reason}"
        return status, {k.title(): v for k, v in resp.getheaders()}, out


class Dispatcher:
    """One ASGI app in front of many receivers, ``/r/<n>/...`` going to the n-th; it records
    what each answered (by the ``X-Test-Request`` header), so that an answer the server could
    not deliver (the client had closed) can still be checked. Lifespan goes to a receiver."""

    def __init__(self) -> None:
        self.apps: list[cb.AsgiCallbackApp] = [cb.make_asgi_app(lambda e: None, secret=SECRET)]
        self.answers: dict[str, Answer] = {}

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.apps[0](scope, receive, send)
            return
        app = self.apps[int(scope["path"].split("/")[2])]
        rid = dict(scope["headers"]).get(b"x-test-request", b"").decode()
        start: list[Message] = []

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.append(message)
            else:
                self.answers[rid] = (
                    str(start[0]["status"]),
                    {k.decode().title(): v.decode() for k, v in start[0]["headers"]},
                    message.get("body", b""),
                )
            await send(message)

        await app(scope, receive, recording)


class Served:
    """`Receiving` for the ASGI app: each receiver behind the one uvicorn, called over HTTP."""

    def __init__(self, server: Uvicorn, dispatcher: Dispatcher) -> None:
        self.server = server
        self.dispatcher = dispatcher

    def make(self, handler: Callable[[cb.Event], object], **kw: Any) -> Any:
        app = cb.make_asgi_app(handler, **kw)
        self.dispatcher.apps.append(app)
        return app

    def call(
        self,
        app: Any,
        body: bytes = b"",
        *,
        method: str = "POST",
        content_length: str | None = None,
    ) -> Answer:
        path = f"/r/{self.dispatcher.apps.index(app)}/rtc/callbacks"
        rid = uuid.uuid4().hex
        headers = {"Content-Type": "application/json", "X-Test-Request": rid}
        length = str(len(body)) if content_length is None else content_length
        if length:
            headers["Content-Length"] = length
        else:
            body = b""  # without Content-Length an HTTP/1.1 request has no body
        short = length.isdigit() and int(length) > len(body) and int(length) < 10**6
        answer = request(self.server.port, path, body, method=method, headers=headers,
                         half_close=short)  # fmt: skip
        if answer is not None:
            return answer
        # The client closed its side with the body short: the server dropped the app's answer.
        deadline = time.monotonic() + 5
        while rid not in self.dispatcher.answers:
            assert time.monotonic() < deadline, "no answer"
            time.sleep(0.01)
        return self.dispatcher.answers[rid]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    dispatcher = Dispatcher()
    with Uvicorn(dispatcher) as server:
        yield Served(server, dispatcher)


@pytest.mark.parametrize("case", RECEIVER_CASES)
def test_asgi_receiver(case: Callable[[Receiving], None], served: Served) -> None:
    case(served)


# --------------------------------------------------------------------------------------------
# The handler: sync in a worker thread, async on the loop


def test_sync_handler_runs_in_a_worker_thread_and_never_blocks_the_loop(served: Served) -> None:
    threads: list[int] = []
    release = threading.Event()

    def slow(event: cb.Event) -> None:
        threads.append(threading.get_ident())
        if event.event_id == "evt-slow":
            release.wait(5)

    app = served.make(slow, secret=SECRET)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(served.call, app, fresh_body("evt-slow"))
        deadline = time.monotonic() + 5
        while not threads:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # the loop still serves other requests while the first handler blocks
        assert served.call(app, fresh_body("evt-quick"))[0].startswith("200")
        assert not first.done()
        release.set()
        assert first.result()[0].startswith("200")
    loop_thread = served.server.thread.ident
    assert len(threads) == 2 and loop_thread not in threads


def test_async_handler_is_awaited_on_the_loop(served: Served) -> None:
    seen: list[tuple[str, int]] = []

    async def handler(event: cb.Event) -> None:
        await asyncio.sleep(0.01)
        asyncio.get_running_loop()  # on the loop
        seen.append((event.event_id, threading.get_ident()))

    app = served.make(handler, secret=SECRET)
    assert served.call(app, fresh_body("evt-async"))[0].startswith("200")
    assert served.call(app, fresh_body("evt-async"))[2] == b'{"ok": true, "duplicate": true}'
    assert seen == [("evt-async", served.server.thread.ident)]


def test_async_handler_failure_then_retry(served: Served) -> None:
    calls: list[str] = []

    class Handler:  # an object with an async __call__ is awaited too
        async def __call__(self, event: cb.Event) -> None:
            calls.append(event.event_id)
            if len(calls) == 1:
                raise RuntimeError("database down")

    app = served.make(Handler(), secret=SECRET)
    status, _, out = served.call(app, fresh_body("evt-aretry"))
    assert status.startswith("500") and json.loads(out)["error"] == "HandlerFailed"
    assert served.call(app, fresh_body("evt-aretry"))[2] == b'{"ok": true}'
    assert calls == ["evt-aretry", "evt-aretry"]


def test_async_concurrent_duplicates_call_the_handler_once(served: Served) -> None:
    calls: list[str] = []
    entered = threading.Event()

    async def handler(event: cb.Event) -> None:
        calls.append(event.event_id)
        entered.set()
        await asyncio.sleep(0.3)

    app = served.make(handler, secret=SECRET)
    body = fresh_body("evt-aconc")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(served.call, app, body)
        assert entered.wait(5)
        status, headers, out = served.call(app, body)
        assert (status[:3], headers["Retry-After"]) == ("409", "1")
        assert json.loads(out)["error"] == "InProgress"
        assert first.result()[2] == b'{"ok": true}'
    assert calls == ["evt-aconc"]


def test_a_store_is_called_in_a_worker_thread(served: Served) -> None:
    threads: list[int] = []

    class Watched(cb.Deduplicator):  # not the Deduplicator itself: called in a thread
        def claim(self, event_id: str) -> cb.Claim:
            threads.append(threading.get_ident())
            return super().claim(event_id)

    app = served.make(lambda e: None, secret=SECRET, dedupe=Watched())
    assert served.call(app, fresh_body())[0].startswith("200")
    assert threads and served.server.thread.ident not in threads


# --------------------------------------------------------------------------------------------
# Bodies as ASGI servers deliver them


def test_chunked_bodies(served: Served) -> None:
    got: list[str] = []
    app = served.make(lambda e: got.append(e.event_id), secret=SECRET, max_body=2000)
    path = f"/r/{served.dispatcher.apps.index(app)}/"
    body = fresh_body("evt-chunked")
    te = {"Transfer-Encoding": "chunked"}
    answer = request(served.server.port, path, headers=te, chunks=[body[:50], body[50:]])
    assert answer is not None and answer[0].startswith("200"), answer
    answer = request(served.server.port, path, headers=te, chunks=[b" " * 1500] * 2)
    assert answer is not None and answer[0].startswith("413")
    assert json.loads(answer[2])["error"] == "TooLarge"
    assert got == ["evt-chunked"]


def drive(app: Any, scope: Message, messages: list[Message]) -> list[Message]:
    """Run ``app`` on one scope in-process: ``messages`` are what it receives, in order."""
    sent: list[Message] = []
    todo = list(messages)

    async def receive() -> Message:
        if not todo:
            await asyncio.sleep(3600)  # a server would wait for the client
        return todo.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    return sent


def http_scope(length: int | None) -> Message:
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/",
        "headers": headers,
    }


def answered(sent: list[Message]) -> tuple[int, dict[str, Any]]:
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_a_body_in_several_messages_and_its_problems() -> None:
    calls: list[str] = []
    app = cb.make_asgi_app(lambda e: calls.append(e.event_id), secret=SECRET)
    body = fresh_body("evt-parts")
    parts: list[Message] = [{"type": "http.request", "body": body[i : i + 40], "more_body": True}
             for i in range(0, len(body), 40)]  # fmt: skip
    parts.append({"type": "http.request", "body": b"", "more_body": False})
    assert answered(drive(app, http_scope(len(body)), parts)) == (200, {"ok": True})
    with receiver_logs() as records:
        gone: list[Message] = [parts[0], {"type": "http.disconnect"}]
        status, payload = answered(drive(app, http_scope(len(body)), gone))
    assert (status, payload["message"]) == (400, "the request body could not be read")
    assert "reading the body failed (ClientDisconnected)" in records[-1].getMessage()
    text: list[Message] = [{"type": "http.request", "body": "{}", "more_body": False}]
    status, payload = answered(drive(app, http_scope(2), text))
    assert (status, payload["message"]) == (400, "the request body is not bytes")
    assert answered(drive(app, http_scope(None), []))[0] == 411
    h2 = {**http_scope(None), "http_version": "2"}  # HTTP/2 delimits the body itself
    whole: list[Message] = [{"type": "http.request", "body": body}]
    status, payload = answered(drive(app, h2, whole))
    assert (status, payload) == (200, {"ok": True, "duplicate": True})
    assert calls == ["evt-parts"]


def test_through_httpx_asgi_transport() -> None:
    app = cb.make_asgi_app(lambda e: None, secret=SECRET)

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rtc") as client:
            return await client.post("/rtc/callbacks", content=fresh_body())

    resp = asyncio.run(post())
    assert (resp.status_code, resp.json()) == (200, {"ok": True})
    assert resp.headers["content-type"] == "application/json"


# --------------------------------------------------------------------------------------------
# Scopes


def test_lifespan_is_answered() -> None:
    app = cb.make_asgi_app(lambda e: None, secret=SECRET)
    sent = drive(
        app,
        {"type": "lifespan", "asgi": {"version": "3.0"}},
        [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
    )
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


def test_served_directly_with_lifespan_on() -> None:
    # uvicorn refuses to start with lifespan="on" unless the app completes the startup.
    got: list[str] = []
    with Uvicorn(cb.make_asgi_app(lambda e: got.append(e.event_id), secret=SECRET)) as server:
        body = fresh_body("evt-direct")
        headers = {"Content-Length": str(len(body))}
        answer = request(server.port, "/anywhere", body, headers=headers)
        assert answer is not None and answer[2] == b'{"ok": true}'
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(
                b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            status_line = sock.recv(100).split(b"\r\n")[0]
        # refused: 403 from a websocket-capable server; without a websocket library uvicorn hands
        # it over as a plain GET: 405
        assert status_line.split()[1] in (b"403", b"405"), status_line
    assert got == ["evt-direct"]


def test_websocket_and_unknown_scopes_are_refused() -> None:
    app = cb.make_asgi_app(lambda e: None, secret=SECRET)
    sent = drive(app, {"type": "websocket", "path": "/"}, [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 1008}]
    with pytest.raises(ValueError, match="HTTP only"):
        drive(app, {"type": "telepathy"}, [])


def test_exported_and_loaded_on_first_use() -> None:
    assert {"AsgiCallbackApp", "make_asgi_app"} <= set(cb.__all__)
    assert isinstance(cb.make_asgi_app(lambda e: None, secret=SECRET), cb.AsgiCallbackApp)
    code = "import sys, rtc_startrecord.callbacks; print('asyncio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------------------------
# A fleet: an ASGI and a WSGI replica sharing one real Redis


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with RedisServer() as s:
        yield s


def post(url: str, data: bytes) -> Answer:
    host, _, rest = url.removeprefix("http://").partition("/")
    answer = request(int(host.split(":")[1]), "/" + rest, data,
                     headers={"Content-Length": str(len(data))})  # fmt: skip
    assert answer is not None
    return answer


class Fleet:
    """Replica 0: the ASGI app under uvicorn; replica 1: the WSGI app under the project's
    WSGIServer; each with its own RedisDeduplicator on one Redis."""

    def __init__(self, url: str, asgi_handler: Any, wsgi_handler: Any) -> None:
        prefix = f"test:cb-asgi:{uuid.uuid4().hex}:"
        self.stores = [cb.RedisDeduplicator(url, key_prefix=prefix, ttl=600) for _ in range(2)]
        self.asgi = Uvicorn(cb.make_asgi_app(asgi_handler, secret=SECRET, dedupe=self.stores[0]))
        wsgi = cb.make_wsgi_app(wsgi_handler, secret=SECRET, dedupe=self.stores[1])
        self.wsgi = WSGIServer(wsgi)

    def __enter__(self) -> list[str]:
        self.asgi.__enter__()
        self.wsgi.start()
        return [self.asgi.url + "/rtc/callbacks", self.wsgi.url + "/rtc/callbacks"]

    def __exit__(self, *exc: object) -> None:
        self.asgi.__exit__()
        self.wsgi.stop()
        for store in self.stores:
            store.close()


def body_for(event_id: str) -> bytes:
    built = cb.build_callback_body(
        "RecordStarted", STARTED_DATA, app_id="app1", secret=SECRET, event_id=event_id
    )
    return json.dumps(built).encode()


def test_concurrent_deliveries_to_asgi_and_wsgi_replicas_run_one_handler(
    redis: RedisServer,
) -> None:
    calls: list[str] = []
    lock = threading.Lock()

    async def async_handler(event: cb.Event) -> None:
        with lock:
            calls.append(event.event_id)
        await asyncio.sleep(0.3)  # long enough that the other deliveries meet the lease

    def sync_handler(event: cb.Event) -> None:
        with lock:
            calls.append(event.event_id)
        time.sleep(0.3)

    data = body_for("evt-fleet-asgi")
    with Fleet(redis.start().url, async_handler, sync_handler) as urls:
        # two at once at the ASGI replica, then many across both
        barrier = threading.Barrier(2)

        def at_asgi(_: int) -> Answer:
            barrier.wait()
            return post(urls[0], data)

        with ThreadPoolExecutor(2) as pool:
            pair = list(pool.map(at_asgi, range(2)))
        assert calls == ["evt-fleet-asgi"]
        processed = [a for a in pair if a[2] == b'{"ok": true}']
        assert len(processed) == 1
        (other,) = (a for a in pair if a is not processed[0])  # the duplicate delivery's answer
        # met the lease (409) or, when it came after the handler returned, the done mark (200)
        assert other[0][:3] in ("409", "200"), other

        data2 = body_for("evt-fleet-mixed")
        barrier = threading.Barrier(10)

        def anywhere(i: int) -> Answer:
            barrier.wait()
            return post(urls[i % 2], data2)

        with ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(anywhere, range(10)))
        assert calls == ["evt-fleet-asgi", "evt-fleet-mixed"]
        assert [a[2] for a in answers].count(b'{"ok": true}') == 1
        busy = {(a[0][:3], a[1]["Retry-After"], a[2]) for a in answers if a[0][:3] == "409"}
        assert busy, "no delivery met the lease"
        message = b"event evt-fleet-mixed is being processed; retry later"
        # the very same answer from either replica
        expect = b'{"ok": false, "error": "InProgress", "message": "' + message + b'"}'
        assert busy == {("409", "1", expect)}
        for url in urls:  # the sender's later retries: duplicates at either replica
            assert post(url, data2)[2] == b'{"ok": true, "duplicate": true}'
    assert len(calls) == 2


def test_crash_at_the_asgi_replica_lets_the_retry_through_at_the_wsgi_one(
    redis: RedisServer,
) -> None:
    calls: list[str] = []

    async def crashing(event: cb.Event) -> None:
        calls.append(event.event_id)
        raise RuntimeError("database down")

    with Fleet(redis.start().url, crashing, lambda e: calls.append(e.event_id)) as urls:
        data = body_for("evt-crash-asgi")
        status, _, out = post(urls[0], data)
        assert status.startswith("500") and json.loads(out)["error"] == "HandlerFailed"
        assert post(urls[1], data)[2] == b'{"ok": true}'
        assert post(urls[0], data)[2] == b'{"ok": true, "duplicate": true}'
    assert calls == ["evt-crash-asgi", "evt-crash-asgi"]


def test_redis_down_is_a_quick_503_at_the_asgi_replica(redis: RedisServer) -> None:
    calls: list[str] = []
    live = redis.start()
    with Fleet(live.url, lambda e: calls.append(e.event_id), lambda e: None) as urls:
        data = body_for("evt-down-asgi")
        try:
            live.pause()  # connections hang; every command is bounded by redis_timeout
            t0 = time.monotonic()
            status, headers, out = post(urls[0], data)
            assert time.monotonic() - t0 < 1.0
            assert (status[:3], headers["Retry-After"]) == ("503", "1")
            assert json.loads(out)["error"] == "DedupeUnavailable"
            assert post(urls[1], data)[2] == out  # the WSGI replica's answer, byte for byte
            live.kill()
            assert post(urls[0], data)[0].startswith("503")
            live.start()  # an empty Redis: the retry is processed
            assert post(urls[0], data)[2] == b'{"ok": true}'
        finally:
            live.start()
    assert calls == ["evt-down-asgi"]
