"""Test data made through the real services (so audit and timeline rows exist as in production)."""

from __future__ import annotations

import itertools

from clientwise.customers import services

_seq = itertools.count(1)


def make_customer(actor, name: str | None = None, *, mobile: str = "", email: str = "", **data):
    n = next(_seq)
    return services.create_customer(actor=actor, data={"name": name or f"Customer {n}", **data}, mobile=mobile,
                                    email=email)
