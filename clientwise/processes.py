"""The processes Clientwise needs, started and stopped together: web, task worker(s) and scheduler.

`clientwise serve` (and so `./run demo`) runs Django's development server with one worker and the scheduler;
`clientwise serve --production` runs gunicorn (N processes × T threads) with static files collected once and
served by WhiteNoise, M task workers and the scheduler. Honcho supervises them: their output is interleaved with a
name prefix, Ctrl+C or SIGTERM stops all of them, and when one of them ends the others are stopped too (so a
service manager such as systemd sees the failure and restarts the set). `process_set` is the plan as plain data;
the README and docs/deploy.md show the same commands as a Procfile for other supervisors.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]


def process_set(*, addr: str, production: bool = False, web_processes: int = 2, web_threads: int = 4,
                task_workers: int = 1, python: str | None = None) -> list[ProcessSpec]:
    """What runs: web (development server, or gunicorn in production), `task_workers` task workers, one scheduler."""
    py = python or sys.executable
    if production:
        web = (py, "-m", "gunicorn", "clientwise.wsgi:application", "--bind", addr,
               "--workers", str(web_processes), "--threads", str(web_threads), "--worker-class", "gthread",
               "--access-logfile", "-", "--timeout", "120", "--graceful-timeout", "30", "--no-control-socket")
    else:
        web = (py, "-m", "clientwise", "runserver", addr, "--noreload")
    specs = [ProcessSpec("web", web)]
    worker = (py, "-m", "clientwise", "worker", "--no-reload")
    for i in range(max(0, task_workers)):
        specs.append(ProcessSpec("worker" if task_workers == 1 else f"worker{i + 1}", worker))
    specs.append(ProcessSpec("scheduler", (py, "-m", "clientwise", "scheduler")))
    return specs


def procfile(specs: list[ProcessSpec]) -> str:
    """The same plan as a Procfile (for honcho, foreman, or a platform that reads one)."""
    return "".join(f"{s.name}: {shlex.join(s.argv)}\n" for s in specs)


def run(specs: list[ProcessSpec], *, env: dict[str, str] | None = None) -> int:
    """Start every process, relay their output, stop them all when one ends or on Ctrl+C/SIGTERM; returns the
    exit code (that of the first process to end, or 130/143 for a signal)."""
    from honcho.manager import Manager

    manager = Manager()
    child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    for spec in specs:
        manager.add_process(spec.name, shlex.join(spec.argv), env=child_env)
    manager.loop()
    return manager.returncode or 0
