"""The "leads" import kind: sales' rows go through dataio's engine (any encoding, Chinese headers, quarantine)
and through the same row rule as the API's lead import."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clientwise.dataio import services as imports
from clientwise.dataio.models import QuarantinedRow
from clientwise.dataio.registry import kinds
from clientwise.sales.models import Lead

GBK_FILE = "姓名,公司,手机,城市,外部编号\n王强,苏州精工,13812345678,苏州,f1\n,,,,\n李娜,,123,杭州,f2\n".encode("gbk")


def test_leads_is_a_registered_kind():
    assert "leads" in {k.name for k in kinds()}


@pytest.mark.django_db
def test_gbk_csv_with_chinese_headers_runs_through_the_engine(org):
    job = imports.create_job(actor=org.manager_a, kind="leads", source="fair",
                             upload=SimpleUploadedFile("线索.csv", GBK_FILE, content_type="text/csv"))
    assert job.mapping["name"] == "姓名" and job.mapping["mobile"] == "手机" and job.mapping["external_id"] == "外部编号"
    job = imports.run_import(job_id=job.pk)
    assert (job.created, job.updated, job.rejected) == (1, 0, 1)
    lead = Lead.objects.get(source="fair", external_id="f1")
    assert (lead.company, lead.mobile, lead.channel) == ("苏州精工", "+8613812345678", "import")
    bad = QuarantinedRow.objects.get(job=job)
    assert bad.code == "invalid_phone" and bad.field == "mobile"
    # The same file again: the lead with that source and id is updated, not added twice.
    again = imports.run_import(job_id=imports.create_job(
        actor=org.manager_a, kind="leads", source="fair",
        upload=SimpleUploadedFile("线索.csv", GBK_FILE, content_type="text/csv")).pk)
    assert (again.created, again.updated) == (0, 1) and Lead.objects.filter(external_id="f1").count() == 1


@pytest.mark.django_db
def test_a_rep_imports_from_the_sales_page_without_the_import_right(org, web_client):
    response = web_client(org.rep_a).post(reverse("sales:lead_import"), {
        "file": SimpleUploadedFile("leads.csv", GBK_FILE, content_type="text/csv"), "source": "fair"})
    body = response.content.decode()
    assert response.status_code == 200 and 'id="import-result"' in body
    assert Lead.objects.get(external_id="f1").owner_id == org.rep_a.pk  # a rep's own import is theirs
    assert "123" in body  # the rejected row is listed with its problem


@pytest.mark.django_db
def test_roles_without_sales_change_cannot_import_leads(org):
    from clientwise.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        imports.create_job(actor=org.analyst, kind="leads", source="fair",
                           upload=SimpleUploadedFile("l.csv", GBK_FILE, content_type="text/csv"))
