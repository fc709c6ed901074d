import pytest

from clientwise.core.errors import DomainError, PermissionDenied, ValidationFailed
from clientwise.core.models import AuditLog
from clientwise.customers import services
from clientwise.customers.models import ContactPoint, Customer, CustomerTag, Interaction
from clientwise.customers.tests.factories import make_customer


def test_create_customer_writes_contacts_audit_and_timeline(org):
    c = services.create_customer(actor=org.rep_a, data={"name": "张伟", "birth_date": "1990/01/02"},
                                 mobile="138 1234 5678", email="Zhang@Example.com", tags=["VIP", "新客"])
    c.refresh_from_db()
    assert (c.mobile, c.email, c.owner_id, c.team_id) == ("+8613812345678", "zhang@example.com", org.rep_a.pk,
                                                            org.team_a.pk)
    assert (c.name_pinyin, c.name_initials) == ("zhangwei", "zw")
    assert str(c.birth_date) == "1990-01-02"
    assert sorted(ContactPoint.objects.filter(customer=c).values_list("kind", "is_primary")) == [
        ("email", True), ("mobile", True)]
    assert sorted(c.tags.values_list("name", flat=True)) == ["VIP", "新客"]
    actions = list(AuditLog.objects.filter(customer_id=c.pk).order_by("id").values_list("action", flat=True))
    assert actions == ["customer.create", "customer.tags"]
    created = AuditLog.objects.get(customer_id=c.pk, action="customer.create")
    assert created.before is None and created.after["name"] == "张伟" and created.actor == org.rep_a
    assert Interaction.objects.filter(customer=c, kind="profile").count() == 2


def test_create_collects_every_error_and_writes_nothing(org):
    audit_before = AuditLog.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.create_customer(actor=org.rep_a, data={"name": "", "status": "vip", "birth_date": "2990-01-01"},
                                 mobile="12345", email="not-an-email")
    fields = sorted(e.field for e in exc.value.errors)
    assert fields == ["birth_date", "email", "mobile", "name", "status"]
    codes = {e.field: e.code for e in exc.value.errors}
    assert codes["mobile"] == "invalid_phone" and codes["email"] == "invalid_email" and codes["name"] == "required"
    assert Customer.objects.count() == 0 and Interaction.objects.count() == 0
    assert AuditLog.objects.count() == audit_before


def test_unknown_custom_attribute_and_typed_values(org):
    services.define_attribute(actor=org.admin, key="shoe_size", label="Shoe size", type="number")
    with pytest.raises(ValidationFailed) as exc:
        services.create_customer(actor=org.admin, data={"name": "A", "custom": {"nope": 1, "shoe_size": "big"}})
    assert sorted(e.field for e in exc.value.errors) == ["custom.nope", "custom.shoe_size"]
    c = services.create_customer(actor=org.admin, data={"name": "A", "custom": {"shoe_size": "42"}})
    assert c.custom == {"shoe_size": 42.0}


def test_update_audits_only_changes_with_before_and_after(org):
    c = make_customer(org.rep_a, "李娜", city="上海")
    AuditLog.objects.all().delete()
    Interaction.objects.all().delete()
    services.update_customer(actor=org.rep_a, customer_id=c.pk, data={"city": "杭州", "name": "李娜"})
    log = AuditLog.objects.get()
    assert (log.action, log.before, log.after) == ("customer.update", {"city": "上海"}, {"city": "杭州"})
    event = Interaction.objects.get()
    assert event.kind == "profile" and event.payload["before"] == {"city": "上海"}
    assert event.payload["after"] == {"city": "杭州"}
    # the subject names the field in words, in each reader's language (core.labels.deferred)
    from django.utils import translation

    from clientwise.core.labels import row_text

    assert row_text(event) == "Profile updated: City"
    with translation.override("zh-hans"):
        assert row_text(event) == "资料已更新：城市"
    # No change → no rows.
    services.update_customer(actor=org.rep_a, customer_id=c.pk, data={"city": "杭州"})
    assert AuditLog.objects.count() == 1 and Interaction.objects.count() == 1


def test_update_with_tags_is_one_transaction(org):
    c = make_customer(org.rep_a)
    with pytest.raises(ValidationFailed):
        services.update_customer(actor=org.rep_a, customer_id=c.pk, data={"status": "bogus"}, tags=["VIP"])
    assert CustomerTag.objects.count() == 0
    services.update_customer(actor=org.rep_a, customer_id=c.pk, data={"status": "lost"}, tags=["VIP"])
    c.refresh_from_db()
    assert c.status == "lost" and list(c.tags.values_list("name", flat=True)) == ["VIP"]


def test_reassigning_out_of_own_scope_rolls_back(org):
    c = make_customer(org.rep_a, "王芳")
    before_audit = AuditLog.objects.count()
    before_events = Interaction.objects.count()
    with pytest.raises(DomainError) as exc:
        services.update_customer(actor=org.rep_a, customer_id=c.pk, data={"owner_id": org.rep_b.pk})
    assert exc.value.status == 403 and exc.value.field == "owner_id"
    c.refresh_from_db()
    assert c.owner_id == org.rep_a.pk
    assert AuditLog.objects.count() == before_audit and Interaction.objects.count() == before_events


def test_rep_cannot_create_customer_owned_by_someone_else(org):
    with pytest.raises(DomainError) as exc:
        services.create_customer(actor=org.rep_a, data={"name": "X", "owner_id": org.rep_b.pk,
                                                        "team_id": org.team_b.pk})
    assert exc.value.status == 403
    assert Customer.objects.count() == 0


def test_no_role_and_invisible_customer(org):
    c = make_customer(org.rep_a)
    with pytest.raises(PermissionDenied):
        services.update_customer(actor=org.norole, customer_id=c.pk, data={"city": "X"})
    with pytest.raises(DomainError) as exc:
        services.update_customer(actor=org.rep_b, customer_id=c.pk, data={"city": "X"})
    assert exc.value.status == 404
    with pytest.raises(PermissionDenied):
        services.archive_customer(actor=org.rep_a, customer_id=c.pk)
    c.refresh_from_db()
    assert c.city == "" and c.archived_at is None


def test_archive_restore_and_archived_is_read_only(org):
    c = make_customer(org.manager_a)
    services.archive_customer(actor=org.manager_a, customer_id=c.pk)
    c.refresh_from_db()
    assert c.archived_at is not None
    with pytest.raises(DomainError) as exc:
        services.update_customer(actor=org.manager_a, customer_id=c.pk, data={"city": "X"})
    assert exc.value.status == 409
    services.archive_customer(actor=org.manager_a, customer_id=c.pk, restore=True)
    c.refresh_from_db()
    assert c.archived_at is None
    assert list(AuditLog.objects.filter(customer_id=c.pk).order_by("id").values_list("action", flat=True))[-2:] == [
        "customer.archive", "customer.restore"]


def test_contact_points_primary_and_removal(org):
    c = make_customer(org.rep_a, mobile="13812345678")
    cp2 = services.add_contact_point(actor=org.rep_a, customer_id=c.pk, kind="mobile", value="139-0000-1111")
    assert cp2.is_primary is False and cp2.value == "+8613900001111"
    services.update_contact_point(actor=org.rep_a, customer_id=c.pk, contact_id=cp2.pk, data={"is_primary": True})
    c.refresh_from_db()
    assert c.mobile == "+8613900001111"
    assert ContactPoint.objects.filter(customer=c, kind="mobile", is_primary=True).count() == 1
    services.remove_contact_point(actor=org.rep_a, customer_id=c.pk, contact_id=cp2.pk)
    c.refresh_from_db()
    assert c.mobile == "+8613812345678"
    with pytest.raises(ValidationFailed) as exc:
        services.add_contact_point(actor=org.rep_a, customer_id=c.pk, kind="mobile", value="13812345678")
    assert exc.value.code == "duplicate"


def test_consent_and_interaction_rows(org):
    c = make_customer(org.rep_a)
    services.set_consent(actor=org.rep_a, customer_id=c.pk, channel="sms", purpose="marketing", status="granted")
    services.set_consent(actor=org.rep_a, customer_id=c.pk, channel="sms", purpose="marketing", status="withdrawn")
    assert list(c.consents.values_list("status", flat=True)) == ["withdrawn"]
    assert Interaction.objects.filter(customer=c, kind="consent").count() == 2
    row = services.log_interaction(actor=org.rep_a, customer_id=c.pk, kind="call", subject="回访", direction="out")
    assert (row.kind, row.subject, row.direction, row.actor_id) == ("call", "回访", "out", org.rep_a.pk)
    with pytest.raises(ValidationFailed) as exc:
        services.log_interaction(actor=org.rep_a, customer_id=c.pk, kind="purchase", subject="x")
    assert exc.value.field == "kind"




@pytest.mark.parametrize(("field", "limit"), [("city", 60), ("province", 40), ("member_number", 40),
                                              ("id_number", 30), ("name", 200)])
def test_profile_lengths_are_the_columns_and_the_same_as_the_imports(org, field, limit):
    """customers/rules.py holds the lengths for the service and the import: a value one longer than its column is
    a field error in both (the service used to let 100 characters into a 60-character city)."""
    from clientwise.customers import rules
    from clientwise.customers.imports import CUSTOMER_FIELDS

    assert rules.max_length(field) == Customer._meta.get_field(field).max_length == limit
    assert {name: kw.get("max_length") for name, _fn, kw in CUSTOMER_FIELDS}[field] == limit
    def data(n: int) -> dict:
        return {"name": "甲", field: "1" * n} if field != "name" else {"name": "x" * n}

    services.create_customer(actor=org.admin, data=data(limit))
    with pytest.raises(ValidationFailed) as exc:
        services.create_customer(actor=org.admin, data=data(limit + 1))
    (error,) = exc.value.errors
    assert (error.field, error.code) == (field, "invalid")
    assert f"{limit}" in error.message
