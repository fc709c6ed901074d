"""JSON API for accounts: parse, call queries/services, return schemas. No business rules here."""

from ninja import Router

router = Router(tags=["accounts"])
