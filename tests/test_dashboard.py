"""The simulator's dashboard (issue #17 parts 2-3), in a real Chromium and over real loopback HTTP.

The browser tests drive the system Chromium (``/usr/bin/chromium``) with Playwright; without it
they fail, saying to run ``.ci/browser-setup``. Each browser test saves a screenshot under its
``tmp_path``; ``RTC_DASHBOARD_SCREENSHOT=docs/dashboard.png`` also writes the one the docs show.

Until the simulator composes the dashboard itself, `dashboard_stack` builds the stack from the
public pieces: a `Simulator` (not started), then a loopback `WSGIServer` serving
``DashboardMiddleware(<the simulator's front app>, simulator)`` with the simulator's faults.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import pytest
import urllib3

import rtc_startrecord as rs
from rtc_startrecord import signing
from rtc_startrecord.simulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Simulator
from rtc_startrecord.simulator.dashboard import (
    DashboardMiddleware,
    RequestRecorder,
    split_problems,
)
from rtc_startrecord.simulator.dashboard import middleware as dashboard_middleware
from rtc_startrecord.simulator.http import WSGIServer

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("RTC_DASHBOARD_CHROMIUM", "/usr/bin/chromium")  # the system one
APP = "661e00000000000543cf"
CALLBACK_SECRET = "cb-secret-DASHBOARD-0001"
BUCKET_SECRET = "sk-DASHBOARD-BUCKET-SECRET-0001"
BUCKET_ACCESS = "ak-DASHBOARD-BUCKET-ACCESS-0001"
SESSION_TOKEN = "sts-DASHBOARD-SESSION-TOKEN-0001"
SECRETS = (TEST_SECRET_ACCESS_KEY, CALLBACK_SECRET, BUCKET_SECRET, BUCKET_ACCESS, SESSION_TOKEN)
HTTP = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2.0, read=5.0))
TIMEOUT_MS = 5000


# ------------------------------------------------------------------------------------ helpers


def _ok(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


@contextmanager
def dashboard_stack(**sim_kw: Any) -> Iterator[tuple[Simulator, str]]:
    """A simulator with its dashboard on one loopback port, and a callback receiver."""
    with WSGIServer(_ok) as receiver:
        sim = Simulator(
            callback_url=receiver.url + "/callbacks",
            callback_secret=CALLBACK_SECRET,
            callback_retry_delay=0.05,
            **sim_kw,
        )
        try:
            if isinstance(sim.server.app, DashboardMiddleware):  # the simulator composes it
                sim.start()
                yield sim, sim.url
                return
            front = DashboardMiddleware(sim.server.app, sim, poll_ms=300)
            server = WSGIServer(
                front,
                faults=sim.faults,
                max_body=sim.server.max_body,
                error_body=sim.app.http_error_body,
            )
            with server:
                yield sim, server.url
        finally:
            sim.stop()


def client(url: str, version: str = "2020-12-01", **kw: Any) -> rs.RtcClient:
    made = rs.RtcClient(
        rs.Credentials(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY),
        endpoint=url,
        version=version,
        qps=None,
        backoff_base=0.01,
        **kw,
    )
    assert isinstance(made, rs.RtcClient)
    return made


def send_raw(url: str, body: dict[str, Any], version: str, action: str = "StartRecord") -> Any:
    """A signed request the client would refuse to send (it validates first)."""
    data = json.dumps(body).encode()
    query = [("Action", action), ("Version", version)]
    headers = signing.sign(
        "POST",
        urlsplit(url).netloc,
        "/",
        query,
        {"Content-Type": "application/json"},
        data,
        access_key_id=TEST_ACCESS_KEY_ID,
        secret_access_key=TEST_SECRET_ACCESS_KEY,
        region="cn-north-1",
        service="rtc",
        x_date=signing.x_date_now(),
        session_token=SESSION_TOKEN,
    )
    resp = HTTP.request("POST", f"{url}/?{urlencode(query)}", body=data, headers=headers)
    return json.loads(resp.data)


def layout_body(task_id: str, room_id: str = "room_1") -> dict[str, Any]:
    """The documented custom layout, with the regions listed against their ZOrder."""
    body: dict[str, Any] = json.loads(
        (
            ROOT / "contract_tests/golden/2020-12-01/StartRecord.request.custom_layout.json"
        ).read_text()
    )
    body |= {"AppId": APP, "RoomId": room_id, "TaskId": task_id}
    regions = body["Layout"]["CustomLayout"]["Regions"]
    regions[1]["Alpha"] = 0.6
    body["Layout"]["CustomLayout"]["Regions"] = [regions[1], regions[0]]  # z 1 listed first
    return body


def start_request(task_id: str) -> rs.StartRecordRequest:
    return rs.from_wire(rs.StartRecordRequest, layout_body(task_id))


def rejected_body() -> dict[str, Any]:
    """A 2023-11-01 start with bucket credentials whose region leaves the canvas (R16)."""
    return {
        "AppId": APP,
        "RoomId": "room_bad",
        "TaskId": "task_bad",
        "RecordMode": 0,
        "TargetStreams": {"StreamList": [{"Index": 0, "UserId": "u1"}]},
        "Layout": {
            "LayoutMode": 2,
            "CustomLayout": {
                "Canvas": {"Width": 640, "Height": 480},
                "Regions": [{"StreamIndex": 0, "Width": 700, "Height": 100}],
            },
        },
        "StorageConfig": {
            "Type": 2,
            "CustomConfig": {
                "Vendor": 0,
                "Region": 0,
                "Bucket": "rec",
                "AccessKey": BUCKET_ACCESS,
                "SecretKey": BUCKET_SECRET,
            },
        },
    }


def get(url: str, path: str, **headers: str) -> urllib3.BaseHTTPResponse:
    return HTTP.request("GET", url + path, headers=headers or None)


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# ------------------------------------------------------------------------------------ browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: run `bash .ci/browser-setup` (installs Debian's chromium "
            "and Playwright); the dashboard's browser tests need a real Chromium",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: run `bash .ci/browser-setup`", pytrace=False)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
        opened.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        assert not errors, f"the page's script failed: {errors}"
    finally:
        context.close()


def test_a_task_from_start_to_files_driven_from_the_page(page: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with dashboard_stack() as (sim, url):
        with client(url) as c:
            c.start_record(start_request("task_layout"))
        page.goto(url + "/_simulator/")
        task = page.locator('article.task[data-task-id="task_layout"]')
        expect(task).to_have_attribute("data-status", "running")
        expect(task.locator(".version")).to_have_text("2020-12-01")
        expect(task.locator(".mode")).to_have_text("mixed")

        # The layout, drawn by render_layout_svg: regions labelled, in ZOrder, with Alpha.
        regions = task.locator("svg g.region")
        expect(regions).to_have_count(2)
        assert regions.evaluate_all("gs => gs.map(g => g.dataset.zOrder)") == ["0", "1"]
        assert regions.evaluate_all("gs => gs.map(g => g.dataset.userId)") == [
            "Your_UserId_3",
            "Your_UserId_4",
        ]
        assert regions.evaluate_all("gs => gs.map(g => g.dataset.alpha)") == ["1", "0.6"]
        assert regions.nth(1).locator("rect").get_attribute("fill-opacity") == "0.6"
        expect(regions.nth(1).locator("text")).to_have_text("Your_UserId_4 #1 (screen)")
        assert task.locator("svg").get_attribute("viewBox") == "0 0 860 340"
        legend = task.locator("table.legend tbody tr")
        expect(legend).to_have_text(["Your_UserId_3 #001", "Your_UserId_4 #110.6"])

        # Publish both target streams from the task's own buttons (the admin API).
        for user in ("Your_UserId_3", "Your_UserId_4"):
            task.locator(f'li.target[data-user-id="{user}"] button[data-op="publish"]').click()
            expect(task.locator(f'li.target[data-user-id="{user}"]')).to_have_attribute(
                "data-published", "true"
            )
        streams = page.locator("#rooms tr.stream[data-published=true]")
        expect(streams).to_have_count(2)

        # Advance the clock from the page: quick button, then unpublish, then the form.
        before = int(page.locator("#sim-now").get_attribute("data-now") or 0)
        page.locator('button[data-advance="60"]').click()
        expect(page.locator("#control-result")).to_contain_text("advanced 60 s")
        after = int(page.locator("#sim-now").get_attribute("data-now") or 0)
        assert after - before >= 60_000
        for user in ("Your_UserId_3", "Your_UserId_4"):
            page.locator(
                f'#rooms tr.stream[data-user-id="{user}"] button[data-op="unpublish"]'
            ).click()
            expect(page.locator(f'#rooms tr.stream[data-user-id="{user}"]')).to_have_attribute(
                "data-published", "false"
            )
        page.fill("#advance-seconds", "200")
        page.click("#advance")
        expect(page.locator("#control-result")).to_contain_text("ended: task_layout")

        # The task ended (idle for MaxIdleTime) and its file is listed.
        expect(task).to_have_attribute("data-status", "ended")
        expect(task).to_have_attribute("data-stop-reason", "IdleTimeOut")
        expect(task.locator("table.files tr.file")).to_have_count(1)
        expect(task.locator("table.files tr.file td").nth(2)).to_have_text(
            re.compile(r"6\d\.?\d* s")
        )
        expect(task.locator(".end")).not_to_have_text("—")

        # Callbacks: started, stopped, upload done; each delivered on its first attempt.
        assert sim.wait_for_deliveries(5)
        deliveries = page.locator("#deliveries tr.delivery")
        expect(deliveries).to_have_count(3)
        assert deliveries.evaluate_all("rs => rs.map(r => r.dataset.outcome)") == ["delivered"] * 3
        assert deliveries.evaluate_all("rs => rs.map(r => r.dataset.attempts)") == ["1"] * 3

        # The request log has the StartRecord, and none of the dashboard's or admin calls.
        rows = page.locator("#requests tr.request")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-action", "StartRecord")
        expect(rows.first).to_have_attribute("data-status", "200")

        assert_no_secrets(page.content())
        page.screenshot(path=str(tmp_path / "dashboard-lifecycle.png"), full_page=True)
        target = os.environ.get("RTC_DASHBOARD_SCREENSHOT")
        if target:  # the docs' picture also shows a rejected request with its problem path
            send_raw(url, rejected_body(), "2023-11-01")
            expect(page.locator("#requests ul.problems")).to_have_count(1)
            page.screenshot(path=str(ROOT / target), full_page=True)


def test_rejected_and_throttled_requests_on_the_page(page: Page) -> None:
    from playwright.sync_api import expect

    with dashboard_stack() as (sim, url):
        answer = send_raw(url, rejected_body(), "2023-11-01")
        assert answer["ResponseMetadata"]["Error"]["Code"] == "InvalidParameter"
        sim.faults.throttle(count=1)
        page.goto(url + "/_simulator/")
        page.wait_for_timeout(700)  # two refreshes: the dashboard must not take the fault
        assert sim.faults.pending == 1
        with client(url, max_attempts=1) as c, pytest.raises(rs.RtcApiError) as caught:
            c.get_record_task({"AppId": APP, "RoomId": "room_1", "TaskId": "nope"})
        assert caught.value.code == "FlowLimitExceeded.QPSOverLimit"

        rows = page.locator("#requests tr.request")
        expect(rows).to_have_count(2)
        throttled, rejected = rows.nth(0), rows.nth(1)  # newest first
        expect(throttled).to_have_attribute("data-status", "429")
        expect(throttled).to_have_attribute("data-code", "FlowLimitExceeded.QPSOverLimit")
        expect(rejected).to_have_attribute("data-status", "400")
        expect(rejected).to_have_attribute("data-code", "InvalidParameter")
        expect(rejected.locator("td").nth(3)).to_have_text("2023-11-01")
        expect(rejected.locator(".request-id")).to_have_text(
            answer["ResponseMetadata"]["RequestId"]
        )
        expect(rejected.locator("ul.problems code.path")).to_have_text(
            ["$.Layout.CustomLayout.Regions[0]"]
        )
        expect(rejected.locator("ul.problems .rule")).to_have_text(["R16"])
        assert_no_secrets(page.content())
        assert_no_secrets(get(url, "/_simulator/api/requests").data.decode())


# ------------------------------------------------------------------------------------ HTTP


def test_json_twins_and_what_the_dashboard_answers() -> None:
    with dashboard_stack() as (sim, url):
        with client(url) as c:
            c.start_record(start_request("task_json"))
        sim.publish(APP, "room_1", "Your_UserId_3")
        sim.advance(5)
        for _ in range(3):
            for view in ("", "api/requests", "api/deliveries", "api/rooms", "api/clock"):
                assert get(url, "/_simulator/" + view).status == 200

        requests = json.loads(get(url, "/_simulator/api/requests").data)
        assert [r["Action"] for r in requests["Requests"]] == ["StartRecord"]  # only the API
        assert requests["Requests"][0]["Status"] == 200
        rooms = json.loads(get(url, "/_simulator/api/rooms").data)["Rooms"]
        assert rooms == [
            {
                "AppId": APP,
                "RoomId": "room_1",
                "Streams": [
                    {
                        "UserId": "Your_UserId_3",
                        "StreamType": 0,
                        "Published": True,
                        "Since": rooms[0]["Streams"][0]["Since"],
                        "Width": 640,
                        "Height": 480,
                        "PublishedMs": rooms[0]["Streams"][0]["PublishedMs"],
                    }
                ],
                "RunningTasks": ["task_json"],
            }
        ]
        assert rooms[0]["Streams"][0]["PublishedMs"] >= 5000
        clock = json.loads(get(url, "/_simulator/api/clock").data)
        assert clock["OffsetMs"] == 5000 and clock["NowText"].endswith("Z")
        assert sim.wait_for_deliveries(5)
        events = json.loads(get(url, "/_simulator/api/deliveries").data)["Events"]
        assert [(e["EventType"], e["TaskId"], e["Attempts"], e["Outcome"]) for e in events] == [
            ("RecordStarted", "task_json", 1, "delivered")
        ]

        page = get(url, "/_simulator/")
        html = page.data.decode()
        assert page.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert "Access-Control-Allow-Origin" not in page.headers
        assert "<script" in html and "http://" not in html.split("<script", 1)[1]  # no CDN
        assert_no_secrets(html)
        live = get(url, "/_simulator/?part=live").data.decode()
        assert live.startswith('<main id="live">') and "simulator-token" not in live

        # Not a 500 anywhere: refusals are 4xx, a broken view a 503; admin paths pass through.
        assert HTTP.request("POST", url + "/_simulator/").status == 405
        assert HTTP.request("HEAD", url + "/_simulator/api/clock").data == b""
        redirect = HTTP.request("GET", url + "/_simulator", redirect=False)
        assert (redirect.status, redirect.headers["Location"]) == (308, "/_simulator/")
        assert get(url, "/_simulator/", Host="evil.example").status == 403
        assert get(url, "/_simulator/api/rooms", Host="rebind.example:80").status == 403
        assert get(url, "/_simulator/api/rooms", Origin="http://evil.example").status == 403
        cross = get(url, "/_simulator/api/rooms", **{"Sec-Fetch-Site": "cross-site"})
        assert cross.status == 403
        link = get(
            url, "/_simulator/", **{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
        )
        assert link.status == 200  # following a link: the other site cannot read the page
        tasks = get(url, "/_simulator/api/tasks")
        assert tasks.status == 200 and json.loads(tasks.data)["Tasks"][0]["TaskId"] == "task_json"


def test_a_failing_view_is_a_503_not_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    with dashboard_stack() as (_, url):
        monkeypatch.setattr(dashboard_middleware, "render_page", broken)
        monkeypatch.setattr(dashboard_middleware, "rooms_view", broken)
        page = get(url, "/_simulator/")
        assert page.status == 503 and page.headers["Content-Type"].startswith("text/html")
        rooms = get(url, "/_simulator/api/rooms")
        assert rooms.status == 503
        assert json.loads(rooms.data)["Error"]["Code"] == "DashboardUnavailable"


def test_dashboard_requests_do_not_count_against_the_qps_limit() -> None:
    with dashboard_stack(qps=2) as (_, url):
        started = time.monotonic()
        for _ in range(20):
            assert get(url, "/_simulator/api/clock").status == 200
        assert time.monotonic() - started < 1.0  # all within the limiter's one-second window
        with client(url, max_attempts=1) as c:
            c.start_record(start_request("task_qps"))
            c.get_record_task({"AppId": APP, "RoomId": "room_1", "TaskId": "task_qps"})


# ------------------------------------------------------------------------------------ units


def test_split_problems_reads_the_simulators_invalid_parameter_message() -> None:
    message = (
        "3 invalid parameter(s): $.Layout.CustomLayout.Regions[0]: R16: LocationX + Width = 700 "
        "px passes the canvas' right edge (640 px); $.TaskId: schema: 'a b' does not match; x; "
        "and 1 more"
    )
    problems, more = split_problems(message)
    assert [(p.path, p.rule) for p in problems] == [
        ("$.Layout.CustomLayout.Regions[0]", "R16"),
        ("$.TaskId", "schema"),
    ]
    assert problems[1].message == "'a b' does not match; x"
    assert more == 1
    assert split_problems("no such shape") == ((), 0)


def _start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
    return lambda data: None


def test_the_recorder_hides_body_secrets_echoed_in_a_message() -> None:
    def echo(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        secret = body["StorageConfig"]["CustomConfig"]["SecretKey"]
        envelope = {
            "ResponseMetadata": {
                "RequestId": "r1",
                "Error": {"Code": "InvalidParameter", "Message": f"1 invalid parameter(s): "
                          f"$.StorageConfig: schema: {{\"SecretKey\": \"{secret}\"}} is bad"},
            }
        }  # fmt: skip
        data = json.dumps(envelope).encode()
        start_response("400 Bad Request", [("Content-Length", str(len(data)))])
        return [data]

    recorder = RequestRecorder(echo, limit=2)
    raw = json.dumps(rejected_body()).encode()
    for _ in range(3):
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/",
            "QUERY_STRING": "Action=StartRecord&Version=2023-11-01",
            "CONTENT_LENGTH": str(len(raw)),
            "wsgi.input": io.BytesIO(raw),
        }
        out = b"".join(recorder(environ, _start_response))
        assert BUCKET_SECRET in out.decode()  # the client's answer is unchanged
    entries = recorder.entries
    assert len(entries) == 2 and [e.seq for e in entries] == [2, 3]
    assert BUCKET_SECRET not in entries[0].message and "<redacted>" in entries[0].message
    assert entries[0].problems[0].path == "$.StorageConfig"
    assert_no_secrets(json.dumps([e.to_json() for e in entries]))


def test_browser_setup_script_is_there() -> None:
    script = ROOT / ".ci/browser-setup"
    assert script.is_file() and os.access(script, os.X_OK)
    text = script.read_text()
    assert "apt-get install -y chromium" in text and "playwright==" in text
    assert shutil.which("bash")
