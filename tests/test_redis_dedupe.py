"""RedisDeduplicator: two receiver replicas (two real WSGI servers on loopback) sharing one real
redis-server; the in-flight lease, the done mark after the handler, crashes, Redis failing."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import urllib3
from redis_server import RedisServer

from rtc_startrecord import callbacks as cb
from rtc_startrecord.simulator.server import WSGIServer

SECRET = "replica-test-secret"
DATA = {"AppId": "myapp", "RoomId": "room1", "TaskId": "task1", "Code": 0}
HTTP = urllib3.PoolManager(maxsize=32, retries=False, timeout=urllib3.Timeout(connect=2, read=10))


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as s:
        yield s


@pytest.fixture
def live(server: RedisServer) -> RedisServer:
    return server.start()


def body(event_id: str) -> bytes:
    built = cb.build_callback_body(
        "RecordStarted", DATA, app_id="myapp", secret=SECRET, event_id=event_id
    )
    return json.dumps(built).encode()


def post(url: str, data: bytes) -> tuple[int, dict[str, Any], str | None]:
    resp = HTTP.request("POST", url, body=data, headers={"Content-Type": "application/json"})
    return resp.status, json.loads(resp.data), resp.headers.get("Retry-After")


class Replicas:
    """Two receivers, each its own app and its own RedisDeduplicator, on their own servers."""

    def __init__(self, url: str, handler: Any, *, lease_ttl: float = 30.0) -> None:
        self.prefix = f"test:cb:{uuid.uuid4().hex}:"
        self.stores = [
            cb.RedisDeduplicator(url, key_prefix=self.prefix, ttl=600, lease_ttl=lease_ttl)
            for _ in range(2)
        ]
        self.servers = [
            WSGIServer(cb.make_wsgi_app(handler, secret=SECRET, dedupe=store))
            for store in self.stores
        ]
        for s in self.servers:
            s.start()
        self.urls = [s.url + "/callbacks" for s in self.servers]

    def close(self) -> None:
        for s in self.servers:
            s.stop()
        for store in self.stores:
            store.close()


def test_both_stores_have_the_interface(live: RedisServer) -> None:
    store = cb.RedisDeduplicator(live.url, key_prefix="p:", ttl=60)
    assert isinstance(store, cb.DedupeStore)
    assert isinstance(cb.Deduplicator(), cb.DedupeStore)
    assert "p:" in repr(store)
    store.close()


def test_twenty_concurrent_deliveries_to_two_replicas_run_the_handler_once(
    live: RedisServer,
) -> None:
    calls: list[str] = []
    lock = threading.Lock()

    def handler(event: cb.Event) -> None:
        with lock:
            calls.append(event.event_id)
        time.sleep(0.3)  # long enough that the other deliveries meet the lease

    replicas = Replicas(live.url, handler)
    data = body("evt-fleet-1")
    barrier = threading.Barrier(20)

    def deliver(i: int) -> tuple[int, dict[str, Any], str | None]:
        barrier.wait()
        return post(replicas.urls[i % 2], data)

    try:
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(deliver, range(20)))
        assert calls == ["evt-fleet-1"]
        processed = [a for a in answers if a[0] == 200 and not a[1].get("duplicate")]
        assert len(processed) == 1
        for status, payload, retry_after in answers:
            assert status in (200, 409), (status, payload)
            if status == 409:
                assert payload["error"] == "InProgress" and retry_after == "1"
        # the retries the sender makes later: duplicates at either replica, no handler call
        for url in replicas.urls:
            status, payload, _ = post(url, data)
            assert (status, payload.get("duplicate")) == (200, True)
        assert calls == ["evt-fleet-1"]
    finally:
        replicas.close()


def test_a_crashing_handler_lets_the_retry_through_at_the_other_replica(
    live: RedisServer,
) -> None:
    calls: list[str] = []

    def handler(event: cb.Event) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            raise RuntimeError("database down")

    replicas = Replicas(live.url, handler)
    data = body("evt-crash")
    try:
        assert post(replicas.urls[0], data)[0] == 500
        assert "evt-crash" not in replicas.stores[1]  # not marked done
        assert post(replicas.urls[1], data)[0:2] == (200, {"ok": True})
        assert post(replicas.urls[0], data)[1].get("duplicate") is True
        assert calls == ["evt-crash", "evt-crash"]
    finally:
        replicas.close()


def test_a_dead_replicas_lease_runs_out(live: RedisServer) -> None:
    calls: list[str] = []
    replicas = Replicas(live.url, lambda e: calls.append(e.event_id), lease_ttl=0.4)
    data = body("evt-dead")
    try:
        # a replica claims the event and dies before its handler returns
        assert replicas.stores[0].claim("evt-dead") is cb.Claim.NEW
        status, payload, _ = post(replicas.urls[1], data)
        assert (status, payload["error"]) == (409, "InProgress")
        time.sleep(0.5)
        assert post(replicas.urls[1], data)[0:2] == (200, {"ok": True})
        assert calls == ["evt-dead"]
    finally:
        replicas.close()


def test_a_late_completion_does_not_drop_anothers_lease(live: RedisServer) -> None:
    a = cb.RedisDeduplicator(live.url, key_prefix=f"t:{uuid.uuid4().hex}:", ttl=60, lease_ttl=0.2)
    b = cb.RedisDeduplicator(live.url, key_prefix=a.key_prefix, ttl=60, lease_ttl=5)
    assert a.claim("e1") is cb.Claim.NEW
    time.sleep(0.3)  # a's lease ran out; b takes the event
    assert b.claim("e1") is cb.Claim.NEW
    a.release("e1")  # a's late failure must not free b's lease
    assert a.claim("e1") is cb.Claim.BUSY
    b.complete("e1")
    assert a.claim("e1") is cb.Claim.DUPLICATE and "e1" in a
    a.discard("e1")
    assert "e1" not in b
    a.add("e2")
    assert b.claim("e2") is cb.Claim.DUPLICATE
    a.close()
    b.close()


def test_redis_down_is_a_quick_503_without_a_handler_call(live: RedisServer) -> None:
    calls: list[str] = []
    replicas = Replicas(live.url, lambda e: calls.append(e.event_id))
    data = body("evt-down")
    try:
        live.pause()  # stopped: connections hang; every command is bounded by redis_timeout
        t0 = time.monotonic()
        status, payload, retry_after = post(replicas.urls[0], data)
        assert time.monotonic() - t0 < 1.0
        assert (status, payload["error"], retry_after) == (503, "DedupeUnavailable", "1")
        live.kill()  # killed: connection refused
        assert post(replicas.urls[1], data)[0] == 503
        assert calls == []
        live.start()  # an empty Redis again: the sender's retry is processed
        assert post(replicas.urls[1], data)[0:2] == (200, {"ok": True})
        assert calls == ["evt-down"]
    finally:
        live.start()
        replicas.close()


@pytest.mark.parametrize("kw", [{"ttl": 0}, {"ttl": float("nan")}, {"lease_ttl": -1}])
def test_bad_configuration(kw: dict[str, Any]) -> None:
    args: dict[str, Any] = {"key_prefix": "p:", "ttl": 60, **kw}
    with pytest.raises(ValueError):
        cb.RedisDeduplicator("redis://127.0.0.1:1/0", **args)
    with pytest.raises(ValueError):
        cb.RedisDeduplicator("redis://127.0.0.1:1/0", key_prefix="", ttl=60)


def test_the_in_memory_store_claims_too() -> None:
    d = cb.Deduplicator()
    assert d.claim("x") is cb.Claim.NEW
    assert d.claim("x") is cb.Claim.BUSY
    assert "x" not in d and len(d) == 0
    d.release("x")
    assert d.claim("x") is cb.Claim.NEW
    d.complete("x")
    assert d.claim("x") is cb.Claim.DUPLICATE and "x" in d
