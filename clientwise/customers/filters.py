"""The customer list filter, parsed the same way by the HTMX list page, the CSV export and GET /api/v1/customers."""

from __future__ import annotations

import enum
from typing import Literal

from django.http import QueryDict
from ninja import Field, Schema
from pydantic import field_validator

from clientwise.core.params import validate_dropping_bad
from clientwise.customers.models import Customer, Interaction
from clientwise.customers.queries import CustomerFilters

# Named API enums: the models' TextChoices are all called Kind/Status, and OpenAPI components are named after
# the class, so without these the customer kinds and the interaction kinds would overwrite each other.
CustomerKind = enum.StrEnum("CustomerKind", {v.upper(): v for v in Customer.Kind.values})
CustomerStatus = enum.StrEnum("CustomerStatus", {v.upper(): v for v in Customer.Status.values})
InteractionKind = enum.StrEnum("InteractionKind", {v.upper(): v for v in Interaction.Kind.values})

SortKey = Literal["name", "-name", "created", "-created", "revenue", "-revenue", "orders", "-orders"]


class CustomerListParams(Schema):
    """Search, filters, sort and page of the customer list."""

    q: str = Field("", max_length=200, description="Name or pinyin prefix, initials, phone, email or member number")
    status: CustomerStatus | None = None
    city: str | None = Field(None, max_length=60)
    owner: int | None = Field(None, ge=1)
    tag: int | None = Field(None, ge=1)
    kind: CustomerKind | None = None
    archived: bool = False
    sort: SortKey = "name"
    cursor: str | None = Field(None, max_length=1000)
    size: int = Field(25, ge=1, le=200)

    @field_validator("status", "city", "owner", "tag", "kind", "cursor", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return None if value == "" else value

    @field_validator("q", mode="before")
    @classmethod
    def _strip(cls, value):
        return (value or "").strip() if isinstance(value, str) else value

    def to_filters(self) -> CustomerFilters:
        return CustomerFilters(q=self.q, status=self.status or "", city=self.city or "", owner=self.owner,
                               tag=self.tag, kind=self.kind or "", archived=self.archived)

    def filter_dict(self) -> dict:
        """The active filters (for the export's audit row and the page's "clear" link)."""
        data = self.model_dump(exclude={"cursor", "size"}, exclude_defaults=True)
        return {k: str(v) if not isinstance(v, bool | int) else v for k, v in data.items()}

    @classmethod
    def from_query(cls, query: QueryDict) -> CustomerListParams:
        """Lenient parsing for pages: a bad value in the address bar drops that filter instead of failing."""
        data = {k: query.get(k) for k in cls.model_fields if query.get(k) not in (None,)}
        if "archived" in data:
            data["archived"] = data["archived"] in ("1", "true", "on", "yes")
        return validate_dropping_bad(cls, data)
