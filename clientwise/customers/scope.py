"""The one customer scope: which customers a user may see, and every form that answer takes.

A user's role gives a width (core.permissions.Scope): everyone, their team subtree, or their own customers plus
those shared with their team. `CustomerScope.for_user(user)` reads that width once, with the team ids it covers,
and hands it out as

- `.q()`: a filter on Customer for the ORM (None: no filter needed);
- `restrict_by_customer(qs, user, field)`: any customer-owned rows (orders, tickets, scores…) that follow their
  customer;
- `.owned_q(owner, team)`: rows that carry their own owner and team columns (leads, users, teams);
- `.sql(column, engine)`: the same predicate as a sqlglot expression for the report compiler and DuckDB;
- `.cache_key`: everything the answer depends on (role width, user, team, team subtree), for caches of scoped
  results, so a manager moved to another team stops seeing the old team's figures at once.

This is the only place the all / team / own switch is written. Services that can move a record out of its writer's
scope re-check with `scope.contains(...)` inside their transaction (see customers.services, sales.services).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from clientwise.accounts.services import team_subtree_ids
from clientwise.core import permissions as perms
from clientwise.customers.models import Customer, CustomerShare

if TYPE_CHECKING:
    from sqlglot import exp

ALL, TEAM, OWN, NONE = "all", "team", "own", "none"


@dataclass(frozen=True)
class CustomerScope:
    """Which customers a query may read: ALL (no predicate), TEAM (the team subtree's customers and one's own),
    OWN (one's own and those shared with one's team) or NONE (nothing: no role or no right to see customers)."""

    kind: str  # ALL, TEAM, OWN or NONE
    user_id: int | None = None
    team_ids: tuple[int, ...] = ()  # TEAM: the user's team and every team below it
    share_team_id: int | None = None  # OWN: the team whose shares the user sees
    shared_customer_ids: tuple[int, ...] | None = None  # DuckDB: the snapshot has no shares table

    @classmethod
    def for_user(cls, user, *, engine: str | None = None) -> CustomerScope:
        """The scope of `user`. `engine="duckdb"` also reads the ids shared with an OWN user's team, because the
        DuckDB snapshot carries no shares table to join."""
        width = perms.scope_of(user)
        if width is None or not perms.has_perm(user, perms.VIEW_CUSTOMERS):
            return cls(NONE)
        if width is perms.Scope.ALL:
            return cls(ALL)
        if width is perms.Scope.TEAM:
            return cls(TEAM, user.pk, tuple(sorted(team_subtree_ids(user.team_id))) if user.team_id else ())
        shared = None
        if engine == "duckdb" and user.team_id:
            shared = tuple(CustomerShare.objects.filter(team_id=user.team_id)
                           .order_by("customer_id").values_list("customer_id", flat=True))
        return cls(OWN, user.pk, (), user.team_id, shared)

    # ----- what it covers ------------------------------------------------------------------------------------

    @property
    def everything(self) -> bool:
        return self.kind == ALL

    @property
    def nothing(self) -> bool:
        return self.kind == NONE

    @property
    def cache_key(self) -> str:
        """Everything the scope's answer depends on; equal keys see equal customers."""
        if self.kind in (ALL, NONE):
            return self.kind
        if self.kind == TEAM:
            teams = ",".join(map(str, self.team_ids))
            return f"team:{self.user_id}:{hashlib.sha1(teams.encode()).hexdigest()[:16]}"
        shared = "" if self.shared_customer_ids is None else ",".join(map(str, self.shared_customer_ids))
        return f"own:{self.user_id}:{self.share_team_id}:{hashlib.sha1(shared.encode()).hexdigest()[:16]}"

    def owned_q(self, *, owner: str = "owner_id", team: str = "team_id") -> Q | None:
        """Rows carrying their own owner and team columns (customers, leads): None means every row."""
        if self.kind == ALL:
            return None
        if self.kind == NONE:
            return Q(pk__in=[])
        if self.kind == TEAM and self.team_ids:
            return Q(**{f"{team}__in": self.team_ids}) | Q(**{owner: self.user_id})
        return Q(**{owner: self.user_id})

    def q(self) -> Q | None:
        """The filter on Customer: None means everything, Q(pk__in=[]) nothing."""
        q = self.owned_q()
        if self.kind == OWN and self.share_team_id:
            q |= Q(pk__in=CustomerShare.objects.filter(team_id=self.share_team_id).values("customer_id"))
        return q

    def customers(self) -> QuerySet:
        """Every customer in scope, archived ones included (callers filter archived_at as they need)."""
        q = self.q()
        return Customer.objects.all() if q is None else Customer.objects.filter(q)

    def customer_ids(self) -> QuerySet | None:
        """None when the scope is everything, else a subquery of the customer ids in scope."""
        return None if self.kind == ALL else self.customers().values("pk")

    def restrict(self, qs: QuerySet, field: str = "customer_id") -> QuerySet:
        """Rows of `qs` whose customer (`field`) is in scope."""
        if self.kind == ALL:
            return qs
        if self.kind == NONE:
            return qs.none()
        return qs.filter(**{f"{field}__in": self.customer_ids()})

    def users_q(self, *, pk: str = "pk", team: str = "team_id") -> Q | None:
        """Colleagues the scope reaches (owner pickers, audit actors): everyone, the team subtree and oneself, or
        oneself. None means everyone."""
        if self.kind == ALL:
            return None
        if self.kind == NONE:
            return Q(**{f"{pk}__in": []})
        q = Q(**{pk: self.user_id})
        if self.kind == TEAM and self.team_ids:
            q |= Q(**{f"{team}__in": self.team_ids})
        return q

    def teams_q(self) -> Q | None:
        """Teams the scope reaches: every team, the subtree, or one's own team. None means every team."""
        if self.kind == ALL:
            return None
        if self.kind == TEAM:
            return Q(pk__in=self.team_ids)
        return Q(pk=self.share_team_id) if self.share_team_id else Q(pk__in=[])

    def reaches_user(self, user) -> bool:
        """Whether a colleague is inside the scope (a manager may assign work to their subtree)."""
        if self.kind == ALL:
            return True
        if self.kind == NONE:
            return False
        return user.pk == self.user_id or (self.kind == TEAM and user.team_id in self.team_ids)

    def contains(self, customer_id) -> bool:
        """Whether one customer is in scope (the re-check after a write, inside the writer's transaction)."""
        if customer_id is None or self.kind == NONE:
            return False
        return self.kind == ALL or self.customers().filter(pk=customer_id).exists()

    # ----- SQL for the report compiler ------------------------------------------------------------------------

    def sql(self, column: exp.Expression, engine: str, *, customers_table: str,
            shares_table: str | None = None) -> exp.Expression | None:
        """The scope as a predicate on `column` (a fact's customer id) in the report compiler's SQL: None for
        everything. `customers_table` is the customers table on `engine`; `shares_table` the shares table (not on
        DuckDB, where the ids read by for_user(engine="duckdb") are inlined)."""
        # sqlglot (heavy) stays off the start-up path: customers' ready() imports this module.
        from sqlglot import exp

        if self.kind == ALL:
            return None
        if self.kind == NONE:
            return exp.false()
        if self.kind == TEAM:
            pred = exp.column("owner_id").eq(exp.convert(self.user_id))
            if self.team_ids:
                pred = exp.or_(exp.column("team_id").isin(*[exp.convert(t) for t in self.team_ids]), pred)
            return column.isin(query=exp.select("id").from_(customers_table).where(pred))
        own = exp.select("id").from_(customers_table).where(exp.column("owner_id").eq(exp.convert(self.user_id)))
        parts = [column.copy().isin(query=own)]
        if self.share_team_id:
            if engine == "duckdb":
                if self.shared_customer_ids:
                    parts.append(column.copy().isin(*[exp.convert(i) for i in self.shared_customer_ids]))
            elif shares_table:
                shares = exp.select("customer_id").from_(shares_table).where(
                    exp.column("team_id").eq(exp.convert(self.share_team_id)))
                parts.append(column.copy().isin(query=shares))
        return exp.Paren(this=exp.or_(*parts)) if len(parts) > 1 else parts[0]


def restrict_by_customer(qs: QuerySet, user, field: str = "customer_id") -> QuerySet:
    """Rows of `qs` whose customer (`field`, a customer id column or lookup) `user` may see."""
    return CustomerScope.for_user(user).restrict(qs, field)
