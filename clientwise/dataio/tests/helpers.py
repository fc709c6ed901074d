"""Helpers for import tests."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile


def upload(name: str, data: bytes | str, encoding: str = "utf-8") -> SimpleUploadedFile:
    if isinstance(data, str):
        data = data.encode(encoding)
    return SimpleUploadedFile(name, data)


def csv_text(rows: list[list[str]]) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def run(actor, kind: str, name: str, data, *, source: str = "pos", mapping=None, options=None, encoding="utf-8",
        **run_kw):
    """Upload, keep the suggested mapping unless given, run to the end; returns the refreshed job."""
    from clientwise.dataio import services

    job = services.create_job(actor=actor, kind=kind, upload=upload(name, data, encoding), source=source,
                              mapping=mapping, options=options)
    return services.run_import(job_id=job.pk, **run_kw)
