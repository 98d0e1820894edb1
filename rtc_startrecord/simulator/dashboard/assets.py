"""The dashboard page's style sheet and script, inline (no build step, nothing fetched)."""

from __future__ import annotations

from typing import Final

__all__ = ["SCRIPT", "STYLE"]

STYLE: Final = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2230;background:#f4f5f8}
header{background:#1d2230;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header h1{font-size:18px;margin:0}
#refresh-state{font-size:12px;opacity:.8}
#controls,main>section{background:#fff;margin:12px 16px;padding:8px 16px;border-radius:6px;
box-shadow:0 1px 2px #0002}
#controls form{display:inline-flex;gap:6px;align-items:center;margin:4px 24px 4px 0}
#controls input{width:9em}
#control-result{min-height:1.4em;margin:4px 0}
.error{color:#b3261e}.muted{color:#6b7080;font-weight:normal;font-size:12px}
h2{font-size:16px;margin:4px 0 8px}h3{font-size:14px;margin:4px 0}
table{border-collapse:collapse;width:100%;font-size:12px}
th,td{border-bottom:1px solid #e3e5ea;padding:3px 6px;text-align:left;vertical-align:top}
article.task{border:1px solid #e3e5ea;border-radius:6px;padding:6px 10px;margin:8px 0}
dl.ids{display:grid;grid-template-columns:repeat(7,auto auto);gap:2px 8px;margin:4px 0;
font-size:12px;justify-content:start}
dl.ids dt{color:#6b7080}dl.ids dd{margin:0}
.task-body{display:grid;grid-template-columns:1fr auto;gap:12px}
.svg svg{max-width:420px;height:auto;border:1px solid #ccd}
table.legend{width:auto;margin-top:4px}
.status{padding:1px 6px;border-radius:8px;color:#fff;background:#6b7080;margin-right:6px}
.status-running{background:#1a7f37}.status-ended{background:#3d5afe}.status-failed{background:#b3261e}
.stop-reason{font-weight:normal;color:#3d5afe}
tr.rejected td{background:#fff4f3}
ul.problems,ul.warnings{margin:2px 0;padding-left:18px}
code.path{color:#b3261e}
button{cursor:pointer}
"""

SCRIPT: Final = """
(function () {
  "use strict";
  var tokenMeta = document.querySelector('meta[name="simulator-token"]');
  var token = tokenMeta ? tokenMeta.getAttribute("content") : "";
  var pollMs = Number(document.body.getAttribute("data-poll-ms")) || 1000;
  var stateEl = document.getElementById("refresh-state");
  var resultEl = document.getElementById("control-result");
  var inflight = null;

  function say(text, isError) {
    resultEl.textContent = text;
    resultEl.className = isError ? "error" : "";
  }

  async function load() {
    try {
      var r = await fetch("/_simulator/?part=live", {cache: "no-store"});
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      var t = document.createElement("template");
      t.innerHTML = await r.text();
      var live = t.content.getElementById("live");
      if (live) { document.getElementById("live").replaceWith(live); }
      stateEl.textContent = "updated " + new Date().toLocaleTimeString();
      stateEl.className = "";
    } catch (err) {
      stateEl.textContent = "cannot reach the simulator (" + err.message + ")";
      stateEl.className = "error";
    }
  }

  // The poll skips a round while a load runs; after a control, wait for it and load again.
  function refresh(force) {
    if (inflight && !force) { return inflight; }
    var before = inflight || Promise.resolve();
    var next = before.then(load).finally(function () {
      if (inflight === next) { inflight = null; }
    });
    inflight = next;
    return next;
  }

  async function admin(path, body) {
    if (!token) { throw new Error("this page was served without the admin token"); }
    var r = await fetch("/_simulator/api/" + path, {
      method: "POST",
      cache: "no-store",
      headers: {"Content-Type": "application/json", "X-Simulator-Token": token},
      body: JSON.stringify(body)
    });
    var answer = null;
    try { answer = await r.json(); } catch (e) { answer = null; }
    if (!r.ok) {
      var err = answer && answer.Error;
      throw new Error(err ? err.Code + ": " + err.Message : "HTTP " + r.status);
    }
    return answer;
  }

  async function act(path, body, done) {
    var text, isError = false;
    try {
      text = done(await admin(path, body));
    } catch (err) {
      text = path + " failed: " + err.message;
      isError = true;
    }
    await refresh(true);
    say(text, isError);  // after the refresh: what it says is on the page
  }

  function streamBody(app, room, user, type) {
    return {AppId: app, RoomId: room, UserId: user, StreamType: Number(type) || 0};
  }

  document.getElementById("advance-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var seconds = Number(document.getElementById("advance-seconds").value);
    act("advance", {Seconds: seconds}, function (a) {
      var ended = (a.Ended || []).map(function (t) { return t.TaskId; });
      return "advanced " + a.AdvancedMs / 1000 + " s" +
        (ended.length ? "; ended: " + ended.join(", ") : "");
    });
  });
  document.querySelectorAll("button[data-advance]").forEach(function (b) {
    b.addEventListener("click", function () {
      document.getElementById("advance-seconds").value = b.getAttribute("data-advance");
      document.getElementById("advance-form").requestSubmit();
    });
  });
  document.getElementById("stream-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var op = ev.submitter ? ev.submitter.value : "publish";
    var f = ev.target.elements;
    var body = streamBody(f.AppId.value, f.RoomId.value, f.UserId.value, f.StreamType.value);
    act(op, body, function () { return op + "ed " + body.UserId + " in " + body.RoomId; });
  });
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("button.stream-op");
    if (!b) { return; }
    var op = b.getAttribute("data-op");
    var body = streamBody(b.getAttribute("data-app-id"), b.getAttribute("data-room-id"),
      b.getAttribute("data-user-id"), b.getAttribute("data-stream-type"));
    act(op, body, function () { return op + "ed " + body.UserId + " in " + body.RoomId; });
  });

  setInterval(function () { if (!document.hidden) { refresh(false); } }, pollMs);
})();
"""
