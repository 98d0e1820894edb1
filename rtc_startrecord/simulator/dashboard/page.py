"""The dashboard page: server-rendered HTML, one inline script, no build step, no CDN.

`render_page` is the whole page; `render_live` the part that changes (``<main id="live">``),
which the page's script fetches again (``GET /_simulator/?part=live``) every second and swaps
in, so the controls keep what is typed into them. The controls call the admin API
(``POST /_simulator/api/advance``, ``/publish``, ``/unpublish``) with the per-run token the page
was served with (``<meta name="simulator-token">``; see docs/dashboard.md for why).

Every value is escaped; the layout drawings come from `render_layout_svg`, which escapes its own.
"""

from __future__ import annotations

import re
from html import escape, unescape
from typing import TYPE_CHECKING, Any, Final

from .assets import SCRIPT, STYLE
from .views import (
    LayoutView,
    SimulatorLike,
    clock_view,
    deliveries_view,
    format_ms,
    requests_view,
    rooms_view,
    tasks_view,
)

if TYPE_CHECKING:
    from .recorder import RequestRecorder

__all__ = ["DEFAULT_POLL_MS", "render_live", "render_page"]

DEFAULT_POLL_MS: Final = 1000
REQUESTS_SHOWN: Final = 50
ATTEMPTS_SHOWN: Final = 100


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


def _seconds(ms: int) -> str:
    return f"{ms / 1000:g} s"


def _clock(sim: SimulatorLike) -> str:
    c = clock_view(sim)
    offset = c["OffsetMs"]
    sign = "+" if offset >= 0 else "-"
    return (
        f'<section id="clock"><h2>Simulated clock</h2>'
        f'<p><span id="sim-now" data-now="{c["Now"]}">{_e(c["NowText"])}</span> '
        f'<span class="muted">({sign}{_seconds(abs(offset))} from the wall clock)</span></p>'
        "</section>"
    )


def _stream_button(app_id: str, room_id: str, user_id: str, kind: int, published: bool) -> str:
    op = "unpublish" if published else "publish"
    return (
        f'<button type="button" class="stream-op" data-op="{op}" data-app-id="{_e(app_id)}" '
        f'data-room-id="{_e(room_id)}" data-user-id="{_e(user_id)}" '
        f'data-stream-type="{kind}">{op}</button>'
    )


# The data attributes render_layout_svg gives each region's <g>, in drawing order.
_REGION: Final = re.compile(
    r'<g class="region" data-stream-index="(?P<index>[^"]*)" data-user-id="(?P<user>[^"]*)" '
    r'data-z-order="(?P<z>[^"]*)" data-alpha="(?P<alpha>[^"]*)">'
)


def _layout(layout: LayoutView) -> str:
    parts = [f'<div class="layout"><p class="muted">{_e(layout.note)}</p>']
    if layout.svg is not None:
        parts.append(f'<div class="svg">{layout.svg}</div>')
        legend = "".join(
            f"<tr><td>{_e(unescape(m['user']) or '?')} #{_e(unescape(m['index']))}</td>"
            f"<td>{_e(unescape(m['z']))}</td><td>{_e(unescape(m['alpha']))}</td></tr>"
            for m in _REGION.finditer(layout.svg)
        )
        if legend:
            parts.append(
                '<table class="legend"><thead><tr><th>region (drawn bottom to top)</th>'
                f"<th>ZOrder</th><th>Alpha</th></tr></thead><tbody>{legend}</tbody></table>"
            )
    if layout.warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in layout.warnings)
        parts.append(f'<ul class="warnings">{items}</ul>')
    parts.append("</div>")
    return "".join(parts)


def _files(files: list[dict[str, Any]], more: int) -> str:
    if not files:
        return '<p class="files muted">no files (yet)</p>'
    rows = []
    for f in files:
        where = f.get("Vid") or f.get("ObjectKey") or ""
        both = f" / {f['ObjectKey']}" if f.get("Vid") and f.get("ObjectKey") else ""
        video = (
            f"{f.get('VideoWidth')}x{f.get('VideoHeight')} {f.get('VideoCodec')}"
            if "VideoWidth" in f
            else "audio only"
        )
        streams = ", ".join(
            f"{s['UserId']}" + (" (screen)" if s.get("StreamType") == 1 else "")
            for s in f.get("StreamList", [])
        )
        rows.append(
            f'<tr class="file"><td><code>{_e(where)}{_e(both)}</code></td>'
            f"<td>{_e(format_ms(f.get('StartTime')))}</td>"
            f"<td>{_seconds(int(f.get('Duration') or 0))}</td>"
            f"<td>{_size(int(f.get('Size') or 0))}</td><td>{_e(video)}</td>"
            f"<td>{_e(streams)}</td></tr>"
        )
    extra = f'<p class="muted">and {more} more</p>' if more else ""
    return (
        '<table class="files"><thead><tr><th>file (Vid / ObjectKey)</th><th>start</th>'
        "<th>duration</th><th>size</th><th>video</th><th>streams</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{extra}"
    )


def _tasks(sim: SimulatorLike, published: set[tuple[str, str, str, int]]) -> str:
    now, tasks = tasks_view(sim)
    if not tasks:
        body = '<p class="muted">no tasks yet: start one with the client (StartRecord)</p>'
        return f'<section id="tasks"><h2>Tasks</h2>{body}</section>'
    out = ['<section id="tasks"><h2>Tasks</h2>']
    for t, layout in tasks:
        ended = t["EndTime"] or None
        span = _seconds((ended or now) - t["StartTime"])
        stop = f' <span class="stop-reason">{_e(t["StopReason"])}</span>' if t["StopReason"] else ""
        streams = []
        for s in t["TargetStreams"]:
            key = (t["AppId"], t["RoomId"], s["UserId"], s["StreamType"])
            on = key in published
            label = s["UserId"] + (" (screen)" if s["StreamType"] == 1 else "")
            button = _stream_button(*key, on) if t["StatusName"] == "running" else ""
            streams.append(
                f'<li class="target" data-user-id="{_e(s["UserId"])}" '
                f'data-published="{str(on).lower()}">{_e(label)}: '
                f"{'published' if on else 'not published'} {button}</li>"
            )
        targets = (
            f'<ul class="targets">{"".join(streams)}</ul>'
            if streams
            else '<p class="muted">TargetStreams: every published stream of the room</p>'
        )
        out.append(
            f'<article class="task" data-app-id="{_e(t["AppId"])}" '
            f'data-room-id="{_e(t["RoomId"])}" data-task-id="{_e(t["TaskId"])}" '
            f'data-status="{_e(t["StatusName"])}" data-stop-reason="{_e(t["StopReason"])}">'
            f'<h3><span class="status status-{_e(t["StatusName"])}">{_e(t["StatusName"])}</span>'
            f"{stop} <code>{_e(t['TaskId'])}</code></h3>"
            '<dl class="ids">'
            f"<dt>AppId</dt><dd><code>{_e(t['AppId'])}</code></dd>"
            f"<dt>RoomId</dt><dd><code>{_e(t['RoomId'])}</code></dd>"
            f'<dt>Version</dt><dd class="version">{_e(t["Version"])}</dd>'
            f'<dt>mode</dt><dd class="mode">{_e(t["Mode"])}</dd>'
            f'<dt>start</dt><dd class="start">{_e(format_ms(t["StartTime"]))}</dd>'
            f'<dt>end</dt><dd class="end">{_e(format_ms(t["EndTime"])) or "—"}</dd>'
            f"<dt>{'recorded' if ended else 'running for'}</dt><dd>{span}</dd>"
            "</dl>"
            f'<div class="task-body"><div>{targets}{_files(t["RecordFileList"], t["MoreFiles"])}'
            f"</div>{_layout(layout)}</div></article>"
        )
    out.append("</section>")
    return "".join(out)


def _rooms(rooms: dict[str, Any]) -> str:
    if not rooms["Rooms"]:
        body = '<p class="muted">no streams published yet</p>'
        return f'<section id="rooms"><h2>Rooms</h2>{body}</section>'
    rows = []
    for room in rooms["Rooms"]:
        tasks = ", ".join(room["RunningTasks"]) or "—"
        if not room["Streams"]:
            rows.append(
                f'<tr class="room-empty"><td><code>{_e(room["AppId"])}</code></td>'
                f"<td><code>{_e(room['RoomId'])}</code></td>"
                f'<td colspan="4" class="muted">nothing published</td><td>{_e(tasks)}</td></tr>'
            )
        for s in room["Streams"]:
            kind = "screen" if s["StreamType"] == 1 else "main"
            state = "published" if s["Published"] else "unpublished"
            on = str(s["Published"]).lower()
            button = _stream_button(
                room["AppId"], room["RoomId"], s["UserId"], s["StreamType"], s["Published"]
            )
            rows.append(
                f'<tr class="stream" data-app-id="{_e(room["AppId"])}" '
                f'data-room-id="{_e(room["RoomId"])}" data-user-id="{_e(s["UserId"])}" '
                f'data-stream-type="{s["StreamType"]}" data-published="{on}">'
                f"<td><code>{_e(room['AppId'])}</code></td><td><code>{_e(room['RoomId'])}</code></td>"
                f"<td><code>{_e(s['UserId'])}</code> {kind}</td>"
                f"<td>{s['Width']}x{s['Height']}</td>"
                f"<td>{state}{' since ' + _e(format_ms(s['Since'])) if s['Since'] else ''}</td>"
                f"<td>{_seconds(s['PublishedMs'])} "
                f"{button}"
                f"</td><td>{_e(tasks)}</td></tr>"
            )
    return (
        '<section id="rooms"><h2>Rooms: published streams</h2><table><thead><tr><th>AppId</th>'
        "<th>RoomId</th><th>stream</th><th>size</th><th>state</th><th>published for</th>"
        f"<th>running tasks</th></tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _requests(recorder: RequestRecorder) -> str:
    view = requests_view(recorder, REQUESTS_SHOWN)
    rows = []
    for r in view["Requests"]:
        problems = ""
        if r["Problems"]:
            items = "".join(
                f'<li><code class="path">{_e(p["Path"])}</code> '
                f'<span class="rule">{_e(p["Rule"])}</span> {_e(p["Message"])}</li>'
                for p in r["Problems"]
            )
            more = f"<li>and {r['MoreProblems']} more</li>" if r["MoreProblems"] else ""
            problems = f'<ul class="problems">{items}{more}</ul>'
            message = ""
        else:
            message = _e(r["Message"])
        status = "dropped" if r["Status"] is None else r["Status"]
        bad = r["Code"] or (r["Status"] is None or r["Status"] >= 400)
        rows.append(
            f'<tr class="request{" rejected" if bad else ""}" data-action="{_e(r["Action"])}" '
            f'data-status="{_e(status)}" data-code="{_e(r["Code"])}">'
            f"<td>{_e(format_ms(r['Time'])[11:])}</td>"
            f"<td>{_e(format_ms(r['SimulatedTime']))}</td>"
            f"<td>{_e(r['Method'])} <b>{_e(r['Action'])}</b></td><td>{_e(r['Version'])}</td>"
            f'<td class="http-status">{_e(status)}</td>'
            f'<td><code class="request-id">{_e(r["RequestId"])}</code></td>'
            f'<td><code class="code">{_e(r["Code"])}</code> {message}{problems}</td></tr>'
        )
    body = (
        "<table><thead><tr><th>time</th><th>simulated</th><th>action</th><th>version</th>"
        "<th>status</th><th>RequestId</th><th>error</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="muted">no API requests yet</p>'
    )
    return (
        f'<section id="requests"><h2>Last requests <span class="muted">(newest first, '
        f"{len(rows)} of the last {view['Limit']} kept)</span></h2>{body}</section>"
    )


def _deliveries(sim: SimulatorLike) -> str:
    view = deliveries_view(sim)
    if not view["Events"]:
        body = (
            '<p class="muted">no callbacks yet (the simulator sends them only when started '
            "with a callback URL and secret)</p>"
        )
        return f'<section id="deliveries"><h2>Callback deliveries</h2>{body}</section>'
    events = "".join(
        f'<tr class="delivery" data-event-type="{_e(ev["EventType"])}" '
        f'data-attempts="{ev["Attempts"]}" data-outcome="{_e(ev["Outcome"])}">'
        f"<td>{_e(ev['EventType'])}</td><td><code>{_e(ev['TaskId'])}</code></td>"
        f"<td><code>{_e(ev['EventId'])}</code></td><td>{ev['Attempts']}</td>"
        f"<td>{_e(ev['Outcome'])}</td><td>{_e(ev['Status'])}</td></tr>"
        for ev in reversed(view["Events"])
    )
    attempts = "".join(
        f"<tr><td>{_e(a['EventType'])}</td><td><code>{_e(a['EventId'])}</code></td>"
        f"<td>{a['Attempt']}</td><td>{_e(a['Status'])}</td><td>{'ok' if a['Ok'] else 'failed'}</td>"
        f"<td>{_e(a['Error'])}</td><td>{a['Seconds']} s</td></tr>"
        for a in list(reversed(view["Attempts"]))[:ATTEMPTS_SHOWN]
    )
    return (
        '<section id="deliveries"><h2>Callback deliveries</h2><table><thead><tr>'
        "<th>event</th><th>TaskId</th><th>EventId</th><th>attempts</th><th>outcome</th>"
        f"<th>last HTTP status</th></tr></thead><tbody>{events}</tbody></table>"
        "<details><summary>every attempt</summary><table><thead><tr><th>event</th>"
        "<th>EventId</th><th>attempt</th><th>status</th><th>result</th><th>error</th>"
        f"<th>time</th></tr></thead><tbody>{attempts}</tbody></table></details></section>"
    )


def render_live(sim: SimulatorLike, recorder: RequestRecorder) -> str:
    """``<main id="live">``: the clock, tasks, rooms, requests and deliveries."""
    rooms = rooms_view(sim)
    published = {
        (room["AppId"], room["RoomId"], s["UserId"], s["StreamType"])
        for room in rooms["Rooms"]
        for s in room["Streams"]
        if s["Published"]
    }
    return (
        '<main id="live">'
        + _clock(sim)
        + _tasks(sim, published)
        + _rooms(rooms)
        + _requests(recorder)
        + _deliveries(sim)
        + "</main>"
    )


def _controls(has_token: bool) -> str:
    disabled = "" if has_token else " disabled"
    note = (
        ""
        if has_token
        else '<p class="error">served without the admin token: the controls are off</p>'
    )
    quick = "".join(
        f'<button type="button" data-advance="{s}"{disabled}>+{label}</button>'
        for s, label in ((10, "10 s"), (60, "1 min"), (180, "3 min"), (3600, "1 h"))
    )
    return (
        '<section id="controls"><h2>Controls</h2>'
        '<form id="advance-form"><label>advance the clock by '
        '<input id="advance-seconds" name="Seconds" type="number" min="0" step="any" '
        f'value="60" required></label> s <button id="advance" type="submit"{disabled}>'
        f"advance</button>{quick}</form>"
        '<form id="stream-form">'
        '<input name="AppId" placeholder="AppId" required>'
        '<input name="RoomId" placeholder="RoomId" required>'
        '<input name="UserId" placeholder="UserId" required>'
        '<select name="StreamType"><option value="0">main</option>'
        '<option value="1">screen</option></select>'
        f'<button id="publish" type="submit" value="publish"{disabled}>publish</button>'
        f'<button id="unpublish" type="submit" value="unpublish"{disabled}>unpublish</button>'
        f'</form>{note}<p id="control-result" role="status"></p></section>'
    )


def render_page(
    sim: SimulatorLike,
    recorder: RequestRecorder,
    *,
    token: str | None,
    nonce: str,
    poll_ms: int = DEFAULT_POLL_MS,
) -> str:
    """The whole dashboard page. `token` is embedded for the controls (None: controls off);
    `nonce` is the Content-Security-Policy nonce of the inline style and script."""
    meta = f'<meta name="simulator-token" content="{_e(token)}">' if token else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>RTC recording simulator</title>{meta}"
        f'<style nonce="{_e(nonce)}">{STYLE}</style></head>'
        f'<body data-poll-ms="{int(poll_ms)}"><header><h1>RTC recording simulator</h1>'
        '<span id="refresh-state">live</span></header>'
        + _controls(bool(token))
        + render_live(sim, recorder)
        + f'<script nonce="{_e(nonce)}">{SCRIPT}</script></body></html>'
    )
