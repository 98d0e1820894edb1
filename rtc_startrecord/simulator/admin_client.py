"""A small client of the simulator's admin API, for another process (`rtc-startrecord sim`)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from .admin import API_PREFIX, AdminError

__all__ = ["AdminClient"]


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
        self._pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(timeout))

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
        resp = self._pool.request(
            method, self.endpoint + API_PREFIX + path, body=data, headers=headers
        )
        try:
            answer = json.loads(resp.data)
        except ValueError:
            raise ValueError(
                f"HTTP {resp.status} from {self.endpoint} is not the simulator's admin API "
                "(no JSON answer)"
            ) from None
        if resp.status != 200:
            error = answer.get("Error") if isinstance(answer, dict) else None
            if not isinstance(error, dict):
                raise ValueError(
                    f"HTTP {resp.status} from {self.endpoint} is not the simulator's admin API"
                )
            raise AdminError(resp.status, str(error.get("Code")), str(error.get("Message")))
        return answer

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
