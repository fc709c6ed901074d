"""Sales API: the permission matrix on every kind of endpoint, masking, bad input as 4xx JSON."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from clientwise.core.testing import assert_error, assert_permission_matrix
from clientwise.sales import services

WATCH = ("core.AuditLog", "customers.Interaction", "sales.Lead", "sales.Opportunity", "sales.StageVisit",
         "sales.Activity", "sales.OwnershipTransfer")
counter = itertools.count()


def test_create_and_read_lead_matrix_and_masking(org, api_client):
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, allowed_status=201, watch=WATCH,
                             call=lambda c: c.post("leads", {"name": f"API {next(counter)}", "mobile": "13811112222"}))
    lead_id = api_client(org.rep_a).get("leads").json()["items"][0]["id"]
    body = api_client(org.rep_a).get(f"leads/{lead_id}").json()
    assert body["mobile"] == "138****2222" and body["channel"] == "api" and body["owner_id"] == org.rep_a.pk
    assert api_client(org.manager_a).get(f"leads/{lead_id}").json()["mobile"] == "+8613811112222"
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             watch=WATCH, call=lambda c: c.get(f"leads/{lead_id}"))


def test_convert_and_move_matrix(org, api_client, make_customer):
    lead = services.create_lead(actor=org.rep_a, data={"name": "陈总", "company": "温州电器"})
    assert_permission_matrix(
        api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b, watch=WATCH,
        call=lambda c: c.post(f"leads/{lead.pk}/convert", {"opportunity": {"name": "温州电器 2027", "amount": "5000"}}))
    converted = api_client(org.rep_a).get(f"leads/{lead.pk}").json()
    assert converted["status"] == "converted" and converted["opportunity_id"]
    opp_id = converted["opportunity_id"]
    pipeline = api_client(org.rep_a).get("pipelines").json()[0]
    stages = {s["position"]: s["id"] for s in pipeline["stages"]}
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b, watch=WATCH,
                             call=lambda c: c.post(f"opportunities/{opp_id}/move", {"stage_id": stages[1]}))
    out = api_client(org.rep_a).post(f"opportunities/{opp_id}/move", {"stage_id": stages[6]})
    assert_error(out, 422, "lost_reason_required")
    won = api_client(org.rep_a).post(f"opportunities/{opp_id}/move", {"stage_id": stages[5]}).json()
    assert (won["status"], won["probability"], won["weighted_amount"]) == ("won", 100, "5000.00")
    history = api_client(org.rep_a).get(f"opportunities/{opp_id}/history").json()
    assert [h["stage_id"] for h in history] == [stages[0], stages[1], stages[5]]
    assert history[-1]["left_at"] is None and history[0]["left_at"] is not None


def test_opportunity_create_bad_input_and_filters(org, api_client, make_customer):
    c = make_customer()
    client = api_client(org.rep_a)
    assert_error(client.post("opportunities", {"customer_id": c.pk, "name": "x", "amount": "-1",
                                               "expected_close": "2026-12-01"}), 422)
    assert_error(client.post("opportunities", {"customer_id": c.pk}), 422)
    assert_error(client.post("opportunities", {"customer_id": 999999, "name": "x", "amount": "1",
                                               "expected_close": "2026-12-01"}), 404)
    for amount in ("100", "5000"):
        assert client.post("opportunities", {"customer_id": c.pk, "name": f"o{amount}", "amount": amount,
                                             "expected_close": "2026-12-01"}).status_code == 201
    assert [o["name"] for o in client.get("opportunities", {"min_amount": "1000"}).json()["items"]] == ["o5000"]
    assert client.get("opportunities").json()["items"][0]["customer_name"] == c.name
    assert api_client(org.rep_b).get("opportunities").json()["items"] == []
    assert_error(client.get("opportunities", {"limit": 0}), 422)


def test_forecast_funnel_and_key_accounts_endpoints(org, api_client, make_customer):
    c = make_customer()
    client = api_client(org.rep_a)
    client.post("opportunities", {"customer_id": c.pk, "name": "o", "amount": "1000",
                                  "expected_close": timezone.localdate().isoformat()})
    fc = client.get("forecast", {"months": 3}).json()
    assert fc["total"]["weighted"] == "100.00" and len(fc["by_month"]) == 3
    assert_error(client.get("forecast", {"months": 99}), 422)
    fn = client.get("funnel").json()
    assert fn["stages"][0]["reached"] == 1 and fn["open"] == 1
    assert api_client(org.norole).get("forecast").status_code == 403
    assert api_client(None).get("funnel").status_code == 401
    acc = client.post("key-accounts", {"customer_id": c.pk}).json()
    out = client.post(f"key-accounts/{acc['id']}/wallet", {"period": "2026-01-01", "our_volume": "25",
                                                           "total_demand": "100"}).json()
    assert out["share_of_wallet"] == 0.25 and out["relationship_history"][0]["to"] == "vendor"
    # A second month entered with an empty external id (as the page and many clients send it) is no clash.
    for month in ("2026-02-01", "2026-03-01"):
        r = client.post(f"key-accounts/{acc['id']}/wallet", {"period": month, "our_volume": "30",
                                                             "total_demand": "100", "external_id": ""})
        assert r.status_code == 200, r.content
    assert len(r.json()["wallet"]) == 3
    out = client.post(f"key-accounts/{acc['id']}/stage", {"stage": "preferred", "note": "框架协议"}).json()
    assert out["relationship_stage"] == "preferred"
    assert api_client(org.rep_b).get(f"key-accounts/{acc['id']}").status_code == 404
    assert_error(client.post(f"key-accounts/{acc['id']}/stage", {"stage": "best friends"}), 422)


def test_transfer_endpoint_matrix(org, api_client, make_customer):
    make_customer(owner=org.rep_a2)
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.manager_a, allowed_status=201,
                             denied_roles=("norole", "rep_a"), watch=WATCH,
                             call=lambda c: c.post("ownership-transfers", {"from_user_id": org.rep_a2.pk,
                                                                           "to_user_ids": [org.rep_a.pk]}))
    assert_error(api_client(org.manager_a).post("ownership-transfers", {"from_user_id": org.rep_a.pk,
                                                                        "to_user_ids": []}), 422)
    # A manager handing over to (or setting a quota for) someone outside their team: 403 naming the field.
    body = assert_error(api_client(org.manager_a).post("ownership-transfers", {
        "from_user_id": org.rep_a2.pk, "to_user_ids": [org.rep_b.pk]}), 403, "permission_denied")
    assert body["field"] == "to_user_ids"
    body = assert_error(api_client(org.manager_a).post("quotas", {"user_id": org.rep_b.pk, "month": "2026-12-01",
                                                                  "amount": "1000"}), 403, "permission_denied")
    assert body["field"] == "user_id"


@pytest.mark.parametrize("payload", [{"kind": "call", "subject": "x"}, {"subject": ""},
                                     {"subject": "x", "due_at": "2026-12-01T10:00", "remind_at": "2026-12-02T10:00"}])
def test_activity_bad_input(org, api_client, payload):
    assert_error(api_client(org.rep_a).post("activities", payload), 422)


def test_activity_and_note_endpoints(org, api_client, make_customer):
    c = make_customer()
    client = api_client(org.rep_a)
    act = client.post("activities", {"subject": "Visit", "kind": "meeting", "customer_id": c.pk,
                                     "due_at": "2026-12-03T10:00:00+08:00"})
    assert act.status_code == 201
    done = client.post(f"activities/{act.json()['id']}/complete", {}).json()
    assert done["done_at"] and done["outcome"] == "done"
    assert api_client(org.rep_b).post(f"activities/{act.json()['id']}/complete", {}).status_code == 404
    note = client.post("notes", {"body": "@manager_a 看看", "customer_id": c.pk}).json()
    assert note["mentions"] == ["manager_a"]
    imported = client.post("leads/import", {"source": "crm-x", "rows": [{"name": "A", "external_id": "1"},
                                                                        {"name": ""}]}).json()
    assert imported["created"] == 1 and imported["rejected"][0]["row"] == 2
