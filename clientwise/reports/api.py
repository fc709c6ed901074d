"""JSON API for reports: parse, call services and queries, return schemas. No business rules here."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["reports"])
