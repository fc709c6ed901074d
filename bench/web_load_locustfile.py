"""The load of bench/bench_web_load.py, run by locust (headless, one process): every simulated client sends GETs
back to back, no think time, walking the plan's paths from its own offset.

The plan (JSON, path in $WEB_LOAD_PLAN) gives the paths, the headers (API token), the cookies (session), the status
expected at the end of the request — redirects are followed inside the timed request, as a browser does — and
optionally a text the final body must hold. Each request's wall time, end time and outcome go to
$WEB_LOAD_OUT (JSON) when the run stops, so the bench computes its own exact percentiles and rates.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from http.cookiejar import Cookie
from pathlib import Path

from locust import FastHttpUser, events, task

PLAN = json.loads(Path(os.environ["WEB_LOAD_PLAN"]).read_text(encoding="utf-8"))
SAMPLES: list[tuple[float, float, int]] = []  # (end time, ms, ok)
_offsets = itertools.count()


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    SAMPLES.append((time.time(), float(response_time), 0 if exception else 1))


@events.quitting.add_listener
def _dump(environment, **kwargs):
    with open(os.environ["WEB_LOAD_OUT"], "w", encoding="utf-8") as fh:
        json.dump({"samples": SAMPLES}, fh)


class Client(FastHttpUser):
    # connection reuse like a browser or an API client that keeps its connection open
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self):
        # a session cookie goes into the client's jar, so it is sent again on the redirect (a header is not)
        for name, value in PLAN.get("cookies", {}).items():
            self.client.cookiejar.set_cookie(Cookie(
                0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None, False, None, None,
                {}))
        paths = PLAN["paths"]
        start = next(_offsets) * max(1, len(paths) // 16)
        self.paths = itertools.cycle(paths[start:] + paths[:start])

    @task
    def get(self):
        path = next(self.paths)
        with self.client.get(path, headers=PLAN["headers"], name=PLAN["kind"], catch_response=True) as response:
            if response.status_code != PLAN["status"]:
                response.failure(f"status {response.status_code}")
            elif PLAN.get("contains") and PLAN["contains"].encode() not in (response.content or b""):
                response.failure("expected text missing")
            else:
                response.success()
