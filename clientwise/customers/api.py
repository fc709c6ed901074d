"""JSON API for customers: parse, call queries/services, return schemas. No business rules here.

Reads require the customers.view right (403 without it); a customer the user may not see is a 404.
"""

from __future__ import annotations

from ninja import Query, Router, Status

from clientwise.core import permissions as perms
from clientwise.core.queries import get_visible
from clientwise.customers import queries, services
from clientwise.customers.filters import CustomerListParams, InteractionKind
from clientwise.customers.models import Consent, ContactPoint
from clientwise.customers.schemas import (
    ConsentIn,
    ConsentOut,
    ContactPointIn,
    ContactPointOut,
    ContactPointPatch,
    CustomerCreatedOut,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    InteractionIn,
    InteractionOut,
    InteractionPage,
    TagsIn,
    TagsOut,
)

router = Router(tags=["customers"])


def _viewer(request):
    """The authenticated user, who must hold the customers.view right."""
    user = request.auth
    perms.require(user, perms.VIEW_CUSTOMERS)
    return user


def _customer(request, customer_id: int):
    customer = queries.get_customer_for(_viewer(request), customer_id)
    return customer


def _fresh(request, customer_id: int):
    """The customer as the API returns it, in one query (owner, purchase totals and tag names read with it)."""
    user = request.auth
    return get_visible(queries.with_tag_names(queries.visible_customers(user).select_related("owner", "stats")),
                       customer_id)


@router.get("/customers", response=CustomerPage, summary="List customers")
def list_customers(request, params: Query[CustomerListParams]):
    """Customers you may see, newest page first by the chosen sort; follow `next_cursor` for more."""
    user = _viewer(request)
    page = queries.customer_page(user, params.to_filters(), sort=params.sort, cursor=params.cursor, size=params.size,
                                 tags=True)
    return {"items": page.items, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


@router.post("/customers", response={201: CustomerCreatedOut}, summary="Create a customer")
def create_customer(request, payload: CustomerIn):
    """Creates the customer; `likely_duplicates` lists existing customers that look like the same person."""
    customer = services.create_customer(actor=request.auth, data=payload.profile(), mobile=payload.mobile,
                                        email=payload.email, tags=payload.tags)
    out = _fresh(request, customer.pk)
    out.likely_duplicates = queries.likely_duplicates(
        name=payload.name, mobile=payload.mobile, email=payload.email, birth_date=payload.birth_date,
        user=request.auth, exclude_id=customer.pk)
    return Status(201, out)


@router.get("/customers/{int:customer_id}", response=CustomerOut, summary="Get a customer")
def get_customer(request, customer_id: int):
    _viewer(request)  # 403 without the right; _fresh answers 404 for a customer outside the scope
    return _fresh(request, customer_id)


@router.patch("/customers/{int:customer_id}", response=CustomerOut, summary="Change a customer's profile")
def patch_customer(request, customer_id: int, payload: CustomerPatch):
    services.update_customer(actor=request.auth, customer_id=customer_id, data=payload.profile())
    return _fresh(request, customer_id)


@router.post("/customers/{int:customer_id}/archive", response=CustomerOut, summary="Archive a customer")
def archive_customer(request, customer_id: int):
    services.archive_customer(actor=request.auth, customer_id=customer_id)
    return _fresh(request, customer_id)


@router.post("/customers/{int:customer_id}/restore", response=CustomerOut, summary="Restore an archived customer")
def restore_customer(request, customer_id: int):
    services.archive_customer(actor=request.auth, customer_id=customer_id, restore=True)
    return _fresh(request, customer_id)


@router.put("/customers/{int:customer_id}/tags", response=TagsOut, summary="Replace a customer's tags")
def put_tags(request, customer_id: int, payload: TagsIn):
    tags = services.set_tags(actor=request.auth, customer_id=customer_id, names=payload.names)
    return {"tags": sorted(t.name for t in tags)}


@router.get("/customers/{int:customer_id}/contact-points", response=list[ContactPointOut],
            summary="List contact points")
def list_contact_points(request, customer_id: int):
    customer = _customer(request, customer_id)
    return list(ContactPoint.objects.filter(customer=customer))


@router.post("/customers/{int:customer_id}/contact-points", response={201: ContactPointOut},
             summary="Add a contact point")
def add_contact_point(request, customer_id: int, payload: ContactPointIn):
    data = payload.model_dump()
    cp = services.add_contact_point(actor=request.auth, customer_id=customer_id, **data)
    return Status(201, cp)


@router.patch("/customers/{int:customer_id}/contact-points/{int:cp_id}", response=ContactPointOut,
              summary="Change a contact point")
def patch_contact_point(request, customer_id: int, cp_id: int, payload: ContactPointPatch):
    return services.update_contact_point(actor=request.auth, customer_id=customer_id, contact_id=cp_id,
                                         data=payload.model_dump(exclude_unset=True))


@router.delete("/customers/{int:customer_id}/contact-points/{int:cp_id}", response={204: None},
               summary="Remove a contact point")
def delete_contact_point(request, customer_id: int, cp_id: int):
    services.remove_contact_point(actor=request.auth, customer_id=customer_id, contact_id=cp_id)
    return Status(204, None)


@router.get("/customers/{int:customer_id}/consents", response=list[ConsentOut], summary="List consent decisions")
def list_consents(request, customer_id: int):
    customer = _customer(request, customer_id)
    return list(Consent.objects.filter(customer=customer))


def _set_consent(request, customer_id: int, payload: ConsentIn):
    return services.set_consent(actor=request.auth, customer_id=customer_id, channel=payload.channel,
                                purpose=payload.purpose, status=payload.status, source=payload.source,
                                decided_at=payload.decided_at)


@router.put("/customers/{int:customer_id}/consents", response=ConsentOut, summary="Record a consent decision")
def put_consent(request, customer_id: int, payload: ConsentIn):
    return _set_consent(request, customer_id, payload)


@router.post("/customers/{int:customer_id}/consents", response=ConsentOut,
             summary="Record a consent decision (same as PUT)")
def post_consent(request, customer_id: int, payload: ConsentIn):
    return _set_consent(request, customer_id, payload)


@router.get("/customers/{int:customer_id}/interactions", response=InteractionPage, summary="The customer timeline")
def list_interactions(request, customer_id: int, kind: InteractionKind | None = None,
                      cursor: str | None = None, size: int = Query(20, ge=1, le=200)):
    customer = _customer(request, customer_id)
    page = queries.timeline_page(customer, kinds=[kind] if kind else None, cursor=cursor, size=size)
    return {"items": page.items, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


@router.post("/customers/{int:customer_id}/interactions", response={201: InteractionOut},
             summary="Log a call, visit, email, SMS, WeChat message or note")
def add_interaction(request, customer_id: int, payload: InteractionIn):
    row = services.log_interaction(actor=request.auth, customer_id=customer_id, kind=payload.kind,
                                   subject=payload.subject, body=payload.body, direction=payload.direction,
                                   occurred_at=payload.occurred_at)
    return Status(201, row)
