"""The simulator's dashboard: one page at ``GET /_simulator/`` on the simulator's own port.

Tasks (ids, version, mode, status, stop reason, times on the simulated clock, files, the custom
layout drawn), the rooms' published streams, the last API requests (with the problem paths of a
rejected body, secrets redacted), callback deliveries and the simulated clock, with controls
that call the admin API (advance, publish, unpublish). No build step, no CDN: server-rendered
HTML and one inline script that refreshes it. See docs/dashboard.md.

    app = DashboardMiddleware(router, simulator)   # outside the router and the fault injector
"""

from __future__ import annotations

from .middleware import DASHBOARD_PATH, JSON_VIEWS, DashboardMiddleware
from .page import render_live, render_page
from .recorder import Problem, RecordedRequest, RequestRecorder, split_problems

__all__ = [
    "DASHBOARD_PATH",
    "JSON_VIEWS",
    "DashboardMiddleware",
    "Problem",
    "RecordedRequest",
    "RequestRecorder",
    "render_live",
    "render_page",
    "split_problems",
]
