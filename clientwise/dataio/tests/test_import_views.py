"""Import pages: upload → mapping → preview → run → detail → errors download → replay; grids; access."""

from __future__ import annotations

import json

from clientwise.customers.models import Customer
from clientwise.dataio.models import ImportJob, MappingTemplate
from clientwise.dataio.tests.helpers import csv_text, upload

DATA = csv_text([["客户", "手机", "卡号"], ["张伟", "13812345678", "M001"], ["李娜", "123", "M002"]])


def test_the_whole_flow(org, web_client):
    c = web_client(org.admin)
    assert c.get("/data/imports/").status_code == 200
    r = c.post("/data/imports/new/", {"kind": "customers", "source": "pos", "file": upload("m.csv", DATA)})
    job = ImportJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/data/imports/{job.pk}/mapping/"
    page = c.get(f"/data/imports/{job.pk}/mapping/").content.decode()
    assert '<option value="客户" selected>' in page and '<option value="卡号" selected>' in page
    r = c.post(f"/data/imports/{job.pk}/mapping/", {"map_name": "客户", "map_mobile": "手机",
                                                    "map_member_number": "卡号", "key": "member_number",
                                                    "save_as": "pos members"})
    assert r.status_code == 302 and r["Location"] == f"/data/imports/{job.pk}/preview/"
    assert MappingTemplate.objects.get().mapping == {"name": "客户", "mobile": "手机", "member_number": "卡号"}
    preview = c.get(f"/data/imports/{job.pk}/preview/")
    html = preview.content.decode()
    assert "<strong>Mobile</strong>: “123” is not a valid phone number." in html
    assert Customer.objects.count() == 0
    assert preview.context["result"].created == 1 and preview.context["result"].rejected == 1
    r = c.post(f"/data/imports/{job.pk}/run/")
    assert r.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.created, job.rejected) == ("done", 1, 1)
    detail = c.get(f"/data/imports/{job.pk}/").content.decode()
    # the problem in words, not its code
    assert 'id="quarantine-table"' in detail and "Invalid phone number" in detail and "invalid_phone" not in detail
    progress = c.get(f"/data/imports/{job.pk}/progress/", headers={"HX-Request": "true"})
    assert progress["HX-Refresh"] == "true"
    download = c.get(f"/data/imports/{job.pk}/errors.csv")
    text = b"".join(download.streaming_content).decode("utf-8")
    assert download["Content-Type"].startswith("text/csv")
    assert text.startswith("\ufeff客户,手机,卡号,_row,")
    fixed = text.lstrip("\ufeff").replace("李娜,123,", "李娜,13900001111,")
    r = c.post(f"/data/imports/{job.pk}/replay/", {"file": upload("fixed.csv", fixed.encode("utf-8-sig"))})
    assert r.status_code == 302
    job.refresh_from_db()
    assert (job.created, job.rejected, job.replayed) == (2, 0, 1)
    assert Customer.objects.get(member_number="M002").mobile == "+8613900001111"


def test_upload_errors_show_on_the_form(org, web_client):
    c = web_client(org.admin)
    r = c.post("/data/imports/new/", {"kind": "customers", "source": "pos",
                                      "file": upload("m.csv", bytes(range(128, 256)) * 40)})
    assert r.status_code == 422
    assert "encoding could not be recognised" in r.content.decode()
    assert ImportJob.objects.count() == 0


def test_mapping_errors_are_shown(org, web_client):
    c = web_client(org.admin)
    c.post("/data/imports/new/", {"kind": "customers", "source": "pos", "file": upload("m.csv", DATA)})
    job = ImportJob.objects.get()
    r = c.post(f"/data/imports/{job.pk}/mapping/", {"map_mobile": "手机"})
    assert r.status_code == 422
    assert "Choose the column for “name”." in r.content.decode()


def test_access(org, web_client):
    c = web_client(org.admin)
    c.post("/data/imports/new/", {"kind": "customers", "source": "pos", "file": upload("m.csv", DATA)})
    job = ImportJob.objects.get()
    assert web_client(org.rep_a).get("/data/imports/").status_code == 403
    assert web_client(org.rep_a).get("/data/grid/customers/").status_code == 403
    assert web_client(org.manager_a).get(f"/data/imports/{job.pk}/").status_code == 404
    assert web_client(org.manager_a).get(f"/data/imports/{job.pk}/errors.csv").status_code == 404
    assert web_client(org.manager_a).get("/data/imports/").status_code == 200
    from django.test import Client

    assert Client().get("/data/imports/").status_code == 302
    home = web_client(org.manager_a).get("/").content.decode()
    assert 'href="/data/imports/"' in home
    assert 'href="/data/imports/"' not in web_client(org.rep_a).get("/").content.decode()


def test_grid_page_validate_and_save(org, web_client):
    c = web_client(org.manager_a)
    page = c.get("/data/grid/customers/")
    assert page.status_code == 200 and b"dataio/grid.js" in page.content
    assert c.get("/data/grid/orders/").status_code == 200
    assert c.get("/data/grid/planets/").status_code == 404
    rows = [{"name": "张伟", "mobile": "13812345678"}, {}, {"name": "", "mobile": "138"}]
    r = c.post("/data/grid/customers/validate/", json.dumps({"rows": rows}), content_type="application/json")
    assert r.status_code == 200
    assert [(x["row"], [e["field"] for e in x["errors"]]) for x in r.json()["rows"]] == [
        (1, []), (3, ["name", "mobile"])]
    assert Customer.objects.count() == 0
    r = c.post("/data/grid/customers/save/", json.dumps({"rows": rows}), content_type="application/json")
    body = r.json()
    assert (body["created"], body["rejected"], [x["row"] for x in body["rows"]]) == (1, 1, [3])
    job = ImportJob.objects.get(pk=body["job_id"])
    assert (job.source, job.actor_id) == ("grid", org.manager_a.pk)
    assert body["job_url"] == f"/data/imports/{job.pk}/"
    r = c.post("/data/grid/customers/save/", "nope", content_type="application/json")
    assert r.status_code == 422 and r.json()["field"] == "rows"


def test_grid_orders(org, web_client, catalog):
    from clientwise.customers.services import create_customer

    create_customer(actor=org.admin, data={"name": "张伟", "member_number": "M001"})
    c = web_client(org.admin)
    rows = [{"number": "G-1", "customer_member_number": "M001", "ordered_at": "2025-03-01", "sku": "P-1",
             "quantity": "2"},
            {"number": "G-1", "customer_member_number": "M001", "ordered_at": "2025-03-01", "sku": "P-2",
             "quantity": "1"}]
    body = c.post("/data/grid/orders/save/", json.dumps({"rows": rows}), content_type="application/json").json()
    assert (body["created"], body["rejected"]) == (2, 0)
    assert Customer.objects.get(member_number="M001").order_count == 1


def test_mapping_key_choices_are_field_labels(org, web_client):
    """The match-on drop-down names fields in words; the code is only the option's value (issue 15: it listed
    mobile, member_number, external_id)."""
    c = web_client(org.admin)
    c.post("/data/imports/new/", {"kind": "customers", "source": "pos", "file": upload("m.csv", DATA)})
    job = ImportJob.objects.get()
    page = c.get(f"/data/imports/{job.pk}/mapping/").content.decode()
    key_select = page[page.index('id="f-key"'):page.index("</select>", page.index('id="f-key"'))]
    assert '<option value="mobile">Mobile</option>' in key_select
    assert '<option value="member_number">Member number</option>' in key_select
    assert ">mobile<" not in key_select and ">member_number<" not in key_select
