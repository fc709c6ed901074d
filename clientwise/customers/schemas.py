"""API schemas for customers. PII in *Out schemas is masked for users without view_pii (resolved per request)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema

from clientwise.core import masking
from clientwise.core import permissions as perms
from clientwise.customers.queries import mask_record, tag_names

Short = Annotated[str, Field(max_length=100)]


def _can_see_pii(context) -> bool:
    request = (context or {}).get("request")
    user = getattr(request, "auth", None) or getattr(request, "user", None)
    return user is not None and perms.can_view_pii(user)


class CustomerBase(Schema):
    kind: str | None = Field(None, description="person | organization")
    member_number: str | None = Field(None, max_length=40)
    status: str | None = Field(None, description="prospect | active | inactive | lost")
    owner_id: int | None = None
    team_id: int | None = None
    organization_id: int | None = None
    gender: str | None = Field(None, description="f | m | '' (unknown)")
    birth_date: str | None = Field(None, max_length=30, description="YYYY-MM-DD (other common formats accepted)")
    occupation: str | None = Field(None, max_length=100)
    income_band: str | None = None
    urban_rural: str | None = None
    id_number: str | None = Field(None, max_length=30)
    industry: str | None = Field(None, max_length=100)
    province: str | None = Field(None, max_length=40)
    city: str | None = Field(None, max_length=60)
    notes: str | None = Field(None, max_length=10000)
    custom: dict[str, Any] | None = Field(None, description="Values of the admin-defined custom attributes")
    customer_since: str | None = Field(None, max_length=30, description=(
        "When the customer relationship began (registration, card opened), YYYY-MM-DD; a new customer without it "
        "starts today"))


class CustomerIn(CustomerBase):
    name: str = Field(..., max_length=200)
    mobile: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    tags: list[Annotated[str, Field(max_length=50)]] = Field(default_factory=list, max_length=50)

    def profile(self) -> dict[str, Any]:
        return self.model_dump(exclude={"mobile", "email", "tags"}, exclude_none=True)


class CustomerPatch(CustomerBase):
    name: str | None = Field(None, max_length=200)

    def profile(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class CustomerOut(Schema):
    id: int
    kind: str
    name: str
    member_number: str | None
    status: str
    owner_id: int | None
    owner_name: str | None = None
    team_id: int | None
    organization_id: int | None
    gender: str
    birth_date: dt.date | None
    occupation: str
    income_band: str
    urban_rural: str
    id_number: str
    industry: str
    province: str
    city: str
    mobile: str
    email: str
    custom: dict[str, Any]
    notes: str
    tags: list[str] = []
    archived: bool = False
    archived_at: dt.datetime | None
    order_count: int
    revenue: Decimal
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    customer_since: dt.date | None = Field(None, description=(
        "When the customer relationship began, as the source knows it (null: unknown)"))
    source_created_at: dt.datetime | None = Field(None, description="Created in the system the record came from")
    source_updated_at: dt.datetime | None = Field(None, description="Last updated in the system it came from")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_owner_name(obj, context) -> str | None:
        return str(obj.owner) if obj.owner_id else None

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return tag_names(obj)

    @staticmethod
    def resolve_archived(obj) -> bool:
        return obj.archived_at is not None

    @staticmethod
    def resolve_mobile(obj, context) -> str:
        return obj.mobile if _can_see_pii(context) else masking.mask_phone(obj.mobile)

    @staticmethod
    def resolve_email(obj, context) -> str:
        return obj.email if _can_see_pii(context) else masking.mask_email(obj.email)

    @staticmethod
    def resolve_id_number(obj, context) -> str:
        return obj.id_number if _can_see_pii(context) else masking.mask_id_number(obj.id_number)


class LikelyDuplicateOut(Schema):
    """An existing customer that looks like the one just created, and why."""

    customer_id: int
    name: str
    reasons: list[str] = Field(description="mobile, email or name_birth")


class CustomerCreatedOut(CustomerOut):
    likely_duplicates: list[LikelyDuplicateOut] = Field(
        default_factory=list, description="Existing customers with the same mobile, email, or name and birth date: "
        "review them and merge if they are the same person.")


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None
    prev_cursor: str | None


class ContactPointIn(Schema):
    kind: str = Field(..., description="mobile | landline | email | wechat | address")
    value: str = Field(..., max_length=300)
    label: str = Field("", max_length=40)
    is_primary: bool | None = None
    province: str = Field("", max_length=40)
    city: str = Field("", max_length=60)
    district: str = Field("", max_length=60)
    postal_code: str = Field("", max_length=12)


class ContactPointPatch(Schema):
    value: str | None = Field(None, max_length=300)
    label: str | None = Field(None, max_length=40)
    status: str | None = Field(None, description="valid | bounced | invalid")
    is_primary: bool | None = None
    province: str | None = Field(None, max_length=40)
    city: str | None = Field(None, max_length=60)
    district: str | None = Field(None, max_length=60)
    postal_code: str | None = Field(None, max_length=12)


class ContactPointOut(Schema):
    id: int
    kind: str
    value: str
    label: str
    is_primary: bool
    status: str
    province: str
    city: str
    district: str
    postal_code: str
    created_at: dt.datetime

    @staticmethod
    def resolve_value(obj, context) -> str:
        return obj.value if _can_see_pii(context) else masking.mask_contact(obj.kind, obj.value)


class ConsentIn(Schema):
    channel: str = Field(..., description="sms | email | phone | wechat | mail | app")
    purpose: str = Field(..., description="marketing | service | surveys | profiling")
    status: str = Field(..., description="granted | withdrawn")
    source: str = Field("", max_length=60)
    decided_at: dt.datetime | None = None


class ConsentOut(Schema):
    channel: str
    purpose: str
    status: str
    source: str
    decided_at: dt.datetime


class InteractionIn(Schema):
    kind: str = Field(..., description="call | visit | email | sms | wechat | note")
    subject: str = Field("", max_length=200)
    body: str = Field("", max_length=10000)
    direction: str = Field("", description="in | out | ''")
    occurred_at: dt.datetime | None = None


class InteractionOut(Schema):
    id: int
    kind: str
    direction: str
    occurred_at: dt.datetime
    actor_id: int | None
    actor_name: str | None = None
    subject: str
    body: str
    payload: dict[str, Any]
    ref_type: str
    ref_id: int | None

    @staticmethod
    def resolve_actor_name(obj) -> str | None:
        return str(obj.actor) if obj.actor_id else None

    @staticmethod
    def resolve_payload(obj, context) -> dict[str, Any]:
        return mask_record(obj.payload or {}, pii=_can_see_pii(context))


class InteractionPage(Schema):
    items: list[InteractionOut]
    next_cursor: str | None
    prev_cursor: str | None


class TagsIn(Schema):
    names: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(..., max_length=50)


class TagsOut(Schema):
    tags: list[str]
