"""The one customer scope: its ORM form, its SQL form and its restriction of customer-owned rows agree for every
role, its cache key follows a move to another team, and the scope switch is written in one place only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from clientwise.customers.models import Customer, CustomerShare
from clientwise.customers.scope import ALL, NONE, OWN, TEAM, CustomerScope, restrict_by_customer

ROLES = ("admin", "manager_a", "rep_a", "rep_a2", "rep_b", "agent", "marketer", "analyst", "norole")


@pytest.fixture
def world(org):
    """Customers owned across both teams, one unowned in team B, one of team B shared with team A."""
    def customer(name, owner=None, team=None):
        return Customer.objects.create(name=name, owner=owner, team=team)

    made = {
        "a": customer("A of rep_a", org.rep_a, org.team_a),
        "a2": customer("A of rep_a2", org.rep_a2, org.team_a),
        "b": customer("B of rep_b", org.rep_b, org.team_b),
        "b_free": customer("B unowned", None, org.team_b),
        "b_shared": customer("B shared with A", org.rep_b, org.team_b),
        "nobody": customer("No owner, no team"),
    }
    CustomerShare.objects.create(customer=made["b_shared"], team=org.team_a)
    return made


def _ids(qs) -> set[int]:
    return set(qs.values_list("pk", flat=True))


@pytest.mark.django_db
def test_each_role_gets_its_width(org, world):
    kinds = {name: CustomerScope.for_user(getattr(org, name)).kind for name in ROLES}
    assert kinds == {"admin": ALL, "manager_a": TEAM, "rep_a": OWN, "rep_a2": OWN, "rep_b": OWN, "agent": ALL,
                     "marketer": ALL, "analyst": ALL, "norole": NONE}
    rep_a = _ids(CustomerScope.for_user(org.rep_a).customers())
    assert rep_a == {world["a"].pk, world["b_shared"].pk}
    manager = _ids(CustomerScope.for_user(org.manager_a).customers())
    assert manager == {world["a"].pk, world["a2"].pk}
    assert _ids(CustomerScope.for_user(org.norole).customers()) == set()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_sql_form_selects_what_the_orm_form_selects(org, world, role):
    """The compiler's predicate, run on this database, picks exactly the customers .q() picks."""
    from sqlglot import exp

    user = getattr(org, role)
    scope = CustomerScope.for_user(user)
    expected = _ids(scope.customers())
    vendor = connection.vendor
    pred = scope.sql(exp.column("id", table="c"), vendor, customers_table=Customer._meta.db_table,
                     shares_table=CustomerShare._meta.db_table)
    query = exp.select(exp.column("id", table="c")).from_(exp.to_table(Customer._meta.db_table).as_("c"))
    if pred is not None:
        query = query.where(pred)
    with connection.cursor() as cur:
        cur.execute(query.sql(dialect="postgres" if vendor == "postgresql" else vendor))
        got = {row[0] for row in cur.fetchall()}
    assert got == expected


@pytest.mark.django_db
def test_duckdb_form_inlines_the_shares_it_read(org, world):
    scope = CustomerScope.for_user(org.rep_a, engine="duckdb")
    assert scope.shared_customer_ids == (world["b_shared"].pk,)
    from sqlglot import exp

    sql = scope.sql(exp.column("customer_id"), "duckdb", customers_table="customers").sql(dialect="duckdb")
    assert str(world["b_shared"].pk) in sql and "customershare" not in sql.lower()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_restrict_by_customer_follows_the_customer(org, world, role):
    from clientwise.customers.models import Interaction

    for c in world.values():
        Interaction.objects.create(customer=c, kind="note", subject="x", occurred_at=timezone.now())
    user = getattr(org, role)
    rows = restrict_by_customer(Interaction.objects.all(), user)
    assert set(rows.values_list("customer_id", flat=True)) == _ids(CustomerScope.for_user(user).customers())


@pytest.mark.django_db
def test_cache_key_changes_when_a_manager_moves_team(org, world):
    before = CustomerScope.for_user(org.manager_a).cache_key
    org.manager_a.team = org.team_b
    org.manager_a.save()
    after = CustomerScope.for_user(org.manager_a)
    assert after.cache_key != before
    assert _ids(after.customers()) == {world["b"].pk, world["b_free"].pk, world["b_shared"].pk}
    # Same reach, same key: two admins share cached results; two reps never do.
    assert CustomerScope.for_user(org.admin).cache_key == CustomerScope.for_user(org.analyst).cache_key
    assert CustomerScope.for_user(org.rep_a).cache_key != CustomerScope.for_user(org.rep_a2).cache_key


@pytest.mark.django_db
def test_colleagues_and_teams_in_reach(org):
    manager = CustomerScope.for_user(org.manager_a)
    assert manager.reaches_user(org.rep_a) and manager.reaches_user(org.manager_a)
    assert not manager.reaches_user(org.rep_b)
    rep = CustomerScope.for_user(org.rep_a)
    assert rep.reaches_user(org.rep_a) and not rep.reaches_user(org.rep_a2)
    assert CustomerScope.for_user(org.admin).reaches_user(org.rep_b)


@pytest.mark.django_db
def test_contains_is_the_post_write_recheck(org, world):
    rep = CustomerScope.for_user(org.rep_a)
    assert rep.contains(world["a"].pk) and rep.contains(world["b_shared"].pk)
    assert not rep.contains(world["b"].pk) and not rep.contains(None)
    assert CustomerScope.for_user(org.admin).contains(world["nobody"].pk)


def test_the_scope_switch_is_written_once():
    """Only customers/scope.py turns a role's width (Scope.ALL / TEAM / OWN) into a filter; everything else asks
    CustomerScope. (core/permissions.py defines the widths.)"""
    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"Scope\.(ALL|TEAM|OWN)\b")
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if "/tests/" in rel or "/migrations/" in rel or rel in ("customers/scope.py", "core/permissions.py"):
            continue
        if pattern.search(path.read_text(encoding="utf-8")):
            offenders.append(rel)
    assert offenders == []
