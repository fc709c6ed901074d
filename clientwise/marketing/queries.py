"""Reads of marketing shared by pages, the API and the services: audiences and campaigns (visible to every holder
of marketing.view; what they contain — counts, members, messages, results — is always cut to the reader's customer
scope), the audience rule compiled to SQL through the report compiler, campaign figures."""

from __future__ import annotations

import datetime as dt

import sqlglot
from django.db import connection
from django.db.models import Count, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from sqlglot import exp

from clientwise.commerce.models import Order, OrderLine, Product, ProductCategory
from clientwise.core import labels, masking
from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from clientwise.customers.models import Consent, Customer, CustomerStats, CustomerTag, Tag
from clientwise.customers.scope import restrict_by_customer
from clientwise.marketing import rules
from clientwise.marketing.errors import MarketingErrorCode
from clientwise.marketing.models import Audience, AudienceMember, Campaign, Message
from clientwise.marketing.perms import APPROVE_CAMPAIGNS, CHANGE_MARKETING, VIEW_MARKETING
from clientwise.reports import semantic
from clientwise.reports.compiler import Compiler, Context, visibility_for
from clientwise.reports.semantic import DIALECTS
from clientwise.reports.spec import PivotSpec


def require_view(user) -> None:
    perms.require(user, VIEW_MARKETING)


def can_change(user) -> bool:
    return perms.has_perm(user, CHANGE_MARKETING)


def can_approve(user) -> bool:
    return perms.has_perm(user, APPROVE_CAMPAIGNS)


def visible_audiences(user, *, archived: bool = False) -> QuerySet[Audience]:
    if not perms.has_perm(user, VIEW_MARKETING):
        return Audience.objects.none()
    return Audience.objects.filter(archived_at__isnull=not archived).select_related("created_by")


def get_audience_for(user, pk) -> Audience:
    if not perms.has_perm(user, VIEW_MARKETING):
        raise PermissionDenied()
    try:
        return Audience.objects.select_related("created_by").get(pk=int(pk))
    except (Audience.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such audience.") from None


def visible_campaigns(user) -> QuerySet[Campaign]:
    if not perms.has_perm(user, VIEW_MARKETING):
        return Campaign.objects.none()
    return Campaign.objects.select_related("audience", "created_by")


def get_campaign_for(user, pk, *, for_update: bool = False) -> Campaign:
    if not perms.has_perm(user, VIEW_MARKETING):
        raise PermissionDenied()
    qs = Campaign.objects.select_related("audience", "created_by", "approved_by", "launched_by")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=int(pk))
    except (Campaign.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such campaign.") from None


# ----- audiences compiled to SQL ---------------------------------------------------------------------------------
# The rule's `filters` are the report engine's own filters on the customers fact: the report compiler resolves their
# dimensions, joins what they need (scores of the current batch, owners, teams) and adds the reader's customer
# scope; this module adds only the conditions the report filter spec cannot express (number ranges, tags, consent,
# purchases within N days), as EXISTS / scalar subqueries over the same `customers` alias.


def engine() -> str:
    """The operational database's engine name as the report compiler knows it."""
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def _table(model) -> str:
    return model._meta.db_table


def _moment(value: dt.datetime, eng: str) -> str:
    """A UTC moment as the operational tables compare it (SQLite: text; PostgreSQL: timestamptz literal)."""
    text = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return text + "+00:00" if eng == "postgresql" else text


def _ids(values) -> str:
    return ", ".join(str(int(v)) for v in values)


def _category_subtree(roots: list[int]) -> list[int]:
    """The categories and every category below them."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in ProductCategory.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    out, stack = set(), list(roots)
    while stack:
        pk = stack.pop()
        if pk in out:
            continue
        out.add(pk)
        stack.extend(children.get(pk, []))
    return sorted(out)


def _number_sql(cond: rules.NumberCondition, eng: str, now: dt.datetime) -> str:
    op = ">=" if cond.op == "gte" else "<="
    stats = _table(CustomerStats)
    value = cond.value
    if cond.field in ("churn_probability", "clv", "p_alive"):
        return f"scores.{cond.field} {op} {float(value)!r}"
    if cond.field == "next_purchase_days":
        day = (timezone.localdate(now) + dt.timedelta(days=int(value))).isoformat()
        return f"scores.next_purchase_on {op} '{day}'"
    if cond.field in ("orders", "revenue"):
        column = "order_count" if cond.field == "orders" else "revenue"
        return (f"COALESCE((SELECT s.{column} FROM {stats} AS s WHERE s.customer_id = customers.id), 0) "
                f"{op} {float(value)!r}")
    # days_since_last_order >= N: the last order is N days ago or longer (customers who never bought do not
    # match); <= N: bought within the last N days.
    since = _moment(now - dt.timedelta(days=float(value)), eng)
    flipped = "<=" if cond.op == "gte" else ">="
    return f"EXISTS (SELECT 1 FROM {stats} AS s WHERE s.customer_id = customers.id AND s.last_order_at {flipped} " \
           f"'{since}')"


def _extra_conditions(rule: rules.AudienceRule, eng: str, now: dt.datetime) -> list[str]:
    """The rule's conditions beyond the report filters, in the engine's dialect."""
    out = [_number_sql(n, eng, now) for n in rule.numbers]
    tags = _table(CustomerTag)
    if rule.tags_any:
        out.append(f"EXISTS (SELECT 1 FROM {tags} AS t WHERE t.customer_id = customers.id "
                   f"AND t.tag_id IN ({_ids(rule.tags_any)}))")
    if rule.tags_none:
        out.append(f"NOT EXISTS (SELECT 1 FROM {tags} AS t WHERE t.customer_id = customers.id "
                   f"AND t.tag_id IN ({_ids(rule.tags_none)}))")
    consent = _table(Consent)
    for channel in rule.consent:  # validated against rules.CONSENT_CHANNELS
        out.append(f"EXISTS (SELECT 1 FROM {consent} AS c WHERE c.customer_id = customers.id "
                   f"AND c.channel = '{channel}' AND c.purpose = 'marketing' AND c.status = 'granted')")
    if rule.bought:
        b = rule.bought
        since = _moment(now - dt.timedelta(days=b.within_days), eng)
        which = []
        if b.products:
            which.append(f"l.product_id IN ({_ids(b.products)})")
        if b.categories:
            cats = _category_subtree(b.categories) or [0]
            which.append(f"l.product_id IN (SELECT p.id FROM {_table(Product)} AS p "
                         f"WHERE p.category_id IN ({_ids(cats)}))")
        exists = (f"EXISTS (SELECT 1 FROM {_table(OrderLine)} AS l JOIN {_table(Order)} AS o ON o.id = l.order_id "
                  f"WHERE l.customer_id = customers.id AND o.status = 'completed' AND o.ordered_at >= '{since}' "
                  f"AND ({' OR '.join(which)}))")
        out.append(f"NOT {exists}" if b.negate else exists)
    return out


def audience_query(user, *, rule: rules.AudienceRule | None = None, audience: Audience | None = None,
                   columns: tuple[str, ...] = (), now: dt.datetime | None = None) -> str:
    """SELECT customers.id AS customer_id [, columns] of the audience's customers `user` may see (archived
    customers left out), printed for the operational database. A static audience is its member list; a dynamic
    one its rule (`rule` overrides the saved one: the preview of an unsaved rule). `columns` are extra SQL
    expressions over `customers` and `scores` (the stratum of a campaign member).

    PermissionDenied without marketing.view, or when the rule bounds a score without analytics.view."""
    require_view(user)
    eng = engine()
    now = now or timezone.now()
    static = audience is not None and audience.kind == Audience.Kind.STATIC and rule is None
    rule = rules.AudienceRule() if static else rules.parse_rule(rule if rule is not None else audience.rule)
    uses_scores = rule.uses_scores() or any("scores." in c for c in columns)
    if rule.uses_scores() and not perms.has_perm(user, perms.VIEW_ANALYTICS):
        raise PermissionDenied(_("Only roles that see analytics may select by scores."), "rule.numbers")
    spec = PivotSpec(fact="customers", measures=["customers"], filters=rule.filters, engine="database")
    ctx = Context(engine=eng, user=user, visibility=visibility_for(user, eng), pii=False)
    try:
        compiler = Compiler(spec, ctx)
    except DomainError as exc:
        if isinstance(exc, PermissionDenied):
            raise
        raise ValidationFailed([DomainError(MarketingErrorCode.INVALID_RULE, exc.message, "rule.filters")]) from None
    sel, conds = compiler.base_select(extra_tables=("scores",) if uses_scores else ())
    dialect = DIALECTS[eng]
    for text in _extra_conditions(rule, eng, now):
        conds.append(sqlglot.parse_one(text, read=dialect))
    if static:
        conds.append(sqlglot.parse_one(
            f"customers.id IN (SELECT m.customer_id FROM {_table(AudienceMember)} AS m "
            f"WHERE m.audience_id = {int(audience.pk)})", read=dialect))
    sel = sel.select(exp.alias_(exp.column("id", table="customers"), "customer_id"),
                     *[exp.alias_(sqlglot.parse_one(c, read=dialect), f"x{i}") for i, c in enumerate(columns)])
    if conds:
        sel = sel.where(exp.and_(*conds))
    return sel.sql(dialect=dialect)


def audience_count(user, *, rule=None, audience: Audience | None = None) -> int:
    """How many customers `user` may see are in the audience now (set-wise: one COUNT over the compiled query)."""
    sql = audience_query(user, rule=rule, audience=audience)
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM ({sql}) AS a")
        return int(cur.fetchone()[0])


def audience_customer_ids(user, audience: Audience, *, columns: tuple[str, ...] = ()) -> list[tuple]:
    """Every (customer id, *columns) of the audience `user` may see, by id."""
    sql = audience_query(user, audience=audience, columns=columns)
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM ({sql}) AS a ORDER BY customer_id")
        return cur.fetchall()


def audience_customers(user, audience: Audience):
    """The audience's customers as a queryset of Customer (for the export and the sample on the page)."""
    sql = audience_query(user, audience=audience).replace("%", "%%")  # RawSQL formats its parameters in
    return Customer.objects.filter(pk__in=RawSQL(f"SELECT customer_id FROM ({sql}) AS a", []))


def describe_rule(rule: rules.AudienceRule) -> list[str]:
    """The rule in words, one line per condition, in the reader's language (the audience page)."""
    out = []
    for f in rule.filters:
        try:
            d = semantic.dimension(f.dimension)
        except DomainError:
            out.append(f"{f.dimension}: {', '.join(map(str, f.values))}")
            continue
        values = [str((d.choices or {}).get(v, v)) if v not in (None, "") else _("(blank)") for v in f.values]
        text = _("%(field)s is one of %(values)s") if f.op == "in" else _("%(field)s is none of %(values)s")
        out.append(text % {"field": d.label, "values": ", ".join(values)})
    for n in rule.numbers:
        text = _("%(field)s at least %(value)s") if n.op == "gte" else _("%(field)s at most %(value)s")
        out.append(text % {"field": NUMBER_LABELS[n.field], "value": f"{n.value:g}"})
    if rule.tags_any:
        out.append(_("Tagged %(tags)s") % {"tags": ", ".join(_tag_names(rule.tags_any))})
    if rule.tags_none:
        out.append(_("Not tagged %(tags)s") % {"tags": ", ".join(_tag_names(rule.tags_none))})
    for channel in rule.consent:
        out.append(_("Agreed to marketing by %(channel)s") % {"channel": labels.label("customers.consent.channel",
                                                                                       channel)})
    if rule.bought:
        b = rule.bought
        text = _("Did not buy %(what)s in the last %(days)s days") if b.negate else \
            _("Bought %(what)s in the last %(days)s days")
        what = [p.name for p in Product.objects.filter(pk__in=b.products)]
        what += [c.name for c in ProductCategory.objects.filter(pk__in=b.categories)]
        out.append(text % {"what": ", ".join(what) or "—", "days": b.within_days})
    return out


def _tag_names(ids: list[int]) -> list[str]:
    names = dict(Tag.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [names.get(i, f"#{i}") for i in ids]


NUMBER_LABELS = {
    "churn_probability": gettext_lazy("Churn probability"),
    "clv": gettext_lazy("Lifetime value"),
    "p_alive": gettext_lazy("Probability still active"),
    "next_purchase_days": gettext_lazy("Days to the predicted next purchase"),
    "orders": gettext_lazy("Orders"),
    "revenue": gettext_lazy("Revenue"),
    "days_since_last_order": gettext_lazy("Days since the last order"),
}


def rule_dimensions(user) -> list:
    """The customer dimensions an audience rule may filter by: the pivot engine's dimensions of the customers fact
    that run on the operational database and that `user` may use (date dimensions are left out: a rule's dates
    are 'within N days', not calendar periods)."""
    out = []
    for d in semantic.dimensions_for("customers"):
        if d.grain or not semantic.available_on(d, engine()):
            continue
        if d.perm and not perms.has_perm(user, d.perm):
            continue
        if d.pii:
            continue
        out.append(d)
    return sorted(out, key=lambda d: (str(d.group), str(d.label)))


# ----- campaigns and their messages ------------------------------------------------------------------------------


def campaign_messages(user, campaign: Campaign, *, state: str = "", reason: str = "") -> QuerySet[Message]:
    """The campaign's messages to customers `user` may see."""
    qs = restrict_by_customer(Message.objects.filter(campaign=campaign), user)
    if state:
        qs = qs.filter(state=state)
    if reason:
        qs = qs.filter(reason=reason)
    return qs


def message_rows(user, messages) -> list[dict]:
    """Messages as the page and the API show them: the address masked without view_pii."""
    pii = perms.can_view_pii(user)
    kinds = {"sms": "mobile", "call_list": "mobile", "email": "email", "wechat": "wechat", "direct_mail": "address"}
    return [{"id": m.pk, "customer_id": m.customer_id, "variant": m.variant.key if m.variant_id else "",
             "channel": m.channel, "state": m.state, "reason": m.reason,
             "address": m.address if pii else masking.mask_contact(kinds[m.channel], m.address),
             "sent_at": m.sent_at, "delivery": m.delivery} for m in messages]


def campaign_outcomes(user, campaign: Campaign) -> dict:
    """Messages by state and by reason (control, no consent, capped, …) among customers `user` may see."""
    qs = campaign_messages(user, campaign)
    by_state = dict(qs.values_list("state").annotate(n=Count("id")).order_by())
    by_reason = dict(qs.exclude(reason="").values_list("reason").annotate(n=Count("id")).order_by())
    delivered = dict(qs.exclude(delivery="").values_list("delivery").annotate(n=Count("id")).order_by())
    return {"by_state": by_state, "by_reason": by_reason, "delivery": delivered, "total": sum(by_state.values())}
