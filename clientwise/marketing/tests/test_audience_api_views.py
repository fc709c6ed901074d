"""Audiences through the API and the pages: the same service behind both, errors as codes, fixed lists saved from
the customer list and the RFM cell's list, counts per reader's scope."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from clientwise.core.models import AuditLog
from clientwise.marketing.models import Audience

CITY = {"filters": [{"dimension": "customer_city", "op": "in", "values": ["上海"]}]}


def test_api_create_count_and_read(world, org, api_client):
    api = api_client(org.marketer)
    r = api.post("marketing/audiences", {"name": "上海", "rule": CITY})
    assert r.status_code == 201, r.json()
    aid = r.json()["id"]
    assert r.json()["kind"] == "dynamic" and r.json()["created_by"] == "marketer"
    assert api.get(f"marketing/audiences/{aid}/count").json() == {"count": 4}
    assert api_client(org.manager_a).get(f"marketing/audiences/{aid}/count").json() == {"count": 2}
    assert api.post("marketing/audiences/preview", {"rule": {"consent": ["sms"]}}).json() == {"count": 5}
    listed = api.get("marketing/audiences").json()
    assert [a["id"] for a in listed["items"]] == [aid]
    r = api.patch(f"marketing/audiences/{aid}", {"name": "上海全部"})
    assert r.status_code == 200 and r.json()["name"] == "上海全部"


def test_api_bad_rule_is_a_422_with_its_field(world, org, api_client):
    r = api_client(org.marketer).post("marketing/audiences", {"name": "x", "rule": {
        "filters": [{"dimension": "shoe_size", "values": [42]}]}})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_audience_rule" and r.json()["field"] == "rule.filters"
    assert not Audience.objects.exists()


def test_api_refuses_readers_and_outsiders(world, org, api_client):
    body = {"name": "x", "rule": CITY}
    assert api_client(org.analyst).post("marketing/audiences", body).status_code == 403
    assert api_client(org.rep_a).get("marketing/audiences").status_code == 403
    assert api_client(None).get("marketing/audiences").status_code == 401
    assert api_client(org.marketer).get("marketing/audiences/999999").status_code == 404
    assert not Audience.objects.exists()


def test_api_upload_and_export(world, org, api_client):
    c = world.customers
    f = SimpleUploadedFile("l.csv", f"{c[0].pk}\n13800000005\nghost\n".encode())
    r = api_client(org.marketer).client.post("/api/v1/marketing/audiences/upload", {"file": f, "name": "up"},
                                              headers=api_client(org.marketer).headers)
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["rows"], body["matched"], body["unmatched"]) == (3, 2, ["ghost"])
    r = api_client(org.marketer).get(f"marketing/audiences/{body['audience']['id']}/export")
    assert r.status_code == 200 and r["X-Export-Rows"] == "2"
    text = b"".join(r.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("id,name,kind")
    assert AuditLog.objects.filter(action="export.audience").count() == 1


def test_api_fixed_lists_from_selections(world, org, api_client):
    api = api_client(org.marketer)
    r = api.post("marketing/audiences/from-customer-list", {"name": "上海", "filters": {"city": "上海"}})
    assert r.status_code == 201 and r.json()["member_count"] == 4 and r.json()["origin"] == "customer_list"
    r = api.post("marketing/audiences/from-scores", {"name": "at risk", "filters": {"segment": "at_risk"}})
    assert r.status_code == 201 and r.json()["member_count"] == 4 and r.json()["origin"] == "scores"


def test_builder_page_saves_a_rule_and_previews_its_count(world, org, web_client):
    c = web_client(org.marketer)
    assert c.get("/marketing/audiences/new/").status_code == 200
    form = {"name": "短信同意的上海客户", "f0_dimension": "customer_city", "f0_op": "in", "f0_values": "上海，杭州",
            "consent": ["sms"]}
    preview = c.post("/marketing/audiences/preview/", form)
    assert preview.status_code == 200 and '<span class="mk-count">4</span>' in preview.content.decode()
    r = c.post("/marketing/audiences/new/", form)
    a = Audience.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/marketing/audiences/{a.pk}/"
    assert a.rule["filters"] == [{"dimension": "customer_city", "op": "in", "values": ["上海", "杭州"]}]
    page = c.get(f"/marketing/audiences/{a.pk}/").content.decode()
    assert '<span class="mk-count">4</span>' in page and "甲一" in page


def test_builder_shows_errors_instead_of_saving(world, org, web_client):
    r = web_client(org.marketer).post("/marketing/audiences/new/", {"name": "", "rule_json": "{nope"})
    assert r.status_code == 422 and not Audience.objects.exists()
    assert "Give it a name." in r.content.decode()


def test_save_as_audience_buttons_and_their_post(world, org, web_client):
    marketer = web_client(org.marketer)
    page = marketer.get("/customers/").content.decode()
    assert "Save as audience" in page
    assert "Save as audience" not in web_client(org.rep_a).get("/customers/").content.decode()
    assert "Save as audience" in marketer.get("/analytics/customers/?r=1&f=1").content.decode()
    r = marketer.post("/marketing/audiences/save/", {"source": "customers", "city": "上海"}, HTTP_HX_REQUEST="true")
    a = Audience.objects.get()
    assert r.status_code == 204 and r["HX-Redirect"] == f"/marketing/audiences/{a.pk}/"
    assert a.member_count == 4 and a.origin == "customer_list"
    r = marketer.post("/marketing/audiences/save/", {"source": "scores", "r": "1", "f": "1"})
    b = Audience.objects.exclude(pk=a.pk).get()
    assert r.status_code == 302 and b.member_count == 2 and b.rule == {"scores": {"r": 1, "f": 1}}


def test_audience_page_counts_in_the_readers_scope(world, org, web_client):
    from clientwise.marketing import services

    a = services.create_audience(actor=org.marketer, name="上海", rule=CITY)
    page = web_client(org.manager_a).get(f"/marketing/audiences/{a.pk}/").content.decode()
    assert '<span class="mk-count">2</span>' in page and "乙一" not in page
    assert web_client(org.rep_a).get(f"/marketing/audiences/{a.pk}/").status_code == 403
