"""The processes Clientwise needs, started and stopped together: web, task worker(s) and scheduler.

`clientwise serve` (and so `./run demo`) runs Django's development server with one worker and the scheduler;
`clientwise serve --production` runs gunicorn (N processes × T threads) with static files collected and served by
WhiteNoise (collected again only when the sources changed: `collect_static`), M task workers and the scheduler. Honcho supervises them: their output is interleaved with a
name prefix, Ctrl+C or SIGTERM stops all of them, and when one of them ends the others are stopped too (so a
service manager such as systemd sees the failure and restarts the set). `process_set` is the plan as plain data;
the README and docs/deploy.md show the same commands as a Procfile for other supervisors.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core import management
from honcho.manager import Manager


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
    manager = Manager()
    child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    for spec in specs:
        manager.add_process(spec.name, shlex.join(spec.argv), env=child_env)
    manager.loop()
    return manager.returncode or 0


# --- Static files -----------------------------------------------------------------------------------------------------

STATIC_FINGERPRINT = "clientwise-static.json"  # in STATIC_ROOT, beside the storage's manifest (staticfiles.json)
# The distributions whose code shapes what collectstatic writes (hashed names, compressed copies, the admin's and
# the apps' own files).
STATIC_PACKAGES = ("clientwise", "django", "whitenoise", "django-ninja", "django-htmx")


def static_fingerprint() -> str:
    """A hash of everything `collectstatic` turns into STATIC_ROOT: each source file the finders list (its path
    under STATIC_URL and its content), the versions of STATIC_PACKAGES, the static storage backend, STATIC_URL and
    the WHITENOISE_* settings. Reading the sources (about 60 MB, the charting library most of it) takes a fraction
    of a second; post-processing them takes minutes."""
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return ""

    config = {"packages": {name: version(name) for name in STATIC_PACKAGES},
              "storage": settings.STORAGES.get("staticfiles", {}), "url": settings.STATIC_URL,
              "whitenoise": {k: repr(getattr(settings, k)) for k in dir(settings) if k.startswith("WHITENOISE_")}}
    digest = hashlib.blake2b(json.dumps(config, sort_keys=True, default=str).encode(), digest_size=32)
    files = {}
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):  # collectstatic's default ignore patterns
            name = os.path.join(getattr(storage, "prefix", None) or "", path)
            files.setdefault(name, storage.path(path))  # the first finder wins, as in collectstatic
    for name in sorted(files):
        file_digest = hashlib.blake2b(digest_size=32)
        with open(files[name], "rb") as fh:
            while chunk := fh.read(1 << 20):
                file_digest.update(chunk)
        digest.update(f"{name}\0{file_digest.hexdigest()}\n".encode())
    return digest.hexdigest()


def collect_static(*, force: bool = False) -> bool:
    """Run `collectstatic` unless STATIC_ROOT already holds the output of these very sources: its fingerprint file
    (written after the last successful run) matches `static_fingerprint()` and the storage's manifest
    (staticfiles.json) is there.
    Returns whether it collected. `clientwise serve --production` calls this on every start, so a restart with
    unchanged sources skips WhiteNoise's post-processing (minutes of CPU: hashing and compressing every file)."""
    root = Path(settings.STATIC_ROOT)
    marker = root / STATIC_FINGERPRINT
    fingerprint = static_fingerprint()
    manifest = getattr(staticfiles_storage, "manifest_name", None)  # None for a storage without one
    if not force and marker.exists() and (manifest is None or (root / manifest).exists()):
        try:
            if json.loads(marker.read_text(encoding="utf-8")).get("fingerprint") == fingerprint:
                return False
        except (OSError, ValueError):
            pass  # unreadable: collect again
    marker.unlink(missing_ok=True)  # a run that fails half-way must not leave the old fingerprint behind
    management.call_command("collectstatic", interactive=False, verbosity=0)  # through the module: tests count runs
    root.mkdir(parents=True, exist_ok=True)
    partial = marker.with_suffix(".tmp")
    partial.write_text(json.dumps({"fingerprint": fingerprint}), encoding="utf-8")
    partial.replace(marker)
    return True
