"""JSON API for dataio: parse, call queries/services, return schemas. No business rules here."""

from ninja import Router

router = Router(tags=["dataio"])
