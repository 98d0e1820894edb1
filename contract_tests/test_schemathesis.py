"""Schemathesis drives every action's document of every API version against the simulator,
in-process and over HTTP. One simulator serves every version (chosen by each request's Version
query parameter), as the real service does.

Positive and negative cases, every default check plus response-schema, status-code, negative
data rejection and positive data acceptance. Every request carries a V4 signature computed for
exactly the bytes sent. Positive bodies are repaired (`support.repair`) to obey the documented
rules no schema can say, so positive data acceptance stays strict: a 400 on them is a failure.

Bounded and reproducible by default (derandomized, RTC_CONTRACT_EXAMPLES examples per test,
default 25, for every version); set RTC_CONTRACT_EXPLORE=1 for a longer randomized run. Most of
a run is schemathesis' coverage phase (boundary and type-violating values of every member,
about a thousand cases for a StartRecord document), whose size follows the schema, not the
example budget: fewer examples for the newer versions would save next to nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.wsgi import WSGI_TRANSPORT
from werkzeug.test import EnvironBuilder

from rtc_startrecord import spec
from rtc_startrecord.simulator import (
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    Simulator,
    SimulatorApp,
)
from rtc_startrecord.simulator.state import State

from . import support

EXPLORE = os.environ.get("RTC_CONTRACT_EXPLORE") == "1"
EXAMPLES = int(os.environ.get("RTC_CONTRACT_EXAMPLES", "200" if EXPLORE else "25"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=not EXPLORE,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

CHECKS = [response_schema_conformance, status_code_conformance, negative_data_rejection,
          positive_data_acceptance]  # fmt: skip


def _ids(case: Any) -> dict[str, Any] | None:
    source = case.body if case.operation.method.upper() == "POST" else case.query
    if not isinstance(source, dict):
        return None
    ids = {k: source.get(k) for k in ("AppId", "RoomId", "TaskId")}
    return ids if all(isinstance(v, str) for v in ids.values()) else None


def prepare(case: Any, state: State, version: str) -> None:
    """Repair a positive case and give it the state it needs (a running task to stop/update/get)."""
    action = case.operation.definition.raw["operationId"]
    if not case.meta.generation.mode.is_positive:
        return
    case.body = (
        support.repair(action, case.body, version) if case.body is not NOT_SET else case.body
    )
    ids = _ids(case)
    if action == "StartRecord" or ids is None:
        return
    with state.lock:
        key = (ids["AppId"], ids["RoomId"], ids["TaskId"])
        if key in state.tasks and state.tasks[key].running:
            if action != "UpdateRecord":
                return
            state.stop(ids)  # an update is judged against the task: give it a fresh one
        start: dict[str, Any] = {"RecordMode": 0, "Layout": {"LayoutMode": 2}}
        if (
            action == "UpdateRecord"
            and isinstance(case.body, dict)
            and "TargetStreams" in case.body
        ):
            start["TargetStreams"] = case.body["TargetStreams"]
        state.start(support.start_body(version, ids, **start), version=version)


def _new_app() -> SimulatorApp:
    return SimulatorApp(State(), secrets={TEST_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY}, qps=None)


class V4Auth(requests.auth.AuthBase):
    """Signs the exact prepared request (URL and body bytes) that requests will send."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(r.url or "")
        raw = r.body
        body = raw if isinstance(raw, bytes) else raw.encode() if isinstance(raw, str) else b""
        headers = (
            {"Content-Type": str(r.headers["Content-Type"])} if "Content-Type" in r.headers else {}
        )
        for name in ("Authorization", "X-Date", "X-Content-Sha256"):
            r.headers.pop(name, None)
        r.headers.update(
            support.sign(
                r.method or "", parts.netloc, parts.path or "/", parts.query, headers, body
            )
        )
        return r


def unsigned(case: Any) -> bool:
    """A negative case whose mutation is the missing Authorization header goes out unsigned."""
    return bool(
        case.meta.generation.mode.is_negative and "Authorization" not in (case.headers or {})
    )


def call_wsgi(case: Any) -> Any:
    """In-process: sign the query and body exactly as the WSGI transport will build them."""
    if unsigned(case):
        return case.call_and_validate(additional_checks=CHECKS)
    data = WSGI_TRANSPORT.serialize_case(case)
    body = support.body_bytes(None if case.body is NOT_SET else case.body)
    environ = EnvironBuilder(path=data["path"], query_string=data["query_string"]).get_environ()
    headers = {"Content-Type": "application/json"} if case.body is not NOT_SET else {}
    signed = support.sign(case.method, "localhost", "/", environ["QUERY_STRING"], headers, body)
    extra: dict[str, Any] = {"data": body} if case.body is not NOT_SET else {}
    return case.call_and_validate(headers=signed, additional_checks=CHECKS, **extra)


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    with Simulator(qps=None) as sim:
        yield sim


class Router:
    """The in-process WSGI app schemathesis calls: a fresh simulator for every case.

    Set on the schema (not passed per call) so that the checks' own probes (a request without
    or with invalid credentials, say) reach the same in-process app.
    """

    def __init__(self) -> None:
        self.current = _new_app()

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.current(environ, start_response)


def _make_tests(version: str, action: str) -> tuple[Any, Any]:
    document = support.documents(version)[action]
    in_process = schemathesis.openapi.from_dict(document)
    router = Router()
    in_process.app = router
    over_http = schemathesis.openapi.from_dict(document)

    @in_process.parametrize()
    @SETTINGS
    def test_in_process(case: Any) -> None:
        router.current = _new_app()
        prepare(case, router.current.state, version)
        call_wsgi(case)

    @over_http.parametrize()
    @SETTINGS
    def test_over_http(case: Any, simulator: Simulator) -> None:
        prepare(case, simulator.state, version)
        auth = None if unsigned(case) else V4Auth()
        case.call_and_validate(base_url=simulator.url, auth=auth, additional_checks=CHECKS)

    return test_in_process, test_over_http


# test_<Action>_<module>_in_process / _over_http for every action of every version; the one
# module-scoped simulator of the over-HTTP tests serves them all.
for _version in spec.API_VERSIONS:
    _module = _version.replace("-", "_")
    for _action in support.documents(_version):
        _tests = _make_tests(_version, _action)
        globals()[f"test_{_action}_v{_module}_in_process"] = _tests[0]
        globals()[f"test_{_action}_v{_module}_over_http"] = _tests[1]
