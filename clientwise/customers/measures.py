"""Customer measures and dimensions for the pivot engine (clientwise.reports.semantic), defined once here.

The `customers` fact has one row per customer (archived customers left out, as in the analytics snapshot).
Customer dimensions also apply to the `sales` fact (the buyer's city, owner, ...). Registered by the reports app at
start-up (reports/apps.py calls `register()`); docs/reports.md explains the conventions.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from clientwise.accounts.models import Team
from clientwise.commerce.measures import load_users, user_name
from clientwise.core import permissions as perms
from clientwise.customers.models import CustomAttribute, Customer
from clientwise.reports.semantic import (
    Dimension,
    Fact,
    Join,
    Measure,
    Table,
    add_joins,
    register_date_dimensions,
    register_dimension,
    register_dynamic_dimensions,
    register_fact,
    register_measure,
    register_table,
)


def load_teams():
    # pyarrow (with numpy) stays off the start-up path: reports' ready() imports this module.
    import pyarrow as pa

    rows = list(Team.objects.values_list("id", "name"))
    return pa.table({"id": [r[0] for r in rows], "name": [r[1] for r in rows]})


def _custom_attribute_dimensions():
    """One dimension per admin-defined custom attribute (operational database only: the snapshot has no JSON)."""
    out = []
    for attr in CustomAttribute.objects.order_by("position", "key"):
        if not re.fullmatch(r"[a-z0-9_-]{1,50}", attr.key):
            continue
        out.append(Dimension(
            f"custom.{attr.key}", attr.label,
            {"sqlite": f"json_extract(customers.custom, '$.{attr.key}')",
             "postgresql": f"customers.custom ->> '{attr.key}'"},
            ("sales", "customers"), tables=("customers",), group=_("Custom attributes")))
    return out


def register() -> None:
    register_table(Table("customers", "customers.Customer", "customers", db_filter="customers.archived_at IS NULL"))
    register_table(Table("owners", settings.AUTH_USER_MODEL, "users", loader=load_users))
    register_table(Table("teams", "accounts.Team", "teams", loader=load_teams))

    register_fact(Fact(
        name="customers", label=_("Customers"), base="customers", customer_column="customers.id",
        perm=perms.VIEW_CUSTOMERS, date_column={"duckdb": "customers.created_day", "db": "customers.created_at"},
        joins=(
            Join("owners", "owners.id = customers.owner_id"),
            Join("teams", "teams.id = customers.team_id"),
        ),
    ))
    add_joins("sales",
              Join("customers", "customers.id = lines.customer_id"),
              Join("owners", "owners.id = customers.owner_id", ("customers",)),
              Join("teams", "teams.id = customers.team_id", ("customers",)))

    register_measure(Measure("customers", "customers", _("Customers"), "COUNT(*)", format="int"))
    register_measure(Measure("active_customers", "customers", _("Active customers"),
                             "SUM(CASE WHEN customers.status = 'active' THEN 1 ELSE 0 END)", format="int",
                             description=_("Customers whose status is active.")))

    who = _("Customer")
    both = ("sales", "customers")
    cust = ("customers",)
    for d in (
        Dimension("customer_city", _("Customer city"), "customers.city", both, tables=cust, group=who),
        Dimension("customer_province", _("Customer province"), "customers.province", both, tables=cust, group=who),
        Dimension("customer_urban_rural", _("Urban or rural"), "customers.urban_rural", both, tables=cust,
                  group=who, choices=dict(Customer.Area.choices)),
        Dimension("customer_status", _("Customer status"), "customers.status", both, tables=cust, group=who,
                  choices=dict(Customer.Status.choices)),
        Dimension("customer_gender", _("Gender"), "customers.gender", both, tables=cust, group=who,
                  choices=dict(Customer.Gender.choices)),
        Dimension("customer_income", _("Income band"), "customers.income_band", both, tables=cust, group=who,
                  choices=dict(Customer.IncomeBand.choices)),
        Dimension("customer_owner", _("Customer owner"), user_name("owners"), both, key="customers.owner_id",
                  tables=(*cust, "owners"), group=who),
        Dimension("customer_team", _("Customer team"), "teams.name", both, key="customers.team_id",
                  tables=(*cust, "teams"), group=who),
        # The snapshot holds no names or contact points: these run on the operational database.
        Dimension("customer", _("Customer"), {"sqlite": "customers.name", "postgresql": "customers.name"}, both,
                  key={"sqlite": "customers.id", "postgresql": "customers.id"}, tables=cust, group=who),
        Dimension("customer_mobile", _("Customer mobile"),
                  {"sqlite": "customers.mobile", "postgresql": "customers.mobile"}, both,
                  key={"sqlite": "customers.id", "postgresql": "customers.id"}, tables=cust, group=who, pii=True,
                  masked=MASKED_PHONE),
    ):
        register_dimension(d)
    register_date_dimensions("customer_since", _("Customer since"), facts=cust, tables=cust,
                             duckdb_day="customers.created_day", db_column="customers.created_at", group=who)
    register_dynamic_dimensions(_custom_attribute_dimensions)


def _masked_phone(dialect: str) -> str:
    """core.masking.mask_phone in SQL: +8613812345678 -> 138****5678 (first three and last four national digits;
    the first one only when fewer than nine)."""
    digits = "(CASE WHEN customers.mobile LIKE '+86%' THEN substr(customers.mobile, 4) " \
             "ELSE ltrim(customers.mobile, '+') END)"
    n = f"length({digits})"
    tail = f"substr({digits}, {n} - 3)"
    return (f"CASE WHEN customers.mobile IS NULL OR customers.mobile = '' THEN '' "
            f"WHEN {n} <= 4 THEN '****' "
            f"WHEN {n} >= 9 THEN substr({digits}, 1, 3) || '****' || {tail} "
            f"ELSE substr({digits}, 1, 1) || '****' || {tail} END")


MASKED_PHONE = {"sqlite": _masked_phone("sqlite"), "postgresql": _masked_phone("postgresql")}
