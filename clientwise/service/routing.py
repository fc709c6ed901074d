"""Routing from one entry point: the first matching rule picks the queue (and whether a senior agent or a skill
is needed), then round robin or least-loaded picks the agent inside the queue.

Rule conditions: ticket type, category, product, region, customer value tier (from the current analytics
scoring), churn probability, and the customer's score under a model trained on own labels (analytics LabelScore). Callers (services.create_ticket) hold the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from clientwise.service.models import AgentProfile, Queue, RoutingRule, Ticket


@dataclass(frozen=True)
class RoutingInput:
    ticket_type: str
    category_id: int | None = None
    product_id: int | None = None
    region_id: int | None = None
    value_tier: str = ""
    churn_probability: float | None = None
    label_scores: Mapping[str, float] = field(default_factory=dict)  # own-label model name -> probability


@dataclass(frozen=True)
class Decision:
    queue: Queue | None
    rule: RoutingRule | None
    assignee_id: int | None
    priority: str  # "" keeps the ticket's own priority
    note: str


def rule_matches(rule: RoutingRule, inp: RoutingInput) -> bool:
    if rule.ticket_type and rule.ticket_type != inp.ticket_type:
        return False
    if rule.category_id and rule.category_id != inp.category_id:
        return False
    if rule.product_id and rule.product_id != inp.product_id:
        return False
    if rule.region_id and rule.region_id != inp.region_id:
        return False
    tiers = {t for t in rule.value_tiers.upper() if t in "ABCD"}
    if tiers and inp.value_tier not in tiers:
        return False
    if rule.min_churn_probability is not None and (
            inp.churn_probability is None or inp.churn_probability < rule.min_churn_probability):
        return False
    if rule.score_kind:
        score = inp.label_scores.get(rule.score_kind)
        return score is not None and score >= (rule.min_score if rule.min_score is not None else 0.5)
    return True


def match_rule(inp: RoutingInput) -> RoutingRule | None:
    for rule in RoutingRule.objects.filter(active=True, queue__active=True).select_related("queue"):
        if rule_matches(rule, inp):
            return rule
    return None


def open_loads(user_ids: list[int]) -> dict[int, int]:
    """Open tickets per agent (one aggregate over the (assignee, status) index)."""
    rows = (Ticket.objects.filter(assignee_id__in=user_ids, status__in=Ticket.OPEN_STATUSES)
            .values("assignee_id").annotate(n=Count("id")))
    return {r["assignee_id"]: r["n"] for r in rows}


def candidates(queue: Queue, *, senior: bool, skill: str) -> tuple[list[AgentProfile], list[str]]:
    """Available agents of the queue who have room, narrowed to seniors and to the skill when possible.
    Returns the agents and notes on what had to be relaxed."""
    notes: list[str] = []
    profiles = list(AgentProfile.objects.filter(queues=queue, available=True, user__is_active=True)
                    .select_related("user").order_by("user_id"))
    loads = open_loads([p.user_id for p in profiles])
    profiles = [p for p in profiles if loads.get(p.user_id, 0) < p.max_open]
    if senior:
        seniors = [p for p in profiles if p.senior]
        if seniors:
            profiles = seniors
        else:
            notes.append(_("no senior agent available"))
    if skill:
        skilled = [p for p in profiles if skill.lower() in p.skill_set]
        if skilled:
            profiles = skilled
        else:
            notes.append(_("nobody with the skill “%(skill)s” available") % {"skill": skill})
    return profiles, notes


def pick_agent(queue: Queue, *, senior: bool = False, skill: str = "") -> tuple[int | None, list[str]]:
    """The agent who gets the next ticket of `queue` (None when nobody can take it) and routing notes.

    Round robin: the next agent by user id after the last one assigned in this queue (wrapping around); the
    queue row is locked so two tickets at once do not go to the same agent. Least loaded: the fewest open
    tickets, ties to the lower user id."""
    profiles, notes = candidates(queue, senior=senior, skill=skill)
    if not profiles:
        return None, [*notes, _("no agent of the queue can take it: left unassigned")]
    ids = [p.user_id for p in profiles]
    if queue.strategy == Queue.Strategy.ROUND_ROBIN:
        locked = Queue.objects.select_for_update().get(pk=queue.pk)
        last = locked.last_assigned_id or 0
        chosen = next((i for i in ids if i > last), ids[0])
        Queue.objects.filter(pk=queue.pk).update(last_assigned_id=chosen)
        queue.last_assigned_id = chosen
        return chosen, notes
    loads = open_loads(ids)
    return min(ids, key=lambda i: (loads.get(i, 0), i)), notes


def default_queue() -> Queue | None:
    return Queue.objects.filter(active=True).order_by("-is_default", "id").filter(Q(is_default=True)).first()


def route(inp: RoutingInput, *, category_skill: str = "") -> Decision:
    """Where a new ticket goes: the first matching rule's queue, else the default queue; then the agent."""
    rule = match_rule(inp)
    queue = rule.queue if rule else default_queue()
    if queue is None:
        return Decision(None, None, None, "", _("no routing rule matched and there is no default queue"))
    senior = bool(rule and rule.senior_only)
    skill = (rule.skill if rule and rule.skill else category_skill) or ""
    assignee, notes = pick_agent(queue, senior=senior, skill=skill)
    head = (_("rule “%(rule)s”") % {"rule": rule.name}) if rule else _("default queue")
    return Decision(queue, rule, assignee, rule.priority if rule else "", "; ".join([head, *notes]))
