"""A small client of the simulator's admin API, for another process (`rtc-startrecord sim`)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from .admin import API_PREFIX, AdminError

__all__ = ["MAX_ANSWER_BYTES", "AdminClient"]

#: The admin API's largest answer (every task of a busy simulator) is far below this.
MAX_ANSWER_BYTES = 16 << 20


class AdminClient:
    """A small client of the admin API (``rtc-startrecord sim`` uses it).

    Each method returns the decoded JSON answer; a refusal raises `AdminError` (its status,
    code and message), a network failure or an answer that is not the admin API's JSON raises
    `OSError` subclasses of urllib3 (`urllib3.exceptions.HTTPError`) or `ValueError`.
    """

    def __init__(self, endpoint: str, token: str | None = None, *, timeout: float = 10.0) -> None:
        import urllib3

        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{endpoint!r} is not an http:// URL")
        self.endpoint = endpoint.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(timeout))
        self._direct: Any = None
        self._prefix = parts.path.rstrip("/")  # an endpoint behind a path

    def __repr__(self) -> str:
        return f"AdminClient({self.endpoint!r}, token={'<redacted>' if self._token else None})"

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        raw, status = self._exchange(method, path, data, headers)
        try:
            answer = json.loads(raw)
        except (ValueError, RecursionError):
            raise ValueError(
                f"HTTP {status} from {self.endpoint} is not the simulator's admin API "
                "(no JSON answer)"
            ) from None
        if status != 200:
            error = answer.get("Error") if isinstance(answer, dict) else None
            if not isinstance(error, dict):
                raise ValueError(
                    f"HTTP {status} from {self.endpoint} is not the simulator's admin API"
                )
            raise AdminError(status, str(error.get("Code")), str(error.get("Message")))
        return answer

    def _exchange(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[bytes, int]:
        """(answer body, HTTP status), the whole exchange within `timeout` and the answer within
        MAX_ANSWER_BYTES, whatever the endpoint does (the client's own bounded reads)."""
        import urllib3

        from ..bounded_read import (
            AnswerTooLarge,
            deadline_reads,
            read_capped,
            set_read_deadline,
        )

        if self._direct is None:  # its connections read the head within the deadline too
            self._direct = deadline_reads(self._pool.connection_from_url(self.endpoint))
        deadline = time.monotonic() + self._timeout
        set_read_deadline(deadline)
        try:
            resp = self._direct.urlopen(
                method, self._prefix + API_PREFIX + path, body=data, headers=headers, retries=False,
                redirect=False, preload_content=False, assert_same_host=False,
            )  # fmt: skip
            try:
                return read_capped(resp, deadline, MAX_ANSWER_BYTES), resp.status
            finally:
                resp.release_conn()
        except AnswerTooLarge:
            raise ValueError(
                f"the answer from {self.endpoint} passed {MAX_ANSWER_BYTES >> 20} MiB: it is not "
                "the simulator's admin API"
            ) from None
        except TimeoutError:
            raise urllib3.exceptions.ReadTimeoutError(
                self._direct, path, f"no whole answer within {self._timeout:g} s"
            ) from None
        finally:
            set_read_deadline(None)

    def tasks(self) -> Any:
        return self.request("GET", "/tasks")

    def publish(self, app_id: str, room_id: str, user_id: str, stream_type: int = 0) -> Any:
        ids = {"AppId": app_id, "RoomId": room_id, "UserId": user_id, "StreamType": stream_type}
        return self.request("POST", "/publish", ids)

    def unpublish(self, app_id: str, room_id: str, user_id: str, stream_type: int = 0) -> Any:
        ids = {"AppId": app_id, "RoomId": room_id, "UserId": user_id, "StreamType": stream_type}
        return self.request("POST", "/unpublish", ids)

    def advance(self, seconds: float) -> Any:
        return self.request("POST", "/advance", {"Milliseconds": round(seconds * 1000)})

    def faults(self) -> Any:
        return self.request("GET", "/faults")

    def add_fault(self, kind: str, **params: Any) -> Any:
        return self.request("POST", "/faults", {"Kind": kind, **params})

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
