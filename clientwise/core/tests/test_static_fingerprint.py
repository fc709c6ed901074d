"""`clientwise serve --production` collects static files only when their sources changed (processes.collect_static):
the fingerprint of the sources, package versions and storage settings stored beside the manifest decides."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command as real_call_command
from django.utils.functional import empty

from clientwise import processes

MANIFEST_STORAGE = {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}


@pytest.fixture
def static(settings, tmp_path, monkeypatch):
    """A static root and one source directory of our own, the manifest storage (WhiteNoise's compression would take
    minutes over the vendored libraries, and the skip does not depend on it); every collectstatic run is counted."""
    src = tmp_path / "src"
    (src / "css").mkdir(parents=True)
    (src / "css" / "site.css").write_text("body { background: url('../img/dot.png'); }\n")
    (src / "img").mkdir()
    (src / "img" / "dot.png").write_bytes(b"\x89PNG fake")
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATICFILES_DIRS = [("own", src)]
    settings.STORAGES = {**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}
    staticfiles_storage._wrapped = empty  # the lazy storage re-reads the settings
    runs = []

    def counting_call_command(name, *args, **kwargs):
        runs.append(name)
        return real_call_command(name, *args, **kwargs)

    monkeypatch.setattr("django.core.management.call_command", counting_call_command)
    yield src, Path(settings.STATIC_ROOT), runs
    staticfiles_storage._wrapped = empty


def _hashed(root: Path, name: str) -> str:
    return json.loads((root / "staticfiles.json").read_text())["paths"][name]


def test_collects_once_then_only_when_the_sources_change(static):
    src, root, runs = static
    assert processes.collect_static() is True
    first = _hashed(root, "own/css/site.css")
    assert (root / first).exists() and (root / processes.STATIC_FINGERPRINT).exists()
    assert processes.collect_static() is False  # same sources: nothing to do
    assert processes.collect_static() is False
    assert runs == ["collectstatic"]

    # Same size, same modification time, other content: still seen (the content is hashed).
    css = src / "css" / "site.css"
    stat = css.stat()
    css.write_text(css.read_text().replace("body", "main"))
    os.utime(css, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert processes.collect_static() is True
    assert _hashed(root, "own/css/site.css") != first and runs == ["collectstatic"] * 2

    (src / "img" / "new.svg").write_text("<svg/>")  # a new file
    assert processes.collect_static() is True
    assert "own/img/new.svg" in json.loads((root / "staticfiles.json").read_text())["paths"]
    assert processes.collect_static() is False and len(runs) == 3


def test_a_new_package_version_a_lost_manifest_or_other_settings_collect_again(static, monkeypatch, settings):
    _src, root, runs = static
    assert processes.collect_static() is True
    from importlib import metadata

    real_version = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "99.0" if name == "whitenoise" else real_version(name))
    assert processes.collect_static() is True  # WhiteNoise upgraded
    assert processes.collect_static() is False
    (root / "staticfiles.json").unlink()
    assert processes.collect_static() is True  # the manifest is gone: the fingerprint alone is not enough
    settings.STATIC_URL = "/assets/"
    assert processes.collect_static() is True
    assert processes.collect_static(force=True) is True
    assert len(runs) == 5


def test_a_failed_run_leaves_no_fingerprint(static, monkeypatch):
    _src, root, runs = static
    assert processes.collect_static() is True

    def broken(name, *args, **kwargs):
        raise RuntimeError("disk full")

    (root / "staticfiles.json").unlink()
    monkeypatch.setattr("django.core.management.call_command", broken)
    with pytest.raises(RuntimeError):
        processes.collect_static()
    assert not (root / processes.STATIC_FINGERPRINT).exists()


def test_the_fingerprint_covers_the_product_sources(settings):
    """Over the real finders (the apps' static files and the vendored libraries), fast enough for every start."""
    import time

    started = time.perf_counter()
    first = processes.static_fingerprint()
    assert time.perf_counter() - started < 20
    assert first == processes.static_fingerprint()
    settings.STATIC_URL = "/other/"
    assert processes.static_fingerprint() != first
