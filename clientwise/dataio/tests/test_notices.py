"""A background import and a data-quality run tell the person who started them that they finished (with counts) or
failed (with the error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from clientwise.dataio import services
from clientwise.dataio.models import ImportJob
from clientwise.dataio.tests.helpers import upload
from clientwise.dataio.tests.test_imports import BAD_CUSTOMERS, customers_file
from clientwise.notifications.models import Notification
from clientwise.notifications.queries import present

pytestmark = pytest.mark.django_db


def _job(org):
    return services.create_job(actor=org.manager_a, kind="customers", upload=upload("会员.csv",
                               customers_file(BAD_CUSTOMERS)), source="pos")


def test_finished_import_tells_who_started_it(org):
    job = _job(org)
    services.enqueue_import(actor=org.manager_a, job_id=job.pk)  # the immediate backend runs the task at once
    (n,) = Notification.objects.filter(recipient=org.manager_a)
    assert (n.kind, n.target_type, n.target_id, n.url) == ("job_done", "dataio.importjob", job.pk,
                                                            f"/data/imports/{job.pk}/")
    assert (n.params["created"], n.params["rejected"], n.params["name"]) == (2, 6, "会员.csv")
    with translation.override("en"):
        item = present(n)
    assert item.title == "Import 会员.csv finished"
    assert item.body == "2 created, 0 updated, 0 unchanged, 6 rejected"
    assert not Notification.objects.exclude(recipient=org.manager_a).exists()


def test_failed_import_tells_who_started_it_with_the_error(org):
    job = _job(org)
    Path(services.import_dir() / job.file).unlink()  # the upload is gone when the worker gets to it
    services.enqueue_import(actor=org.manager_a, job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    (n,) = Notification.objects.filter(recipient=org.manager_a)
    assert n.kind == "job_failed" and n.params["variant"] == "import" and n.params["error"]
    with translation.override("zh-hans"):
        assert present(n).title == "导入 会员.csv 失败"


def test_quality_run_tells_who_asked(org, monkeypatch):
    from clientwise.dataio.quality import services as quality

    quality.request_run(actor=org.admin)
    (n,) = Notification.objects.filter(recipient=org.admin, kind="job_done")
    assert n.params["variant"] == "quality" and n.url == "/data/quality/"

    def broken(run):
        raise RuntimeError("disk full")

    monkeypatch.setattr(quality, "_summarize", broken)
    with pytest.raises(RuntimeError):
        quality.run_quality(actor=org.admin)  # by hand (the CLI): nobody is notified
    assert not Notification.objects.filter(kind="job_failed").exists()
    quality.request_run(actor=org.admin)
    (failed,) = Notification.objects.filter(recipient=org.admin, kind="job_failed")
    assert "disk full" in failed.params["error"]
