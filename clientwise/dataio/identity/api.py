"""JSON API for identity: parse, call queries/services, return schemas. No business rules here."""

from ninja import Router

router = Router(tags=["identity"])
