"""Identity API: permission matrices, visibility (404), cursor listing, decisions and undo."""

from __future__ import annotations

from clientwise.commerce.models import Order
from clientwise.core.testing import assert_error, assert_permission_matrix
from clientwise.customers.models import Customer
from clientwise.dataio.identity.models import DuplicateCandidate, MergeRecord

WATCH = ("core.AuditLog", "customers.Interaction", "identity.MergeRecord")


def test_list_duplicates_matrix_and_visibility(org, api_client, pair, cross_pair):
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.get("/api/v1/duplicates"),
                             allowed=org.admin, denied_roles=("norole", "rep_a", "analyst", "agent", "marketer"))
    body = api_client(org.admin).get("/api/v1/duplicates").json()
    assert [i["id"] for i in body["items"]] == [pair.pk, cross_pair.pk]  # most likely first
    first = body["items"][0]
    assert first["probability"] == 0.97 and first["status"] == "pending"
    assert first["evidence"]["mobile"] == {"label": "same mobile", "weight": 14.0, "bf": 16384.0}
    assert {first["customer_a_name"], first["customer_b_name"]} == {"张伟", "张玮"}
    # manager_a sees only the pair inside team A.
    body = api_client(org.manager_a).get("/api/v1/duplicates").json()
    assert [i["id"] for i in body["items"]] == [pair.pk]
    # Cursor paging.
    page1 = api_client(org.admin).get("/api/v1/duplicates?size=1").json()
    assert [i["id"] for i in page1["items"]] == [pair.pk] and page1["next_cursor"]
    page2 = api_client(org.admin).get(f"/api/v1/duplicates?size=1&cursor={page1['next_cursor']}").json()
    assert [i["id"] for i in page2["items"]] == [cross_pair.pk] and page2["next_cursor"] is None
    assert_error(api_client(org.admin).get("/api/v1/duplicates?cursor=garbage"), 400, "invalid_cursor")
    assert_error(api_client(org.admin).get("/api/v1/duplicates?status=maybe"), 422)


def test_merge_pair_matrix_then_undo(org, api_client, people, pair, cross_pair, manager_b):
    a, b = people["a"], people["b"]
    assert_permission_matrix(
        api_client=api_client, org=org, allowed=org.manager_a, allowed_status=201, watch=WATCH,
        call=lambda c: c.post(f"/api/v1/duplicates/{pair.pk}/merge", {"survivor_id": b.pk}),
        denied_roles=("norole", "rep_a", "analyst"), not_visible=manager_b)
    record = MergeRecord.objects.get()
    assert (record.survivor_id, record.merged_ids, record.actor) == (b.pk, [a.pk], org.manager_a)
    assert Customer.objects.get(pk=a.pk).archived_at is not None
    assert Order.objects.filter(customer_id=b.pk).count() == 3
    # Deciding twice is a conflict; an invisible pair is a 404 like a missing one.
    assert_error(api_client(org.admin).post(f"/api/v1/duplicates/{pair.pk}/merge", {}), 409, "conflict")
    assert_error(api_client(org.manager_a).post(f"/api/v1/duplicates/{cross_pair.pk}/merge", {}), 404, "not_found")
    assert_error(api_client(org.admin).post("/api/v1/duplicates/999999/merge", {}), 404, "not_found")

    assert_permission_matrix(
        api_client=api_client, org=org, allowed=org.admin, watch=WATCH,
        call=lambda c: c.post(f"/api/v1/merges/{record.pk}/undo", {}), denied_roles=("norole", "rep_a"),
        not_visible=manager_b)
    assert Customer.objects.get(pk=a.pk).archived_at is None
    assert Order.objects.filter(customer_id=a.pk).count() == 1
    assert DuplicateCandidate.objects.get(pk=pair.pk).status == "pending"
    assert_error(api_client(org.admin).post(f"/api/v1/merges/{record.pk}/undo", {}), 409, "conflict")


def test_merge_pair_survivor_must_be_in_pair(org, api_client, people, pair):
    response = api_client(org.admin).post(f"/api/v1/duplicates/{pair.pk}/merge", {"survivor_id": people["c"].pk})
    assert_error(response, 422, "invalid")
    assert MergeRecord.objects.count() == 0


def test_reject_pair(org, api_client, pair, cross_pair, manager_b):
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.manager_a, watch=WATCH,
                             call=lambda c: c.post(f"/api/v1/duplicates/{pair.pk}/reject", {}),
                             denied_roles=("norole", "rep_a", "marketer"), not_visible=manager_b)
    assert DuplicateCandidate.objects.get(pk=pair.pk).status == "rejected"
    assert_error(api_client(org.manager_a).post(f"/api/v1/duplicates/{cross_pair.pk}/reject", {}), 404)
    assert DuplicateCandidate.objects.get(pk=cross_pair.pk).status == "pending"
    assert_error(api_client(org.admin).post(f"/api/v1/duplicates/{pair.pk}/reject", {}), 409, "conflict")


def test_merge_customers_endpoint(org, api_client, people, manager_b):
    a, b, c = people["a"], people["b"], people["c"]
    assert_permission_matrix(
        api_client=api_client, org=org, allowed=org.admin, allowed_status=201, watch=WATCH,
        call=lambda cl: cl.post("/api/v1/customers/merge", {"survivor_id": a.pk, "duplicate_ids": [b.pk]}),
        denied_roles=("norole", "rep_a", "agent", "analyst"), not_visible=manager_b)
    body = api_client(org.admin).get(f"/api/v1/merges/{MergeRecord.objects.get().pk}").json()
    assert (body["survivor_id"], body["merged_ids"], body["moved"]["orders"]) == (a.pk, [b.pk], 2)
    # manager_a may not see c (team B): 404, nothing merged.
    response = api_client(org.manager_a).post("/api/v1/customers/merge", {"survivor_id": a.pk,
                                                                          "duplicate_ids": [c.pk]})
    assert_error(response, 404, "not_found")
    assert Customer.objects.get(pk=c.pk).archived_at is None
    assert_error(api_client(org.admin).post("/api/v1/customers/merge", {"survivor_id": a.pk, "duplicate_ids": []}),
                 422)
    assert_error(api_client(org.admin).post("/api/v1/customers/merge", {"survivor_id": "x"}), 422)
