"""Review queue pages: full and HTMX responses, decisions, masking, history with undo."""

from __future__ import annotations

from clientwise.customers.models import Customer
from clientwise.dataio.identity.models import DuplicateCandidate, MergeRecord

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_queue_page_and_permissions(org, web_client, pair, cross_pair):
    response = web_client(org.admin).get("/data/duplicates/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "张伟" in html and "张玮" in html and 'id="dup-merge"' in html and "identity/review.js" in html
    assert "+8613812345678" in html  # admin has view_pii
    assert web_client(org.rep_a).get("/data/duplicates/").status_code == 403
    assert web_client(org.analyst).get("/data/duplicates/").status_code == 403
    # manager_a's queue lists only the pair inside team A; the other pair is a 404.
    html = web_client(org.manager_a).get("/data/duplicates/").content.decode()
    assert f'data-pair="{pair.pk}"' in html and f'data-pair="{cross_pair.pk}"' not in html
    assert web_client(org.manager_a).get(f"/data/duplicates/{cross_pair.pk}/", **HTMX).status_code == 404


def test_pair_partial_masks_pii_without_view_pii(org, web_client, pair):
    org.manager_a.view_pii = False
    org.manager_a.save(update_fields=["view_pii"])
    response = web_client(org.manager_a).get(f"/data/duplicates/{pair.pk}/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "138****5678" in html and "+8613812345678" not in html
    assert "same mobile" in html or "手机号相同" in html


def test_merge_and_reject_from_the_page(org, web_client, people, pair, cross_pair):
    a, b = people["a"], people["b"]
    client = web_client(org.admin)
    response = client.post(f"/data/duplicates/{pair.pk}/merge/", {"survivor_id": b.pk}, **HTMX)
    assert response.status_code == 200
    # The next pending pair replaces the merged one.
    assert f"/data/duplicates/{cross_pair.pk}/merge/" in response.content.decode()
    assert Customer.objects.get(pk=a.pk).archived_at is not None
    assert MergeRecord.objects.get().survivor_id == b.pk
    response = client.post(f"/data/duplicates/{cross_pair.pk}/reject/")
    assert response.status_code == 302
    assert DuplicateCandidate.objects.get(pk=cross_pair.pk).status == "rejected"
    # Deciding again shows the error in place.
    response = client.post(f"/data/duplicates/{cross_pair.pk}/reject/", **HTMX)
    assert response.status_code == 409
    # History and undo.
    html = client.get("/data/duplicates/merges/").content.decode()
    record = MergeRecord.objects.get()
    assert f"/data/duplicates/merges/{record.pk}/undo/" in html
    assert client.post(f"/data/duplicates/merges/{record.pk}/undo/").status_code == 302
    assert Customer.objects.get(pk=a.pk).archived_at is None
    assert web_client(org.rep_a).post(f"/data/duplicates/merges/{record.pk}/undo/").status_code == 403


def test_rep_cannot_merge_from_the_page(org, web_client, people, pair):
    response = web_client(org.rep_a).post(f"/data/duplicates/{pair.pk}/merge/", {}, **HTMX)
    assert response.status_code == 403
    assert MergeRecord.objects.count() == 0
    assert DuplicateCandidate.objects.get(pk=pair.pk).status == "pending"


def test_import_job_page_counts_pairs_with_customers_it_created(org, web_client):
    from django.urls import reverse

    from clientwise.customers.tests.factories import make_customer
    from clientwise.dataio.identity.queries import pending_pairs_of_import
    from clientwise.dataio.tests.helpers import csv_text, run

    old = make_customer(org.admin, "张伟", mobile="13812345678")
    job = run(org.admin, "customers", "members.csv",
              csv_text([["客户编号", "姓名", "手机"], ["C9", "张 伟", "13812345678"], ["C10", "李娜", "13912345678"]]))
    assert job.created == 2
    new = Customer.objects.get(external_id="C9")
    url = reverse("dataio:import_detail", args=[job.pk])
    assert 'id="import-duplicates"' not in web_client(org.admin).get(url).content.decode()
    a, b = sorted([old.pk, new.pk])
    DuplicateCandidate.objects.create(customer_a_id=a, customer_b_id=b, probability=0.99, evidence={})
    assert pending_pairs_of_import(org.admin, job) == 1
    html = web_client(org.admin).get(url).content.decode()
    assert 'id="import-duplicates"' in html and reverse("identity:queue") in html
