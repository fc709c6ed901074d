import itertools
import json

import pytest

from clientwise.core.models import AuditLog
from clientwise.core.testing import assert_error, assert_permission_matrix
from clientwise.customers import services
from clientwise.customers.models import ContactPoint, Customer, Interaction
from clientwise.customers.tests.factories import make_customer

_n = itertools.count()


@pytest.fixture
def cust(org):
    """A customer of rep_a with a mobile number; rep_b cannot see it."""
    return make_customer(org.rep_a, "张伟", mobile="13812345678", id_number="110105199001011234")


def _cp(org, cust, kind="email"):
    return services.add_contact_point(actor=org.rep_a, customer_id=cust.pk, kind=kind,
                                      value=f"x{next(_n)}@example.com")


# ----- permission matrix: anonymous 401, no role 403, not visible 404, allowed 2xx, denials write nothing -------

def test_matrix_list(api_client, org, cust):
    assert_permission_matrix(api_client=api_client, org=org, call=lambda c: c.get("customers"), allowed=org.rep_a)


def test_matrix_create(api_client, org):
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, allowed_status=201,
                             denied_roles=("norole", "marketer", "analyst"),
                             call=lambda c: c.post("customers", {"name": f"N{next(_n)}"}),
                             watch=("core.AuditLog", "customers.Interaction", "customers.Customer"))


def test_matrix_get(api_client, org, cust):
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             call=lambda c: c.get(f"customers/{cust.pk}"))


def test_matrix_patch(api_client, org, cust):
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             denied_roles=("norole", "marketer"),
                             call=lambda c: c.patch(f"customers/{cust.pk}", {"city": f"C{next(_n)}"}))


def test_matrix_archive_and_restore(api_client, org, cust):
    from clientwise.accounts.services import create_user

    manager_b = create_user(username="manager_b", password="Test-pass-2026", role="manager", team=org.team_b)
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.manager_a, not_visible=manager_b,
                             denied_roles=("norole", "rep_a"),
                             call=lambda c: c.post(f"customers/{cust.pk}/archive"))
    assert Customer.objects.get(pk=cust.pk).archived_at is not None
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.manager_a, not_visible=manager_b,
                             denied_roles=("norole", "rep_a"),
                             call=lambda c: c.post(f"customers/{cust.pk}/restore"))
    assert Customer.objects.get(pk=cust.pk).archived_at is None


def test_matrix_contact_points(api_client, org, cust):
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             call=lambda c: c.get(f"customers/{cust.pk}/contact-points"))
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             allowed_status=201, denied_roles=("norole", "marketer"),
                             call=lambda c: c.post(f"customers/{cust.pk}/contact-points",
                                                   {"kind": "email", "value": f"e{next(_n)}@example.com"}))
    cp = _cp(org, cust)
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             denied_roles=("norole", "marketer"),
                             call=lambda c: c.patch(f"customers/{cust.pk}/contact-points/{cp.pk}",
                                                    {"label": f"L{next(_n)}"}))
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             allowed_status=204, denied_roles=("norole", "marketer"),
                             call=lambda c: c.delete(f"customers/{cust.pk}/contact-points/{cp.pk}"))
    assert not ContactPoint.objects.filter(pk=cp.pk).exists()


@pytest.mark.parametrize("method", ["put", "post"])
def test_matrix_consents(api_client, org, cust, method):
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             call=lambda c: c.get(f"customers/{cust.pk}/consents"))
    statuses = itertools.cycle(["granted", "withdrawn"])
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             denied_roles=("norole", "analyst"),
                             call=lambda c: getattr(c, method)(f"customers/{cust.pk}/consents", {
                                 "channel": "sms", "purpose": "marketing", "status": next(statuses)}))


def test_matrix_interactions(api_client, org, cust):
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             call=lambda c: c.get(f"customers/{cust.pk}/interactions"))
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             allowed_status=201, denied_roles=("norole", "marketer"),
                             call=lambda c: c.post(f"customers/{cust.pk}/interactions",
                                                   {"kind": "call", "subject": f"S{next(_n)}"}))


def test_matrix_tags(api_client, org, cust):
    tags = itertools.cycle([["VIP"], ["新客"]])
    assert_permission_matrix(api_client=api_client, org=org, allowed=org.rep_a, not_visible=org.rep_b,
                             denied_roles=("norole", "analyst"),
                             call=lambda c: c.put(f"customers/{cust.pk}/tags", {"names": next(tags)}))


# ----- masking ------------------------------------------------------------------------------------------------------

def test_masking_in_json(api_client, org, cust):
    services.add_contact_point(actor=org.rep_a, customer_id=cust.pk, kind="wechat", value="zhangwei88")
    rep = api_client(org.rep_a).get(f"customers/{cust.pk}").json()
    assert (rep["mobile"], rep["id_number"]) == ("138****5678", "110***********1234")
    admin = api_client(org.admin).get(f"customers/{cust.pk}").json()
    assert (admin["mobile"], admin["id_number"]) == ("+8613812345678", "110105199001011234")
    assert api_client(org.rep_a).get("customers").json()["items"][0]["mobile"] == "138****5678"
    rep_cps = {c["kind"]: c["value"] for c in api_client(org.rep_a).get(f"customers/{cust.pk}/contact-points").json()}
    assert rep_cps == {"mobile": "138****5678", "wechat": "zh****88"}
    admin_cps = {c["kind"]: c["value"] for c in api_client(org.admin).get(f"customers/{cust.pk}/contact-points").json()}
    assert admin_cps == {"mobile": "+8613812345678", "wechat": "zhangwei88"}


def test_timeline_payload_masked(api_client, org, cust):
    services.update_customer(actor=org.rep_a, customer_id=cust.pk, data={"id_number": "110105199001019999"})
    item = api_client(org.rep_a).get(f"customers/{cust.pk}/interactions").json()["items"][0]
    assert item["payload"]["after"] == {"id_number": "110***********9999"}
    item = api_client(org.admin).get(f"customers/{cust.pk}/interactions").json()["items"][0]
    assert item["payload"]["after"] == {"id_number": "110105199001019999"}


# ----- idempotency ---------------------------------------------------------------------------------------------------

def test_idempotent_create(api_client, org):
    c = api_client(org.rep_a)
    body = {"name": "李娜", "mobile": "13900001111"}
    first = c.post("customers", body, headers={"Idempotency-Key": "k-1"})
    second = c.post("customers", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    assert Customer.objects.filter(name="李娜").count() == 1
    other = c.post("customers", {"name": "王芳"}, headers={"Idempotency-Key": "k-1"})
    assert_error(other, 422, "idempotency_key_reused")
    assert Customer.objects.count() == 1


# ----- bad input: 4xx with {code, message, field}, never 500 ------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({"name": 123}, "name"),
    ({}, "name"),
    ({"name": "A", "status": "vip"}, "status"),
    ({"name": "A", "kind": "robot"}, "kind"),
    ({"name": "A", "mobile": "12345"}, "mobile"),
    ({"name": "A", "email": "nope"}, "email"),
    ({"name": "A", "birth_date": "2020-13-45"}, "birth_date"),
    ({"name": "A", "birth_date": 5}, "birth_date"),
    ({"name": "x" * 201}, "name"),
    ({"name": "A", "occupation": "x" * 101}, "occupation"),
    ({"name": "A", "custom": {"unknown": 1}}, "custom.unknown"),
    ({"name": "A", "custom": "x"}, "custom"),
    ({"name": "A", "owner_id": "abc"}, "owner_id"),
    ({"name": "A", "owner_id": 999999}, "owner_id"),
    ({"name": "A", "tags": ["x" * 51]}, "tags.0"),
])
def test_create_bad_input(api_client, org, body, field):
    r = api_client(org.admin).post("customers", body)
    err = assert_error(r, r.status_code)
    assert 400 <= r.status_code < 500 and err["field"] == field, err
    assert Customer.objects.count() == 0


def test_malformed_json_everywhere(api_client, org, cust):
    c = api_client(org.admin)
    for method, path in [("post", "customers"), ("patch", f"customers/{cust.pk}"),
                         ("post", f"customers/{cust.pk}/contact-points"),
                         ("put", f"customers/{cust.pk}/consents"), ("post", f"customers/{cust.pk}/interactions"),
                         ("put", f"customers/{cust.pk}/tags")]:
        r = getattr(c.client, method)(f"/api/v1/{path}", "{not json", content_type="application/json",
                                      headers=c.headers)
        assert_error(r, 400)


def test_write_endpoints_bad_values(api_client, org, cust):
    c = api_client(org.admin)
    cp = _cp(org, cust)
    cases = [
        ("patch", f"customers/{cust.pk}", {"gender": "x"}, "gender"),
        ("patch", f"customers/{cust.pk}", {"birth_date": "yesterday"}, "birth_date"),
        ("patch", f"customers/{cust.pk}", {"name": None}, "name"),
        ("patch", f"customers/{cust.pk}", {"organization_id": cust.pk}, "organization_id"),
        ("post", f"customers/{cust.pk}/contact-points", {"kind": "fax", "value": "1"}, "kind"),
        ("post", f"customers/{cust.pk}/contact-points", {"kind": "mobile", "value": "abc"}, "value"),
        ("post", f"customers/{cust.pk}/contact-points", {"kind": "mobile"}, "value"),
        ("patch", f"customers/{cust.pk}/contact-points/{cp.pk}", {"value": "bad"}, "value"),
        ("patch", f"customers/{cust.pk}/contact-points/{cp.pk}", {"status": "gone"}, "status"),
        ("patch", f"customers/{cust.pk}/contact-points/{cp.pk}", {"label": 5}, "label"),
        ("put", f"customers/{cust.pk}/consents", {"channel": "fax", "purpose": "marketing", "status": "granted"},
         "channel"),
        ("put", f"customers/{cust.pk}/consents", {"channel": "sms", "purpose": "marketing", "status": "maybe"},
         "status"),
        ("put", f"customers/{cust.pk}/consents", {"channel": "sms", "purpose": "marketing", "status": "granted",
                                                  "decided_at": "not a date"}, "decided_at"),
        ("post", f"customers/{cust.pk}/interactions", {"kind": "purchase", "subject": "x"}, "kind"),
        ("post", f"customers/{cust.pk}/interactions", {"kind": "call"}, "subject"),
        ("post", f"customers/{cust.pk}/interactions", {"kind": "call", "subject": "x" * 201}, "subject"),
        ("put", f"customers/{cust.pk}/tags", {"names": "VIP"}, "names"),
    ]
    audit_before, events_before = AuditLog.objects.count(), Interaction.objects.count()
    for method, path, body, field in cases:
        r = getattr(c, method)(path, body)
        err = assert_error(r, r.status_code)
        assert 400 <= r.status_code < 500 and err["field"] == field, (path, body, r.status_code, err)
    assert (AuditLog.objects.count(), Interaction.objects.count()) == (audit_before, events_before)


def test_unknown_contact_point_is_404(api_client, org, cust):
    other = make_customer(org.rep_a, "other", mobile="13900002222")
    cp = other.contact_points.get()
    assert_error(api_client(org.rep_a).patch(f"customers/{cust.pk}/contact-points/{cp.pk}", {"label": "x"}), 404)
    assert_error(api_client(org.rep_a).delete(f"customers/{cust.pk}/contact-points/{cp.pk}"), 404)


def test_list_filters_and_bad_params(api_client, org, cust):
    c = api_client(org.admin)
    make_customer(org.admin, "李娜", city="杭州")
    assert [i["name"] for i in c.get("customers", {"q": "138-1234-5678"}).json()["items"]] == ["张伟"]
    assert [i["name"] for i in c.get("customers", {"city": "杭州"}).json()["items"]] == ["李娜"]
    assert_error(c.get("customers", {"size": 201}), 422)
    assert_error(c.get("customers", {"sort": "mobile"}), 422)
    assert_error(c.get("customers", {"cursor": "!!!"}), 400, "invalid_cursor")
    assert_error(c.get("customers", {"owner": "me"}), 422)


@pytest.mark.parametrize("sort", ["name", "-name", "created", "-created", "revenue", "-revenue", "orders", "-orders"])
def test_cursor_pagination_walks_all_rows(api_client, org, sort):
    for i in range(23):
        c = make_customer(org.admin, f"客户{i % 5}")
        services.apply_purchase_totals(customer_id=c.pk, orders=i % 3, revenue=i % 4)
    client = api_client(org.admin)
    ids, cursor, pages = [], None, 0
    while True:
        body = client.get("customers", {"sort": sort, "size": 5, **({"cursor": cursor} if cursor else {})}).json()
        ids += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 5 and len(ids) == 23 and len(set(ids)) == 23
    # and back again from the last page
    back = client.get("customers", {"sort": sort, "size": 5, "cursor": body["prev_cursor"]}).json()
    assert [i["id"] for i in back["items"]] == ids[15:20]


def test_interactions_cursor(api_client, org, cust):
    for i in range(7):
        services.log_interaction(actor=org.rep_a, customer_id=cust.pk, kind="note", subject=f"n{i}")
    c = api_client(org.rep_a)
    first = c.get(f"customers/{cust.pk}/interactions", {"size": 4, "kind": "note"}).json()
    second = c.get(f"customers/{cust.pk}/interactions", {"size": 4, "kind": "note",
                                                         "cursor": first["next_cursor"]}).json()
    subjects = [i["subject"] for i in first["items"] + second["items"]]
    assert subjects == [f"n{i}" for i in range(6, -1, -1)] and second["next_cursor"] is None


def test_create_and_patch_round_trip(api_client, org):
    c = api_client(org.rep_a)
    r = c.post("customers", {"name": "张伟", "mobile": "13812345678", "tags": ["VIP"], "birth_date": "1990-01-02",
                             "gender": "m"})
    assert r.status_code == 201
    body = r.json()
    assert (body["owner_id"], body["tags"], body["birth_date"], body["mobile"]) == (
        org.rep_a.pk, ["VIP"], "1990-01-02", "138****5678")
    r = c.patch(f"customers/{body['id']}", {"city": "上海", "status": "lost"})
    assert (r.json()["city"], r.json()["status"], r.json()["gender"]) == ("上海", "lost", "m")
    r = c.put(f"customers/{body['id']}/tags", {"names": ["新客", "VIP", "VIP"]})
    assert r.json() == {"tags": ["VIP", "新客"]}
    assert json.loads(c.get(f"customers/{body['id']}").content)["tags"] == ["VIP", "新客"]


def test_create_lists_likely_duplicates(api_client, org):
    first = api_client(org.rep_a).post("customers", {"name": "张伟", "mobile": "13812345678"}).json()
    assert first["likely_duplicates"] == []
    second = api_client(org.rep_a).post("customers", {"name": "张伟", "mobile": "+86 138 1234 5678",
                                                      "birth_date": "1990-01-02"})
    assert second.status_code == 201
    assert second.json()["likely_duplicates"] == [{"customer_id": first["id"], "name": "张伟", "reasons": ["mobile"]}]
    # rep_b cannot see rep_a's customers, so nothing is disclosed.
    third = api_client(org.rep_b).post("customers", {"name": "张伟", "mobile": "13812345678"}).json()
    assert third["likely_duplicates"] == []


def test_tags_come_with_the_customer_row(api_client, org):
    """The 360 API and the list read each customer's tag names in the customer query itself (no second query per
    request), sorted, the same names as the customer's tags; a customer without tags gets []."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clientwise.customers import queries

    c = api_client(org.admin)
    tagged = make_customer(org.admin, "张伟", mobile="13812345678")
    services.set_tags(actor=org.admin, customer_id=tagged.pk, names=["新客", "VIP", "华东"])
    bare = make_customer(org.admin, "李娜")
    assert sorted(t.name for t in tagged.tags.all()) == queries.tag_names(
        queries.with_tag_names(Customer.objects.all()).get(pk=tagged.pk))
    c.get(f"customers/{tagged.pk}")
    for path, params in ((f"customers/{tagged.pk}", {}), ("customers", {"q": "13812345678"}),
                         ("customers", {})):
        with CaptureQueriesContext(connection) as ctx:
            body = c.get(path, params).json()
        rows = body.get("items", [body])
        by_id = {r["id"]: r["tags"] for r in rows}
        assert by_id[tagged.pk] == sorted(["新客", "VIP", "华东"])
        if bare.pk in by_id:
            assert by_id[bare.pk] == []
        assert not [q for q in ctx.captured_queries if "customers_tag" in q["sql"] and
                    'FROM "customers_customer"' not in q["sql"]], path
